"""Moving blocks: from a device snapshot into the chunk store, and from a manifest onto a device.

Work goes in batches of :data:`BATCH_BLOCKS` blocks through a pool of
``[chunk_store] transfer_threads`` threads (reading, SHA-256, AES-GCM and object I/O all
release the GIL), with at most one batch per thread and one more in flight, so memory
stays bounded whatever the device size.  Each backup batch pins its chunks in its own transaction
before it writes anything (:func:`chunk_index.claim`), then writes the chunks it must
store as one object, a pack.  Where they are is recorded (:func:`chunk_index.store_packs`)
by the job's next transaction; the packs of the last batches, by the job's commit
(:meth:`BackupTransfer.take_written`) or by :meth:`BackupTransfer.finish`.

A transfer of one batch can also be taken in steps, so that several jobs share the claim's
transaction: :meth:`BackupTransfer.stage` reads and hashes, ``claim_staged`` pins in the
caller's transaction, ``finish_staged`` writes the pack.
"""
from __future__ import annotations

import functools
import queue
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import ContextManager, TypeVar

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from cbr_common.config import CONF
from cbr_common.dataplane import chunk_index, crypto
from cbr_common.dataplane.chunk_store import ChunkStore
from cbr_common.dataplane.manifest import Manifest
from cbr_common.dataplane.volume_store import Snapshot, VolumeStore

BATCH_BLOCKS = 128
Transaction = Callable[[], ContextManager[Session]]
Progress = Callable[[int, int], None]
"""Called with (blocks done, blocks in all) after each batch."""
T = TypeVar('T')
R = TypeVar('R')

# another job inserting the same new chunk, or a deadlock the database broke: again,
# after a short random pause so the two jobs do not meet at once once more
_RETRY_CONFLICTS = retry(retry=retry_if_exception_type((IntegrityError, OperationalError)),
                         wait=wait_random_exponential(multiplier=0.05, max=2),
                         stop=stop_after_attempt(8), reraise=True)


@dataclass
class BackupResult:
    """What a backup transfer produced."""

    manifest: Manifest
    added_bytes: int = 0


@dataclass
class StagedBatch:
    """One batch of a backup transfer, read and hashed (:meth:`BackupTransfer.stage`),
    waiting to be claimed and stored."""

    token: str
    changes: dict[int, bytes | None] = field(default_factory=dict)
    plain: dict[bytes, bytes] = field(default_factory=dict)
    claim: chunk_index.Claim | None = None


@dataclass
class _BatchResult:
    changes: dict[int, bytes | None]
    added_bytes: int


def _in_batches(blocks: Sequence[int]) -> list[Sequence[int]]:
    return [blocks[i:i + BATCH_BLOCKS] for i in range(0, len(blocks), BATCH_BLOCKS)]


def _pipelined(work: Callable[[T], R], items: Sequence[T], check: Callable[[], None]
               ) -> Iterator[tuple[T, R]]:
    """``work(item)`` on the pool, results in order, at most ``threads + 1`` in flight.

    A single item runs in the caller's thread: a pool would only add its start-up.
    """
    if len(items) <= 1:
        for item in items:
            check()
            yield item, work(item)
        return
    threads = CONF.chunk_store.transfer_threads
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix='transfer') as pool:
        pending: list[tuple[T, Future[R]]] = []
        try:
            for item in items:
                check()
                pending.append((item, pool.submit(work, item)))
                if len(pending) > threads:
                    first, future = pending.pop(0)
                    yield first, future.result()
            while pending:
                first, future = pending.pop(0)
                yield first, future.result()
        finally:
            for _, future in pending:
                future.cancel()


