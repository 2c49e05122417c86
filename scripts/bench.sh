#!/usr/bin/env bash
# Benchmarks on our fast kernel and on upstream 7.3, same VM and binaries, interleaved; table, CSV and SVG in work/bench/.
#
# BENCH_REPS (default 5) samples per row and kernel, split over
# BENCH_ROUNDS (default 2) rounds; each round boots ours, then upstream.
# BENCH_LARGE_MIB (default 4096): the largest memfd; the VM gets that
# plus 4 GiB (P2P_VM_MEM overrides; keep it <= 12G) and that many 1G huge
# pages at boot. BENCH_RP_BAR (default 1G): the BAR of the resettable
# ivshmem (01:00.0) for the reset rows. Medians over all samples.
set -euo pipefail
export FLAVOR=fast
. "$(dirname "$0")/lib.sh"

reps=${BENCH_REPS:-5} rounds=${BENCH_ROUNDS:-2} large=${BENCH_LARGE_MIB:-4096}
[ "$rounds" -le "$reps" ] || rounds=$reps
gib=$(((large + 1023) / 1024))
mem=${P2P_VM_MEM:-$((gib + 4))G}
export P2P_RP_BAR=${BENCH_RP_BAR:-1G}

FLAVOR=fast "$ROOT/scripts/build-kernel.sh"
FLAVOR=fast "$ROOT/scripts/build-tests.sh"
FLAVOR=upstream "$ROOT/scripts/build-kernel.sh"
ours_k=$WORK/build-fast/arch/x86/boot/bzImage
up_k=$WORK/build-upstream/arch/x86/boot/bzImage
bins=$WORK/build-fast/kselftest/p2p
out=$WORK/bench
mkdir -p "$out"
for k in ours upstream; do echo "round,row,unit,value" > "$out/$k.csv"; done

say "bench: ours $(base_version) (fast), upstream $(cat "$WORK/linux-upstream/.p2p-base-version")"
say "bench: $reps reps in $rounds rounds, memfds up to $large MiB, VM memory $mem, reset BAR $P2P_RP_BAR"
t0=$(date +%s) rc=0 done_reps=0
for round in $(seq 1 "$rounds"); do
	# this round's share of the repetitions
	n=$(((reps - done_reps) / (rounds - round + 1)))
	done_reps=$((done_reps + n))
	for k in ours upstream; do
		kernel=$ours_k
		[ $k = upstream ] && kernel=$up_k
		name=bench-$k-$round
		say "bench: round $round of $rounds, $k kernel, $n reps"
		P2P_VM_MEM=$mem "$ROOT/scripts/vm.sh" --profile vtd --name "$name" --timeout 3600 \
			--kernel "$kernel" --files "$bins/bench_map_file $bins/bench_bar" \
			--append "hugepagesz=1G hugepages=$gib" \
			--cmd ". /opt/lib.sh; for d in 0000:00:01.0 0000:00:03.0 0000:00:04.0 0000:01:00.0; do vfio_bind \$d; done
/opt/bin/bench_map_file $n $large; /opt/bin/bench_bar $n" || { rc=1; say "bench: VM $name failed (see $LOGS/$name.log)"; }
		grep -a '^P2P-BENCH,' "$LOGS/$name.log" | sed "s/^P2P-BENCH,/$round,/" >> "$out/$k.csv" || true
	done
done
say "bench: VMs took $(($(date +%s) - t0)) s"
python3 "$ROOT/scripts/bench-report.py" --ours "$out/ours.csv" --upstream "$out/upstream.csv" \
	--md "$out/table.md" --svg "$out/p2p-bench.svg" \
	--title "dma-buf P2P: ours (6.12 + this tree, fast) vs upstream 7.3, TCG + emulated VT-d, medians of $reps"
say "bench: CSV $out/ours.csv $out/upstream.csv; table $out/table.md; plot $out/p2p-bench.svg"
[ $rc -eq 0 ] || say "bench: FAILED: a VM run failed or its log has a kernel report"
exit $rc
