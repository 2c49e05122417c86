#!/usr/bin/env bash
# Apply the series with git am to each 6.12 base, build every commit on the default base and the result on every base, checkpatch each commit.
#
# series-check.sh [VERSION ...]: the bases besides the default one (apt's
# linux-source-6.12, work/linux); default: $P2P_SERIES_BASES or
# "6.12.95 6.12.118", the oldest and newest 6.12 Debian ships.
#
# Default base, debug config: the series is made (series.sh, out/), applied
# with git am to a clean base, and every commit is built incrementally with
# ccache: the directories it touches for the intermediate commits, the
# whole kernel for the last.  The first commit that does not build is
# named and stops the check.  checkpatch --strict runs on every patch.
# Other bases, fast config: the series for that base (out/VERSION/) is
# made from the same list (with the variants of series/base/VERSION/),
# applied with git am to a clean tree of it and the result is built whole.
# Every kernel build holds the machine's build lock.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# P2P_SERIES_OTHER_ONLY=1 skips the default base (to check a new base).
bases=${*:-${P2P_SERIES_BASES:-6.12.95 6.12.118}}
t_all=$(date +%s)
summary=()
note() { summary+=("$*"); say "$*"; }
elapsed() { echo "$(($(date +%s) - $1)) s"; }

# ammed_tree TREE DIR PATCHDIR: a clean work tree DIR of TREE's base with
# PATCHDIR/*.patch applied by git am, one commit each.
ammed_tree() {
	local tree=$1 dir=$2 pd=$3
	git -C "$tree" worktree remove --force "$dir" >/dev/null 2>&1 || rm -rf "$dir"
	git -C "$tree" worktree prune
	mkdir -p "$(dirname "$dir")"
	git -C "$tree" worktree add -q --detach "$dir" base
	(cd "$dir" && git am -q "$pd"/*.patch) || {
		(cd "$dir" && git am --abort) >/dev/null 2>&1 || true
		die "git am of ${pd#"$ROOT"/}/ onto a clean $(cat "$tree/.p2p-base-version") fails"
	}
}

out=$ROOT/out
if [ "${P2P_SERIES_OTHER_ONLY:-0}" != 1 ]; then
# 1. checkpatch --strict on each patch of the series.  New files need no
# MAINTAINERS entry in a backport series (FILE_PATH_CHANGES); the libdrm
# test names CamelCase library calls (CAMELCASE), as make lint allows.
"$ROOT/scripts/prepare-tree.sh" >/dev/null
t0=$(date +%s)
"$ROOT/scripts/series.sh" | grep -v '^\[rig\]  ' || die "make series failed"
out=$ROOT/out
cp_bad=0
for p in "$out"/*.patch; do
	ign=FILE_PATH_CHANGES
	grep -q '^+++ b/tools/testing/selftests/p2p/map_file_dmabuf.c' "$p" && ign=$ign,CAMELCASE
	res=$(perl "$TREE/scripts/checkpatch.pl" --strict --no-tree --quiet --show-types --ignore "$ign" - < "$p" |
		grep -v '^total:' || true)
	if [ -n "$res" ]; then
		cp_bad=$((cp_bad + 1))
		say "checkpatch: ${p##*/}:"
		printf '%s\n' "$res" | head -20 | sed 's/^/[rig]   /'
	fi
done
note "checkpatch --strict: $(ls "$out"/*.patch | wc -l) patches, $cp_bad with findings ($(elapsed "$t0"))"

# 2. Default base: git am, then build every commit.
t0=$(date +%s)
sc=$WORK/series-check
ammed_tree "$TREE" "$sc/linux" "$out"
[ -f "$WORK/build-debug/.config" ] || FLAVOR=debug BUILD=$WORK/build-debug "$ROOT/scripts/build-kernel.sh"
cfg=$sc/debug.config
cp "$WORK/build-debug/.config" "$cfg"
commits=$(git -C "$sc/linux" rev-list --reverse base..HEAD)
ncommits=$(echo "$commits" | wc -l)
bld=$sc/build-debug
mkdir -p "$bld"
ckmake() { TREE=$sc/linux BUILD=$bld kmake "$@"; }
build_lock
k=0
for c in $commits; do
	k=$((k + 1))
	subj=$(git -C "$sc/linux" log -1 --format=%s "$c")
	git -C "$sc/linux" checkout -q --detach "$c"
	# The config of the end of the series; options this commit does not
	# know yet drop out in olddefconfig.
	cp "$cfg" "$bld/.config"
	ckmake olddefconfig >/dev/null
	if [ "$k" -eq "$ncommits" ]; then
		what="whole kernel"
		targets=(bzImage)
	else
		# The kbuild directories of the .c, Makefile and Kconfig files
		# the commit touches; a header change builds our directories.
		targets=()
		for f in $(git -C "$sc/linux" show --format= --name-only "$c"); do
			case "$f" in
			tools/* | Documentation/*) ;;
			*.h) targets+=(drivers/iommu/iommufd/ drivers/vfio/pci/ drivers/dma-buf/) ;;
			*.c | */Makefile | */Kconfig)
				# the nearest directory kbuild descends into
				d=$(dirname "$f")
				while [ "$d" != . ] && [ ! -f "$sc/linux/$d/Makefile" ]; do d=$(dirname "$d"); done
				[ "$d" = . ] || targets+=("$d/")
				;;
			esac
		done
		mapfile -t targets < <(printf '%s\n' "${targets[@]}" | sort -u | sed '/^$/d')
		what=${targets[*]:-nothing to build}
	fi
	t1=$(date +%s)
	if [ "${#targets[@]}" -gt 0 ]; then
		if ! ckmake "${targets[@]}" > "$sc/build-$k.log" 2>&1; then
			grep -E 'error|Error' "$sc/build-$k.log" | head -20 | sed 's/^/[rig]   /' >&2
			die "commit $k/$ncommits does not build: $subj (log: ${sc#"$ROOT"/}/build-$k.log)"
		fi
		if grep -q 'warning:' "$sc/build-$k.log"; then
			grep 'warning:' "$sc/build-$k.log" | head -10 | sed 's/^/[rig]   /' >&2
			die "commit $k/$ncommits builds with warnings: $subj (log: ${sc#"$ROOT"/}/build-$k.log)"
		fi
	fi
	printf '[rig]   %2d/%d builds (%s, %s): %s\n' "$k" "$ncommits" "$what" "$(elapsed "$t1")" "$subj"
