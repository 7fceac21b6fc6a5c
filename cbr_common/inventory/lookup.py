"""Finding a project's own resource by id, the same way for every kind of resource."""
from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from cbr_common.errors import NotFound

T = TypeVar('T')


def owned(session: Session, model: type[T], project_id: str, resource_id: str, *, what: str,
          field: str, lock: bool = False, options: tuple[Any, ...] = (),
          code: str | None = None) -> T:
    """The project's row of ``model``, or :class:`NotFound` (also for another project's)."""
    query = (select(model).where(model.id == resource_id, model.project_id == project_id)
             .options(*options))
    if lock:
        query = query.with_for_update()
    row = session.execute(query).scalar_one_or_none()
    if row is None:
        raise NotFound('%s %s does not exist' % (what, resource_id), field=field, code=code)
    return row
