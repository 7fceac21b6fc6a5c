"""Principle 4: only the clock module reads time (no datetime.now, utcnow, today, time.time)."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ('cbr_common', 'cbr_api', 'cbr_scheduler', 'cbr_worker')
CLOCK = ROOT / 'cbr_common' / 'clock.py'
FORBIDDEN_ATTRS = {('datetime', 'now'), ('datetime', 'utcnow'), ('datetime', 'today'),
                   ('date', 'today'), ('time', 'time'), ('time', 'time_ns')}


def time_reads(source: str) -> list[int]:
    """Line numbers of calls that read the wall clock directly."""
    tree = ast.parse(source)
    aliases = {alias.asname or alias.name: alias.name for node in ast.walk(tree)
               if isinstance(node, ast.ImportFrom) and node.module == 'datetime'
               for alias in node.names}
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, 'id', '')
            if (aliases.get(name, name), node.func.attr) in FORBIDDEN_ATTRS:
                lines.append(node.lineno)
        if isinstance(node, ast.ImportFrom) and node.module == 'time':
            if any(alias.name in ('time', 'time_ns') for alias in node.names):
                lines.append(node.lineno)
    return sorted(lines)


def test_the_scanner_finds_each_form():
    source = ('import datetime, time\nfrom datetime import datetime as D\n'
              'a = datetime.datetime.now()\nb = D.utcnow()\nc = time.time()\n'
              'from time import time\n')
    assert time_reads(source) == [3, 4, 5, 6]


def test_no_module_but_the_clock_reads_time():
    offenders = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob('*.py')):
            if path == CLOCK:
                continue
            offenders += ['%s:%d' % (path.relative_to(ROOT), line)
                          for line in time_reads(path.read_text())]
    assert offenders == []
