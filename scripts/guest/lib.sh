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

# iommu_model: the vIOMMU the host gave this VM (vm.sh --profile), from
# p2p.iommu= on the kernel command line.
iommu_model() {
	sed -n 's/.*p2p\.iommu=\([a-z]*\).*/\1/p' /proc/cmdline
}

# tap_check N DESC CMD...: print TAP line N for DESC, ok if CMD succeeds.
tap_check() {
	n=$1 desc=$2
	shift 2
	if "$@" >/dev/null 2>&1; then echo "ok $n $desc"; else echo "not ok $n $desc"; fi
}

# iommu_check_model BDF...: TAP tests that the kernel's IOMMU driver is the
# one of the VM's profile and that every BDF is translated by it (a DMA
# domain in a group of its own IOMMU instance), so that the device tests
# that follow ran their DMA through that IOMMU model.
iommu_check_model() {
	model=$(iommu_model)
	case "$model" in
	vtd) unit='dmar*' boot='DMAR: Intel\(R\) Virtualization Technology for Directed I/O' ;;
	amdvi) unit='ivhd*' boot='AMD-Vi: Interrupt remapping enabled' ;;
	# virtio-iommu's unit is named after its PCI function (vm.sh: 00:0a.0)
	virtio) unit='0000:00:0a.0' boot='virtio_iommu virtio[0-9]*: input address' ;;
	*) unit='' boot='' ;;
	esac
	echo "1..$(($# + 2))"
	tap_check 1 "profile '$model' names an IOMMU model" test -n "$unit"
	tap_check 2 "boot log: $boot" eval "dmesg | grep -Eq '$boot'"
	n=3
	for d in "$@"; do
		u=$(readlink "/sys/bus/pci/devices/$d/iommu" 2>/dev/null)
		g=$(readlink "/sys/bus/pci/devices/$d/iommu_group" 2>/dev/null)
		t=$(cat "/sys/kernel/iommu_groups/${g##*/}/type" 2>/dev/null)
		# shellcheck disable=SC2254
		case "${u##*/}:$t" in
		$unit:DMA | $unit:DMA-FQ) echo "ok $n $d: ${u##*/}, group ${g##*/}, $t domain" ;;
		*) echo "not ok $n $d: IOMMU '${u##*/}', group '${g##*/}', type '$t' (want $unit, DMA)" ;;
		esac
		n=$((n + 1))
	done
}

# iommu_check_faults BDF: TAP test that the VM's IOMMU reported a DMA fault
# from BDF (the device tests' blocked DMAs were blocked by the IOMMU).
iommu_check_faults() {
	bdf=$1 short=${1#0000:}
	case "$(iommu_model)" in
	vtd) pat="DMAR: \[DMA (Read|Write).* Request device \[$short\]" ;;
	amdvi)
		# QEMU 7.2's amd-iommu blocks a DMA that has no IOPTE without
		# an event: the tests' own blocked-DMA checks are the evidence.
		echo "1..1"
		echo "ok 1 the amdvi IOMMU reported a DMA fault from $bdf # SKIP QEMU's amd-iommu logs no I/O page fault events"
		return ;;
	# virtio-iommu names the endpoint by its PCI requester ID
	virtio) pat="fault from EP $(pci_rid "$bdf") " ;;
	*) pat='' ;;
	esac
	echo "1..1"
	tap_check 1 "the $(iommu_model) IOMMU reported a DMA fault from $bdf" \
		eval "[ -n '$pat' ] && dmesg | grep -Eq '$pat'"
}

# pci_rid BDF: the PCI requester ID (bus << 8 | dev << 3 | fn) in decimal.
pci_rid() {
	b=${1#*:}
	bus=${b%%:*} dev=${b#*:}
	fn=${dev#*.} dev=${dev%.*}
	echo $(((0x$bus << 8) | (0x$dev << 3) | fn))
}
