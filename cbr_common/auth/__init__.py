"""Authentication: who is calling, from an AK/SK signature or an X-Auth-Token."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

ADMIN_ROLE = 'admin'
MEMBER_ROLE = 'member'


@dataclass(frozen=True)
class Caller:
    """The authenticated principal of one request."""

    user_id: str
    user_name: str
    project_id: str
    project_name: str
    roles: frozenset[str] = field(default_factory=frozenset)
    method: str = 'token'  # 'aksk' or 'token'

    @property
    def is_admin(self) -> bool:
        return ADMIN_ROLE in self.roles


@dataclass(frozen=True)
class IncomingRequest:
    """The parts of an HTTP request that authentication looks at."""

    method: str
    path: str            # decoded path, without the query
    query_string: str    # raw query string as sent
    headers: Mapping[str, str]
    body: bytes
