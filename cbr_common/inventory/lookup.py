"""Finding a project's own resource by id, the same way for every kind of resource."""
from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from cbr_common.errors import NotFound

T = TypeVar('T')


def owned(session: Session, model: type[T], project_id: str, resource_id: str, *, what: str,
          field: str, lock: bool = False, options: tuple[Any, ...] = (),
          code: str | None = None) -> T:
    """The project's row of ``model``, or :class:`NotFound` (also for another project's).

    A plain lookup of a row the session already holds runs no query.
    """
    if not lock and not options:
        held = session.identity_map.get(identity_key(model, resource_id))
        if held is not None and held.project_id == project_id and held not in session.deleted:
            return held
    query = (select(model).where(model.id == resource_id, model.project_id == project_id)
             .options(*options))
    if lock:
        query = query.with_for_update()
    row = session.execute(query).scalar_one_or_none()
    if row is None:
        raise NotFound('%s %s does not exist' % (what, resource_id), field=field, code=code)
    return row
