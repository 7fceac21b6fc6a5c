"""Identifier formats used across the services."""
from __future__ import annotations

import uuid


def new_uuid() -> str:
    """A resource id in the canonical 36-character UUID form."""
    return str(uuid.uuid4())


def new_hex_id() -> str:
    """A 32-character lowercase hex id (job ids, project ids, user ids)."""
    return uuid.uuid4().hex
