#!/usr/bin/env python3
"""Parse a VM console log: KUnit results, guest test suites, host-side checks, kernel problems."""
import argparse
import json
import re
import sys

TS = re.compile(r'^\[\s*\d+\.\d+\]\s?')
TAP = re.compile(r'^(not ok|ok) (\d+)\s*-?\s*(.*?)(?:\s+#\s*(SKIP|XFAIL|TODO)\b\s*(.*))?$')
KUNIT_CASE = re.compile(r'^ {4}(not ok|ok) \d+ (.*?)(?:\s+#\s*(SKIP)\b\s*(.*))?$')
PROBLEMS = [
    re.compile(p) for p in (
        r'WARNING: CPU: \d+ PID: \d+',
        r'-+\[ cut here \]-+',
        r'\bBUG: ',
        r'\bOops: ',
        r'general protection fault',
        r'Kernel panic',
        r'\bKASAN\b.*(?:out-of-bounds|use-after-free|double-free|invalid-free|wild-memory|null-ptr-deref)',
        r'\bUBSAN: ',
        r'WARNING: possible (?:circular|recursive) locking',
        r'WARNING: suspicious RCU usage',
        r'WARNING: bad unlock balance',
        r'WARNING: inconsistent lock state',
        r'INFO: possible (?:irq lock inversion|recursive locking)',
        r'DEBUG_LOCKS_WARN_ON',
        r'unreferenced object 0x',
        r'INFO: task .* blocked for more than',
        r'rcu: INFO: .* detected stalls',
    )
]


def new_counts():
    return {'passed': 0, 'failed': 0, 'skipped': 0, 'failures': [], 'skips': [],
            'stale_known': [], 'known_failed': 0}


def add_tap(counts, status, name, directive, reason, known=None):
    if known and name in known:
        # A test that cannot pass on this kernel: a failure is a skip with
        # the recorded reason; a pass is a pass, flagged so the list is fixed.
        if status == 'not ok':
            counts['skipped'] += 1
            counts['skips'].append(f'{name}: {known[name]}')
            counts['known_failed'] += 1
            return
        counts['stale_known'].append(name)
    if status == 'not ok' and directive != 'TODO':
        counts['failed'] += 1
        counts['failures'].append(name)
    elif directive == 'SKIP':
        counts['skipped'] += 1
        counts['skips'].append(f'{name}: {reason}'.strip())
    else:
        counts['passed'] += 1


def check_host_expect(line, shms, host):
    # P2P-HOST-EXPECT <shm> <offset-hex> <hex bytes> <test name>
    parts = line.split(None, 4)
    if len(parts) < 5:
        add_tap(host, 'not ok', f'malformed host check: {line}', None, '')
        return
    _, shm, off, data, name = parts
    want = bytes.fromhex(data)
    try:
        with open(shms[shm], 'rb') as f:
            f.seek(int(off, 16))
            got = f.read(len(want))
    except (KeyError, OSError, ValueError) as e:
        add_tap(host, 'not ok', f'{name} (host file {shm}: {e})', None, '')
        return
    if got == want:
        add_tap(host, 'ok', name, None, '')
    else:
        add_tap(host, 'not ok', f'{name} (host file {shm}@{off}: {got.hex()} != {data})', None, '')


def read_known(path):
    """Known skips: 'fixture.variant.test|reason' lines; '#' starts a comment."""
    known = {}
    if path:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith('#'):
                    name, _, reason = line.partition('|')
                    known[name.strip()] = reason.strip() or 'listed as known to fail here'
    return known


