"""The chunk index: which chunks each vault holds, and who references them.

One ``chunks`` row per (vault, digest).  Its ``refs`` is the number of committed backups
whose manifest holds the digest plus the pins of running jobs.  Every function here
works inside the caller's transaction, so a reference and the change that needs it
commit together.

The protocol that keeps the store consistent whatever crashes:

* a job pins every chunk it will reference *before* it uploads or relies on it
  (:func:`claim`, :func:`pin_existing`); a new digest gets its row (and its unique
  object ``token``) in that same transaction, so no object is ever written without a row;
* the job's commit turns its pins into the manifest's references (:func:`settle`); its
  failure gives them back (:func:`release_pins`);
* garbage collection frees only rows at ``refs = 0``, re-checked under the row lock, and
  deletes their objects after the commit (see :mod:`cbr_common.dataplane.gc`).
Rows are locked in digest order, so two jobs claiming overlapping chunks never deadlock.
"""
from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from cbr_common.db import models
from cbr_common.dataplane.manifest import DIGEST_BYTES
from cbr_common.errors import WrongState

BATCH = 500
"""Digests per SQL statement (far below every backend's parameter limit)."""


@dataclass(frozen=True)
class Claimed:
    """A chunk pinned by a job: its object key, whether the job must upload it, and
    whether the job's claim created it (so its bytes are new to the vault)."""

    key: str
    upload: bool
    new: bool


def object_key(vault_id: str, digest_hex: str, token: str) -> str:
    """Key of a chunk's object in the chunk store."""
    return '%s/%s/%s.%s' % (vault_id, digest_hex[:2], digest_hex, token)


def batches(items: Iterable, size: int = BATCH) -> Iterator[list]:
    """``items`` in lists of at most ``size``."""
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _rows(session: Session, vault_id: str, digests_hex: Collection[str], *,
          lock: bool = False) -> dict[str, models.Chunk]:
    found: dict[str, models.Chunk] = {}
    for batch in batches(sorted(digests_hex)):
        query = (select(models.Chunk)
                 .where(models.Chunk.vault_id == vault_id, models.Chunk.digest.in_(batch))
                 .order_by(models.Chunk.digest))
        if lock:
            query = query.with_for_update()
        found.update((row.digest, row) for row in session.execute(query).scalars())
    return found


def _adjust(session: Session, vault_id: str, deltas: Mapping[bytes, int]) -> int:
    """Add ``deltas[digest]`` to each chunk's refs; returns how many rows changed."""
    by_delta: dict[int, list[str]] = {}
    for digest, delta in deltas.items():
        if delta:
            by_delta.setdefault(delta, []).append(digest.hex())
    changed = 0
    for delta, digests in by_delta.items():
        for batch in batches(sorted(digests)):
            changed += session.execute(
                update(models.Chunk)
                .where(models.Chunk.vault_id == vault_id, models.Chunk.digest.in_(batch))
                .values(refs=models.Chunk.refs + delta)
                .execution_options(synchronize_session=False)).rowcount
    return changed


def _add_pin(session: Session, vault_id: str, operation_id: str,
             digests: Iterable[bytes]) -> None:
    session.add(models.ChunkPin(operation_id=operation_id, vault_id=vault_id,
                                digests=b''.join(digests)))


def claim(session: Session, vault_id: str, operation_id: str, sizes: Mapping[bytes, int],
          stored_sizes: Mapping[bytes, int]) -> dict[bytes, Claimed]:
    """Pin every chunk of ``sizes`` (digest -> plain size) for the job.

    A known chunk gets one more reference; the job uploads it only if no job has
    finished storing it yet.  An unknown one gets a new row (one reference, a new
    token) and must be uploaded.  A concurrent job inserting the same new digest makes
    the transaction fail with an integrity error: the caller runs it again.
    """
    existing = _rows(session, vault_id, [d.hex() for d in sizes], lock=True)
    claimed: dict[bytes, Claimed] = {}
    for digest in sorted(sizes):
        row = existing.get(digest.hex())
        new = row is None
        if new:
            row = models.Chunk(vault_id=vault_id, digest=digest.hex(), token=uuid.uuid4().hex,
                               plain_size=sizes[digest], stored_size=stored_sizes[digest],
                               refs=0, stored=False)
            session.add(row)
        claimed[digest] = Claimed(object_key(vault_id, row.digest, row.token), not row.stored,
                                  new)
    session.flush()
    _adjust(session, vault_id, dict.fromkeys(sizes, 1))
    _add_pin(session, vault_id, operation_id, sizes)
    return claimed


