#!/usr/bin/env bash
# make vmm-test: an unmodified QEMU 11.x in our kernel (L1, inside the rig's VM) gives its guest (L2) P2P; control run on the stock base.
#
# L0 is the rig's TCG VM with emulated VT-d. L1 boots our kernel (FLAVOR=fast)
# with QEMU 11.x from Debian trixie-backports in its initramfs
# (scripts/vmm-fetch.sh). L1's QEMU starts L2 with edu and ivshmem
# (01:00.0) passed through with vfio-pci and iommufd; L2 has edu write into
# ivshmem's BAR. The writes must land, QEMU's trace must show the dma-buf and
# MAP_FILE path, and they must land again after L2 toggles memory decode and
# resets the device. The control run boots the stock base kernel as L1:
# QEMU must print its mmap fallback warning and the writes must not land.
# VMM_CONTROL=0 skips the control run. VMM_RESULTS=DIR writes the parsed
# results there as vm-vmm*.json (make check adds them to its summary).
set -euo pipefail
export FLAVOR=${FLAVOR:-fast}
. "$(dirname "$0")/lib.sh"

root=$("$ROOT/scripts/vmm-fetch.sh")
"$ROOT/scripts/build-kernel.sh"
kernel=$BUILD/arch/x86/boot/bzImage

# L2: the same kernel, and a busybox initramfs with the test program
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
say "vmm-test: L1 = our kernel ($FLAVOR), QEMU $(basename "$(dirname "$root")")"
"$ROOT/scripts/vm.sh" --profile vtd --name vmm --timeout 900 --rootfs "$root" \
	--files "$l2" --script "$ROOT/scripts/guest/vmm-l1.sh" \
	--results "${VMM_RESULTS:-$WORK/vmm}/vm-vmm.json" || rc=1

if [ "${VMM_CONTROL:-1}" = 1 ]; then
	FLAVOR=stock "$ROOT/scripts/build-kernel.sh"
	say "vmm-test: control run, L1 = the stock base kernel"
	FLAVOR=stock "$ROOT/scripts/vm.sh" --profile vtd --name vmm-stock --timeout 900 \
		--rootfs "$root" --files "$l2" --script "$ROOT/scripts/guest/vmm-l1.sh" \
		--kernel "$WORK/build-stock/arch/x86/boot/bzImage" --append p2p_expect=miss \
		--results "${VMM_RESULTS:-$WORK/vmm}/vm-vmm-stock.json" || rc=1
fi
exit $rc
