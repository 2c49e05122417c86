#!/usr/bin/env bash
# Boot the built kernel in a QEMU q35 VM with test devices, run a guest script, check the console log.
#
# vm.sh [--profile vtd|amdvi|virtio|novtd] [--name NAME] [--timeout SECS] [--files "PATHS"]
#       [--script FILE | --cmd "COMMAND"] [--append "KERNEL ARGS"] [--results FILE]
#       [--known-skips FILE] [--rootfs DIR] [--kernel FILE]
# Files land in the guest under /opt/bin (executables) or /opt (others); the
# script runs as /opt/run.sh. --rootfs merges DIR's usr/ (and its lib, lib64
# links) into the initramfs; --kernel boots FILE instead of the built kernel. Exit status: the guest's, or 1 on any kernel
# problem (oops, WARN, BUG, KASAN, UBSAN, lockdep, leak) or a missing result.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

profile=vtd name=run timeout=600 files="" script="" cmd="" append="" results="" known=""
rootfs="" kernel=""
while [ $# -gt 0 ]; do
	case "$1" in
	--profile) profile=$2; shift 2 ;;
	--name) name=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--files) files="$files $2"; shift 2 ;;
	--script) script=$2; shift 2 ;;
	--cmd) cmd=$2; shift 2 ;;
	--append) append="$append $2"; shift 2 ;;
	--results) results=$2; shift 2 ;;
	--known-skips) known=$2; shift 2 ;;
	--rootfs) rootfs=$2; shift 2 ;;
	--kernel) kernel=$2; shift 2 ;;
	*) die "vm.sh: unknown argument $1" ;;
	esac
done

kernel=${kernel:-$BUILD/arch/x86/boot/bzImage}
[ -f "$kernel" ] || die "no kernel at $kernel: run 'make kernel' first"
command -v qemu-system-x86_64 >/dev/null || "$ROOT/scripts/setup-host.sh"

run=$WORK/vm/$name
rm -rf "$run"
mkdir -p "$run/root/bin" "$run/root/opt/bin" "$LOGS"

# --- initramfs: busybox, our init, helpers, the user's files and script ---
cp /bin/busybox "$run/root/bin/busybox"
cp "$ROOT/scripts/guest/init" "$run/root/init"
cp "$ROOT/scripts/guest/lib.sh" "$run/root/opt/lib.sh"
for f in $files; do
	[ -e "$f" ] || die "--files: $f does not exist"
	if [ -x "$f" ] && [ ! -d "$f" ]; then cp "$f" "$run/root/opt/bin/"; else cp -r "$f" "$run/root/opt/"; fi
done
if [ -n "$rootfs" ]; then
	[ -d "$rootfs/usr" ] || die "--rootfs: no usr/ in $rootfs"
	(cd "$rootfs" && tar cf - --exclude=usr/share/doc --exclude=usr/share/man --exclude=usr/share/locale usr $(for l in lib lib64; do [ -L "$l" ] && echo "$l"; done)) |
		(cd "$run/root" && tar xf -)
fi
if [ -n "$script" ]; then cp "$script" "$run/root/opt/run.sh"; else printf '%s\n' "$cmd" > "$run/root/opt/run.sh"; fi
chmod +x "$run/root/init"
(cd "$run/root" && find . | cpio -o -H newc --quiet | gzip -1) > "$run/initramfs.cpio.gz"

# --- devices ---
shm=/dev/shm/p2p-$name-$$
small_size=16M large_size=${P2P_LARGE_BAR:-8G} rp_size=${P2P_RP_BAR:-16M}
truncate -s 0 "$shm-small" "$shm-large" "$shm-rp"
truncate -s "$small_size" "$shm-small"
truncate -s "$rp_size" "$shm-rp"
truncate -s "$large_size" "$shm-large"
cleanup() { rm -f "$shm-small" "$shm-large" "$shm-rp"; }
trap cleanup EXIT

accel=tcg
if [ "${P2P_ACCEL:-auto}" = kvm ] || { [ "${P2P_ACCEL:-auto}" = auto ] && [ -w /dev/kvm ] &&
	grep -qwE 'vmx|svm' /proc/cpuinfo && ! grep -q '^kvm_pvm ' /proc/modules 2>/dev/null; }; then
	accel=kvm
fi

# The vCPU reports an AMD Zen family: PCI P2PDMA allows P2P through any host
# bridge on AMD family >= 0x17 CPUs, and q35's Intel host bridge is not on
# its whitelist, so with an Intel vCPU the DMA API path refuses P2P.
cpu=${P2P_CPU:-max,vendor=AuthenticAMD,family=23,model=1}
qemu=(qemu-system-x86_64 -machine q35 -accel "$accel" -cpu "$cpu" -smp 2 -m "${P2P_VM_MEM:-4G}"
	-nodefaults -display none -no-reboot -serial stdio -monitor none
	-kernel "$kernel" -initrd "$run/initramfs.cpio.gz")
# no_timer_check: under TCG on a loaded host the IO-APIC timer check at
# boot can miss its ticks and panic ("timer doesn't work through
# Interrupt-remapped IO-APIC"); the emulated timer is known to work.
cmdline="console=ttyS0 panic=-1 oops=panic loglevel=7 no_timer_check $append"
# The vIOMMU. QEMU connects the devices to it when the machine is ready,
# whatever the order on the command line (the guest's checks in
# suite-devices.sh show each device in a DMA domain of this IOMMU and the
# IOMMU reporting the faults of blocked DMA).
iommu_post=()
case "$profile" in
vtd)
	qemu+=(-device intel-iommu,intremap=on,caching-mode=on,aw-bits=48)
	cmdline="$cmdline intel_iommu=on"
	iommu_desc="intel-iommu (caching-mode)" ;;
