"""``cbr-scheduler``: run the scheduler loop in the foreground."""
from __future__ import annotations

import sys

from cbr_common import config, logs


def main(argv: list[str] | None = None) -> None:
    config.load(sys.argv[1:] if argv is None else argv)
    logs.setup('scheduler')
    from cbr_scheduler.service import Scheduler

    Scheduler().run()
