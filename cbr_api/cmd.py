"""``cbr-api``: serve the Flask app under gunicorn (gthread workers) in the foreground."""
from __future__ import annotations

import sys

from gunicorn.app.base import BaseApplication

from cbr_common import config, logs, services
from cbr_common.config import CONF


class ApiServer(BaseApplication):
    """gunicorn configured from cbr.conf, each worker beating as an ``api`` service."""

    def load_config(self) -> None:
        settings = {
            'bind': '%s:%d' % (CONF.api.bind_host, CONF.api.bind_port),
            'workers': CONF.api.workers, 'threads': CONF.api.threads,
            'worker_class': 'gthread', 'timeout': 120, 'graceful_timeout': 10,
            'keepalive': 30, 'accesslog': None, 'errorlog': '-', 'loglevel': 'warning',
            'post_fork': _post_fork,
        }
        for key, value in settings.items():
            self.cfg.set(key, value)

    def load(self):
        from cbr_api.app import create_app

        return create_app()


def _post_fork(server, worker) -> None:
    from cbr_common.db.engine import dispose

    dispose()
    services.HeartbeatThread('api').start()


def main(argv: list[str] | None = None) -> None:
    config.load(sys.argv[1:] if argv is None else argv)
    logs.setup('api')
    ApiServer().run()