amdvi)
	# amd-iommu adds a PCI function of its own (AMDVI-PCI) on the first
	# free slot of bus 0, and QEMU 7.2 has no way to give it an address
	# (-global AMDVI-PCI.addr= aborts): created before the devices it
	# would take 00:01.0, edu's, so it comes after them and gets 00:08.0.
	# intremap=on: the guest remaps interrupts, so vfio needs no
	# allow_unsafe_interrupts.
	iommu_post=(-device amd-iommu,intremap=on)
	iommu_desc="amd-iommu, its PCI function at 00:08.0 (intremap)" ;;
virtio)
	# Without an address it takes 00:02.0 and shifts the rig's devices.
	# virtio-iommu has no interrupt remapping: type1 and iommufd refuse
	# the devices unless told that unsafe interrupts are acceptable.
	qemu+=(-device virtio-iommu-pci,addr=0a.0)
	cmdline="$cmdline vfio_iommu_type1.allow_unsafe_interrupts=1 iommufd.allow_unsafe_interrupts=1"
	iommu_desc="virtio-iommu-pci at 00:0a.0 (no interrupt remapping)" ;;
novtd)
	iommu_desc="no vIOMMU" ;;
*)
	die "unknown --profile $profile (vtd, amdvi, virtio or novtd)" ;;
esac
# The guest's suites check that the IOMMU they run under is this one.
cmdline="$cmdline p2p.iommu=$profile"
qemu+=(-device edu,addr=01.0,dma_mask=0xffffffffffffffff
	-object memory-backend-file,id=shm0,size=$small_size,share=on,mem-path=$shm-small
	-device ivshmem-plain,memdev=shm0,addr=02.0
	-device edu,addr=03.0,dma_mask=0xffffffffffffffff
	-object memory-backend-file,id=shm1,size=$large_size,share=on,mem-path=$shm-large
	-device ivshmem-plain,memdev=shm1,addr=04.0
	# Devices with the reset and power methods the root bus ivshmem lacks:
	# an ivshmem alone behind a root port (secondary bus reset, so
	# VFIO_DEVICE_RESET and hot reset), an nvme with a controller memory
	# buffer in BAR2 (PM capability for D3hot, PCIe FLR) and an e1000e
	# (the one emulated endpoint with AER, for injected errors).  The root
	# ports report 2.5 GT/s links: at higher speeds Linux waits for Data
	# Link Layer Link Active after a secondary bus reset, which QEMU's root
	# port does not set again for PCIe endpoints, and fails the reset.
	-device pcie-root-port,id=rp1,addr=05.0,chassis=1,x-speed=2_5
	-object memory-backend-file,id=shm2,size=$rp_size,share=on,mem-path=$shm-rp
	-device ivshmem-plain,memdev=shm2,bus=rp1
	-device pcie-root-port,id=rp2,addr=06.0,chassis=2,x-speed=2_5
	-device nvme,serial=p2p-cmb,cmb_size_mb=16,bus=rp2
	-device pcie-root-port,id=rp3,addr=07.0,chassis=3,x-speed=2_5
	-device e1000e,bus=rp3
	"${iommu_post[@]}")

# Extra QEMU arguments for debugging, e.g. P2P_QEMU_EXTRA="-trace vtd_*"
# shellcheck disable=SC2206
[ -n "${P2P_QEMU_EXTRA:-}" ] && qemu+=($P2P_QEMU_EXTRA)

if [ "$kernel" = "$BUILD/arch/x86/boot/bzImage" ]; then
	say "vm '$name': base $(base_version), flavor $FLAVOR, accel $accel, profile $profile"
else
	say "vm '$name': kernel $kernel, accel $accel, profile $profile"
fi
say "  devices: 00:01.0 edu, 00:02.0 ivshmem $small_size, 00:03.0 edu, 00:04.0 ivshmem $large_size,"
say "    01:00.0 ivshmem $rp_size, 02:00.0 nvme (16M CMB), 03:00.0 e1000e (each behind a root port)"
say "  IOMMU: $iommu_desc"
log=$LOGS/$name.log
t0=$(date +%s.%N)
set +e
timeout -k 10 "$timeout" "${qemu[@]}" -append "$cmdline" < /dev/null 2>&1 | sed -u 's/\r//g' > "$log"
qrc=${PIPESTATUS[0]}
set -e
secs=$(echo "$(date +%s.%N) - $t0" | bc)
say "vm '$name' finished in ${secs%.*}.$(echo "$secs" | cut -d. -f2 | cut -c1) s (qemu status $qrc), log: $log"
[ "$qrc" -eq 124 ] && echo "[rig] ERROR: vm '$name' timed out after $timeout s" >&2

args=(--log "$log" --profile "$profile" --shm "small=$shm-small" --shm "large=$shm-large" --shm "rp=$shm-rp")
[ -n "$results" ] && args+=(--results "$results")
[ -n "$known" ] && args+=(--known-skips "$known")
[ "${P2P_QUIET:-0}" = 1 ] || args+=(--echo)
python3 "$ROOT/scripts/parse-log.py" "${args[@]}"
