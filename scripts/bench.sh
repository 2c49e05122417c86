#!/usr/bin/env bash
# Benchmarks: build the fast (non-debug) kernel, run the bench programs in the VM, keep table and CSV.
set -euo pipefail
export FLAVOR=fast
. "$(dirname "$0")/lib.sh"

"$ROOT/scripts/build-kernel.sh"
"$ROOT/scripts/build-tests.sh"
out=$WORK/bench
mkdir -p "$out"
P2P_VM_MEM=${P2P_VM_MEM:-6G} "$ROOT/scripts/vm.sh" --profile vtd --name bench --timeout 3000 \
	--files "$BUILD/kselftest/p2p/bench_map_file" \
	--append "hugepagesz=1G hugepages=1 hugepagesz=2M hugepages=512" \
	--cmd ". /opt/lib.sh; vfio_bind 0000:00:01.0; /opt/bin/bench_map_file ${BENCH_REPS:-3}"
grep -h 'P2P-BENCH-CSV,' "$LOGS/bench.log" | sed 's/^.*P2P-BENCH-CSV,//' > "$out/map_file.csv"
# The whole large BAR: MAP_FILE of a dma-buf, IOAS_MAP by address, type1
"$ROOT/scripts/vm.sh" --profile vtd --name bench-bar --timeout 3000 \
	--files "$BUILD/kselftest/p2p/bench_bar" \
	--cmd ". /opt/lib.sh; vfio_bind 0000:00:01.0; vfio_bind 0000:00:04.0; /opt/bin/bench_bar ${BENCH_REPS:-3}"
grep -h 'P2P-BENCH-CSV,' "$LOGS/bench-bar.log" | sed 's/^.*P2P-BENCH-CSV,//' > "$out/bar.csv"
say "bench: base $(base_version), flavor $FLAVOR; CSV: $out/map_file.csv $out/bar.csv"
