"""Copy-on-write snapshots of the volume store against a real folder, with real processes."""
from __future__ import annotations

import itertools
import multiprocessing
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from cbr_common import clock
from cbr_common.dataplane import volume_store
from cbr_common.dataplane.volume_store import GIB, Snapshot, SnapshotGone, VolumeStore
from cbr_common.errors import InvalidInput, NotFound

BLOCK = 4096
MIB = 1024 * 1024
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(tmp_path) -> VolumeStore:
    return VolumeStore(str(tmp_path / 'volumes'), BLOCK)


@pytest.fixture
def pread_sizes(monkeypatch) -> list[int]:
    """The length of every ``os.pread`` made while the test runs, in order."""
    sizes: list[int] = []
    real_pread = os.pread

    def counting(fd: int, length: int, offset: int) -> bytes:
        sizes.append(length)
        return real_pread(fd, length, offset)
    monkeypatch.setattr(volume_store.os, 'pread', counting)
    return sizes


def _blocks(data: bytes, block_size: int = BLOCK) -> list[bytes]:
    return [data[at:at + block_size] for at in range(0, len(data), block_size)]


def _whole(store: VolumeStore, device_id: str) -> bytes:
    return store.read(device_id, 0, store.size(device_id))


def _all_blocks(snap: Snapshot) -> range:
    return range(-(-snap.size // snap.block_size))


def _counter(store: VolumeStore, device_id: str, snap: Snapshot | None = None) -> int:
    raw = (store.read(device_id, 0, 8) if snap is None
           else store.read_snapshot(snap, [0])[0][:8])
    return int.from_bytes(raw, 'little')


# -- copy-on-write ---------------------------------------------------------------------------
def test_the_snapshot_keeps_its_bytes_through_write_fill_and_write_blocks(store):
    size = 16 * BLOCK + 100
    store.create('vol', size)
    store.write('vol', BLOCK - 10, os.urandom(5 * BLOCK))
    before = _whole(store, 'vol')
    snap = store.snapshot(['vol'])['vol']
    assert store.snapshot_of('vol') == snap
    assert (snap.device_id, snap.generation, snap.size, snap.block_size) == ('vol', 1, size, BLOCK)
    assert len(bytes.fromhex(snap.token)) == 16

    first = os.urandom(2 * BLOCK)
    store.write('vol', BLOCK, first)
    store.write('vol', BLOCK + 7, b'second write to a preserved block')
    store.fill('vol', 5, 0.5)
    store.write_blocks('vol', [(3, b'r' * BLOCK), (4, None), (16, b't' * 100)])

    after = _whole(store, 'vol')
    assert after != before
    assert after[3 * BLOCK:4 * BLOCK] == b'r' * BLOCK and after[-100:] == b't' * 100
    assert after[4 * BLOCK:5 * BLOCK] == bytes(BLOCK)
    assert store.read_snapshot(snap, _all_blocks(snap)) == _blocks(before)
    assert store.read_snapshot(snap, [16, 2, 0]) == [before[16 * BLOCK:],
                                                      before[2 * BLOCK:3 * BLOCK], before[:BLOCK]]
    assert store.read_snapshot(snap, []) == []
    assert store.snapshot_of('vol') == snap


def test_taking_a_snapshot_copies_nothing_and_reads_need_no_copy(store):
    store.create('vol', 64 * MIB)
    store.write('vol', 0, os.urandom(MIB))
    snap = store.snapshot(['vol'])['vol']
    snapdata = os.path.join(store.root, 'vol.snapdata')
    assert os.stat(snapdata).st_blocks == 0
    assert os.stat(os.path.join(store.root, 'vol.snap')).st_blocks <= 8
    store.write('vol', 0, os.urandom(BLOCK))
    preserved = os.stat(snapdata).st_blocks * 512
    assert BLOCK <= preserved <= 2 * BLOCK
    store.write('vol', 32 * MIB, b'x')      # a block never written: nothing to copy
    assert os.stat(snapdata).st_blocks * 512 == preserved
    assert store.read_snapshot(snap, [32 * MIB // BLOCK]) == [bytes(BLOCK)]


def test_stale_preserved_bytes_left_by_a_crash_between_rename_and_truncate_are_never_read(
        store, tmp_path):
    store.create('vol', 32 * BLOCK)
    store.write('vol', 0, b'a' * 32 * BLOCK)
    store.snapshot(['vol'])
    store.write('vol', 0, b'b' * 32 * BLOCK)
    stale = tmp_path / 'stale'
    shutil.copy(os.path.join(store.root, 'vol.snapdata'), stale)
    snap = store.snapshot(['vol'])['vol']
    # the state a crash right after the new table's rename leaves: the old bytes still there
    shutil.copy(stale, os.path.join(store.root, 'vol.snapdata'))
    assert store.read_snapshot(snap, range(32)) == [b'b' * BLOCK] * 32
    store.write('vol', 0, b'c' * 16 * BLOCK)
    assert store.read_snapshot(snap, range(32)) == [b'b' * BLOCK] * 32


# -- changed blocks ------------------------------------------------------------------------
def test_snapshot_changed_blocks_are_those_changed_up_to_the_snapshot(store):
    store.create('vol', 64 * BLOCK)
    store.write('vol', 0, b'a' * 2 * BLOCK)            # generation 1: blocks 0, 1
    store.write('vol', 2 * BLOCK, b'b')                # 2: block 2
    mark = store.current_generation('vol')
    store.write('vol', 3 * BLOCK, b'c' * 2 * BLOCK)    # 3: blocks 3, 4
    store.write('vol', 5 * BLOCK, b'd')                # 4: block 5
    snap = store.snapshot(['vol'])['vol']
    assert snap.generation == 4
    store.write('vol', 3 * BLOCK, b'e')                # changed before and after the snapshot
    store.write('vol', 0, b'f')                        # changed before the mark, and after
    store.write('vol', 7 * BLOCK, b'g')                # only after the snapshot
    store.fill('vol', 3, 0.25)
    store.write_blocks('vol', [(4, None), (9, bytes(BLOCK))])

    assert store.snapshot_changed_blocks(snap, 0) == [0, 1, 2, 3, 4, 5]
    assert store.snapshot_changed_blocks(snap, mark) == [3, 4, 5]
    assert store.snapshot_changed_blocks(snap, 3) == [5]
    assert store.snapshot_changed_blocks(snap, snap.generation) == []
    assert {0, 3, 7} <= set(store.changed_blocks('vol', mark))
    with pytest.raises(InvalidInput) as caught:
        store.snapshot_changed_blocks(snap, -1)
    assert caught.value.field == 'since_generation'


def test_snapshot_changed_blocks_of_a_huge_device_visit_only_the_written_table(store, pread_sizes):
    store.create('huge', 100 * GIB)
    rng = random.Random(4)
    written = sorted(rng.sample(range(100 * GIB // BLOCK), 1000))
    for block in written[:500]:
        store.write('huge', block * BLOCK, b'before')
    snap = store.snapshot(['huge'])['huge']
    for block in written[250:]:
        store.write('huge', block * BLOCK, b'after')
    pread_sizes.clear()
    assert store.snapshot_changed_blocks(snap, 0) == written[:500]
    # at most a page of each 200 MiB table per written entry: 1000 in .cbt, 750 in .snap
    assert sum(pread_sizes) <= 2 * 1750 * 4096, 'must read only the written parts of the tables'
    assert len(pread_sizes) <= 1750 + 2


# -- replacing and dropping ------------------------------------------------------------------
def test_a_new_snapshot_replaces_the_old_one(store):
    # rule: B14 -- a device keeps only its latest snapshot; readers of the old one are told
    store.create('vol', 8 * BLOCK)
    store.write('vol', 0, b'old')
    old = store.snapshot(['vol'])['vol']
    store.write('vol', 0, b'new')
    new = store.snapshot(['vol'])['vol']
    assert new.token != old.token and new.generation == 2
    with pytest.raises(SnapshotGone):
        store.read_snapshot(old, [0])
    with pytest.raises(SnapshotGone):
        store.snapshot_changed_blocks(old, 0)
    assert store.read_snapshot(new, [0])[0][:3] == b'new'
    store.write('vol', 0, b'newest')
    assert store.read_snapshot(new, [0])[0][:6] == b'new\0\0\0'

    store.drop_snapshot('vol', old.token)
    assert store.snapshot_of('vol') == new
    store.drop_snapshot('vol', new.token)
    assert store.snapshot_of('vol') is None
    assert sorted(os.listdir(store.root)) == ['vol.cbt', 'vol.img', 'vol.lock']
    with pytest.raises(SnapshotGone):
        store.read_snapshot(new, [0])
    store.write('vol', 0, b'no snapshot, no copy')
    store.drop_snapshot('missing', new.token)


def test_delete_removes_the_snapshot_and_a_missing_device_snapshots_nothing(store):
    for device_id in ('a', 'b'):
        store.create(device_id, 4 * BLOCK)
    first = store.snapshot(['a', 'b'])
    store.write('a', 0, b'x')
    with pytest.raises(NotFound):
        store.snapshot(['a', 'b', 'missing'])
    assert store.snapshot_of('a') == first['a'] and store.snapshot_of('b') == first['b']
    with pytest.raises(NotFound):
        store.snapshot_of('missing')
    store.delete('a')
    store.delete('b')
    assert os.listdir(store.root) == []
    with pytest.raises(NotFound):
        store.read_snapshot(first['a'], [0])


# -- group snapshots -----------------------------------------------------------------------
class _CounterWriter(threading.Thread):
    """Writes k = 1, 2, 3... to block 0 of device A, then of device B, until stopped."""

    def __init__(self, store: VolumeStore) -> None:
        super().__init__(daemon=True)
        self.store = store
        self.stop = threading.Event()
        self.written = 0

    def run(self) -> None:
        while not self.stop.is_set():
            counter = (self.written + 1).to_bytes(8, 'little')
            self.store.write('a', 0, counter)
            self.store.write('b', 0, counter)
            self.written += 1

    def wait_for(self, count: int) -> None:
        deadline = clock.monotonic() + 30
        while self.written < count and clock.monotonic() < deadline:
            time.sleep(0.001)
        assert self.written >= count


@pytest.fixture
def counting(store):
    for device_id in ('a', 'b'):
        store.create(device_id, 4 * BLOCK)
    writer = _CounterWriter(store)
    writer.start()
    yield writer
    writer.stop.set()
    writer.join(10)


def test_a_group_snapshot_is_one_instant(store, counting):
    # rule: C3 -- the snapshots of a group are taken at one instant
    counting.wait_for(50)
    snaps = store.snapshot(['b', 'a'])
    a, b = _counter(store, 'a', snaps['a']), _counter(store, 'b', snaps['b'])
    assert a in (b, b + 1) and a >= 50
    counting.wait_for(a + 50)
    assert _counter(store, 'a', snaps['a']) == a


def _count_into(root: str, device_ids: tuple[str, ...], stop) -> None:
    """Write k = 1, 2, 3... to block 0 of each device in turn, until stopped."""
    store = VolumeStore(root, BLOCK)
    for counter in itertools.count(1):
        if stop.is_set():
            return
        for device_id in device_ids:
            store.write(device_id, 0, counter.to_bytes(8, 'little'))


def test_a_group_snapshot_holds_all_the_locks_at_once(store):
    # rule: C3 -- a writer process races many group snapshots; eight devices sit between A
    # and Z in lock order, so snapshotting them one lock at a time lets the writer move Z
    # ahead of A
    ids = ['a'] + ['m%d' % index for index in range(8)] + ['z']
    for device_id in ids:
        store.create(device_id, BLOCK)
    context = multiprocessing.get_context('fork')
    stop = context.Event()
    writer = context.Process(target=_count_into, args=(store.root, ('a', 'z'), stop))
    writer.start()
    try:
        deadline = clock.monotonic() + 30
        while _counter(store, 'z') < 10 and clock.monotonic() < deadline:
            time.sleep(0.001)
        seen = []
        for _ in range(100):
            snaps = store.snapshot(ids[::-1])
            a, z = _counter(store, 'a', snaps['a']), _counter(store, 'z', snaps['z'])
            assert a in (z, z + 1), (a, z)
            seen.append(a)
    finally:
        stop.set()
        writer.join(10)
    assert writer.exitcode == 0
    assert len(set(seen)) > 10, 'the writer must have run between the snapshots'


def test_group_snapshots_in_any_order_never_deadlock(store):
    ids = ['d%d' % index for index in range(5)]
    for device_id in ids:
        store.create(device_id, BLOCK)
    failures: list[BaseException] = []

    def snapshot_many(order: list[str]) -> None:
        try:
            for _ in range(100):
                assert set(store.snapshot(order)) == set(ids)
        except BaseException as exc:  # reported below
            failures.append(exc)
    threads = [threading.Thread(target=snapshot_many, args=(order,), daemon=True)
               for order in (ids, ids[::-1], ids[2:] + ids[:2])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads), 'deadlock'
    assert failures == []


# -- concurrency and crashes ---------------------------------------------------------------
def test_a_reader_never_sees_a_block_written_after_the_snapshot(store):
    blocks = 256
    store.create('vol', blocks * BLOCK)
    store.write('vol', 0, b''.join(bytes([index]) * BLOCK for index in range(blocks)))
    snap = store.snapshot(['vol'])['vol']
    expected = [bytes([index]) * BLOCK for index in range(blocks)]
    stop = threading.Event()

    def overwrite() -> None:
        rng = random.Random(1)
        while not stop.is_set():
            first = rng.randrange(blocks)
            store.write('vol', first * BLOCK, b'\xff' * min(rng.randrange(1, 40) * BLOCK,
                                                            (blocks - first) * BLOCK))
    writer = threading.Thread(target=overwrite, daemon=True)
    writer.start()
    try:
        for _ in range(20):
            for first in range(0, blocks, 64):
                batch = range(first, first + 64)
                assert store.read_snapshot(snap, batch) == expected[first:first + 64]
    finally:
        stop.set()
        writer.join(10)
    assert store.read('vol', 0, blocks * BLOCK).count(b'\xff') > 0


_CHILD = r'''
import random, sys
from cbr_common.dataplane.volume_store import VolumeStore
store = VolumeStore(sys.argv[1], int(sys.argv[2]))
rng = random.Random(int(sys.argv[3]))
size = store.size('vol')
block = store.block_size
n_blocks = -(-size // block)
print('ready', flush=True)
while True:
    kind = rng.random()
    if kind < 0.5:
        offset = rng.randrange(size)
        store.write('vol', offset, rng.randbytes(min(size - offset, rng.randrange(1, 4 << 20))))
    elif kind < 0.8:
        store.fill('vol', rng.randrange(1 << 30), 0.2)
    else:
        first = rng.randrange(n_blocks)
        store.write_blocks('vol', [
            (index, None if rng.random() < 0.3
             else rng.randbytes(min(block, size - index * block)))
            for index in range(first, min(n_blocks, first + 64))])
'''


def test_a_writer_killed_at_any_moment_leaves_the_snapshot_intact(tmp_path):
    store = VolumeStore(str(tmp_path / 'volumes'), 64 * 1024)
    store.create('vol', 32 * MIB + 1000)
    store.fill('vol', 9, 0.5)
    rng = random.Random(2)
    copied = 0
    for round_ in range(15):
        snap = store.snapshot(['vol'])['vol']
        expected = _blocks(_whole(store, 'vol'), 64 * 1024)
        expected_changed = store.changed_blocks('vol', 0)
        child = subprocess.Popen([sys.executable, '-c', _CHILD, store.root, str(64 * 1024),
                                  str(round_)], cwd=ROOT, stdout=subprocess.PIPE)
        assert child.stdout.readline() == b'ready\n'
        time.sleep(rng.uniform(0, 0.08))
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        child.stdout.close()
        assert store.read_snapshot(snap, _all_blocks(snap)) == expected
        assert store.snapshot_changed_blocks(snap, 0) == expected_changed
        live = _blocks(_whole(store, 'vol'), 64 * 1024)
        changed = set(store.changed_blocks('vol', snap.generation))
        assert {index for index, data in enumerate(live) if data != expected[index]} <= changed
        copied += os.stat(os.path.join(store.root, 'vol.snapdata')).st_blocks > 0
    assert copied >= 5, 'the writer must often have been killed after copying'


# -- restore -------------------------------------------------------------------------------
def test_write_blocks_restores_a_device_exactly(store):
    size = 40 * BLOCK + 123
    for device_id in ('source', 'target'):
        store.create(device_id, size)
    store.fill('source', 1, 0.5)
    store.write('source', 7 * BLOCK, bytes(BLOCK))     # written, but zeros
    store.fill('target', 2, 0.8)
    mark = store.current_generation('target')
    snap = store.snapshot(['target'])['target']
    target_before = _whole(store, 'target')
    source = _blocks(_whole(store, 'source'))
    store.write_blocks('target', [(index, data if data.strip(b'\0') else None)
                                  for index, data in enumerate(source)])
    assert store.checksum('target')['digest'] == store.checksum('source')['digest']
    assert _whole(store, 'target') == b''.join(source)
    assert store.current_generation('target') == mark + 1
    assert store.changed_blocks('target', mark) == list(range(len(source)))
    assert store.read_snapshot(snap, _all_blocks(snap)) == _blocks(target_before)
    allocated = store.checksum('target')['allocated_bytes']
    assert allocated <= store.checksum('source')['allocated_bytes'], 'zero blocks are punched out'


def test_write_blocks_with_none_zeroes_written_data_and_stamps_holes(store):
    store.create('vol', 8 * BLOCK)
    store.write('vol', 0, b'\x07' * 3 * BLOCK)
    store.write_blocks('vol', [(1, None), (5, None)])
    assert store.read('vol', 0, 3 * BLOCK) == b'\x07' * BLOCK + bytes(BLOCK) + b'\x07' * BLOCK
    assert store.changed_blocks('vol', 1) == [1, 5]
    assert 5 not in store.allocated_blocks('vol')


@pytest.mark.parametrize('blocks', [
    [(2, None), (1, None)],
    [(1, None), (1, None)],
    [(0, b'short')],
    [(7, bytes(BLOCK))],
    [(8, None)],
    [(-1, None)],
])
def test_write_blocks_refuses_bad_blocks_and_changes_nothing(store, blocks):
    store.create('vol', 7 * BLOCK + 10)
    with pytest.raises(InvalidInput) as caught:
        store.write_blocks('vol', blocks)
    assert caught.value.field == 'blocks'
    assert store.current_generation('vol') == 0


# -- cost ----------------------------------------------------------------------------------
def test_reading_a_batch_of_unchanged_blocks_takes_one_table_and_one_data_read(store, pread_sizes):
    store.create('vol', 1024 * BLOCK)
    store.fill('vol', 3, 1.0)
    snap = store.snapshot(['vol'])['vol']
    store.write('vol', 200 * BLOCK, b'x')
    pread_sizes.clear()
    store.read_snapshot(snap, range(64, 128))
    assert sorted(pread_sizes) == [24, 40, 64 * 8, 64 * BLOCK]    # 2 headers, table, data
    pread_sizes.clear()
    store.read_snapshot(snap, range(192, 256))
    assert sorted(pread_sizes) == [24, 40, 64 * 8, BLOCK, 8 * BLOCK, 55 * BLOCK]