done
exec 9>&-
note "$(base_version): git am of out/ and every commit builds ($ncommits commits, $(elapsed "$t0"))"
fi

# 3. The other bases: their series applied with git am, the result built.
for v in $bases; do
	t0=$(date +%s)
	tarball=$("$ROOT/scripts/base-fetch.sh" "$v")
	bw=$WORK/bases/$v
	mkdir -p "$bw"
	P2P_WORK=$bw BASE_TARBALL=$tarball "$ROOT/scripts/prepare-tree.sh" >/dev/null
	P2P_WORK=$bw "$ROOT/scripts/series.sh" --out "$out/$v" | grep -v '^\[rig\]  '
	ammed_tree "$bw/linux" "$bw/series-am" "$out/$v"
	# The applied series is what prepare-tree made (series.sh checked the
	# same tree), so that tree is built, whole, with the fast config.
	[ "$(git -C "$bw/series-am" rev-parse 'HEAD^{tree}')" = "$(git -C "$bw/linux" rev-parse 'refs/p2p/series^{tree}')" ] ||
		die "$v: git am of out/$v/ does not give the series tree"
	git -C "$bw/linux" worktree remove --force "$bw/series-am"
	variants=$(ls "$ROOT/series/base/$v" 2>/dev/null | tr '\n' ' ' || true)
	if ! P2P_WORK=$bw BASE_TARBALL=$tarball FLAVOR=fast "$ROOT/scripts/build-kernel.sh" > "$bw/build.log" 2>&1; then
		tail -20 "$bw/build.log" | sed 's/^/[rig]   /' >&2
		die "$v: the series does not build (log: ${bw#"$ROOT"/}/build.log)"
	fi
	note "$(cat "$bw/linux/.p2p-base-version"): git am of out/$v/ and the whole kernel builds (fast; variants: ${variants:-none}; $(elapsed "$t0"))"
done

say "series-check summary:"
for l in "${summary[@]}"; do say "  $l"; done
say "series-check: OK in $(elapsed "$t_all")"
