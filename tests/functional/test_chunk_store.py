"""The chunk store on both backends: a local folder and a real S3 server (moto's)."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pytest

from cbr_common.config import CONF
from cbr_common.dataplane import chunk_store
from cbr_common.dataplane.chunk_store import ChunkMissing, ChunkStore
from cbr_common.errors import InvalidInput, NotFound

ROOT = Path(__file__).resolve().parents[2]
MIB = 1024 * 1024
S3_PAGE = 1000
BAD_KEYS = ['', '/vault/ab/x', 'vault//x', 'vault/', 'vault/../x', '..', '.', 'vault/./x',
            '.tmp-1-x', 'vault/.hidden', 'va ult/x', 'vault\\x', 'vault/\u00e4', 'vault/x\n',
            'x' * 513, None, b'vault/x']


@pytest.fixture
def store(chunk_store_backend: str) -> ChunkStore:
    return chunk_store.from_config()


def chunk_key(vault: str = 'vault-1') -> str:
    """A key shaped like the ones backups use: vault/2 hex/64 hex digest.32 hex token."""
    digest = os.urandom(32).hex()
    return '%s/%s/%s.%s' % (vault, digest[:2], digest, uuid.uuid4().hex)


def put_many(store: ChunkStore, keys: list[str]) -> None:
    """Put a few distinct bytes under each key, from many threads."""
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda key: store.put(key, key.encode()), keys))


# -- single objects --------------------------------------------------------------------------
@pytest.mark.parametrize('size', [0, 1, 65536 + 7, 3 * MIB])
def test_put_then_get_returns_the_same_bytes(store, size):
    key, data = chunk_key(), os.urandom(size)
    store.put(key, data)
    assert store.get(key) == data
    assert list(store.keys()) == [key]


def test_putting_a_key_again_with_the_same_bytes_is_harmless(store):
    key, data = chunk_key(), os.urandom(1000)
    store.put(key, data)
    store.put(key, data)
    assert store.get(key) == data
    assert list(store.keys()) == [key]


def test_getting_a_missing_object_raises_chunk_missing(store):
    store.put(chunk_key(), b'other')
    with pytest.raises(ChunkMissing) as caught:
        store.get(chunk_key())
    assert isinstance(caught.value, NotFound) and caught.value.status == 404
    with pytest.raises(ChunkMissing):
        store.get_range(chunk_key(), 0, 10)


@pytest.mark.parametrize('offset, length', [(0, 1), (65536, 65536 + 28), (3 * MIB - 5, 5),
                                            (3 * MIB - 5, 100)])
def test_get_range_returns_exactly_that_part(store, offset, length):
    key, data = chunk_key(), os.urandom(3 * MIB)
    store.put(key, data)
    assert store.get_range(key, offset, length) == data[offset:offset + length]


def test_delete_removes_present_keys_and_ignores_missing_ones(store):
    kept, *doomed = [chunk_key() for _ in range(3)]
    put_many(store, [kept, *doomed])
    assert store.delete([*doomed, chunk_key(), doomed[0]]) == 4
    for key in doomed:
        with pytest.raises(ChunkMissing):
            store.get(key)
    assert store.get(kept) == kept.encode()
    assert list(store.keys()) == [kept]
    assert store.delete([]) == 0


@pytest.mark.parametrize('bad', BAD_KEYS)
def test_invalid_keys_are_refused(store, bad):
    for call in (lambda: store.put(bad, b'x'), lambda: store.get(bad),
                 lambda: store.delete([bad])):
        with pytest.raises(InvalidInput) as caught:
            call()
        assert caught.value.field == 'key'
    assert list(store.keys()) == []


def test_delete_checks_every_key_before_removing_any(store):
    key = chunk_key()
    store.put(key, b'x')
    with pytest.raises(InvalidInput):
        store.delete([key, 'vault/../escape'])
    assert store.get(key) == b'x'


@pytest.mark.parametrize('bad', ['/vault', 'vault//', '../', 'vault/../', './x', '.tmp'])
def test_invalid_prefixes_are_refused(store, bad):
    with pytest.raises(InvalidInput) as caught:
        store.keys(bad)
    assert caught.value.field == 'prefix'


# -- many objects ----------------------------------------------------------------------------
def test_listing_and_deleting_cross_the_s3_page_and_batch_size(store, chunk_store_backend):
    vault_a = [chunk_key('vault-a') for _ in range(S3_PAGE + 100)]
    vault_b = [chunk_key('vault-b') for _ in range(450)]
    put_many(store, vault_a + vault_b)

    assert sorted(store.keys()) == sorted(vault_a + vault_b)
    assert sorted(store.keys('vault-')) == sorted(vault_a + vault_b)
    assert sorted(store.keys('vault-a/')) == sorted(vault_a)
    assert sorted(store.keys('vault-b')) == sorted(vault_b)
    folder = vault_b[0][:len('vault-b/ab/')]
    assert sorted(store.keys(folder)) == sorted(k for k in vault_b if k.startswith(folder))
    assert list(store.keys('vault-c/')) == []
    assert list(store.keys(vault_a[0])) == [vault_a[0]]

    batches = _record_delete_batches(store) if chunk_store_backend == 's3' else None
    assert store.delete(vault_a + vault_b) == len(vault_a + vault_b)
    assert list(store.keys()) == []
    if batches is not None:
        assert sorted(batches) == [450 + 100, S3_PAGE]


def _record_delete_batches(store: ChunkStore) -> list[int]:
    """How many keys each DeleteObjects request of ``store``'s client names, from now on."""
    sizes: list[int] = []

    def record(params, **_) -> None:
        assert params['Delete']['Quiet'] is True
        sizes.append(len(params['Delete']['Objects']))
    store._client.meta.events.register('provide-client-params.s3.DeleteObjects', record)
    return sizes


