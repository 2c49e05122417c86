# Guest script of the L1 VM for make vmm-test: QEMU 11.x (from the Debian
# packages merged into this initramfs) starts L2 with edu and ivshmem passed
# through with vfio-pci and iommufd, and its trace shows which path it took.
# ivshmem sits behind a root port in L2 too, so that L2 can reset it (a
# secondary bus reset, which QEMU turns into a reset of the device in L1).
. /opt/lib.sh
export PATH=/usr/bin:/usr/sbin:$PATH
expect=$(sed -n 's/.*p2p_expect=\([a-z]*\).*/\1/p' /proc/cmdline)
vfio_bind 0000:00:01.0
vfio_bind 0000:01:00.0
qemu-system-x86_64 --version | head -1
# Watch our exporter's debugfs view (absent on the stock kernel) while
# QEMU runs: the revoke count of ivshmem's dma-buf
exports=/sys/kernel/debug/vfio_pci_dmabuf/exports
touch /tmp/watch
(while [ -e /tmp/watch ]; do
	grep 'dev 0000:01:00.0 bar 2' $exports 2>/dev/null
	sleep 0.2
done > /tmp/exports.log) &
run_tap vmm/l2 qemu-system-x86_64 -machine q35 -accel tcg -cpu max -m 256M \
	-nodefaults -display none -no-reboot -serial stdio -monitor none \
	-object iommufd,id=iommufd0 \
	-device vfio-pci,host=0000:00:01.0,iommufd=iommufd0 \
	-device pcie-root-port,id=rp1,chassis=1,x-speed=2_5 \
	-device vfio-pci,host=0000:01:00.0,iommufd=iommufd0,bus=rp1 \
	-kernel /opt/l2/bzImage -initrd /opt/l2/initramfs.cpio.gz \
	-append "console=ttyS0 quiet kunit.enable=0 panic=-1 p2p_expect=${expect:-land}" \
	-trace vfio_region_dmabuf -trace iommufd_backend_map_file_dma \
	-D /tmp/qemu-trace.log 2>/tmp/qemu-stderr.log
rm -f /tmp/watch
wait
echo "== QEMU's trace and messages"
cat /tmp/qemu-trace.log /tmp/qemu-stderr.log
echo "P2P-SUITE-BEGIN vmm/qemu"
echo "TAP version 13"
echo "1..3"
fd=$(sed -n 's/.*vfio_region_dmabuf .*dmabuf fd \([0-9]*\) region 2 .*/\1/p' /tmp/qemu-trace.log | head -1)
warn='VFIO dma-buf not supported in kernel, using mmap fallback, P2P DMA will not work'
if [ "${expect:-land}" = land ]; then
	if [ -n "$fd" ]; then
		echo "ok 1 - QEMU made a dma-buf of the ivshmem BAR2 (fd $fd)"
	else
		echo "not ok 1 - QEMU made a dma-buf of the ivshmem BAR2"
	fi
	if [ -n "$fd" ] && grep -q "iommufd_backend_map_file_dma .* fd=$fd .*(0)" /tmp/qemu-trace.log; then
		echo "ok 2 - QEMU mapped it with IOMMU_IOAS_MAP_FILE, which returned 0"
	else
		echo "not ok 2 - QEMU mapped it with IOMMU_IOAS_MAP_FILE, which returned 0"
	fi
	# L2's memory toggle and reset revoked the BAR's dma-buf in L1, and
	# it was restored each time
	# L2's firmware, kernel, toggle and reset each revoke it; each time
	# it must come back (state active) without QEMU making a new one
	rev=$(sed -n 's/.* state active revokes \([0-9]*\) .*/\1/p' /tmp/exports.log | sort -n | tail -1)
	sort -u /tmp/exports.log | sed 's/^/# /' | tail -4
	if [ "${rev:-0}" -ge 2 ]; then
		echo "ok 3 - L1 revoked and restored the ivshmem dma-buf while L2 ran ($rev revokes, active again)"
	else
		echo "not ok 3 - L1 revoked and restored the ivshmem dma-buf while L2 ran (${rev:-no} revokes seen active again)"
	fi
else
	if grep -qF "$warn" /tmp/qemu-stderr.log; then
		echo "ok 1 - QEMU fell back to mmap: '$warn'"
	else
		echo "not ok 1 - QEMU fell back to mmap: '$warn'"
	fi
	if [ -z "$fd" ]; then
		echo "ok 2 - QEMU made no dma-buf"
	else
		echo "not ok 2 - QEMU made no dma-buf"
	fi
	echo "ok 3 - no dma-buf to revoke on the stock kernel # SKIP control run"
fi
echo "P2P-SUITE-END vmm/qemu rc=0"