def parse(lines, shms, known=None):
    res = {'suites': {}, 'problems': [], 'guest_rc': None, 'started': False}
    kunit = new_counts()
    host = new_counts()
    suite = None
    plan = None
    for raw in lines:
        line = TS.sub('', raw.rstrip('\n'))
        for p in PROBLEMS:
            if p.search(line):
                res['problems'].append(line.strip())
                break
        if line.startswith('P2P-GUEST-START'):
            res['started'] = True
            continue
        m = re.match(r'^P2P-GUEST-EXIT rc=(\d+)', line)
        if m:
            res['guest_rc'] = int(m.group(1))
            continue
        if not res['started']:
            m = KUNIT_CASE.match(line)
            if m:
                add_tap(kunit, m.group(1), m.group(2), m.group(3), m.group(4) or '')
            continue
        if line.startswith('P2P-HOST-EXPECT '):
            check_host_expect(line, shms, host)
            continue
        m = re.match(r'^P2P-SUITE-BEGIN (\S+)', line)
        if m:
            suite = res['suites'].setdefault(m.group(1), new_counts())
            suite['ended'] = False
            plan = None
            seen = 0
            continue
        m = re.match(r'^P2P-SUITE-END (\S+) rc=(\d+)', line)
        if m and suite is not None:
            suite['ended'] = True
            if plan is not None and seen < plan:
                suite['failed'] += plan - seen
                suite['failures'].append(f'{plan - seen} planned test(s) did not report')
            # A harness exits non-zero when any test failed, known ones too.
            if int(m.group(2)) != 0 and suite['failed'] == 0 and not suite['known_failed']:
                suite['failed'] += 1
                suite['failures'].append(f'exited with status {m.group(2)} and no failed test')
            suite = None
            continue
        if suite is None:
            continue
        m = re.match(r'^P2P-HANG (\S+) still running after (\d+) s', line)
        if m:
            suite['failed'] += 1
            suite['failures'].append(f'hung: killed after {m.group(2)} s (task stacks in the log)')
            continue
        m = re.match(r'^1\.\.(\d+)', line)
        if m:
            plan = (plan or 0) + int(m.group(1))
            continue
        m = TAP.match(line)
        if m:
            seen += 1
            add_tap(suite, m.group(1), m.group(3), m.group(4), m.group(5) or '', known)
    for name, s in res['suites'].items():
        if not s.pop('ended', True):
            s['failed'] += 1
            s['failures'].append('suite did not finish (crash or timeout)')
    if kunit['passed'] + kunit['failed'] + kunit['skipped']:
        res['suites']['kunit'] = kunit
    if host['passed'] + host['failed']:
        res['suites']['host-checks'] = host
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--log', required=True)
    ap.add_argument('--shm', action='append', default=[], help='NAME=PATH of a device backing file')
    ap.add_argument('--results', help='write the counts as JSON here')
    ap.add_argument('--known-skips', help='tests that cannot pass on this kernel, with reasons')
    ap.add_argument('--profile', help='the VM profile (IOMMU model), recorded in the results')
    ap.add_argument('--echo', action='store_true', help='print the guest output')
    a = ap.parse_args()
    shms = dict(s.split('=', 1) for s in a.shm)
    with open(a.log, errors='replace') as f:
        lines = f.readlines()
    if a.echo:
        on = False
        for raw in lines:
            line = TS.sub('', raw.rstrip('\n'))
            if line.startswith('P2P-GUEST-START'):
                on = True
            elif on:
                print('  | ' + line)
    res = parse(lines, shms, read_known(a.known_skips))
    res['profile'] = a.profile
    ok = True
    for name, s in res['suites'].items():
        print(f"[rig] suite {name}: {s['passed']} passed, {s['failed']} failed, {s['skipped']} skipped")
        for t in s['failures']:
            print(f'[rig]   FAILED {t}')
        for t in s['stale_known']:
            print(f'[rig]   NOTE {t} passed but is listed as a known skip: remove it from the list')
        if s['failed']:
            ok = False
    if res['problems']:
        ok = False
        print(f"[rig] KERNEL PROBLEM: {len(res['problems'])} report line(s) in the log:")
        for p in res['problems'][:20]:
            print(f'[rig]   {p}')
    if res['guest_rc'] is None:
        ok = False
        print('[rig] ERROR: the guest did not report an exit status (crash, panic or timeout)')
    elif res['guest_rc'] != 0:
        ok = False
        print(f"[rig] guest command exited with status {res['guest_rc']}")
    if a.results:
        with open(a.results, 'w') as f:
            json.dump(res, f, indent=1)
    sys.exit(0 if ok else 1)


if __name__ == '__main__':
    main()