def pin_existing(session: Session, vault_id: str, operation_id: str,
                 digests: Collection[bytes]) -> None:
    """Pin chunks that must already exist (an incremental backup's base), or fail."""
    if not digests:
        return
    found = _adjust(session, vault_id, dict.fromkeys(digests, 1))
    if found != len(digests):
        raise WrongState('%d chunks of the base backup are missing from vault %s'
                         % (len(digests) - found, vault_id))
    _add_pin(session, vault_id, operation_id, digests)


def _pinned(session: Session, operation_id: str) -> dict[str, Counter[bytes]]:
    """vault -> digest -> times the operation pinned it."""
    counts: dict[str, Counter[bytes]] = {}
    for pin in session.execute(select(models.ChunkPin)
                               .where(models.ChunkPin.operation_id == operation_id)).scalars():
        counter = counts.setdefault(pin.vault_id, Counter())
        raw = pin.digests
        counter.update(raw[i:i + DIGEST_BYTES] for i in range(0, len(raw), DIGEST_BYTES))
    return counts


def _drop_pins(session: Session, operation_id: str) -> None:
    session.execute(delete(models.ChunkPin).where(models.ChunkPin.operation_id == operation_id))


def release_pins(session: Session, operation_id: str) -> dict[str, set[bytes]]:
    """Give back every pin of the operation; returns vault -> digests that lost a reference."""
    released = _pinned(session, operation_id)
    for vault_id, counts in released.items():
        _adjust(session, vault_id, {digest: -count for digest, count in counts.items()})
    _drop_pins(session, operation_id)
    return {vault_id: set(counts) for vault_id, counts in released.items()}


def settle(session: Session, vault_id: str, operation_id: str,
           referenced: Collection[bytes]) -> set[bytes]:
    """Turn the operation's pins into one reference per digest of ``referenced``.

    Every referenced digest must be pinned.  Returns the digests that lost references
    (pinned but not referenced, or pinned more than once): candidates for collection.
    """
    pinned = _pinned(session, operation_id).get(vault_id, Counter())
    unpinned = [digest for digest in referenced if not pinned[digest]]
    if unpinned:
        raise WrongState('%d chunks of the new manifest were never pinned' % len(unpinned))
    wanted = set(referenced)
    deltas = {digest: (1 if digest in wanted else 0) - count for digest, count in pinned.items()}
    _adjust(session, vault_id, deltas)
    _drop_pins(session, operation_id)
    return {digest for digest, delta in deltas.items() if delta < 0}


def mark_stored(session: Session, vault_id: str, digests: Iterable[bytes]) -> None:
    """Record that these chunks' objects are written, so other jobs need not upload them."""
    for batch in batches(sorted(d.hex() for d in digests)):
        session.execute(update(models.Chunk)
                        .where(models.Chunk.vault_id == vault_id,
                               models.Chunk.digest.in_(batch))
                        .values(stored=True).execution_options(synchronize_session=False))


def drop_references(session: Session, vault_id: str, digests: Collection[bytes]) -> None:
    """One reference less on each chunk (a manifest that no longer counts)."""
    _adjust(session, vault_id, dict.fromkeys(digests, -1))


def object_keys(session: Session, vault_id: str,
                digests: Collection[bytes]) -> dict[bytes, str]:
    """digest -> object key of the chunks a manifest refers to; all must exist."""
    rows = _rows(session, vault_id, [d.hex() for d in digests])
    if len(rows) != len(digests):
        raise WrongState('%d chunks of the backup are missing from vault %s'
                         % (len(digests) - len(rows), vault_id))
    return {bytes.fromhex(hex_digest): object_key(vault_id, hex_digest, row.token)
            for hex_digest, row in rows.items()}
