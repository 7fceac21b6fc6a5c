"""The chunk index: which chunks each vault holds, where, and who references them.

One ``chunks`` row per (vault, digest).  Its ``refs`` is the number of committed backups
whose manifest holds the digest plus the pins of running jobs.  Chunks are stored in
packs: each batch of a job writes the chunks it must store as one object of the chunk
store.  Every function here works inside the caller's transaction, so a reference and
the change that needs it commit together.

The protocol that keeps the store consistent whatever crashes:

* a job pins every chunk it will reference *before* it uploads or relies on it
  (:func:`claim`, :func:`pin_existing`); in that same transaction a new digest gets its
  row and the batch's pack its ``packs`` row, so no object is ever written without a row;
* after the pack is written, :func:`store_packs` records where each chunk is and marks it
  ``stored``; a chunk that another job was still storing is stored by whichever job
  finishes first, and a stored chunk never moves, so its location is always written;
* the job's commit turns its pins into the manifest's references (:func:`settle`); its
  failure gives them back (:func:`release_pins`);
* garbage collection frees only rows at ``refs = 0``, re-checked under the row lock, and
  packs whose job has ended and in which no chunk lives (see
  :mod:`cbr_common.dataplane.gc`).
Rows are locked in digest order, so two jobs claiming overlapping chunks never deadlock.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from cbr_common.db import changes, models
from cbr_common.dataplane.manifest import DIGEST_BYTES
from cbr_common.errors import WrongState

BATCH = 500
"""Digests per SQL statement (far below every backend's parameter limit)."""


@dataclass(frozen=True)
class Claim:
    """The outcome of a batch's claim: chunks it must write into its pack, and chunks
    that are new to the vault (their bytes count as added by the job)."""

    upload: frozenset[bytes]
    new: frozenset[bytes]


@dataclass(frozen=True)
class Location:
    """Where a stored chunk's sealed bytes are."""

    key: str
    offset: int
    length: int


def pack_key(vault_id: str, token: str) -> str:
    """Key of a pack's object in the chunk store."""
    return '%s/packs/%s' % (vault_id, token)


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


def _rows(session: Session, vault_id: str,
          digests_hex: Collection[str]) -> dict[str, models.Chunk]:
    found: dict[str, models.Chunk] = {}
    for batch in batches(sorted(digests_hex)):
        query = (select(models.Chunk)
                 .where(models.Chunk.vault_id == vault_id, models.Chunk.digest.in_(batch)))
        found.update((row.digest, row) for row in session.execute(query).scalars())
    return found


def _stored_flags(session: Session, vault_id: str, digests_hex: Collection[str]) -> dict[str, bool]:
    """digest -> stored, of the chunks that exist among ``digests_hex``, locked."""
    flags: dict[str, bool] = {}
    for batch in batches(sorted(digests_hex)):
        flags.update(session.execute(
            select(models.Chunk.digest, models.Chunk.stored)
            .where(models.Chunk.vault_id == vault_id, models.Chunk.digest.in_(batch))
            .order_by(models.Chunk.digest).with_for_update()).all())
    return flags


def _adjust(session: Session, vault_id: str, deltas: Mapping[bytes, int]) -> int:
    """Add ``deltas[digest]`` to each chunk's refs; returns how many rows changed."""
    by_delta: dict[int, list[str]] = {}
    for digest, delta in deltas.items():
        if delta:
            by_delta.setdefault(delta, []).append(digest.hex())
    if by_delta:
        changes.touch_vault(session, vault_id)  # the vault's used space changes
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


def claim(session: Session, vault_id: str, operation_id: str, pack: str,
          sizes: Mapping[bytes, tuple[int, int]]) -> Claim:
    """Pin every chunk of ``sizes`` (digest -> (plain size, stored size)) for the job.

    A known chunk gets one more reference; the job stores it in its pack only if no job
    has stored it yet.  An unknown one gets a new row with one reference and must be
    stored.  When anything must be, the pack ``pack`` is registered.  A concurrent job
    inserting the same new digest makes the transaction fail with an integrity error:
    the caller runs it again.
    """
    stored = _stored_flags(session, vault_id, [d.hex() for d in sizes])
    new = sorted(digest for digest in sizes if digest.hex() not in stored)
    upload = set(new) | {digest for digest in sizes if stored.get(digest.hex()) is False}
    if new:
        session.execute(insert(models.Chunk), [
            {'vault_id': vault_id, 'digest': digest.hex(), 'plain_size': sizes[digest][0],
             'stored_size': sizes[digest][1], 'refs': 0, 'stored': False}
            for digest in new])
    if upload:
        session.execute(insert(models.Pack), [{'token': pack, 'vault_id': vault_id,
                                               'operation_id': operation_id}])
    _adjust(session, vault_id, dict.fromkeys(sizes, 1))
    _add_pin(session, vault_id, operation_id, sizes)
    return Claim(frozenset(upload), frozenset(new))


def store_packs(session: Session, vault_id: str,
                written: Iterable[tuple[str, Mapping[bytes, tuple[int, int]]]]) -> None:
    """After packs were written: their chunks (pack -> digest -> (offset, length)) that
    are not stored yet are now stored there.  Rows are updated in digest order across all
    the packs, the lock order every job keeps."""
    table = models.Chunk.__table__
    statement = (update(table)
                 .where(table.c.vault_id == vault_id, table.c.digest == bindparam('key'),
                        table.c.stored.is_(False))
                 .values(stored=True, pack=bindparam('pack_token'), pack_offset=bindparam('at'),
                         stored_size=bindparam('length')))
    rows = sorted((digest.hex(), pack, offset, length) for pack, layout in written
                  for digest, (offset, length) in layout.items())
    if rows:
        session.connection().execute(statement, [
            {'key': key, 'pack_token': pack, 'at': offset, 'length': length}
            for key, pack, offset, length in rows])


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
           referenced: Collection[bytes],
           packs: Collection[tuple[str, Mapping[bytes, tuple[int, int]]]] = ()) -> set[bytes]:
    """Turn the operation's pins into one reference per digest of ``referenced``, first
    recording ``packs`` written since the last :func:`store_packs`.

    Every referenced digest must be pinned.  Returns the digests that lost references
    (pinned but not referenced, or pinned more than once): candidates for collection.
    When both packs and references change, every row either touches is locked first in
    one digest-ordered pass, so the two updates keep the lock order of every job.
    """
    pinned = _pinned(session, operation_id).get(vault_id, Counter())
    unpinned = [digest for digest in referenced if not pinned[digest]]
    if unpinned:
        raise WrongState('%d chunks of the new manifest were never pinned' % len(unpinned))
    wanted = set(referenced)
    deltas = {digest: (1 if digest in wanted else 0) - count for digest, count in pinned.items()}
    changed = {digest.hex() for digest, delta in deltas.items() if delta}
    if packs and changed:
        changed.update(digest.hex() for _, layout in packs for digest in layout)
        _stored_flags(session, vault_id, changed)
    store_packs(session, vault_id, packs)
    _adjust(session, vault_id, deltas)
    _drop_pins(session, operation_id)
    return {digest for digest, delta in deltas.items() if delta < 0}


def add_references(session: Session, vault_id: str, counts: Mapping[bytes, int]) -> None:
    """``counts[digest]`` more references on each chunk (manifests that now count)."""
    _adjust(session, vault_id, counts)


def drop_references(session: Session, vault_id: str, digests: Collection[bytes]) -> None:
    """One reference less on each chunk (a manifest that no longer counts)."""
    _adjust(session, vault_id, dict.fromkeys(digests, -1))


def locations(session: Session, vault_id: str,
              digests: Collection[bytes]) -> dict[bytes, Location]:
    """Where the chunks a manifest refers to are; every one must be stored."""
    rows = _rows(session, vault_id, [d.hex() for d in digests])
    stored = {digest: row for digest, row in rows.items() if row.stored}
    if len(stored) != len(digests):
        raise WrongState('%d chunks of the backup are missing from vault %s'
                         % (len(digests) - len(stored), vault_id))
    return {bytes.fromhex(digest): Location(pack_key(vault_id, row.pack), row.pack_offset,
                                            row.stored_size)
            for digest, row in stored.items()}
