# Guest script of the L1 VM for make vmm-test: a Debian QEMU (from the
# packages merged into this initramfs) starts L2 with edu and ivshmem passed
# through, and its trace, its messages and our debugfs show whether and how
# it mapped ivshmem's BAR2 for P2P.
#
# Kernel command line: p2p_vmm=11.1|10.0|7.2 (which QEMU is here, and so how
# it maps BARs), p2p_expect=land|miss (miss: the stock kernel, P2P is lost).
#   11.1  -object iommufd; a dma-buf of each BAR, IOMMU_IOAS_MAP_FILE
#   10.0  -object iommufd; IOMMU_IOAS_MAP of the BAR mmap address
#   7.2   the legacy container (no iommufd=); VFIO_IOMMU_MAP_DMA of the BAR
#         mmap address, on iommufd's type1 compatible container
# ivshmem sits behind a root port in L2 too, so that L2 can reset it (a
# secondary bus reset, which QEMU turns into a reset of the device in L1).
# When L2 asks, L1 resets the device through sysfs behind QEMU's back: the
# kernel must revoke and restore the BAR's P2P mapping by itself.
# shellcheck disable=SC2016 # check() evaluates its quoted condition
. /opt/lib.sh
export PATH="/usr/bin:/usr/sbin:$PATH"
arg() { sed -n "s/.*$1=\([a-z0-9.]*\).*/\1/p" /proc/cmdline; }
vmm=$(arg p2p_vmm)
vmm=${vmm:-11.1}
expect=$(arg p2p_expect)
expect=${expect:-land}
shm=0000:01:00.0
vfio_bind 0000:00:01.0
vfio_bind $shm
qver=$(qemu-system-x86_64 --version | sed -n 's/^QEMU emulator version \([^ ]*\).*/\1/p')
echo "QEMU $qver, expecting P2P to $expect"
case "$vmm" in
11.1)
	backend="-object iommufd,id=iommufd0" opt=",iommufd=iommufd0"
	trace="-trace vfio_region_dmabuf -trace iommufd_backend_map_file_dma" ;;
10.0)
	backend="-object iommufd,id=iommufd0" opt=",iommufd=iommufd0"
	trace="-trace iommufd_backend_map_dma" ;;
7.2)
	backend="" opt=""
	trace="-trace vfio_listener_region_add_ram -trace vfio_listener_region_del" ;;
*)
	echo "unknown p2p_vmm=$vmm"
	exit 1 ;;
esac
case "$qver" in
"$vmm"*) ;;
*) echo "warning: p2p_vmm=$vmm but QEMU is $qver" ;;
esac

# Our exporter's and importer's debugfs views (absent on the stock kernel),
# sampled while QEMU runs
exports=/sys/kernel/debug/vfio_pci_dmabuf/exports
areas=/sys/kernel/debug/iommufd/dmabuf_areas
touch /tmp/watch
(while [ -e /tmp/watch ]; do
	grep -h "dev $shm bar 2 " $exports 2>/dev/null
	cat $areas 2>/dev/null
	sleep 0.2
done > /tmp/debugfs.log) &
# L2's console: its output is kept in /tmp/l2.log, its input is a FIFO
# that L1 answers on
mkfifo /tmp/l2in
exec 3<>/tmp/l2in
(while [ -e /tmp/watch ] && ! grep -q '^P2P-L2-HOST-RESET' /tmp/l2.log 2>/dev/null; do
	sleep 0.2
done
[ -e /tmp/watch ] || exit 0
cat $exports $areas > /tmp/before-reset.txt 2>/dev/null
if echo 1 > /sys/bus/pci/devices/$shm/reset; then echo ok; else echo failed; fi > /tmp/l1-reset
cat $exports $areas > /tmp/after-reset.txt 2>/dev/null
echo "done" >&3) &

