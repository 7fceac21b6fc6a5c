"""Protectables, storage usage and backup metadata through the unmodified huaweicloudsdkcbr
client, each raw body compared key by key with the SDK's models."""
from __future__ import annotations

import json
import os

import huaweicloudsdkcbr.v1 as sdk
import pytest
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException

from tests.support.sdk_models import CBR_OPTIONAL, check_cbr, mismatches

# a resource in no vault has no vault to show
OPTIONAL = frozenset({'ProtectableResult.vault'})


def check(response, model: str | None = None) -> None:
    """The raw body of ``response`` matches its SDK response model exactly."""
    check_cbr(response, model=model, optional=OPTIONAL)


def check_children(instance: sdk.ProtectablesResp) -> None:
    """A server's disks (``children``, typed ``object`` by the SDK) are protectables too."""
    for child in instance.children:
        problems = mismatches(sdk, 'ProtectablesResp', child, optional=CBR_OPTIONAL | OPTIONAL)
        assert not problems, problems


def test_protectables_through_the_sdk(client, cbr):
    server, disks = cbr.server((10, 10))
    vault = cbr.vault('server', 40, [server])
    listed = client.list_protectable(sdk.ListProtectableRequest(
        protectable_type='server', id=server, limit=10, offset=0))
    check(listed)
    (instance,) = listed.instances
    check_children(instance)
    assert (instance.id, instance.type, instance.size) == (server, 'OS::Nova::Server', 20)
    assert instance.protectable.result is False
    assert instance.protectable.code == 'BackupService.6302'
    assert instance.protectable.vault.id == vault['id']
    assert [child['id'] for child in instance.children] == disks

    shown = client.show_protectable(sdk.ShowProtectableRequest(
        protectable_type='disk', instance_id=disks[0]))
    check(shown)
    assert shown.instance.protectable.result is True and shown.instance.status == 'in-use'
    by_server = client.list_protectable(sdk.ListProtectableRequest(
        protectable_type='disk', server_id=server))
    check(by_server)
    assert sorted(d.id for d in by_server.instances) == sorted(disks)

    with pytest.raises(ClientRequestException) as missing:
        client.show_protectable(sdk.ShowProtectableRequest(protectable_type='turbo',
                                                           instance_id=server))
    assert (missing.value.status_code, missing.value.error_code) == (404, 'BackupService.6309')
    with pytest.raises(ClientRequestException) as refused:
        client.list_protectable(sdk.ListProtectableRequest(protectable_type='workspace'))
    assert (refused.value.status_code, refused.value.error_code) == (400, 'BackupService.0100')


def test_storage_usage_and_metadata_through_the_sdk(client, cbr):
    disk = cbr.disk(10)
    cbr.write(disk, 0, os.urandom(2 << 20))
    vault = cbr.vault('disk', 20, [disk])
    backup = cbr.backup(vault['id'], disk)

    usage = client.show_storage_usage(sdk.ShowStorageUsageRequest(
        resource_id=disk, resource_type='OS::Cinder::Volume', limit=10, offset=0))
    check(usage)
    assert usage.resource_count == 1
    assert (usage.storage_usage[0].backup_count, usage.storage_usage[0].backup_size) == (1, 2)

    meta = client.show_metadata(sdk.ShowMetadataRequest(backup_id=backup['id']))
    check(meta)
    assert meta.backup_id == backup['id'] and json.loads(meta.backups) == [backup['id']]
    assert [json.loads(volume)['id'] for volume in meta.volumes] == [disk]
    with pytest.raises(ClientRequestException) as missing:
        client.show_metadata(sdk.ShowMetadataRequest(backup_id='no-such-backup'))
    assert (missing.value.status_code, missing.value.error_code) == (404, 'BackupService.6400')
