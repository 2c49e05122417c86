# Guest suite for the VMs with a vIOMMU (VT-d, AMD-Vi, virtio-iommu): our
# tests that drive real (emulated) devices, with the rig's devices bound to
# vfio-pci. First and last, checks that the IOMMU model is the profile's.
. /opt/lib.sh
hugepages 256
# 01:00.0 ivshmem, 02:00.0 nvme and 03:00.0 e1000e sit behind root ports.
devs="0000:00:01.0 0000:00:02.0 0000:00:04.0 0000:01:00.0 0000:02:00.0
	0000:03:00.0"
for d in $devs; do
	vfio_bind $d
done
# The second edu is the test P2P importer (CONFIG_TEST_P2P_IMPORTER).
driver_bind 0000:00:03.0 p2p_importer
# shellcheck disable=SC2086
run_tap "rig/iommu-model" iommu_check_model $devs 0000:00:03.0
for t in /opt/bin/*; do
	case "${t##*/}" in
	fuzz_devices)
		# Runs in make soak (and here with P2P_FUZZ_DEVICES=1) until the
		# rare runs that never finish are understood; a deadline turns
		# such a run into a failure with the tasks' stacks.
		[ -n "$P2P_FUZZ_DEVICES" ] || continue
		run_tap_within 900 "p2p/${t##*/}" "$t"
		;;
	*) run_tap "p2p/${t##*/}" "$t" ;;
	esac
done
# rig_smoke has edu DMA to an unmapped IOVA: the IOMMU must have said so.
if [ -x /opt/bin/rig_smoke ]; then
	run_tap "rig/iommu-faults" iommu_check_faults 0000:00:01.0
fi
