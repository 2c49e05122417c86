#!/usr/bin/env bash
# Run every test: lint, the runner's own tests, then the kernel suites in VMs; print one summary line.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

results=$WORK/results
rm -rf "$results"
mkdir -p "$results"
t_start=$(date +%s)
timing() { printf '[rig] time: %-28s %4d s\n' "$1" "$2" | tee -a "$results/times.txt"; }
step() { # step NAME CMD...: run a stage, record its time, remember failures.
	local name=$1 t0 rc
	shift
	say "=== $name"
	t0=$(date +%s)
	"$@"
	rc=$?
	timing "$name" $(($(date +%s) - t0))
	[ "$rc" -eq 0 ] || echo "$name" >> "$results/failed-stages"
	return "$rc"
}

"$ROOT/scripts/setup-host.sh" || die "host setup failed"
step lint bash -c "'$ROOT/scripts/lint.sh' | tee '$results/lint.txt'"
step rig-selftest python3 "$ROOT/scripts/test-parse-log.py" > "$results/rig-selftest.txt" 2>&1
cat "$results/rig-selftest.txt"
if step kernel "$ROOT/scripts/build-kernel.sh" && step selftests-build "$ROOT/scripts/build-tests.sh"; then
	ks=$BUILD/kselftest
	P2P_QUIET=1 step vm-iommu "$ROOT/scripts/vm.sh" --profile novtd --name iommu --timeout 1500 \
		--script "$ROOT/scripts/guest/suite-iommu.sh" --files "$ks/iommu/iommufd $ks/iommu/iommufd_fail_nth" \
		--files "$ROOT/scripts/guest/iommu-known-skips" --results "$results/vm-iommu.json"
	P2P_QUIET=1 step vm-p2p "$ROOT/scripts/vm.sh" --profile vtd --name p2p --timeout 900 \
		--script "$ROOT/scripts/guest/suite-p2p.sh" --files "$(ls "$ks"/p2p/* | tr '\n' ' ')" \
		--results "$results/vm-p2p.json"
fi
timing total $(($(date +%s) - t_start))
say "base kernel: $(base_version), flavor $FLAVOR"
python3 "$ROOT/scripts/summary.py" "$results"
