# Guest demo: show the VM's devices, IOMMU groups, /dev/iommu and /dev/vfio.
. /opt/lib.sh
echo "== kernel"; uname -r
echo "== PCI devices (vendor:device class)"
for d in /sys/bus/pci/devices/*; do
	printf '%s %s:%s class %s\n' "${d##*/}" "$(cat $d/vendor)" "$(cat $d/device)" "$(cat $d/class)"
done
echo "== IOMMU"
dmesg | grep -E 'DMAR: (IOMMU enabled|Intel\(R\) Virtualization|Host address width)|iommu: Default domain' | head -5
echo "== IOMMU groups"
for g in /sys/kernel/iommu_groups/*; do echo "group ${g##*/}: $(ls $g/devices | tr '\n' ' ')"; done
echo "== binding edu, ivshmem, nvme and e1000e to vfio-pci, the second edu to the test P2P importer"
for d in 0000:00:01.0 0000:00:02.0 0000:00:04.0 0000:01:00.0 0000:02:00.0 \
	0000:03:00.0; do
	vfio_bind $d
done
driver_bind 0000:00:03.0 p2p_importer
ls -l /dev/iommu /dev/vfio /dev/vfio/devices
for d in /sys/bus/pci/devices/*/vfio-dev/*; do echo "$d"; done
if [ -x /opt/bin/rig_smoke ]; then
	echo "== P2P through a VFIO type1 container (stock kernel path): edu DMA into the ivshmem BAR"
	/opt/bin/rig_smoke -f type1 | grep -E '^(ok|not ok|#  (RUN|OK|FAIL))'
fi
if [ -x /opt/bin/map_file_e2e ]; then
	echo "== IOMMU_IOAS_MAP_FILE: edu (attached through /dev/vfio/devices + iommufd) DMAs into and out of a memfd"
	hugepages 8
	/opt/bin/map_file_e2e -t dma_reads_and_writes_memfd | grep -E '^(ok|not ok|#  (RUN|OK|FAIL))'
fi
if [ -x /opt/bin/vfio_dmabuf ]; then
	echo "== VFIO_DEVICE_FEATURE_DMA_BUF: ivshmem 00:02.0 exports two ranges of BAR2 as one dma-buf;"
	echo "   the test importer (edu 00:03.0) imports it and DMAs into the BAR peer to peer."
	echo "   The bytes are read back through the BAR, and the host checks its backing file (P2P-HOST-EXPECT)."
	/opt/bin/vfio_dmabuf -r dmabuf.p2p_dma | grep -E '^(ok|not ok|#  (RUN|OK|FAIL)|P2P-HOST)'
fi
if [ -x /opt/bin/vfio_dmabuf_revoke ]; then
	echo "== Revocation: clearing memory decode, then a reset, of the exporting device (ivshmem 01:00.0)."
	echo "   The importer gets move_notify and unmaps, its DMA fails with ENODEV and does not land;"
	echo "   when the BAR decodes again the importer maps again and its DMA lands."
	echo 1 > /sys/kernel/tracing/events/vfio_pci_dmabuf/enable 2>/dev/null
	/opt/bin/vfio_dmabuf_revoke -r revoke.ivshmem_rootport.command_mem \
		-r revoke.ivshmem_rootport.device_reset |
		grep -E '^(ok|not ok|#  (RUN|OK|FAIL))'
	echo "== the exporter's tracepoints for that run"
	grep -o 'vfio_pci_dmabuf_[a-z]*: .*' /sys/kernel/tracing/trace 2>/dev/null | head -20
fi
if [ -x /opt/bin/map_file_dmabuf_e2e ]; then
	echo "== VM P2P through iommufd (what a VMM does for two passed-through devices):"
	echo "   1. ivshmem 01:00.0 (device B) exports its BAR2 as a dma-buf (VFIO_DEVICE_FEATURE_DMA_BUF)"
	echo "   2. the dma-buf is mapped into the IOAS of edu 00:01.0 (device A) with IOMMU_IOAS_MAP_FILE"
	echo "   3. device A DMAs into device B's BAR through the IOMMU: it lands (BAR and host file checked)"
	echo 1 > /sys/kernel/tracing/events/iommufd_dmabuf/enable 2>/dev/null
	echo > /sys/kernel/tracing/trace 2>/dev/null
	/opt/bin/map_file_dmabuf_e2e -r vmp2p.ivshmem_rootport.write_and_read |
		grep -E '^(ok|not ok|#  (RUN|OK|FAIL))'
	echo "   4. device B loses its BAR (low power, as around a reset): the IOPTEs are removed, A's write is"
	echo "      blocked by the IOMMU (a DMAR fault); B comes back: A's write lands again, with no remap"
	/opt/bin/map_file_dmabuf_e2e -r vmp2p.ivshmem_rootport.revoke_low_power |
		grep -E '^(ok|not ok|#  (RUN|OK|FAIL))'
	dmesg | grep -m1 'DMAR: \[DMA Write' || true
	echo "   5. VFIO_DEVICE_RESET of device B: revoked and restored inside the reset; A's write lands after it"
	/opt/bin/map_file_dmabuf_e2e -r vmp2p.ivshmem_rootport.device_reset |
		grep -E '^(ok|not ok|#  (RUN|OK|FAIL))'
	echo "== the importer's tracepoints for these runs"
	grep -o 'iommufd_dmabuf_[a-z]*: .*' /sys/kernel/tracing/trace 2>/dev/null | head -20
fi
