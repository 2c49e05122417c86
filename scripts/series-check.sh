#!/usr/bin/env bash
# Apply the series with git am to each 6.12 base, build every commit on the default base and the result on every base, checkpatch each commit.
#
# series-check.sh [VERSION ...]: the bases besides the default one (apt's
# linux-source-6.12, work/linux); default: $P2P_SERIES_BASES or
# "6.12.95 6.12.118", the oldest and newest 6.12 Debian ships.
#
# Default base, debug config: the series is made (series.sh, out/), applied
# with git am to a clean base, and every commit is built in turn in one
# build directory with ccache: the whole kernel (bzImage, so make's own
# dependencies rebuild every user of a changed header, and every commit is
# linked), and the selftests where it touches them.  The first commit that
# does not build, or builds with a warning, is named and stops the check.
# checkpatch --strict runs on every patch; a finding, or checkpatch failing
# to run, fails the check.
# Other bases, fast config: the series for that base (out/VERSION/) is
# made from the same list (with the variants of series/base/VERSION/),
# applied with git am to a clean tree of it and the result is built whole.
#
# P2P_SERIES_QUICK=1 (what make check runs, to stay within its time): a
# commit builds, without linking, the objects of the .c files it touches,
# the directories of the Makefiles it touches (kbuild builds there what
# the config selects, so a wrong obj- line shows) and the directories of
# the .c files that include a header it changes.  The last commit is not
# built again: its tree must be the one whose whole debug kernel the
# kernel stage built last (build-kernel.sh records the source id, config
# and warning count of each kernel it links), else it is built whole.  On
# the other bases the result builds the objects and Makefile directories
# of every commit, without linking a kernel.
# Every kernel build holds the machine's build lock.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# P2P_SERIES_OTHER_ONLY=1 skips the default base (to check a new base).
bases=${*:-${P2P_SERIES_BASES:-6.12.95 6.12.118}}
t_all=$(date +%s)
summary=()
# every patch checked, every commit built and every base applied and built
# is one check; a build that fails stops the script, checkpatch findings
# fail it at the end
passed=0 failed=0
note() { summary+=("$*"); say "$*"; }
elapsed() { echo "$(($(date +%s) - $1)) s"; }

# ammed_tree TREE DIR PATCHDIR: a clean work tree DIR of TREE's base with
# PATCHDIR/*.patch applied by git am, one commit each.
# A work tree of an earlier run is reset to the base (only the files the
# series changed are written again), else it is made.
ammed_tree() {
	local tree=$1 dir=$2 pd=$3
	(cd "$dir" 2>/dev/null && git am --abort) >/dev/null 2>&1 || true
	if ! { [ -e "$dir/.git" ] && git -C "$dir" checkout -q -f --detach base && git -C "$dir" clean -qfdx; }; then
		git -C "$tree" worktree remove --force "$dir" >/dev/null 2>&1 || rm -rf "$dir"
		git -C "$tree" worktree prune
		mkdir -p "$(dirname "$dir")"
		git -C "$tree" worktree add -q --detach "$dir" base
	fi
	(cd "$dir" && git am -q "$pd"/*.patch) || {
		(cd "$dir" && git am --abort) >/dev/null 2>&1 || true
		die "git am of ${pd#"$ROOT"/}/ onto a clean $(cat "$tree/.p2p-base-version") fails"
	}
}

quick=${P2P_SERIES_QUICK:-0}

# commit_targets TREE HEADERS FILE...: the kbuild targets that build the
# FILEs a commit touches: the object of each .c file, the directory of each
# Makefile, the directories of the users of each header (HEADERS=0: not).  Documentation and tools are
# not kernel builds (the selftests are built apart).
commit_targets() {
	local tree=$1 headers=$2 f d
	shift 2
	for f in "$@"; do
		case "$f" in
		tools/* | Documentation/*) ;;
		*.h) [ "$headers" = 0 ] || header_dirs "$tree" "$f" ;;
		*.c)
			# its object, when the nearest Makefile names it (a .c
			# file that another one includes builds its directory)
			d=$(dir_target "$tree" "$f")
			if [ -n "$d" ] && grep -qE "(^|[ =/])$(basename "$f" .c)\.o( |$)" "$tree/${d}Makefile"; then
				echo "${f%.c}.o"
			else
				echo "$d"
			fi
			;;
		# its directory: kbuild builds what the config selects there,
		# so a wrong obj- line shows (a Kconfig change is checked by
		# olddefconfig)
		*/Makefile) dir_target "$tree" "$f" ;;
		esac
	done | sort -u
}

