# shellcheck shell=bash
# Common settings and helpers for the rig scripts (sourced, not run).

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${P2P_WORK:-$ROOT/work}
TREE=$WORK/linux
FLAVOR=${FLAVOR:-debug}
# FLAVOR=stock builds the unpatched base (the control case of make vmm-test)
# from a worktree of work/linux at its base tag.
[ "$FLAVOR" = stock ] && TREE=$WORK/linux-stock
BUILD=${BUILD:-$WORK/build-$FLAVOR}
LOGS=$WORK/logs
JOBS=${JOBS:-$(nproc)}
BASE_PKG=linux-source-6.12
BASE_TARBALL=${BASE_TARBALL:-}
OVERLAY_DIRS="drivers include tools Documentation"

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

base_version() {
	[ -f "$TREE/.p2p-base-version" ] && cat "$TREE/.p2p-base-version" || echo unknown
}
