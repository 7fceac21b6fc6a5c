"""The volume store against a real folder: data, sparseness, checksums and change tracking."""
from __future__ import annotations

import multiprocessing
import os
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cbr_common import clock
from cbr_common.dataplane import volume_store
from cbr_common.dataplane.volume_store import GIB, VolumeStore
from cbr_common.errors import InvalidInput, NotFound, WrongState

BLOCK = 64 * 1024
MIB = 1024 * 1024


@pytest.fixture
def store(tmp_path) -> VolumeStore:
    return VolumeStore(str(tmp_path / 'volumes'), BLOCK)


def _count_preads(monkeypatch) -> list[int]:
    """Record the size of every ``os.pread`` the store does from now on."""
    sizes: list[int] = []
    real_pread = os.pread

    def counting(fd: int, length: int, offset: int) -> bytes:
        data = real_pread(fd, length, offset)
        sizes.append(len(data))
        return data

    monkeypatch.setattr(volume_store.os, 'pread', counting)
    return sizes


# -- lifecycle -----------------------------------------------------------------------------
def test_create_is_sparse_idempotent_and_delete_is_idempotent(store):
    store.create('vol-1', 10 * MIB)
    store.create('vol-1', 10 * MIB)
    assert store.exists('vol-1') and store.size('vol-1') == 10 * MIB
    assert os.stat(os.path.join(store.root, 'vol-1.img')).st_blocks == 0
    assert store.checksum('vol-1')['allocated_bytes'] == 0
    assert store.current_generation('vol-1') == 0
    with pytest.raises(WrongState):
        store.create('vol-1', 20 * MIB)
    store.delete('vol-1')
    store.delete('vol-1')
    assert not store.exists('vol-1')
    assert os.listdir(store.root) == []
    with pytest.raises(NotFound):
        store.read('vol-1', 0, 1)


def test_bad_device_ids_and_sizes_are_refused(store):
    with pytest.raises(InvalidInput) as caught:
        store.create('../escape', MIB)
    assert caught.value.field == 'device_id'
    with pytest.raises(InvalidInput) as caught:
        store.create('vol-1', 0)
    assert caught.value.field == 'size_bytes'


def test_a_store_with_another_block_size_refuses_the_device(store):
    store.create('vol-1', MIB)
    other = VolumeStore(store.root, BLOCK * 2)
    with pytest.raises(WrongState):
        other.write('vol-1', 0, b'x')
    with pytest.raises(WrongState):
        other.changed_blocks('vol-1', 0)


# -- reads and writes ----------------------------------------------------------------------
def test_write_read_round_trip_and_holes_read_as_zeros(store):
    store.create('vol-1', 4 * MIB)
    payload = os.urandom(3 * BLOCK + 17)
    store.write('vol-1', BLOCK - 5, payload)
    assert store.read('vol-1', BLOCK - 5, len(payload)) == payload
    assert store.read('vol-1', 0, BLOCK - 5) == bytes(BLOCK - 5)
    assert store.read('vol-1', 2 * MIB, MIB) == bytes(MIB)
    assert store.read('vol-1', 4 * MIB, 0) == b''
    assert store.allocated_blocks('vol-1') == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(('offset', 'length'), [(-1, 1), (4 * MIB - 1, 2), (4 * MIB + 1, 0)])
def test_out_of_range_writes_and_reads_are_refused(store, offset, length):
    store.create('vol-1', 4 * MIB)
    with pytest.raises(InvalidInput) as caught:
        store.write('vol-1', offset, b'x' * length)
    assert caught.value.field == 'offset'
    with pytest.raises(InvalidInput) as caught:
        store.read('vol-1', offset, length)
    assert caught.value.field in ('offset', 'length')
    assert store.current_generation('vol-1') == 0
    assert store.checksum('vol-1')['allocated_bytes'] == 0


# -- fill ----------------------------------------------------------------------------------
def test_fill_is_deterministic_and_writes_the_stated_bytes(store):
    for device_id in ('a', 'b', 'c'):
        store.create(device_id, 8 * MIB)
    written = store.fill('a', 42, 0.25)
    assert written == 32 * BLOCK
    assert store.fill('b', 42, 0.25) == written
    assert store.fill('c', 43, 0.25) == written
    assert store.read('a', 0, 8 * MIB) == store.read('b', 0, 8 * MIB)
    digest_a = store.checksum('a')
    assert digest_a == store.checksum('b')
    assert digest_a['allocated_bytes'] == written
    assert digest_a['digest'] != store.checksum('c')['digest']
    assert store.allocated_blocks('a') == store.changed_blocks('a', 0)
    assert len(store.changed_blocks('a', 0)) == 32
    assert store.current_generation('a') == 1


def test_fill_covers_a_partial_last_block_and_checks_fraction(store):
    store.create('odd', 4 * BLOCK + 100)
    assert store.fill('odd', 7, 1.0) == 4 * BLOCK + 100
    assert store.read('odd', 4 * BLOCK, 100) != bytes(100)
    for bad in (-0.1, 1.5, float('nan')):
        with pytest.raises(InvalidInput) as caught:
            store.fill('odd', 7, bad)
        assert caught.value.field == 'fraction'


def test_fill_of_one_gib_is_fast(store):
    store.create('big', GIB)
    started = clock.monotonic()
    written = store.fill('big', 1, 0.4)
    elapsed = clock.monotonic() - started
    store.delete('big')
    assert written == round(0.4 * GIB / BLOCK) * BLOCK
    assert elapsed < 10, elapsed


