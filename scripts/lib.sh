# shellcheck shell=bash
# Common settings and helpers for the rig scripts (sourced, not run).

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${P2P_WORK:-$ROOT/work}
TREE=$WORK/linux
FLAVOR=${FLAVOR:-debug}
# FLAVOR=stock builds the unpatched base (the control case of make vmm-test)
# from a worktree of work/linux at its base tag.
[ "$FLAVOR" = stock ] && TREE=$WORK/linux-stock
# FLAVOR=upstream builds Debian's linux-source-7.3, unpatched, as the
# benchmarks' peer (scripts/build-upstream.sh).
[ "$FLAVOR" = upstream ] && TREE=$WORK/linux-upstream
BUILD=${BUILD:-$WORK/build-$FLAVOR}
LOGS=$WORK/logs
JOBS=${JOBS:-$(nproc)}
BASE_PKG=linux-source-6.12
BASE_TARBALL=${BASE_TARBALL:-}
OVERLAY_DIRS="drivers include lib tools Documentation"

export CCACHE_BASEDIR=$WORK
export CCACHE_NOHASHDIR=1
export CCACHE_COMPILERCHECK=content
export KBUILD_BUILD_TIMESTAMP=${KBUILD_BUILD_TIMESTAMP:-2024-11-17}
export KBUILD_BUILD_USER=p2p
export KBUILD_BUILD_HOST=rig

say() { printf '[rig] %s\n' "$*"; }
die() { printf '[rig] ERROR: %s\n' "$*" >&2; exit 1; }

# kmake ARGS...: make in the prepared tree, out of tree, with ccache when present.
kmake() {
	local cc=gcc
	command -v ccache >/dev/null && cc="ccache gcc"
	make -C "$TREE" O="$BUILD" -j"$JOBS" CC="$cc" HOSTCC="$cc" LOCALVERSION= -s "$@"
}

# build_lock: hold the machine's kernel build lock (fd 9) until the script
# exits.  One kernel build at a time on this machine, whichever checkout
# runs it: two at once on 2 cores only make both slower and can run out of
# memory.
build_lock() {
	local lockdir=${P2P_CACHE:-$HOME/.cache/p2p-rig}
	mkdir -p "$lockdir"
	exec 9>"$lockdir/build.lock"
	flock -n 9 || { say "waiting for another kernel build to finish"; flock 9; }
}

# kconfig_apply ID FRAGMENT...: make $BUILD/.config tinyconfig + the
# fragments, unless the config of that ID is already there (it is then kept
# byte-identical, so nothing rebuilds).  Every option a fragment asks for
# must survive olddefconfig.
kconfig_apply() {
	local id=$1 line k bad=0
	shift
	[ "$(cat "$BUILD/.p2p-config-id" 2>/dev/null)" = "$id" ] && [ -f "$BUILD/.config" ] && return 0
	say "configuring: tinyconfig + ${*##*/}"
	kmake tinyconfig >/dev/null
	(cd "$TREE" && scripts/kconfig/merge_config.sh -m -O "$BUILD" "$BUILD/.config" "$@" >/dev/null)
	kmake olddefconfig >/dev/null
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*) grep -qxF "$line" "$BUILD/.config" || { echo "[rig]   wanted $line, got: $(grep -E "^(# )?${line%%=*}[= ]" "$BUILD/.config" || echo unset)" >&2; bad=1; } ;;
		"# CONFIG_"*" is not set") k=${line#\# }; k=${k%% *}; grep -q "^$k=y" "$BUILD/.config" && { echo "[rig]   wanted $k off, it is on" >&2; bad=1; } ;;
		esac
	done < <(cat "$@")
	[ "$bad" -eq 0 ] || die "config fragments did not apply to $TREE (see above)"
	echo "$id" > "$BUILD/.p2p-config-id"
}

base_version() {
	[ -f "$TREE/.p2p-base-version" ] && cat "$TREE/.p2p-base-version" || echo unknown
}

# private_apt DIST CACHEDIR: set up an apt state of Debian DIST and
# DIST-backports in CACHEDIR/apt-DIST, from the mirror the machine's apt
# sources already use (no host name is written anywhere), without touching
# the system's apt configuration. Sets the array aptopts for apt-get and
# apt-cache and refreshes the package lists once a day.
private_apt() {
	local dist=$1 cache=$2 mirror
	mirror=$(grep -rhE '^(deb |URIs:)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null |
		grep -oE 'https?://[^ ]*debian/?( |$)' | grep -v security | head -n1 | tr -d ' ' || true)
	[ -n "$mirror" ] || die "no Debian mirror in the apt sources"
	# One apt state (package lists) per distribution.
	apt=$cache/apt-$dist
	mkdir -p "$apt/lists/partial" "$apt/etc/preferences.d"
	: > "$apt/status"
	printf 'Types: deb\nURIs: %s\nSuites: %s %s-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
		"$mirror" "$dist" "$dist" > "$apt/etc/$dist.sources"
	rm -f "$apt"/etc/*.sources.old
	aptopts=(-o "Dir::State=$apt" -o "Dir::State::Lists=$apt/lists" -o "Dir::State::status=$apt/status"
		-o "Dir::Cache=$apt"
		-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$apt/etc"
		-o "Dir::Etc::Preferences=/dev/null" -o "Dir::Etc::PreferencesParts=$apt/etc/preferences.d"
		-o "APT::Architecture=amd64" -o "APT::Architectures=amd64" -o "APT::Install-Recommends=false"
		-o "Debug::NoLocking=true" -o "APT::Sandbox::User=root")
	if [ -z "$(find "$apt/lists" -newermt '-1 day' -name '*Packages*' 2>/dev/null | head -1)" ]; then
		say "apt update ($dist, $dist-backports) from the configured mirror" >&2
		apt-get "${aptopts[@]}" -qq update >&2
	fi
}

# p2p_suites KSELFTEST_DIR: set $mock and $devices to the test binaries of
# KSELFTEST_DIR/p2p that run in the VM without a vIOMMU (those listed in
# scripts/guest/mock-tests) and in the VMs with devices (every other one);
# the benchmarks are in neither.
p2p_suites() {
	local f mocklist
	mocklist=$(grep -v '^#' "$ROOT/scripts/guest/mock-tests")
	mock="" devices=""
	for f in "$1"/p2p/*; do
		case "${f##*/}" in bench_*) continue ;; esac
		if grep -qxF "${f##*/}" <<<"$mocklist"; then mock="$mock $f"; else devices="$devices $f"; fi
	done
}

