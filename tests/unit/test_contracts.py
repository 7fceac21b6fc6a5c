"""Task message contract: versions, validation, and a handler for every job type."""
from __future__ import annotations

import pytest

from cbr_common.contracts import tasks
from cbr_common.operations import registry

VALID = {'contract': 'cbr.operation', 'version': '1.0', 'operation_id': 'a' * 32,
         'job_type': 'createVolume', 'project_id': 'p' * 32, 'dispatch': 1}


def test_a_valid_message_round_trips():
    message = tasks.parse(VALID)
    assert message.queue == 'inventory'
    assert tasks.parse(message.to_wire()) == message


def test_a_newer_minor_version_with_new_fields_is_accepted():
    message = tasks.parse(dict(VALID, version='1.7', priority='high'))
    assert message.operation_id == 'a' * 32


@pytest.mark.parametrize('version', ['2.0', '0.9', '10.1'])
def test_an_unknown_major_version_is_rejected_clearly(version):
    with pytest.raises(tasks.UnsupportedContractVersion, match='version %s' % version):
        tasks.parse(dict(VALID, version=version))


@pytest.mark.parametrize('change', [
    {'operation_id': 'not-hex'}, {'job_type': 'formatDisk'}, {'dispatch': 0},
    {'version': 'one'}, {'contract': 'other'}, {'project_id': ''},
    {'batch': ['b' * 31]}, {'batch': ['b' * 32] * 257}, {'batch': 'b' * 32},
])
def test_malformed_messages_are_contract_errors(change):
    with pytest.raises(tasks.ContractError):
        tasks.parse(dict(VALID, **change))


def test_a_1_0_message_names_one_operation_and_a_1_1_message_may_name_a_batch():
    assert tasks.parse(VALID).operation_ids == ('a' * 32,)
    batch = tasks.parse(dict(VALID, version='1.1', batch=['b' * 32, 'c' * 32]))
    assert batch.operation_ids == ('a' * 32, 'b' * 32, 'c' * 32)
    assert tasks.parse(batch.to_wire()) == batch


def test_batched_job_types_have_a_batch_form():
    registry.load_handlers()
    for job_type in tasks.BATCHED_JOB_TYPES:
        assert registry.handler_for(job_type).batch is not None


def test_a_message_must_be_an_object():
    with pytest.raises(tasks.ContractError, match='JSON object'):
        tasks.parse(['createVolume'])


def test_every_job_type_has_a_handler_and_a_queue():
    registry.load_handlers()
    for job_type, queue in tasks.JOB_QUEUES.items():
        assert registry.handler_for(job_type).job_type == job_type
        assert queue in tasks.QUEUES
