"""Commit-then-publish: the API side of the transactional outbox.

Inside ``with intent() as it:`` a view changes rows and creates operations in one
transaction and names the operations to send with ``it.publish(op)``; they are published
only after the transaction has committed.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from cbr_common.db import models
from cbr_common.db.engine import session_scope
from cbr_common.operations import outbox


@dataclass
class Intent:
    """The transaction of one request and the operations to publish after it commits."""

    session: Session
    operation_ids: list[str] = field(default_factory=list)

    def publish(self, operation: models.Operation) -> models.Operation:
        self.operation_ids.append(operation.id)
        return operation

    def publish_all(self, operations: Iterable[models.Operation]) -> None:
        for operation in operations:
            self.publish(operation)


@contextlib.contextmanager
def intent() -> Iterator[Intent]:
    with session_scope() as session:
        current = Intent(session)
        yield current
    outbox.dispatch(current.operation_ids)
