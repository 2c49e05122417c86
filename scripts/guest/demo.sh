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
echo "== binding edu and ivshmem to vfio-pci"
for d in 0000:00:01.0 0000:00:02.0 0000:00:03.0 0000:00:04.0; do vfio_bind $d; done
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
