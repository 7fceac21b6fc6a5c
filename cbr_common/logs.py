"""Logging set-up shared by the services: one line per record, to standard error."""
from __future__ import annotations

import logging
import os

FORMAT = '%(asctime)s %(process)d %(levelname)s %(name)s [{service}] %(message)s'


def setup(service: str) -> None:
    level = os.environ.get('CBR_LOG_LEVEL', 'INFO').upper()
    logging.basicConfig(level=level, format=FORMAT.format(service=service), force=True)