# header_dirs TREE HEADER: the directories of the .c files that include
# HEADER (for a header outside include/, also through one header that
# includes it), among those the kernel stage's build (work/build-debug)
# descended into, i.e. those the config builds.
header_dirs() {
	local tree=$1 h=$2 name f u
	{
		case "$h" in
		include/* | arch/*/include/*)
			name=${h#*include/}
			git -C "$tree" grep -lF "#include <${name#uapi/}>" || true
			;;
		*)
			u=$(users "$tree" "$h")
			printf '%s\n' "$u"
			for f in $(grep '\.h$' <<<"$u"); do users "$tree" "$f"; done
			;;
		esac
	} | grep '\.c$' | sort -u | while read -r f; do
		f=$(dir_target "$tree" "$f")
		[ -n "$f" ] && [ -d "$WORK/build-debug/$f" ] && echo "$f"
	done | sort -u
}

# users TREE HEADER: the files that include HEADER, a header outside
# include/, by a path relative to them (searched from its grandparent).
users() {
	local n=${2##*/}
	git -C "$1" grep -lF -e "/$n\"" -e "\"$n\"" -- "$(dirname "$(dirname "$2")")" || true
}

# dir_target TREE FILE: the nearest directory of FILE that has a Makefile.
dir_target() {
	local d
	d=$(dirname "$2")
	while [ "$d" != . ] && [ ! -f "$1/$d/Makefile" ]; do d=$(dirname "$d"); done
	[ "$d" = . ] || echo "$d/"
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
cpd=$WORK/series-checkpatch
rm -rf "$cpd"
mkdir -p "$cpd"
# shellcheck disable=SC2016 # expanded by the inner shell
printf '%s\n' "$out"/*.patch | xargs -P "$JOBS" -I{} bash -c '
	p=$1 ign=FILE_PATH_CHANGES
	grep -q "^+++ b/tools/testing/selftests/p2p/map_file_dmabuf.c" "$p" && ign=$ign,CAMELCASE
	perl "$2/scripts/checkpatch.pl" --strict --no-tree --quiet --show-types --ignore "$ign" - < "$p" \
		> "$3/${p##*/}.txt" 2>&1
	echo $? > "$3/${p##*/}.rc"' _ {} "$TREE" "$cpd"
for p in "$out"/*.patch; do
	# exit status 1: findings; anything else but 0: checkpatch did not run
	res=$(grep -v '^total:' "$cpd/${p##*/}.txt" || true)
	rc=$(cat "$cpd/${p##*/}.rc" 2>/dev/null || echo missing)
	case "$rc" in 0 | 1) ;; *) res="checkpatch failed (exit status $rc): $res" ;; esac
	if [ -z "$res" ]; then
		passed=$((passed + 1))
	else
		cp_bad=$((cp_bad + 1))
		failed=$((failed + 1))
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
# Quick mode: was the last commit's tree built whole, with this config and
# no warning, by the kernel stage (the last kernel build-kernel.sh linked)?
last_built=0
if [ "$quick" = 1 ]; then
	want="source $(source_id) config $(config_id "$ROOT/configs/base.config" "$ROOT/configs/debug.config") warnings 0"
	if [ "$(cat "$WORK/build-debug/.p2p-built" 2>/dev/null)" = "$want" ]; then
		last_built=1
	else
		say "the debug kernel of this tree was not built (or warned): the last commit builds whole"
	fi