l2() {
	# shellcheck disable=SC2086
	{ qemu-system-x86_64 -machine q35 -accel tcg -cpu max -m 256M \
		-nodefaults -display none -no-reboot -serial stdio -monitor none \
		$backend \
		-device vfio-pci,host=0000:00:01.0$opt \
		-device pcie-root-port,id=rp1,chassis=1,x-speed=2_5 \
		-device vfio-pci,host=$shm$opt,bus=rp1 \
		-kernel /opt/l2/bzImage -initrd /opt/l2/initramfs.cpio.gz \
		-append "console=ttyS0 quiet kunit.enable=0 panic=-1 p2p_expect=$expect" \
		$trace -D /tmp/qemu-trace.log < /tmp/l2in 2>/tmp/qemu-stderr.log
	echo $? > /tmp/qemu.rc; } | tee /tmp/l2.log
	return "$(cat /tmp/qemu.rc)"
}
t0=$(cut -d. -f1 /proc/uptime)
run_tap vmm/l2 l2
echo "== L2 ran for $(($(cut -d. -f1 /proc/uptime) - t0)) s"
rm -f /tmp/watch
wait
exec 3>&-
echo "== QEMU's trace and messages"
cat /tmp/qemu-trace.log /tmp/qemu-stderr.log
echo "== L1 reset of $shm: $(cat /tmp/l1-reset 2>/dev/null || echo "not done")"
cat /tmp/before-reset.txt /tmp/after-reset.txt 2>/dev/null | sed 's/^/# /'

tr -d '\r' < /tmp/l2.log > /tmp/l2.txt
gpa=$(sed -n 's/.* to BAR2 \(0x[0-9a-f]*\) + .*/\1/p' /tmp/l2.txt | head -1)
landed=$(grep -c '^# .* to BAR2 .*: landed$' /tmp/l2.txt)
writes=$(grep -c '^# .* to BAR2 ' /tmp/l2.txt)

n=0
t() { # t ok|not-ok DESCRIPTION: one TAP result
	n=$((n + 1))
	if [ "$1" = ok ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi
}
check() { # check DESCRIPTION CONDITION: ok when the shell CONDITION holds
	if eval "$2"; then t ok "$1"; else t not-ok "$1"; fi
}
# the area L1's iommufd holds for the BAR at $gpa, and the exporter's
# dma-buf of BAR2, in a debugfs snapshot; state and counters of the area
area() { grep "^ioas [0-9]* iova $gpa-" "$1" 2>/dev/null | tail -1; }
export_line() { grep "dev $shm bar 2 " "$1" 2>/dev/null | tail -1; }
field() { echo "$1" | sed -n "s/.* $2 \([^ ]*\).*/\1/p"; }

echo "P2P-SUITE-BEGIN vmm/qemu"
echo "TAP version 13"
check "L2 reported its ivshmem BAR2 address (${gpa:-none})" '[ -n "$gpa" ]'
gpa=${gpa:-none}
warn='VFIO dma-buf not supported in kernel, using mmap fallback, P2P DMA will not work'
debugfs=-
case "$vmm-$expect" in
11.1-land)
	fd=$(sed -n 's/.*vfio_region_dmabuf .*dmabuf fd \([0-9]*\) region 2 .*/\1/p' /tmp/qemu-trace.log | head -1)
	check "QEMU made a dma-buf of the ivshmem BAR2 (fd ${fd:-none})" '[ -n "$fd" ]'
	check "QEMU mapped it with IOMMU_IOAS_MAP_FILE, which returned 0" \
		'grep -q "iommufd_backend_map_file_dma .* fd=${fd:-none} .*(0)" /tmp/qemu-trace.log'
	map="dma-buf, IOMMU_IOAS_MAP_FILE" result=0
	# L2's firmware, kernel, toggle and reset each revoke it; each time
	# it must come back (state active) without QEMU making a new one
	rev=$(sed -n 's/.* state active revokes \([0-9]*\) .*/\1/p' /tmp/debugfs.log | sort -n | tail -1)
	grep "dev $shm bar 2 " /tmp/debugfs.log | sort -u | sed 's/^/# /' | tail -4
	check "L1 revoked and restored the ivshmem dma-buf while L2 ran (${rev:-no} revokes seen active again)" \
		'[ "${rev:-0}" -ge 2 ]'
	;;