# source_id: an id of the source that make tree prepares in $TREE: its
# base, the hook patches it applies (with the variants for that base) and
# every overlay file.  build-kernel.sh records it with each kernel it
# links; make series-check's quick mode compares it.
source_id() {
	local p v f ver
	ver=$(base_version | cut -d' ' -f1)
	{
		base_version
		for p in "$ROOT"/patches/*.patch; do
			v=$ROOT/series/base/$ver/${p##*/}
			[ -f "$v" ] && p=$v
			printf '%s\n' "${p##*/}"
			cat "$p"
		done
		git -C "$ROOT" ls-files --cached --others --exclude-standard -- $OVERLAY_DIRS | sort |
			while read -r f; do printf '%s\n' "$f"; cat "$ROOT/$f"; done
	} | sha256sum | cut -c1-16
}

# config_id FRAGMENT...: the id kconfig_apply is given for a config of
# these fragments.
config_id() {
	cat "$@" | sha256sum | cut -c1-16
}

# build_selftest TREE BUILD NAME OUT: tools/testing/selftests/NAME of TREE
# as static binaries in OUT, against the kernel headers of BUILD.
build_selftest() {
	rm -rf "$4"
	mkdir -p "$4"
	make -C "$1/tools/testing/selftests/$3" -s -j"$JOBS" OUTPUT="$4" \
		KHDR_INCLUDES="-isystem $2/usr/include -include $1/tools/testing/selftests/p2p/compat.h" \
		LDFLAGS=-static CC=gcc
}

# vm_mock NAME RESULTS KSELFTEST_DIR: the base iommufd selftests and the
# mock p2p suites ($mock of p2p_suites) in the VM without a vIOMMU.
vm_mock() {
	# shellcheck disable=SC2154 # set by p2p_suites
	"$ROOT/scripts/vm.sh" --profile novtd --name "$1" --timeout 1800 \
		--script "$ROOT/scripts/guest/suite-mock.sh" --files "$3/iommu/iommufd $3/iommu/iommufd_fail_nth $mock" \
		--known-skips "$ROOT/scripts/guest/iommu-known-skips" --results "$2" \
		--append "hugepagesz=1G hugepages=1 hugepagesz=2M hugepages=256"
}

# vm_devices PROFILE NAME RESULTS FILES: device suites in a VM with the
# rig's devices under the IOMMU of PROFILE.
vm_devices() {
	"$ROOT/scripts/vm.sh" --profile "$1" --name "$2" --timeout 2400 \
		--script "$ROOT/scripts/guest/suite-devices.sh" --files "$4" --results "$3"
}
