#!/usr/bin/env bash
# make vmm-test: unmodified Debian QEMUs (11.1, 10.0, 7.2) in our kernel (L1, inside the rig's VM) give their guest (L2) P2P; control runs on the stock base.
#
# L0 is the rig's TCG VM with emulated VT-d. L1 boots one of our kernels
# with a QEMU from Debian in its initramfs (scripts/vmm-fetch.sh). L1's
# QEMU starts L2 with edu and ivshmem (01:00.0) passed through with
# vfio-pci; L2 has edu write into ivshmem's BAR. The matrix:
#
#   11.1  trixie-backports, -object iommufd, our kernel (fast): a dma-buf
#         of the BAR, IOMMU_IOAS_MAP_FILE
#   10.0  bookworm-backports, -object iommufd, our kernel (fast):
#         IOMMU_IOAS_MAP of the BAR mmap address
#   7.2   bookworm, the legacy container, our kernel built with iommufd's
#         type1 compatible container (compat): VFIO_IOMMU_MAP_DMA of the
#         BAR mmap address
#
# In each, the writes must land (in L2 and in L0's backing file), QEMU's
# trace or messages must show its BAR map returning 0, L1's debugfs must
# show the mapping (source va for the by-address ones), and the writes
# must land again after L2 toggles memory decode, after L2 resets the
# device, and after L1 resets it behind QEMU's back (the kernel revokes
# and restores the mapping by itself). The control run of each boots the
# stock base kernel (built with the compatible container, so that it also
# serves the legacy container) as L1: QEMU's warning or error, no write
# lands.
#
# VMM_MATRIX="11.1 10.0 7.2" picks the rows; VMM_CONTROL=0 skips the
# control runs. VMM_RESULTS=DIR writes the parsed results there as
# vm-vmm-<row>[-stock].json (make check adds them to its summary).
# Ends with a table of the runs.
set -euo pipefail
export FLAVOR=${FLAVOR:-fast}
. "$(dirname "$0")/lib.sh"

matrix=${VMM_MATRIX:-11.1 10.0 7.2}
control=${VMM_CONTROL:-1}
out=${VMM_RESULTS:-$WORK/vmm}
mkdir -p "$out"

declare -A rootfs
for v in $matrix; do
	rootfs[$v]=$("$ROOT/scripts/vmm-fetch.sh" "$v")
done
# Kernels: ours for the iommufd rows ($FLAVOR), ours with the compatible
# container for the legacy one (shared with make check's vm-compat stage),
# the stock base for the control runs
"$ROOT/scripts/build-kernel.sh"
case " $matrix " in *" 7.2 "*) env -u BUILD FLAVOR=compat "$ROOT/scripts/build-kernel.sh" ;; esac
[ "$control" = 1 ] && env -u BUILD FLAVOR=stock "$ROOT/scripts/build-kernel.sh"
kernel=$BUILD/arch/x86/boot/bzImage

# L2: our kernel, and a busybox initramfs with the test program
l2=$WORK/vmm/l2
rm -rf "$l2" && mkdir -p "$l2/root/bin"
cp /bin/busybox "$l2/root/bin/busybox"
cp "$ROOT/scripts/guest/vmm-l2-init" "$l2/root/init"
chmod +x "$l2/root/init"
gcc -Wall -O2 -static -o "$l2/root/l2_p2p" "$ROOT/tools/testing/selftests/p2p/vmm/l2_p2p.c"
(cd "$l2/root" && find . | cpio -o -H newc --quiet | gzip -1) > "$l2/initramfs.cpio.gz"
cp "$kernel" "$l2/bzImage"
rm -rf "$l2/root"

rc=0
table=$out/vmm-matrix.txt
: > "$table"
# run ROW NAME FLAVOR EXPECT: one nested run; its results and a table row
run() {
	local v=$1 name=$2 flavor=$3 expect=$4 t0 line
	local what="our $flavor kernel"
	[ "$flavor" = stock ] && what="the stock base kernel"
	say "vmm-test: QEMU $v, L1 = $what, P2P must $expect"
	t0=$(date +%s)
	FLAVOR=$flavor "$ROOT/scripts/vm.sh" --profile vtd --name "$name" --timeout 900 \
		--rootfs "${rootfs[$v]}" --files "$l2" --script "$ROOT/scripts/guest/vmm-l1.sh" \
		--kernel "$WORK/build-$flavor/arch/x86/boot/bzImage" \
		--append "p2p_vmm=$v p2p_expect=$expect" --results "$out/vm-$name.json" || rc=1
	line=$(sed -n 's/^.*P2P-VMM-ROW //p' "$LOGS/$name.log" | tail -1)
	printf '%s\t%s\t%s\t%s\n' "$out/vm-$name.json" "$flavor" "$(($(date +%s) - t0))" "$line" >> "$table"
}

for v in $matrix; do
	flavor=$FLAVOR
	[ "$v" = 7.2 ] && flavor=compat
	run "$v" "vmm-$v" "$flavor" land
	if [ "$control" = 1 ]; then run "$v" "vmm-$v-stock" stock miss; fi
done

say "vmm-test matrix (tests: passed/failed/skipped in L2, L1 and the host checks of the run):"
python3 - "$table" <<'EOF'
import json, sys
head = ['QEMU', 'L1 kernel', 'BAR mapped by', "QEMU's BAR map", 'L2 writes landed',
        'L1 debugfs', 'tests', 'time', 'result']
rows = [head]
for ln in open(sys.argv[1]):
    res, flavor, secs, line = ln.rstrip('\n').split('\t')
    f = dict(kv.split('=', 1) for kv in line.split('; ') if '=' in kv)
    p = fl = sk = 0
    try:
        r = json.load(open(res))
        for name, s in r['suites'].items():
            if name != 'kunit':
                p, fl, sk = p + s['passed'], fl + s['failed'], sk + s['skipped']
        fl += bool(r['problems'] or r['guest_rc'] is None)
    except (OSError, ValueError, KeyError):
        fl += 1
    rows.append([f.get('qemu', '?'), 'stock 6.12' if flavor == 'stock' else f'ours ({flavor})',
                 f.get('map', '?'), f.get('result', '?'), f.get('landed', '?'),
                 f.get('debugfs', '?'), f'{p}/{fl}/{sk}', f'{secs} s',
                 'PASS' if fl == 0 else 'FAIL'])
w = [max(len(r[i]) for r in rows) for i in range(len(head))]
for r in rows:
    print('[rig]   ' + ' | '.join(c.ljust(w[i]) for i, c in enumerate(r)).rstrip())
EOF
exit $rc
