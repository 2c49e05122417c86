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

base_version() {
	[ -f "$TREE/.p2p-base-version" ] && cat "$TREE/.p2p-base-version" || echo unknown
}