10.0-land)
	maps=$(grep -c "iommufd_backend_map_dma .* iova=$gpa .*" /tmp/qemu-trace.log)
	ok=$(grep -c "iommufd_backend_map_dma .* iova=$gpa .*(0)$" /tmp/qemu-trace.log)
	check "QEMU mapped BAR2 with IOMMU_IOAS_MAP of its address, which returned 0 ($ok of $maps maps)" \
		'[ "$maps" -ge 1 ] && [ "$ok" = "$maps" ]'
	# ivshmem's BAR0 is 256 bytes: QEMU maps the page around it, which
	# is not a BAR slice the exporter gives out (EFAULT, as anywhere)
	nf=$(grep "iommufd_backend_map_dma " /tmp/qemu-trace.log | grep -vc '(0)$')
	nsub=$(grep "iommufd_backend_map_dma .* size=0x1000 " /tmp/qemu-trace.log | grep -vc '(0)$')
	check "QEMU's failed IOMMU_IOAS_MAPs ($nf) are all of the page of a sub-page BAR" \
		'[ "$nf" = "$nsub" ] && [ "$(grep -c "IOMMU_IOAS_MAP failed" /tmp/qemu-stderr.log)" = "$nf" ]'
	map="IOMMU_IOAS_MAP of the BAR address" result="0 for $ok of $maps"
	;;
7.2-land)
	maps=$(grep -c "vfio_listener_region_add_ram region_add \[ram\] $gpa - " /tmp/qemu-trace.log)
	check "QEMU mapped BAR2 with VFIO_IOMMU_MAP_DMA of its address ($maps region_add [ram] at $gpa)" \
		'[ "$maps" -ge 1 ]'
	# QEMU 7.2 traces no result; it reports every failed VFIO_IOMMU_MAP_DMA
	# as for 10.0, only the page of ivshmem's 256-byte BAR0 fails
	nf=$(grep -c "vfio_dma_map(" /tmp/qemu-stderr.log)
	nsub=$(grep -c "vfio_dma_map(.*, 0x1000, .*) = -14" /tmp/qemu-stderr.log)
	check "QEMU reported no failed VFIO_IOMMU_MAP_DMA of BAR2 (each returned 0; $nf failed, all of the page of a sub-page BAR)" \
		'! grep -q "vfio_dma_map(.*, $gpa, " /tmp/qemu-stderr.log && [ "$nf" = "$nsub" ]'
	nbar=$(grep -c "vfio_dma_map(.*, $gpa, " /tmp/qemu-stderr.log)
	map="VFIO_IOMMU_MAP_DMA of the BAR address" result="$maps maps, $nbar errors"
	;;
11.1-miss)
	check "QEMU fell back to mmap: '$warn'" 'grep -qF "$warn" /tmp/qemu-stderr.log'
	check "QEMU made no dma-buf" '! grep -q "vfio_region_dmabuf .* region 2 " /tmp/qemu-trace.log'
	map="mmap fallback (no dma-buf)" result="$(grep -qF "$warn" /tmp/qemu-stderr.log && echo 'fallback warning')"
	;;
10.0-miss)
	maps=$(grep -c "iommufd_backend_map_dma .* iova=$gpa .*" /tmp/qemu-trace.log)
	# the trace shows the ioctl's return value, -1 (errno EFAULT)
	bad=$(grep -c "iommufd_backend_map_dma .* iova=$gpa .*(-1)$" /tmp/qemu-trace.log)
	check "QEMU printed 'IOMMU_IOAS_MAP failed: Bad address, PCI BAR?'" \
		'grep -qF "IOMMU_IOAS_MAP failed: Bad address, PCI BAR?" /tmp/qemu-stderr.log'
	check "every IOMMU_IOAS_MAP of BAR2 failed with EFAULT ($bad of $maps)" \
		'[ "$maps" -ge 1 ] && [ "$bad" = "$maps" ]'
	map="IOMMU_IOAS_MAP of the BAR address" result="EFAULT ($bad of $maps)"
	;;
