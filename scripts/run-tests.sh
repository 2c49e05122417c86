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
	p2p_suites "$ks"
	P2P_QUIET=1 step vm-mock vm_mock mock "$results/vm-mock.json" "$ks"
	# The device suites under each IOMMU model: VT-d, AMD-Vi, virtio-iommu.
	# Under VT-d all of them; under the other two the suites whose outcome
	# depends on the IOMMU driver's page tables and invalidations (IOAS
	# DMA into memfds and BARs, type1, the compat container), to keep make
	# check within its time. make models runs every suite under every model.
	models_subset=""
	# shellcheck disable=SC2154 # set by p2p_suites
	for f in $devices; do
		case "${f##*/}" in
		rig_smoke | map_file_e2e | map_file_dmabuf_e2e | compat_bar_va)
			models_subset="$models_subset $f" ;;
		esac
	done
	for model in vtd amdvi virtio; do
		stage=vm-devices name=devices files=$devices
		if [ "$model" != vtd ]; then
			stage=vm-devices-$model name=devices-$model
			[ "${P2P_MODELS_FULL:-0}" = 1 ] || files=$models_subset
		fi
		P2P_QUIET=1 step "$stage" vm_devices "$model" "$name" "$results/$stage.json" "$files"
	done
	# iommufd's type1 compatible container instead of the type1 driver
	# (FLAVOR=compat): VFIO_IOMMU_MAP_DMA of a BAR address, as QEMU 7.2 does
	step compat-kernel env -u BUILD FLAVOR=compat "$ROOT/scripts/build-kernel.sh" &&
		P2P_QUIET=1 step vm-compat env -u BUILD FLAVOR=compat "$ROOT/scripts/vm.sh" --profile vtd \
			--name compat --timeout 900 --script "$ROOT/scripts/guest/suite-devices.sh" \
			--files "$ks/p2p/compat_bar_va $ks/p2p/rig_smoke" --results "$results/vm-compat.json"
fi
# Nested: QEMU 11.1 and 10.0 in our kernel (fast flavor), QEMU 7.2 with the
# legacy container in our compat kernel (built above), and as the controls
# each in the stock base kernel. P2P_SKIP_VMM=1 leaves it out (it builds the
# fast and the stock kernels).
if [ "${P2P_SKIP_VMM:-0}" != 1 ]; then
	VMM_RESULTS=$results P2P_QUIET=1 step vmm env -u BUILD FLAVOR=fast "$ROOT/scripts/vmm-test.sh"
fi
# The series: made, checkpatch per patch, applied with git am to 6.12.117,
# 6.12.95 and 6.12.118, every commit built (make series-check's quick mode:
# the objects each commit touches; the whole kernel of the last commit is
# the kernel stage above).
step series env P2P_SERIES_QUICK=1 "$ROOT/scripts/series-check.sh" > "$results/series.txt" 2>&1
sed -n '/ERROR/p; /series-check summary:/,$p' "$results/series.txt"
timing total $(($(date +%s) - t_start))
say "base kernel: $(base_version), flavor $FLAVOR"
python3 "$ROOT/scripts/summary.py" "$results"