def test_many_threads_put_and_get_in_parallel(store):
    blobs = {chunk_key(): os.urandom(random.randrange(1, 100_000)) for _ in range(200)}
    shared_key, shared = chunk_key(), os.urandom(100_000)

    def work(key: str) -> bool:
        shared_store = chunk_store.from_config()
        shared_store.put(key, blobs[key])
        shared_store.put(shared_key, shared)
        return shared_store.get(key) == blobs[key] and shared_store.get(shared_key) == shared

    with ThreadPoolExecutor(16) as pool:
        assert all(pool.map(work, blobs))
    assert sorted(store.keys()) == sorted([*blobs, shared_key])


def test_readers_never_see_a_partial_object(store):
    key, data = chunk_key(), os.urandom(4 * MIB)
    written = threading.Event()
    reads: list[str] = []

    def write() -> None:
        try:
            for _ in range(8):
                store.put(key, data)
        finally:
            written.set()

    def read() -> None:
        while not written.is_set():
            try:
                reads.append('whole' if store.get(key) == data else 'partial')
            except ChunkMissing:
                reads.append('missing')

    with ThreadPoolExecutor(4) as pool:
        for each in [pool.submit(write)] + [pool.submit(read) for _ in range(3)]:
            each.result()
    assert 'partial' not in reads
    assert store.get(key) == data


# -- configuration ---------------------------------------------------------------------------
def test_from_config_shares_one_store_per_configuration(store, chunk_store_backend):
    assert chunk_store.from_config() is store
    name = 'path' if chunk_store_backend == 'local' else 's3_prefix'
    sibling = getattr(CONF.chunk_store, name).rstrip('/') + '-other/'
    CONF.set_override(name, sibling, group='chunk_store')
    other = chunk_store.from_config()
    assert other is not store
    key = chunk_key()
    other.put(key, b'elsewhere')
    assert list(store.keys()) == [] and list(other.keys()) == [key]


