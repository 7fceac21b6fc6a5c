"""Task messages: the one contract between publishers (API, scheduler) and workers.

A message names an operation, and since version 1.1 may name more of the same job type
and project in ``batch``: one task runs them all (:mod:`cbr_common.operations.batches`).
Everything else about the work lives in the operations' rows, which were committed before
the message was sent.  A 1.0 consumer ignores ``batch`` and runs the first operation only;
the outbox publishes the others again later, so no work is lost.  The contract is versioned
``MAJOR.MINOR``: a consumer accepts any minor version of the majors it knows (unknown
fields are ignored) and rejects another major with :class:`UnsupportedContractVersion`.
"""
from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

CONTRACT_NAME = 'cbr.operation'
CONTRACT_VERSION = '1.1'
SUPPORTED_MAJORS = frozenset({1})
_OPERATION_ID = re.compile(r'[0-9a-f]{32}')

# job type -> queue (job family).  Producers and consumers read the same table.
JOB_QUEUES: dict[str, str] = {
    'createVolume': 'inventory',
    'deleteVolume': 'inventory',
    'attachVolume': 'inventory',
    'detachVolume': 'inventory',
    'createServer': 'inventory',
    'deleteServer': 'inventory',
    'startServer': 'inventory',
    'stopServer': 'inventory',
    'createShare': 'inventory',
    'deleteShare': 'inventory',
    'createImage': 'inventory',
    'backupDevice': 'backup',
    'backupServer': 'backup',
    'deleteBackup': 'backup',
    'deleteVault': 'backup',
    'migrateResources': 'backup',
    'updateExpiration': 'backup',
    'restoreBackup': 'restore',
}
QUEUES: tuple[str, ...] = tuple(sorted(set(JOB_QUEUES.values())))
# job types whose operations a producer may send several to a message (``batch``)
BATCHED_JOB_TYPES = frozenset({'backupDevice', 'deleteBackup'})


def task_name(queue: str) -> str:
    """The Celery task that consumes ``queue``."""
    return 'cbr.%s.run_operation' % queue


class ContractError(ValueError):
    """A message that does not satisfy the contract; it is rejected, never retried."""


class UnsupportedContractVersion(ContractError):
    """A message of a major version this consumer does not know."""


class TaskMessage(BaseModel):
    """Version 1 of the operation message."""

    model_config = ConfigDict(extra='ignore', frozen=True)

    contract: str = Field(default=CONTRACT_NAME)
    version: str = Field(default=CONTRACT_VERSION, pattern=r'^\d+\.\d+$')
    operation_id: str = Field(pattern=r'^[0-9a-f]{32}$')
    job_type: str
    project_id: str = Field(min_length=1, max_length=64)
    dispatch: int = Field(ge=1, description='How many times this operation was published.')
    batch: tuple[str, ...] = Field(
        default=(), max_length=256,
        description='More operations of the same job type and project for this task to run '
                    '(version 1.1).')

    @field_validator('batch')
    @classmethod
    def _batch_ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for operation_id in value:
            if not _OPERATION_ID.fullmatch(operation_id):
                raise ValueError('batch holds an invalid operation id %r' % operation_id)
        return value

    @field_validator('job_type')
    @classmethod
    def _known_job_type(cls, value: str) -> str:
        if value not in JOB_QUEUES:
            raise ValueError('unknown job type %r' % value)
        return value

    @property
    def operation_ids(self) -> tuple[str, ...]:
        """Every operation this message asks to run, the first one first."""
        return (self.operation_id, *self.batch)

    @property
    def queue(self) -> str:
        return JOB_QUEUES[self.job_type]

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(mode='json')


def parse(payload: Any) -> TaskMessage:
    """Validate a received message, refusing unknown majors before anything else."""
    if not isinstance(payload, dict):
        raise ContractError('task message must be a JSON object, got %s' % type(payload).__name__)
    if payload.get('contract', CONTRACT_NAME) != CONTRACT_NAME:
        raise ContractError('not a %s message: contract=%r' % (CONTRACT_NAME,
                                                              payload.get('contract')))
    version = str(payload.get('version', ''))
    major = version.split('.', 1)[0]
    if not major.isdigit():
        raise ContractError('task message has no valid version: %r' % version)
    if int(major) not in SUPPORTED_MAJORS:
        raise UnsupportedContractVersion(
            'task message version %s is not supported (this consumer knows major %s)' % (
                version, ', '.join(str(m) for m in sorted(SUPPORTED_MAJORS))))
    try:
        return TaskMessage.model_validate(payload)
    except ValidationError as exc:
        raise ContractError('invalid task message: %s' % exc) from exc
