# Guest suite for the VM without a vIOMMU, where the iommufd selftest mock
# IOMMU driver is the only one (with emulated VT-d present the mock devices
# get EINVAL): the base kernel's iommufd selftests, then our tests that use
# mock domains. Base tests that cannot pass on this kernel are turned into
# skips, with their reason, by the host (scripts/guest/iommu-known-skips).
. /opt/lib.sh
hugepages 256
run_tap iommufd /opt/bin/iommufd
run_tap iommufd_fail_nth /opt/bin/iommufd_fail_nth
for t in /opt/bin/*; do
	case "${t##*/}" in
	iommufd | iommufd_fail_nth) ;;
	# It includes the base fail_nth tests; run only its own fixture.
	map_file_fail_nth) run_tap "p2p/${t##*/}" "$t" -f map_file_fail_nth ;;
	*) run_tap "p2p/${t##*/}" "$t" ;;
	esac
done
