#!/usr/bin/env python3
"""Tests of the console-log parser: the rig must fail on failed tests and on kernel reports."""
import importlib.util
import os
import tempfile

spec = importlib.util.spec_from_file_location(
    'parse_log', os.path.join(os.path.dirname(os.path.abspath(__file__)), 'parse-log.py'))
pl = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pl)

KUNIT = """KTAP version 1
1..1
    KTAP version 1
    # Subtest: overflow
    1..3
    ok 1 u8_u8__u8_overflow_test
    not ok 2 shift_sane_test
    ok 3 skipped_case # SKIP no hardware
# overflow: pass:1 fail:1 skip:1 total:3
not ok 1 overflow
"""
SUITE_OK = """P2P-GUEST-START
P2P-SUITE-BEGIN demo
TAP version 13
1..3
# Starting 3 tests from 1 test cases.
ok 1 demo.a
ok 2 demo.b # SKIP no device
ok 3 demo.c # XFAIL known
# Totals: pass:1 fail:0 xfail:1 xpass:0 skip:1 error:0
P2P-SUITE-END demo rc=0
P2P-GUEST-EXIT rc=0
"""
FAULT_INJ = """[   12.5] FAULT_INJECTION: forcing a failure.
[   12.5] name failslab, interval 1, probability 0, space 0, times 1
[   12.5] CPU: 0 UID: 0 PID: 80 Comm: iommufd_fail_nt Not tainted 6.12.117 #1
[   12.5] Call Trace:
[   12.5]  <TASK>
[   12.5]  dump_stack_lvl+0x5d/0x80
"""
WARN = """[    3.1] ------------[ cut here ]------------
[    3.1] WARNING: CPU: 1 PID: 77 at drivers/iommu/iommufd/pages.c:1234 iopt_area_unpin+0x1/0x2
"""
cases = []


def case(name):
    def deco(fn):
        cases.append((name, fn))
        return fn
    return deco


def run(text, shms=None):
    return pl.parse(text.splitlines(True), shms or {})


def verdict(res):
    return (res['guest_rc'] == 0 and not res['problems']
            and all(s['failed'] == 0 for s in res['suites'].values()))


@case('passing suite: counts pass, skip, xfail and the run passes')
def _():
    r = run(SUITE_OK)
    s = r['suites']['demo']
    assert (s['passed'], s['failed'], s['skipped']) == (2, 0, 1), s
    assert verdict(r)


@case('a failed test fails the run')
def _():
    r = run(SUITE_OK.replace('ok 1 demo.a', 'not ok 1 demo.a').replace('rc=0\nP2P-GUEST', 'rc=1\nP2P-GUEST'))
    assert r['suites']['demo']['failed'] == 1 and r['suites']['demo']['failures'] == ['demo.a']
    assert not verdict(r)


@case('a kernel WARN fails the run even when every test passed')
def _():
    r = run(WARN + SUITE_OK)
    assert len(r['problems']) == 2 and not verdict(r)


@case('KASAN, UBSAN, lockdep, BUG, oops and leak reports are caught')
def _():
    for line in ('BUG: KASAN: slab-use-after-free in iopt_unmap+0x1', 'UBSAN: shift-out-of-bounds in x.c:1',
                 'WARNING: possible circular locking dependency detected',
                 'BUG: sleeping function called from invalid context', 'Oops: 0000 [#1] SMP KASAN',
                 'unreferenced object 0xffff888003 (size 64):', 'Kernel panic - not syncing: oops'):
        assert run(line + '\n' + SUITE_OK)['problems'], line


@case('fault-injection stack dumps are not reports')
def _():
    assert verdict(run(FAULT_INJ + SUITE_OK))


@case('a suite that stops early (crash) fails: planned tests did not report')
def _():
    text = SUITE_OK.replace('ok 3 demo.c # XFAIL known\n', '')
    r = run(text)
    assert r['suites']['demo']['failed'] == 1 and not verdict(r)


@case('a suite without an end marker fails, and so does a missing guest exit')
def _():
    r = run('P2P-GUEST-START\nP2P-SUITE-BEGIN x\n1..1\nok 1 x\n')
    assert r['suites']['x']['failed'] == 1 and r['guest_rc'] is None


@case('a suite exiting non-zero with no failed test fails')
def _():
    r = run(SUITE_OK.replace('P2P-SUITE-END demo rc=0', 'P2P-SUITE-END demo rc=2'))
    assert r['suites']['demo']['failed'] == 1


@case('a suite killed at its deadline fails once, named as hung, even with its plan met')
def _():
    text = SUITE_OK.replace('P2P-SUITE-END demo rc=0',
                            'P2P-HANG demo still running after 900 s\n'
                            'P2P-HANG task 80/80: demo, State: S (sleeping), wchan 0\n'
                            'P2P-SUITE-END demo rc=124')
    r = run(text)
    d = r['suites']['demo']
    assert d['failed'] == 1 and not verdict(r)
    assert any('hung' in f for f in d['failures'])


@case('a known-skip failure counts as skipped with its reason, a known-skip pass as passed')
def _():
    text = SUITE_OK.replace('ok 1 demo.a', 'not ok 1 demo.a').replace('demo rc=0', 'demo rc=1')
    s = pl.parse(text.splitlines(True), {}, {'demo.a': 'needs 6.15', 'demo.c': 'x'})['suites']['demo']
    assert (s['passed'], s['failed'], s['skipped']) == (1, 0, 2), s
    assert s['skips'][0] == 'demo.a: needs 6.15' and s['stale_known'] == ['demo.c'], s


@case('KUnit cases before the guest starts are counted')
def _():
    k = run(KUNIT + SUITE_OK)['suites']['kunit']
    assert (k['passed'], k['failed'], k['skipped']) == (1, 1, 1), k


@case('host checks compare the device backing file')
def _():
    with tempfile.NamedTemporaryFile() as f:
        f.write(b'\0' * 16 + b'hello')
        f.flush()
        text = SUITE_OK.replace('P2P-GUEST-EXIT', 'P2P-HOST-EXPECT small 10 68656c6c6f good\n'
                                'P2P-HOST-EXPECT small 10 68656c6c70 bad\nP2P-GUEST-EXIT')
        h = run(text, {'small': f.name})['suites']['host-checks']
        assert (h['passed'], h['failed']) == (1, 1), h


passed = failed = 0
for name, fn in cases:
    try:
        fn()
        passed += 1
        print(f'ok {passed + failed} {name}')
    except AssertionError as e:
        failed += 1
        print(f'not ok {passed + failed} {name}: {e}')
print(f'P2P-RIGTEST {passed} passed, {failed} failed')
raise SystemExit(1 if failed else 0)