fi
build_lock
k=0
for c in $commits; do
	k=$((k + 1))
	subj=$(git -C "$sc/linux" log -1 --format=%s "$c")
	git -C "$sc/linux" checkout -q --detach "$c"
	mapfile -t files < <(git -C "$sc/linux" show --format= --name-only "$c")
	# The config of the end of the series; options this commit does not
	# know yet drop out in olddefconfig, redone where Kconfig changes.
	if [ "$k" -eq 1 ] || printf '%s\n' "${files[@]}" | grep -q 'Kconfig'; then
		cp "$cfg" "$bld/.config"
		ckmake olddefconfig >/dev/null
	fi
	targets=()
	if [ "$quick" != 1 ] || { [ "$k" -eq "$ncommits" ] && [ "$last_built" = 0 ]; }; then
		what="whole kernel"
		targets=(bzImage)
	elif [ "$k" -eq "$ncommits" ]; then
		what="the kernel stage's whole kernel"
	else
		mapfile -t targets < <(commit_targets "$sc/linux" 1 "${files[@]}")
		what=${targets[*]:-nothing to build}
	fi
	# The selftests of a commit that touches them, against its headers.
	st=0
	if printf '%s\n' "${files[@]}" | grep -q '^tools/testing/selftests/p2p/'; then
		st=1
		targets+=(headers)
		what=$(echo "${what/nothing to build/} selftests/p2p" | sed 's/^ //')
	fi
	t1=$(date +%s)
	if [ "${#targets[@]}" -gt 0 ]; then
		if ! { ckmake "${targets[@]}" && { [ "$st" = 0 ] || build_selftest "$sc/linux" "$bld" p2p "$bld/kselftest-p2p"; }; } \
			> "$sc/build-$k.log" 2>&1; then
			grep -E 'error|Error' "$sc/build-$k.log" | head -20 | sed 's/^/[rig]   /' >&2
			die "commit $k/$ncommits does not build: $subj (log: ${sc#"$ROOT"/}/build-$k.log)"
		fi
		if grep -qi 'warning:' "$sc/build-$k.log"; then
			grep -i 'warning:' "$sc/build-$k.log" | head -10 | sed 's/^/[rig]   /' >&2
			die "commit $k/$ncommits builds with warnings: $subj (log: ${sc#"$ROOT"/}/build-$k.log)"
		fi
	fi
	passed=$((passed + 1))
	printf '[rig]   %2d/%d builds (%s, %s): %s\n' "$k" "$ncommits" "$what" "$(elapsed "$t1")" "$subj"
done
exec 9>&-
if [ "$quick" = 1 ]; then
	# series.sh showed that the series ends in base + patches/ + overlay
	# (the source id above) and that out/ gives that tree; git am did too.
	[ "$(git -C "$sc/linux" rev-parse 'HEAD^{tree}')" = "$(git -C "$TREE" rev-parse 'refs/p2p/series^{tree}')" ] ||
		die "git am of out/ does not give the tree of the series"
	note "$(base_version): git am of out/ and every commit builds its objects ($ncommits commits, $(elapsed "$t0")); the last: $([ "$last_built" = 1 ] && echo "the kernel stage's whole kernel of the same source and config" || echo "whole kernel")"
else
	note "$(base_version): git am of out/ and every commit builds ($ncommits commits, $(elapsed "$t0"))"
fi
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
	otargets="" what="the whole kernel"
	if [ "$quick" = 1 ]; then
		otargets=$(for c in $(git -C "$bw/series-am" rev-list base..HEAD); do
			mapfile -t files < <(git -C "$bw/series-am" show --format= --name-only "$c")
			commit_targets "$bw/series-am" 0 "${files[@]}"
		done | sort -u | tr '\n' ' ')
		what="every object of the series ($(wc -w <<<"$otargets") targets)"
	fi
	variants=$(ls "$ROOT/series/base/$v" 2>/dev/null | tr '\n' ' ' || true)
	# shellcheck disable=SC2086 # a list of targets
	if ! P2P_WORK=$bw BASE_TARBALL=$tarball FLAVOR=fast \
		"$ROOT/scripts/build-kernel.sh" $otargets > "$bw/build.log" 2>&1; then
		tail -20 "$bw/build.log" | sed 's/^/[rig]   /' >&2
		die "$v: the series does not build (log: ${bw#"$ROOT"/}/build.log)"
	fi
	if grep -qi 'warning:' "$bw/build.log"; then
		grep -i 'warning:' "$bw/build.log" | head -10 | sed 's/^/[rig]   /' >&2
		die "$v: the series builds with warnings (log: ${bw#"$ROOT"/}/build.log)"
	fi
	passed=$((passed + 1))
	note "$(cat "$bw/linux/.p2p-base-version"): git am of out/$v/ and $what builds (fast; variants: ${variants:-none}; $(elapsed "$t0"))"
done

say "series-check summary:"
for l in "${summary[@]}"; do say "  $l"; done
echo "P2P-SERIES $passed passed, $failed failed"
[ "$failed" -eq 0 ] || die "series-check: $failed patch(es) with checkpatch findings ($(elapsed "$t_all"))"
say "series-check: OK in $(elapsed "$t_all")"