def test_describe_names_the_place(store, chunk_store_backend):
    group = CONF.chunk_store
    expected = ('local:%s' % group.path if chunk_store_backend == 'local'
                else 's3://%s/%s' % (group.s3_bucket, group.s3_prefix))
    assert store.describe() == expected


# -- S3 only -----------------------------------------------------------------------------------
@pytest.mark.parametrize('chunk_store_backend', ['s3'], indirect=True)
def test_s3_objects_live_below_the_prefix_in_an_existing_bucket(chunk_store_backend, s3_server):
    group = CONF.chunk_store
    raw = boto3.client('s3', endpoint_url=s3_server.endpoint_url, region_name=s3_server.region,
                       aws_access_key_id=s3_server.access_key,
                       aws_secret_access_key=s3_server.secret_key)
    raw.create_bucket(Bucket=group.s3_bucket)
    raw.put_object(Bucket=group.s3_bucket, Key='foreign/object', Body=b'not ours')
    store = chunk_store.from_config()
    key = chunk_key()
    store.put(key, b'ours')
    listed = raw.list_objects_v2(Bucket=group.s3_bucket)['Contents']
    assert sorted(item['Key'] for item in listed) == sorted(['foreign/object',
                                                             group.s3_prefix + key])
    assert list(store.keys()) == [key]


@pytest.mark.parametrize('chunk_store_backend', ['s3'], indirect=True)
def test_s3_client_pool_fits_the_transfer_threads(chunk_store_backend):
    CONF.set_override('transfer_threads', 24, group='chunk_store')
    try:
        config = chunk_store.from_config()._client.meta.config
    finally:
        CONF.clear_override('transfer_threads', group='chunk_store')
    assert config.max_pool_connections >= 48
    assert config.retries['mode'] == 'standard'


# -- local only: writers killed half way -------------------------------------------------------
_KILLED_WRITER = '''
import os, signal, sys
from cbr_common.dataplane.chunk_store import LocalChunkStore
os.replace = lambda *args: os.kill(os.getpid(), signal.SIGKILL)
LocalChunkStore(sys.argv[1]).put(sys.argv[2], b'x' * 100000)
'''


@pytest.mark.parametrize('chunk_store_backend', ['local'], indirect=True)
def test_a_killed_writer_leaves_nothing_after_remove_leftovers(store):
    key, kept = chunk_key(), chunk_key()
    store.put(kept, b'kept')
    writer = subprocess.run([sys.executable, '-c', _KILLED_WRITER, store.root, key], cwd=ROOT,
                            capture_output=True, timeout=60)
    assert writer.returncode == -signal.SIGKILL, writer.stderr
    folder = Path(store.root, key).parent
    [leftover] = [path for path in folder.iterdir() if path.name.startswith('.tmp-')]
    live = folder / ('.tmp-%d-still-writing' % os.getpid())
    live.write_bytes(b'half')
    not_ours = folder / '.tmp-notapid'
    not_ours.write_bytes(b'?')

    assert list(store.keys()) == [kept]
    with pytest.raises(ChunkMissing):
        store.get(key)
    assert store.remove_leftovers() == 1
    assert not leftover.exists() and live.exists() and not_ours.exists()
    assert store.remove_leftovers() == 0
    assert store.get(kept) == b'kept'


@pytest.mark.parametrize('chunk_store_backend', ['local'], indirect=True)
def test_a_failed_local_put_removes_its_temporary_file(store, monkeypatch):
    key = chunk_key()

    def fail(*args):
        raise OSError('disk full')
    monkeypatch.setattr(os, 'replace', fail)
    with pytest.raises(OSError, match='disk full'):
        store.put(key, b'data')
    assert [path for path in Path(store.root).rglob('*') if path.is_file()] == []


@pytest.mark.parametrize('chunk_store_backend', ['s3'], indirect=True)
def test_remove_leftovers_has_nothing_to_do_on_s3(store):
    store.put(chunk_key(), b'x')
    assert store.remove_leftovers() == 0
    assert len(list(store.keys())) == 1