class BackupTransfer:
    """Backs up the given blocks of a snapshot into a vault, on top of a base manifest."""

    def __init__(self, volumes: VolumeStore, chunks: ChunkStore, *, vault_id: str,
                 operation_id: str, key_id: str | None, transaction: Transaction) -> None:
        self.volumes = volumes
        self.chunks = chunks
        self.vault_id = vault_id
        self.operation_id = operation_id
        self.key_id = key_id
        self.transaction = transaction
        self._writing = threading.Lock()
        self._written: queue.SimpleQueue[tuple[str, dict[bytes, tuple[int, int]]]] = \
            queue.SimpleQueue()

    def run(self, snapshot: Snapshot, base: Manifest | None, blocks: Sequence[int],
            progress: Progress, check: Callable[[], None]) -> BackupResult:
        """Read ``blocks`` of ``snapshot``; the result's manifest is ``base`` updated.

        The packs of the last batches may not be recorded yet: the caller records them in
        its commit (:meth:`take_written`) or with :meth:`finish`.
        """
        result = BackupResult(base or Manifest(snapshot.size, snapshot.block_size))
        changes: dict[int, bytes | None] = {}
        done = 0
        work = functools.partial(self._batch, snapshot)
        for batch, outcome in _pipelined(work, _in_batches(blocks), check):
            changes.update(outcome.changes)
            result.added_bytes += outcome.added_bytes
            done += len(batch)
            progress(done, len(blocks))
        result.manifest = result.manifest.updated(changes)
        return result

    def _batch(self, snapshot: Snapshot, blocks: Sequence[int]) -> _BatchResult:
        staged = self.stage(snapshot, blocks)
        return _BatchResult(staged.changes, self.store(staged.plain))

    def stage(self, snapshot: Snapshot, blocks: Sequence[int]) -> StagedBatch:
        """Read and hash ``blocks`` of ``snapshot``: one batch's changes and chunks."""
        contents = self.volumes.read_snapshot(snapshot, blocks)
        zeros = bytes(snapshot.block_size)
        staged = StagedBatch(uuid.uuid4().hex)
        for block, data in zip(blocks, contents):
            if data == (zeros if len(data) == len(zeros) else bytes(len(data))):
                staged.changes[block] = None
                continue
            digest = bytes.fromhex(crypto.chunk_id(data, self.key_id))
            staged.changes[block] = digest
            staged.plain[digest] = data
        return staged

    def claim_staged(self, session: Session, staged: StagedBatch) -> None:
        """Pin a staged batch's chunks in the caller's transaction, which other jobs may
        share: in a savepoint of its own, run again on a conflict."""
        staged.claim = self._claim_in_savepoint(session, staged.token, staged.plain)

    def finish_staged(self, snapshot: Snapshot, base: Manifest | None,
                      staged: StagedBatch) -> BackupResult:
        """Store a claimed batch (the whole transfer); its pack is recorded by the job's
        commit (:meth:`take_written`)."""
        added = self._upload(staged.token, staged.plain, staged.claim)
        manifest = base or Manifest(snapshot.size, snapshot.block_size)
        return BackupResult(manifest.updated(staged.changes), added)

    def _write_pack(self, token: str, chunks: dict[bytes, bytes]) -> None:
        """Seal the chunks into one object and write it; where each one is gets recorded
        by the job's next transaction (:meth:`_in_write_transaction`)."""
        parts, layout, offset = [], {}, 0
        for digest in sorted(chunks):
            sealed = crypto.seal(chunks[digest], self.key_id, digest.hex())
            parts.append(sealed)
            layout[digest] = (offset, len(sealed))
            offset += len(sealed)
        self.chunks.put(chunk_index.pack_key(self.vault_id, token), b''.join(parts))
        self._written.put((token, layout))

    def take_written(self) -> list[tuple[str, dict[bytes, tuple[int, int]]]]:
        """The packs written and not recorded yet (pack -> digest -> (offset, length)), for
        the caller's commit to record (:func:`chunk_index.settle`)."""
        written = []
        while not self._written.empty():
            written.append(self._written.get())
        return written

    def _in_write_transaction(self, work: Callable[[Session], R]) -> R:
        """``work`` in a job transaction that first records the packs written so far.

        One thread at a time: threads queue on a lock here rather than poll for the
        database's write lock.  If the transaction fails, the records wait for the next.
        """
        written = self.take_written()
        try:
            with self._writing, self.transaction() as session:
                chunk_index.store_packs(session, self.vault_id, written)
                return work(session)
        except BaseException:
            for record in written:
                self._written.put(record)
            raise

    def store(self, plain: dict[bytes, bytes]) -> int:
        """Pin chunks (digest -> plain bytes) in the vault for the job, storing the ones it
        does not have yet in one pack; returns the bytes that are new to the vault.  The
        caller records the pack with :meth:`finish` and settles the pins in its commit."""
        token = uuid.uuid4().hex
        return self._upload(token, plain, self._claim(token, plain))

    def _upload(self, token: str, plain: dict[bytes, bytes], claim: chunk_index.Claim) -> int:
        if claim.upload:
            self._write_pack(token, {digest: plain[digest] for digest in claim.upload})
        return sum(len(plain[digest]) for digest in claim.new)

    @_RETRY_CONFLICTS
    def finish(self) -> None:
        """Record where the chunks of the packs written so far are."""
        self._in_write_transaction(lambda session: None)

    @_RETRY_CONFLICTS
    def _claim(self, token: str, plain: dict[bytes, bytes]) -> chunk_index.Claim:
        if not plain:
            return chunk_index.Claim(frozenset(), frozenset())
        return self._in_write_transaction(lambda session: self._claim_in(session, token, plain))

    @_RETRY_CONFLICTS
    def _claim_in_savepoint(self, session: Session, token: str,
                            plain: dict[bytes, bytes]) -> chunk_index.Claim:
        if not plain:
            return chunk_index.Claim(frozenset(), frozenset())
        with session.begin_nested():
            return self._claim_in(session, token, plain)

    def _claim_in(self, session: Session, token: str,
                  plain: dict[bytes, bytes]) -> chunk_index.Claim:
        sizes = {digest: (len(data), crypto.stored_size(len(data), self.key_id))
                 for digest, data in plain.items()}
        return chunk_index.claim(session, self.vault_id, self.operation_id, token, sizes)


def fetch(chunks: ChunkStore, place: chunk_index.Location, key_id: str | None,
          digest: bytes) -> bytes:
    """The plain bytes of one stored chunk."""
    stored = chunks.get_range(place.key, place.offset, place.length)
    return crypto.unseal(stored, key_id, digest.hex())


def restore(volumes: VolumeStore, chunks: ChunkStore, manifest: Manifest,
            places: dict[bytes, chunk_index.Location], key_id: str | None, target_id: str,
            progress: Progress, check: Callable[[], None]) -> None:
    """Make the first ``manifest.size`` bytes of ``target_id`` exactly the backup's bytes.

    Blocks the manifest lists get their chunk; blocks it does not list but the target
    has data in get zeros; the target's blocks past the backup's size are not touched.
    """
    source_blocks = manifest.block_count
    zeros = {block for block in volumes.allocated_blocks(target_id) if block < source_blocks}
    blocks = sorted(zeros | set(manifest.blocks))

    def write_batch(batch: Sequence[int]) -> None:
        fetched: dict[bytes, bytes] = {}
        writes: list[tuple[int, bytes | None]] = []
        for block in batch:
            digest = manifest.blocks.get(block)
            if digest is None:
                writes.append((block, None))
                continue
            if digest not in fetched:
                fetched[digest] = fetch(chunks, places[digest], key_id, digest)
            writes.append((block, fetched[digest]))
        volumes.write_blocks(target_id, writes)

    done = 0
    for batch, _ in _pipelined(write_batch, _in_batches(blocks), check):
        done += len(batch)
        progress(done, len(blocks))
