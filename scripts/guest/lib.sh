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

# descendants PID: PID and every process below it, one a line.
descendants() {
	for st in /proc/[0-9]*/status; do
		awk '/^Pid:/ { p = $2 } /^PPid:/ { print p, $2 }' "$st" 2>/dev/null
	done | awk -v root="$1" '{ pp[$1] = $2 } END {
		for (p in pp) for (q = p; q != "" && q != 0; q = pp[q])
			if (q == root) { print p; break } }'
}

# dump_tasks PID: state, wait channel, kernel stack and system call of every
# thread of PID and of its descendants, for a suite that hangs.
dump_tasks() {
	descendants "$1" |
	while read -r dp; do
		for t in /proc/"$dp"/task/*; do
			[ -d "$t" ] || continue
			echo "P2P-HANG task ${t#/proc/}: $(cat "$t/comm" 2>/dev/null)," \
				"$(grep State "$t/status" 2>/dev/null), wchan $(cat "$t/wchan" 2>/dev/null)"
			sed 's/^/P2P-HANG   /' "$t/stack" 2>/dev/null
			echo "P2P-HANG   syscall $(cat "$t/syscall" 2>/dev/null)"
		done
	done
}

# run_tap_within SECS NAME CMD...: run_tap with a deadline.  A suite still
# running after SECS seconds is reported (its tasks, the kernel's blocked
# tasks), killed and ends with rc=124, so that one hang neither costs the
# other suites of the VM nor goes unexplained.
run_tap_within() {
	secs=$1 name=$2
	shift 2
	echo "P2P-SUITE-BEGIN $name"
	"$@" &
	pid=$!
	waited=0
	while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt "$secs" ]; do
		sleep 1
		waited=$((waited + 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "P2P-HANG $name still running after $secs s"
		dump_tasks "$pid"
		echo w > /proc/sysrq-trigger
		# shellcheck disable=SC2046
		kill -9 $(descendants "$pid") 2>/dev/null
		rc=124
	else
		wait "$pid"
		rc=$?
	fi
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
