"""A real S3-compatible server for tests: moto's server, run as a subprocess on a free port."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import requests

from tests.support.client import poll
from tests.support.stack import free_port

START_TIMEOUT = 30.0


class S3Server:
    """``moto_server`` on 127.0.0.1, started on entering the context and killed on leaving.

    It accepts any credentials; these are the ones tests configure.  Its request log goes
    to ``log_path``.
    """

    access_key = 'testing'
    secret_key = 'testing'
    region = 'us-east-1'

    def __init__(self, log_path: Path) -> None:
        self.port = free_port()
        self.endpoint_url = 'http://127.0.0.1:%d' % self.port
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> S3Server:
        with open(self.log_path, 'wb') as log:
            self.process = subprocess.Popen(
                [sys.executable, '-m', 'moto.server', '-H', '127.0.0.1', '-p', str(self.port)],
                stdout=log, stderr=subprocess.STDOUT)
        try:
            poll(self._answers, bool, START_TIMEOUT,
                 'moto_server at %s did not answer' % self.endpoint_url)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Kill the server and reap it."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None

    def _answers(self) -> bool:
        """Whether the server answers HTTP; fails at once when it has exited."""
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError('moto_server exited with status %d; its log: %s' %
                                 (self.process.returncode, self.log_path))
        try:
            requests.get(self.endpoint_url, timeout=1)
        except requests.ConnectionError:
            return False
        return True
