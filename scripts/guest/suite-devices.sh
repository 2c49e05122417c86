# Guest suite for the VM with emulated VT-d: our tests that drive real
# (emulated) devices, with the rig's devices bound to vfio-pci.
. /opt/lib.sh
hugepages 256
# 01:00.0 ivshmem, 02:00.0 nvme and 03:00.0 e1000e sit behind root ports.
for d in 0000:00:01.0 0000:00:02.0 0000:00:04.0 0000:01:00.0 0000:02:00.0 \
	0000:03:00.0; do
	vfio_bind $d
done
# The second edu is the test P2P importer (CONFIG_VFIO_PCI_DMABUF_TEST_IMPORTER).
driver_bind 0000:00:03.0 p2p_importer
for t in /opt/bin/*; do
	run_tap "p2p/${t##*/}" "$t"
done
