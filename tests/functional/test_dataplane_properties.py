"""Property-based test of the data plane: random writes, backups, deletions and restores.

After every step, every remaining backup restores to exactly the bytes it captured, each
chunk's reference count equals the references in manifests, nothing is pinned, orphaned
or left unreferenced, and the vault's used space is the bytes of its distinct chunks.
Runs on both chunk store backends (a local folder and a real S3 server).
"""
from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant, precondition,
                                 rule, run_state_machine_as_test)

from cbr_common import clock
from cbr_common.backups import VOLUME
from cbr_common.dataplane.audit import audit
from cbr_common.dataplane.manifest import Manifest
from tests.support.dataplane import BackupService

BLOCK = 4096


class DataPlaneMachine(RuleBasedStateMachine):
    """One disk, one vault, one restore target; hypothesis picks the steps."""

    service: BackupService

    def __init__(self) -> None:
        super().__init__()
        self.vault = self.service.vault(VOLUME)
        self.target = self.service.disk(1)
        self.disk = ''
        self.captured: dict[str, str] = {}  # backup id -> checksum of the disk at backup time

    @initialize(encrypted=st.booleans())
    def make_disk(self, encrypted: bool) -> None:
        # rule: B8
        self.disk = self.service.disk(1, 'kms-key-a' if encrypted else None)

    @rule(block=st.integers(0, 40), count=st.integers(1, 6), seed=st.integers(0, 4),
          zeros=st.booleans())
    def write(self, block: int, count: int, seed: int, zeros: bool) -> None:
        # few seeds, so equal blocks recur and deduplicate
        data = bytes(count * BLOCK) if zeros else random.Random(seed).randbytes(count * BLOCK)
        self.service.volumes.write(self.disk, block * BLOCK + seed, data)

    @rule(full=st.booleans())
    def back_up(self, full: bool) -> None:
        # rule: B4
        if full:  # rule P12: a day between two full backups
            clock.CLOCK.advance(86400)
        backup = self.service.backup(self.vault, self.disk, full=full)
        assert backup.incremental == (not full and bool(self.captured))
        self.captured[backup.id] = self.service.volumes.checksum(self.disk)['digest']

    @precondition(lambda self: self.captured)
    @rule(data=st.data())
    def delete(self, data) -> None:
        backup_id = data.draw(st.sampled_from(sorted(self.captured)))
        assert self.service.delete(backup_id).status == 'SUCCESS'
        del self.captured[backup_id]

    @invariant()
    def every_backup_restores_exactly(self) -> None:
        # rule: B5, R7
        for backup_id, digest in self.captured.items():
            operation = self.service.restore(backup_id, {self.disk: self.target})
            assert operation.status == 'SUCCESS', operation.fail_reason
            assert self.service.volumes.checksum(self.target)['digest'] == digest

    @invariant()
    def store_is_clean(self) -> None:
        report = audit()
        assert report.clean, report

    @invariant()
    def used_space_is_distinct_chunk_bytes(self) -> None:
        # rule: V14
        distinct: set[bytes] = set()
        for backup_id in self.captured:
            manifest = Manifest.decode(self.service.manifest(backup_id))
            distinct |= manifest.distinct_digests()
        assert self.service.usage(self.vault).used_bytes == len(distinct) * BLOCK

    def teardown(self) -> None:
        for backup_id in list(self.captured):
            assert self.service.delete(backup_id).status == 'SUCCESS'
        report = audit()
        assert report.clean and report.chunks == 0, report


@pytest.mark.timeout(600)
def test_random_histories_keep_every_backup_restorable(chunk_store_backend, tmp_path) -> None:
    service = BackupService(tmp_path / 'service', block_size=BLOCK)
    with service.running():
        DataPlaneMachine.service = service
        run_state_machine_as_test(DataPlaneMachine, settings=settings(
            max_examples=20, stateful_step_count=10, deadline=None,
            suppress_health_check=list(HealthCheck)))
