# shellcheck shell=sh
# Guest helpers for suite scripts (sourced inside the VM).

# run_tap NAME CMD...: run a TAP-printing test program as suite NAME.
run_tap() {
	name=$1
	shift
	echo "P2P-SUITE-BEGIN $name"
	"$@"
	rc=$?
	echo "P2P-SUITE-END $name rc=$rc"
	return 0
}

# driver_bind BDF DRIVER: hand a PCI device to DRIVER through driver_override.
driver_bind() {
	d=/sys/bus/pci/devices/$1
	[ -e "$d/driver" ] && echo "$1" > "$d/driver/unbind"
	echo "$2" > "$d/driver_override"
	echo "$1" > /sys/bus/pci/drivers_probe
}

# vfio_bind BDF: hand a PCI device to vfio-pci.
vfio_bind() {
	driver_bind "$1" vfio-pci
}

# hugepages N [SIZE_KB]: reserve N huge pages (default 2 MiB).
hugepages() {
	echo "$1" > "/sys/kernel/mm/hugepages/hugepages-${2:-2048}kB/nr_hugepages" 2>/dev/null
}
