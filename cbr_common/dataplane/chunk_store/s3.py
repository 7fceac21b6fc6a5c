"""The S3 chunk store: one object per chunk in a bucket of any S3-compatible store.

An object's name is ``s3_prefix + key``, the prefix used verbatim (end it with ``/`` to
make it a folder).  A PUT is atomic in S3 itself, so crashed writers leave nothing behind.
The bucket is created the first time the store is used, when it does not exist yet.
"""
from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from cbr_common.dataplane.chunk_store.base import (ChunkMissing, ChunkStore, check_key,
                                                   check_prefix)

DELETE_BATCH = 1000
"""Most keys one DeleteObjects request may name."""
_MISSING_BUCKET = {'404', 'NoSuchBucket'}


@dataclass(frozen=True)
class S3Settings:
    """Where the objects are and how to reach them (the ``[chunk_store]`` ``s3_*`` options)."""

    bucket: str
    prefix: str = ''
    endpoint_url: str | None = None
    region: str = 'us-east-1'
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    transfer_threads: int = 4

    @classmethod
    def from_group(cls, group: Any) -> S3Settings:
        """The settings of a parsed ``[chunk_store]`` option group."""
        return cls(bucket=group.s3_bucket, prefix=group.s3_prefix,
                   endpoint_url=group.s3_endpoint_url, region=group.s3_region,
                   access_key_id=group.s3_access_key_id,
                   secret_access_key=group.s3_secret_access_key,
                   transfer_threads=group.transfer_threads)


class S3ChunkStore(ChunkStore):
    """Objects in ``settings.bucket`` through one thread-safe boto3 client."""

    def __init__(self, settings: S3Settings) -> None:
        self.settings = settings
        self._client = boto3.session.Session().client(
            's3', endpoint_url=settings.endpoint_url, region_name=settings.region,
            aws_access_key_id=settings.access_key_id,
            aws_secret_access_key=settings.secret_access_key,
            config=Config(max_pool_connections=max(10, 2 * settings.transfer_threads),
                          retries={'mode': 'standard'}))
        self._bucket_lock = threading.Lock()
        self._bucket_ready = False

    def put(self, key: str, data: bytes) -> None:
        """One PutObject."""
        self._client.put_object(Bucket=self._bucket(), Key=self._name(key), Body=data)

    def get(self, key: str) -> bytes:
        """One GetObject; :class:`ChunkMissing` on NoSuchKey."""
        return self._get(key)

    def get_range(self, key: str, offset: int, length: int) -> bytes:
        """One ranged GetObject."""
        return self._get(key, Range='bytes=%d-%d' % (offset, offset + length - 1))

    def _get(self, key: str, **options: str) -> bytes:
        try:
            reply = self._client.get_object(Bucket=self._bucket(), Key=self._name(key),
                                            **options)
        except self._client.exceptions.NoSuchKey:
            raise ChunkMissing('chunk object %s is missing from %s' % (key, self.describe()),
                               field='key') from None
        return reply['Body'].read()

    def delete(self, keys: Iterable[str]) -> int:
        """Quiet DeleteObjects requests of up to :data:`DELETE_BATCH` keys (every key is
        checked before any is removed); returns how many keys were given.  Objects the
        store refuses to delete raise ``OSError``."""
        names = [self._name(key) for key in keys]
        bucket = self._bucket()
        for start in range(0, len(names), DELETE_BATCH):
            batch = [{'Key': name} for name in names[start:start + DELETE_BATCH]]
            reply = self._client.delete_objects(Bucket=bucket,
                                                Delete={'Objects': batch, 'Quiet': True})
            if reply.get('Errors'):
                raise OSError('%d chunk objects could not be deleted from %s; first: %r' %
                              (len(reply['Errors']), self.describe(), reply['Errors'][0]))
        return len(names)

    def keys(self, prefix: str = '') -> Iterator[str]:
        """ListObjectsV2 pages below ``s3_prefix + prefix``, the store's prefix stripped."""
        pages = self._client.get_paginator('list_objects_v2').paginate(
            Bucket=self._bucket(), Prefix=self.settings.prefix + check_prefix(prefix))
        strip = len(self.settings.prefix)
        return (item['Key'][strip:] for page in pages for item in page.get('Contents', ()))

    def describe(self) -> str:
        """``s3://<bucket>/<prefix>``."""
        return 's3://%s/%s' % (self.settings.bucket, self.settings.prefix)

    def _name(self, key: str) -> str:
        return self.settings.prefix + check_key(key)

    def _bucket(self) -> str:
        """The bucket's name, once it is known to exist."""
        with self._bucket_lock:
            if not self._bucket_ready:
                self._create_bucket()
                self._bucket_ready = True
        return self.settings.bucket

    def _create_bucket(self) -> None:
        """Make the bucket unless it is there already (a HEAD needs no create permission)."""
        bucket, region = self.settings.bucket, self.settings.region
        try:
            self._client.head_bucket(Bucket=bucket)
            return
        except ClientError as exc:
            if exc.response.get('Error', {}).get('Code') not in _MISSING_BUCKET:
                raise
        location = ({} if region == 'us-east-1' else
                    {'CreateBucketConfiguration': {'LocationConstraint': region}})
        try:
            self._client.create_bucket(Bucket=bucket, **location)
        except self._client.exceptions.BucketAlreadyOwnedByYou:
            pass
