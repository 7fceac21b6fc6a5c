"""What the benchmark scripts share: their error, log lines, the machine's description,
writing the result file, a private cbr-sim started with devstack, signing requests as the
SDK does, console scripts of the virtualenv and the CPU time of a process group."""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent

# The environment every child process gets: the caller's, before Signer swaps HOME.
CHILD_ENV = dict(os.environ)


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


def venv_bin(name: str) -> str:
    """A console script next to this interpreter (the project's .venv), else on PATH."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        raise BenchError('%s not found next to %s nor on PATH' % (name, sys.executable))
    return found


def group_cpu_ticks(pgid: int | None) -> dict[int, int] | None:
    """User+system CPU clock ticks of each live process in process group ``pgid`` (Linux)."""
    if pgid is None:
        return None
    ticks: dict[int, int] = {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as stat:
                fields = stat.read().rsplit(')', 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields[2] is field 5, pgrp; [11], [12] utime, stime
            ticks[int(entry)] = int(fields[11]) + int(fields[12])
    return ticks


class Signer:
    """Headers for one request, signed by huaweicloudsdkcore exactly as the SDK signs them."""

    def __init__(self, endpoint: str, ak: str, sk: str, project_id: str, home: str) -> None:
        # The SDK writes under ~/.huaweicloud; give it a scratch HOME (children keep theirs).
        os.environ['HOME'] = home
        try:
            from huaweicloudsdkcore.auth.credentials import BasicCredentials
            from huaweicloudsdkcore.sdk_request import SdkRequest
            from huaweicloudsdkcore.signer.signer import Signer as SdkSigner
        except ImportError as exc:
            raise BenchError('huaweicloudsdkcore is missing: run this with the project\'s '
                             '.venv (pip install -e ".[test]")') from exc
        self._request_cls = SdkRequest
        self._signer = SdkSigner(BasicCredentials(ak, sk, project_id))
        self.endpoint = endpoint.rstrip('/')
        self.project_id = project_id

    def sign(self, method: str, path: str, query: list[tuple[str, Any]] | None = None,
             body: bytes | str = '', content_type: str = 'application/json'
             ) -> tuple[str, dict[str, str]]:
        """The URL (with ``query``) and the headers of a request carrying ``body``."""
        parts = urlsplit(self.endpoint)
        request = self._request_cls(method=method, schema=parts.scheme, host=parts.netloc,
                                    resource_path=path, query_params=list(query or []),
                                    header_params={'Content-Type': content_type,
                                                   'X-Project-Id': self.project_id},
                                    body=body)
        self._signer.sign(request)
        return '%s://%s%s' % (parts.scheme, parts.netloc, request.uri), dict(request.header_params)


class Stack:
    """cbr-sim through devstack/stack.sh and devstack/unstack.sh with private settings:
    ``--api-port``, ``--state-dir``, ``--redis-url`` (and ``--api-workers`` /
    ``--api-threads`` where the script has them), plus any ``extra`` CBR_* settings."""

    def __init__(self, args: argparse.Namespace, log_dir: Path,
                 extra: dict[str, str] | None = None) -> None:
        self.env = dict(CHILD_ENV)
        self.env.update({'CBR_API_PORT': str(args.api_port), 'CBR_STATE_DIR': args.state_dir,
                         'CBR_REDIS_URL': args.redis_url})
        if getattr(args, 'api_workers', None):
            self.env['CBR_API_WORKERS'] = str(args.api_workers)
        if getattr(args, 'api_threads', None):
            self.env['CBR_API_THREADS'] = str(args.api_threads)
        self.extra = dict(extra or {})
        self.env.update(self.extra)
        self.state_dir = Path(args.state_dir)
        self.log_file = log_dir / 'stack.log'
        self.started = False

    def start(self) -> Path:
        """Run stack.sh; the path of the credentials.json it wrote."""
        log('starting cbr-sim: devstack/stack.sh (CBR_API_PORT=%s CBR_STATE_DIR=%s '
            'CBR_REDIS_URL=%s%s), log %s' % (
                self.env['CBR_API_PORT'], self.env['CBR_STATE_DIR'], self.env['CBR_REDIS_URL'],
                ''.join(' %s=%s' % item for item in sorted(self.extra.items())),
                self.log_file))
        self.started = True  # from here on, unstack.sh runs whatever happens
        with open(self.log_file, 'wb') as out:
            done = subprocess.run([str(REPO / 'devstack' / 'stack.sh')], env=self.env,
                                  stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  cwd=REPO, timeout=900)
        if done.returncode != 0:
            tail = self.log_file.read_text(errors='replace').splitlines()[-25:]
            raise BenchError('devstack/stack.sh failed (exit %d):\n%s'
                             % (done.returncode, '\n'.join(tail)))
        return self.state_dir / 'credentials.json'

    def stop(self) -> None:
        if not self.started:
            return
        log('stopping cbr-sim: devstack/unstack.sh')
        with open(self.log_file, 'ab') as out:
            done = subprocess.run([str(REPO / 'devstack' / 'unstack.sh')], env=self.env,
                                  stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  cwd=REPO, timeout=120)
        if done.returncode != 0:
            log('WARNING: devstack/unstack.sh exited %d; see %s' % (done.returncode,
                                                                    self.log_file))
        self.started = False