7.2-miss)
	bad=$(grep -c "vfio_dma_map(.*, $gpa, .*) = -14 (Bad address)" /tmp/qemu-stderr.log)
	check "QEMU printed 'vfio_dma_map(..., $gpa, ...) = -14 (Bad address)' ($bad times)" '[ "$bad" -ge 1 ]'
	check "QEMU printed 'VFIO_MAP_DMA failed: Bad address'" \
		'grep -qF "VFIO_MAP_DMA failed: Bad address" /tmp/qemu-stderr.log'
	map="VFIO_IOMMU_MAP_DMA of the BAR address" result="EFAULT ($bad maps)"
	;;
esac

# BARs mapped by address (10.0, 7.2) on our kernel: a dma-buf area made
# from the address. QEMU unmaps it before each memory toggle or reset it
# sees, so the area it had mapped is revoked and restored only by the
# reset L1 makes behind its back.
if [ "$expect" = land ] && [ "$vmm" != 11.1 ]; then
	a=$(area /tmp/debugfs.log)
	e=$(export_line /tmp/debugfs.log)
	echo "# area: ${a:-none}"
	echo "# export: ${e:-none}"
	check "L1's debugfs shows the BAR2 area at $gpa and its dma-buf as 'source va'" \
		'[ "$(field "$a" source)" = va ] && [ "$(field "$e" source)" = va ]'
fi
if [ "$expect" = land ]; then
	if [ "$vmm" = 11.1 ]; then
		b=$(export_line /tmp/before-reset.txt)
		a=$(export_line /tmp/after-reset.txt)
		state=$(field "$a" state)
		src=$(field "$a" source)
	else
		b=$(area /tmp/before-reset.txt)
		a=$(area /tmp/after-reset.txt)
		state=$(field "$a" state)
		src=$(field "$a" source)
	fi
	rb=$(field "$b" revokes)
	ra=$(field "$a" revokes)
	sb=$(field "$b" restores)
	sa=$(field "$a" restores)
	echo "# before the L1 reset: ${b:-none}"
	echo "# after the L1 reset: ${a:-none}"
	if [ "$vmm" = 11.1 ]; then
		check "L1's reset revoked the BAR2 dma-buf and restored it (revokes ${rb:-?} -> ${ra:-?}, $state)" \
			'[ "$(cat /tmp/l1-reset 2>/dev/null)" = ok ] && [ "${ra:-0}" -gt "${rb:-0}" ] && [ "$state" = active ]'
		debugfs="source $src, $ra revokes, $state"
		[ -n "$a" ] || debugfs="no dma-buf of BAR2"
	else
		check "L1's reset revoked the BAR2 area and restored it (revokes ${rb:-?} -> ${ra:-?}, restores ${sb:-?} -> ${sa:-?}, $state)" \
			'[ "$(cat /tmp/l1-reset 2>/dev/null)" = ok ] && [ "${ra:-0}" -gt "${rb:-0}" ] &&
			[ "${sa:-0}" -gt "${sb:-0}" ] && [ "$state" = mapped ]'
		debugfs="source $src, L1 reset: revokes $rb->$ra, restores $sb->$sa, $state"
		[ -n "$a" ] || debugfs="no area at $gpa"
	fi
fi
echo "1..$n"
echo "P2P-SUITE-END vmm/qemu rc=0"
echo "P2P-VMM-ROW qemu=$qver; map=$map; result=$result; landed=$landed/$writes; debugfs=$debugfs"
