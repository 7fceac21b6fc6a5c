"""Rendered list responses, kept per API process while their project's inventory is unchanged.

A list endpoint reads its scope's change stamp first, then asks :func:`rendered` for the
body: a cached body is reused only when it was rendered under the same stamp, otherwise it
is rendered again (from data read after the stamp, so never older than it) and kept.
Bodies depend only on the URL (path, query and host) and what the scope's stamp covers.
"""
from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from flask import Response, request

from cbr_common.db import changes
from cbr_common.db.engine import read_connection

MAX_ENTRIES = 512
_lock = threading.Lock()
_entries: OrderedDict[str, tuple[str, bytes]] = OrderedDict()


def _get(key: str, stamp: str) -> bytes | None:
    with _lock:
        entry = _entries.get(key)
        if entry is None or entry[0] != stamp:
            return None
        _entries.move_to_end(key)
        return entry[1]


def _put(key: str, stamp: str, body: bytes) -> None:
    with _lock:
        _entries[key] = (stamp, body)
        _entries.move_to_end(key)
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)


def rendered(scope: str, render: Callable[[], Any]) -> Response:
    """The JSON response of ``render()`` for this request, from the cache when still true
    under ``scope``'s change stamp (a project id, or :func:`changes.vaults_scope`)."""
    with read_connection() as connection:
        stamp = changes.current(connection, scope)
    key = request.host_url + request.full_path
    body = _get(key, stamp) if stamp is not None else None
    if body is None:
        body = json.dumps(render(), separators=(',', ':')).encode()
        if stamp is not None:
            _put(key, stamp, body)
    return Response(body, mimetype='application/json')
