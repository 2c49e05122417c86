#!/usr/bin/env bash
# Run the device suites (VT-d VM) on another Debian 6.12 base with the series applied; print their summary.
#
# base-test.sh 6.12.N: fetch Debian's linux-source-6.12 of that version
# (scripts/base-fetch.sh, cached outside the repo), prepare its tree in
# work/bases/6.12.N (the base, patches/ with the variants of
# series/base/6.12.N/, the overlay: the same tree as the series for that
# base, out/6.12.N/), build the debug kernel and the selftests there, and
# run every device suite in the VT-d VM, as make check does on the default
# base.  P2P_BASE_MOCK=1 also runs the suites of the VM without a vIOMMU.
# Ends with "N passed, N failed, N skipped"; fails if any test fails.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

v=${1:?usage: base-test.sh 6.12.N}
tarball=$("$ROOT/scripts/base-fetch.sh" "$v")
export BASE_TARBALL=$tarball P2P_WORK=$WORK/bases/$v FLAVOR=debug
unset BUILD
. "$ROOT/scripts/lib.sh"
mkdir -p "$WORK"
results=$WORK/results
rm -rf "$results"
mkdir -p "$results"
t0=$(date +%s)
"$ROOT/scripts/build-kernel.sh"
"$ROOT/scripts/build-tests.sh"
say "base $(base_version): kernel and selftests built in $(($(date +%s) - t0)) s"
p2p_suites "$BUILD/kselftest"
rc=0
if [ "${P2P_BASE_MOCK:-0}" = 1 ]; then
	P2P_QUIET=1 vm_mock "mock-$v" "$results/vm-mock.json" "$BUILD/kselftest" || rc=1
fi
# shellcheck disable=SC2154 # set by p2p_suites
P2P_QUIET=1 vm_devices vtd "devices-$v" "$results/vm-devices.json" "$devices" || rc=1
say "base $(base_version), flavor $FLAVOR, in $(($(date +%s) - t0)) s"
python3 "$ROOT/scripts/summary.py" "$results" || rc=1
exit "$rc"
