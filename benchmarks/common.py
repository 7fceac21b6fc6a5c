"""What the benchmark scripts share: their error, log lines, the machine's description and
writing the result file."""
from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


class BenchError(RuntimeError):
    """A failure that ends the benchmark with a message rather than a traceback."""


def log(message: str) -> None:
    print('[%s] %s' % (time.strftime('%H:%M:%S'), message), flush=True)


def machine() -> dict[str, Any]:
    """CPU, kernel, Python, the commit measured (and files changed since) and the load."""
    model = next((line.split(':', 1)[1].strip()
                  for line in Path('/proc/cpuinfo').read_text().splitlines()
                  if line.startswith('model name')), '')
    git = ['git', '-C', str(REPO)]
    commit = subprocess.run(git + ['rev-parse', '--short', 'HEAD'], capture_output=True,
                            text=True).stdout.strip()
    changed = subprocess.run(git + ['status', '--porcelain', '--untracked-files=no'],
                             capture_output=True, text=True).stdout.split('\n')
    return {'cpu': model, 'cpus': os.cpu_count(), 'kernel': platform.release(),
            'python': platform.python_version(), 'git_head': commit or None,
            'git_uncommitted': sorted(line[3:] for line in changed if line.strip()),
            'loadavg_at_start': [round(x, 2) for x in os.getloadavg()]}


def _terminate(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def run_and_write(benchmark: Callable[[Path], dict[str, Any]], temp_prefix: str,
                  report: Callable[[dict[str, Any]], None], out: str,
                  met: Callable[[dict[str, Any]], bool], check: bool) -> int:
    """Run ``benchmark`` in a temporary folder that is removed even on SIGTERM or SIGHUP,
    print its report, write its JSON; the process's exit code."""
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    try:
        with tempfile.TemporaryDirectory(prefix=temp_prefix) as tmp:
            result = benchmark(Path(tmp))
    except BenchError as exc:
        print('error: %s' % exc, file=sys.stderr)
        return 1
    report(result)
    output = Path(out)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=1) + '\n')
    print('wrote %s' % output)
    return 1 if check and not met(result) else 0