# -- checksums -----------------------------------------------------------------------------
def test_checksum_ignores_how_zeros_were_written_but_sees_every_byte(store):
    for device_id in ('explicit', 'sparse', 'larger'):
        store.create(device_id, 2 * MIB if device_id != 'larger' else 3 * MIB)
    store.write('explicit', 0, bytes(MIB))
    for device_id in ('explicit', 'sparse', 'larger'):
        store.write(device_id, BLOCK + 3, b'same bytes')
    explicit, sparse = store.checksum('explicit'), store.checksum('sparse')
    assert explicit['digest'] == sparse['digest']
    assert explicit['allocated_bytes'] > sparse['allocated_bytes']
    assert store.checksum('larger')['digest'] != sparse['digest']
    store.write('sparse', 2 * MIB - 1, b'\x01')
    assert store.checksum('sparse')['digest'] != explicit['digest']
    store.write('sparse', 2 * MIB - 1, b'\x00')
    assert store.checksum('sparse')['digest'] == explicit['digest']


def test_checksum_of_a_large_sparse_device_reads_only_its_data(store, monkeypatch):
    store.create('huge', 64 * GIB)
    for place in range(4):
        store.write('huge', place * 16 * GIB + 12345, os.urandom(MIB))
    reads = _count_preads(monkeypatch)
    started = clock.monotonic()
    result = store.checksum('huge')
    elapsed = clock.monotonic() - started
    assert result['size'] == 64 * GIB
    assert 4 * MIB <= result['allocated_bytes'] <= 4 * (MIB + 2 * BLOCK)
    assert sum(reads) <= 4 * (MIB + 2 * BLOCK) + 64
    assert elapsed < 2, elapsed
    reads.clear()
    assert len(store.changed_blocks('huge', 0)) == 4 * 17
    assert sum(reads) < MIB, 'changed_blocks must visit only the written part of the table'


# -- changed-block tracking ----------------------------------------------------------------
def test_changed_blocks_are_exactly_those_written_since_a_generation(store):
    store.create('vol-1', 64 * BLOCK)
    store.write('vol-1', 0, b'a')
    store.write('vol-1', 10 * BLOCK, b'b' * (BLOCK + 1))
    mark = store.current_generation('vol-1')
    assert mark == 2
    assert store.changed_blocks('vol-1', mark) == []
    store.write('vol-1', 3 * BLOCK - 1, b'cd')
    store.write('vol-1', 11 * BLOCK, b'e')
    store.write('vol-1', 63 * BLOCK, bytes(10))
    assert store.changed_blocks('vol-1', mark) == [2, 3, 11, 63]
    assert store.changed_blocks('vol-1', 0) == [0, 2, 3, 10, 11, 63]
    assert store.changed_blocks('vol-1', 4) == [63]
    with pytest.raises(InvalidInput) as caught:
        store.changed_blocks('vol-1', -1)
    assert caught.value.field == 'since_generation'


def _write_blocks(root: str, parity: int, count: int, barrier) -> None:
    store = VolumeStore(root, BLOCK)
    barrier.wait()
    for block in range(parity, 2 * count, 2):
        store.write('shared', block * BLOCK, bytes([block % 251 + 1]) * 1000)


def test_concurrent_writers_in_two_processes_all_land(store):
    count = 500
    store.create('shared', 2 * count * BLOCK)
    context = multiprocessing.get_context('fork')
    barrier = context.Barrier(2)
    workers = [context.Process(target=_write_blocks, args=(store.root, parity, count, barrier))
               for parity in (0, 1)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    assert [worker.exitcode for worker in workers] == [0, 0]
    for block in range(2 * count):
        assert store.read('shared', block * BLOCK, 1001) == bytes([block % 251 + 1]) * 1000 + b'\0'
    assert store.current_generation('shared') == 2 * count
    for since in range(2 * count):
        assert len(store.changed_blocks('shared', since)) == 2 * count - since


# -- property: the store behaves like a bytearray --------------------------------------------
SMALL_BLOCK = 512
SMALL_SIZE = 16 * SMALL_BLOCK + 300


@st.composite
def _writes(draw) -> tuple[int, bytes]:
    offset = draw(st.integers(0, SMALL_SIZE - 1))
    room = min(SMALL_SIZE - offset, 2000)
    data = draw(st.one_of(st.binary(min_size=1, max_size=room),
                          st.integers(1, room).map(bytes)))
    return offset, data


def _touched(writes: list[tuple[int, bytes]]) -> set[int]:
    return {block for offset, data in writes
            for block in range(offset // SMALL_BLOCK, (offset + len(data) - 1) // SMALL_BLOCK + 1)}


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=st.lists(_writes(), max_size=8), after=st.lists(_writes(), max_size=8))
def test_random_writes_match_a_bytearray_model(tmp_path, before, after):
    store = VolumeStore(str(tmp_path / 'model'), SMALL_BLOCK)
    device, twin = uuid.uuid4().hex, uuid.uuid4().hex
    store.create(device, SMALL_SIZE)
    model = bytearray(SMALL_SIZE)
    for offset, data in before:
        store.write(device, offset, data)
        model[offset:offset + len(data)] = data
    mark = store.current_generation(device)
    for offset, data in after:
        store.write(device, offset, data)
        model[offset:offset + len(data)] = data
    assert store.read(device, 0, SMALL_SIZE) == bytes(model)
    assert store.current_generation(device) == len(before) + len(after)
    assert store.changed_blocks(device, mark) == sorted(_touched(after))
    assert store.changed_blocks(device, 0) == sorted(_touched(before + after))
    assert _touched(before + after) <= set(store.allocated_blocks(device))
    store.create(twin, SMALL_SIZE)
    store.write(twin, 0, bytes(model))
    assert store.checksum(device)['digest'] == store.checksum(twin)['digest']
    store.delete(device)
    store.delete(twin)
