# Guest suite: the base kernel's iommufd selftests. Run without a vIOMMU so that
# the selftest's mock IOMMU driver is the only one (with emulated VT-d present
# the mock devices get EINVAL). Tests listed in iommu-known-skips are excluded
# and reported as skipped with their reason.
. /opt/lib.sh
hugepages 256
excl=""
names=""
while IFS='|' read -r name reason; do
	case "$name" in '#'* | '') continue ;; esac
	excl="$excl -T $name"
	names="$names $name"
done < /opt/iommu-known-skips
run_tap iommufd /opt/bin/iommufd $excl
run_tap iommufd_fail_nth /opt/bin/iommufd_fail_nth
echo "P2P-SUITE-BEGIN iommufd-known-skips"
n=0
while IFS='|' read -r name reason; do
	case "$name" in '#'* | '') continue ;; esac
	n=$((n + 1))
	echo "ok $n $name # SKIP $reason"
done < /opt/iommu-known-skips
echo "P2P-SUITE-END iommufd-known-skips rc=0"
