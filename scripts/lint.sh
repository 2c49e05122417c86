#!/usr/bin/env bash
# Style gate: checkpatch --strict on overlay sources and on each patch, kernel-doc on our kernel C files.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ -x "$TREE/scripts/checkpatch.pl" ] || "$ROOT/scripts/prepare-tree.sh" >/dev/null
cp=$TREE/scripts/checkpatch.pl
kd=$TREE/scripts/kernel-doc
pass=0 fail=0
cd "$ROOT"
check() { # check NAME CMD...: one lint test; fails when CMD prints anything or fails.
	local name=$1 out
	shift
	if out=$("$@" 2>&1) && [ -z "$out" ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "[lint] FAILED $name"
		printf '%s\n' "$out" | head -40 | sed 's/^/[lint]   /'
	fi
}
quiet_cp() { perl "$cp" --strict --no-tree --quiet --show-types "$@" | grep -v '^total:' || true; }

src=$(git ls-files --cached --others --exclude-standard -- $OVERLAY_DIRS | grep -E '\.[ch]$' || true)
# Per-file exceptions, each with its reason:
#  map_file_dmabuf.c calls libdrm, whose API names are CamelCase.
extra_ignore() {
	case "$1" in
	tools/testing/selftests/p2p/map_file_dmabuf.c) echo ,CAMELCASE ;;
	esac
}
for f in $src; do
	check "checkpatch $f" quiet_cp --ignore "FILE_PATH_CHANGES,SPDX_LICENSE_TAG$(extra_ignore "$f")" -f "$f"
	case "$f" in
	tools/*) ;;
	*) check "kernel-doc $f" perl "$kd" -none -Wall "$f" ;;
	esac
done
for p in patches/*.patch; do
	[ -f "$p" ] || continue
	# Read from stdin: given a path inside a git work tree, checkpatch
	# takes the patch for a tracked file and checks its text as added lines.
	check "checkpatch $p" bash -c "perl $cp --strict --no-tree --quiet --show-types - < $p | grep -v '^total:' || true"
done
echo "P2P-LINT $pass passed, $fail failed"
[ "$fail" -eq 0 ]
