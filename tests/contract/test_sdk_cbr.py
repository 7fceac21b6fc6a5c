"""The official huaweicloudsdkcbr client, unmodified, against a running stack.

Every CBR v3 operation the stack serves is called through the SDK; each response is
parsed by the SDK's own models, and its raw JSON is compared key by key with those
models (nested ones too), so no field is lost and none is missing.
"""
from __future__ import annotations

import os

import huaweicloudsdkcbr.v1 as sdk
import pytest
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException

from tests.contract.conftest import cbr_client
from tests.support.cbr import Cbr
from tests.support.client import poll
from tests.support.sdk_models import check_cbr as check

def _billing(object_type: str, size: int) -> sdk.BillingCreate:
    return sdk.BillingCreate(consistent_level='crash_consistent', object_type=object_type,
                             protect_type='backup', size=size)


def test_vaults_and_policies_through_the_sdk(client, cbr):
    disk, spare = cbr.disk(10), cbr.disk(10)
    created = client.create_vault(sdk.CreateVaultRequest(body=sdk.VaultCreateReq(
        vault=sdk.VaultCreate(name='sdk-vault', billing=_billing('disk', 40),
                              resources=[sdk.ResourceCreate(id=disk, type='OS::Cinder::Volume')],
                              tags=[sdk.Tag(key='team', value='qa')], description='from sdk'))))
    check(created)
    vault_id = created.vault.id
    assert created.vault.billing.object_type == 'disk' and created.vault.resources[0].id == disk

    shown = client.show_vault(sdk.ShowVaultRequest(vault_id=vault_id))
    check(shown)
    assert shown.vault.tags[0].key == 'team'
    listed = client.list_vault(sdk.ListVaultRequest(id=[vault_id], object_type='disk', limit=10))
    check(listed)
    assert [v.id for v in listed.vaults] == [vault_id] and listed.count == 1

    updated = client.update_vault(sdk.UpdateVaultRequest(vault_id=vault_id, body=sdk.VaultUpdateReq(
        vault=sdk.VaultUpdate(name='sdk-vault-2', billing=sdk.BillingUpdate(size=50)))))
    check(updated)
    assert (updated.vault.name, updated.vault.billing.size) == ('sdk-vault-2', 50)
    summary = client.show_summary(sdk.ShowSummaryRequest())
    check(summary)
    assert summary.size >= 50

    added = client.add_vault_resource(sdk.AddVaultResourceRequest(
        vault_id=vault_id, body=sdk.VaultAddResourceReq(
            resources=[sdk.ResourceCreate(id=spare, type='OS::Cinder::Volume')])))
    check(added)
    assert added.add_resource_ids == [spare]
    removed = client.remove_vault_resource(sdk.RemoveVaultResourceRequest(
        vault_id=vault_id, body=sdk.VaultRemoveResourceReq(resource_ids=[spare])))
    check(removed)
    assert removed.remove_resource_ids == [spare]

    policy = client.create_policy(sdk.CreatePolicyRequest(body=sdk.PolicyCreateReq(
        policy=sdk.PolicyCreate(
            name='sdk-policy', operation_type='backup', enabled=True,
            operation_definition=sdk.PolicyoODCreate(max_backups=7, timezone='UTC+08:00',
                                                     day_backups=3),
            trigger=sdk.PolicyTriggerReq(properties=sdk.PolicyTriggerPropertiesReq(
                pattern=['FREQ=WEEKLY;BYDAY=MO,WE,FR;BYHOUR=14;BYMINUTE=00']))))))
    check(policy)
    policy_id = policy.policy.id
    assert policy.policy.operation_definition.max_backups == 7
    assert policy.policy.trigger.properties.pattern == [
        'FREQ=WEEKLY;BYDAY=MO,WE,FR;BYHOUR=14;BYMINUTE=00']
    associated = client.associate_vault_policy(sdk.AssociateVaultPolicyRequest(
        vault_id=vault_id, body=sdk.VaultAssociate(policy_id=policy_id)))
    check(associated)
    assert associated.associate_policy.policy_id == policy_id
    shown_policy = client.show_policy(sdk.ShowPolicyRequest(policy_id=policy_id))
    check(shown_policy)
    assert [v.vault_id for v in shown_policy.policy.associated_vaults] == [vault_id]
    policies = client.list_policies(sdk.ListPoliciesRequest(vault_id=vault_id))
    check(policies)
    assert [p.id for p in policies.policies] == [policy_id]
    changed = client.update_policy(sdk.UpdatePolicyRequest(
        policy_id=policy_id, body=sdk.PolicyUpdateReq(policy=sdk.PolicyUpdate(
            enabled=False, trigger=sdk.PolicyTriggerUpdateReq(
                properties=sdk.PolicyTriggerPropertiesUpdateReq(
                    pattern=['FREQ=DAILY;INTERVAL=2;BYHOUR=1;BYMINUTE=00']))))))
    check(changed)
    assert changed.policy.enabled is False
    dissociated = client.disassociate_vault_policy(sdk.DisassociateVaultPolicyRequest(
        vault_id=vault_id, body=sdk.VaultDissociate(policy_id=policy_id)))
    check(dissociated)
    client.delete_policy(sdk.DeletePolicyRequest(policy_id=policy_id))
    with pytest.raises(ClientRequestException) as missing:
        client.show_policy(sdk.ShowPolicyRequest(policy_id=policy_id))
    assert (missing.value.status_code, missing.value.error_code) == (404, 'BackupService.6600')
    assert missing.value.request_id

    deleted = client.delete_vault(sdk.DeleteVaultRequest(vault_id=vault_id))
    assert deleted.status_code == 204
    cbr.wait_gone('vaults/%s' % vault_id)


def test_backups_restores_and_tasks_through_the_sdk(client, cbr):
    disk = cbr.disk(10)
    cbr.write(disk, 0, os.urandom(1 << 20))
    digest = cbr.checksum(disk)
    vault = cbr.vault('disk', 20, [disk])
    made = client.create_checkpoint(sdk.CreateCheckpointRequest(body=sdk.VaultBackupReq(
        checkpoint=sdk.VaultBackup(vault_id=vault['id'], parameters=sdk.CheckpointParam(
            name='sdk-backup', description='one-off', incremental=False)))))
    check(made)
    checkpoint_id = made.checkpoint.id
    assert made.checkpoint.vault.id == vault['id']
    done = poll(lambda: client.show_checkpoint(sdk.ShowCheckpointRequest(
        checkpoint_id=checkpoint_id)), lambda c: c.checkpoint.status == 'available', 60,
        'the checkpoint did not finish')
    check(done)
    listed = client.list_backups(sdk.ListBackupsRequest(checkpoint_id=checkpoint_id,
                                                        status='available', limit=5))
    check(listed)
    backup = listed.backups[0]
    assert (backup.name, backup.resource_id, listed.count) == ('sdk-backup', disk, 1)
    shown = client.show_backup(sdk.ShowBackupRequest(backup_id=backup.id))
    check(shown)
    assert shown.backup.incremental is False and shown.backup.vault_id == vault['id']
    renamed = client.update_backup(sdk.UpdateBackupRequest(
        backup_id=backup.id, body=sdk.BackupUpdateReq(backup=sdk.BackupUpdate(name='renamed'))))
    check(renamed)
    assert renamed.backup.name == 'renamed'

    cbr.write(disk, 0, os.urandom(1 << 20))
    restored = client.restore_backup(sdk.RestoreBackupRequest(
        backup_id=backup.id, body=sdk.BackupRestoreReq(restore=sdk.BackupRestore(
            volume_id=disk))))
    assert restored.status_code == 202
    logs = poll(lambda: client.list_op_logs(sdk.ListOpLogsRequest(
        operation_type='restore', vault_id=vault['id'])),
        lambda r: r.operation_logs and r.operation_logs[0].status == 'success', 60,
        'the restore did not finish')
    check(logs)
    assert cbr.checksum(disk) == digest
    task = client.show_op_log(sdk.ShowOpLogRequest(operation_log_id=logs.operation_logs[0].id))
    check(task)
    assert task.operation_log.extra_info.restore.backup_id == backup.id
    backups_task = client.list_op_logs(sdk.ListOpLogsRequest(operation_type='backup',
                                                             resource_id=disk))
    check(backups_task)
    assert backups_task.operation_logs[0].extra_info.backup.backup_name == 'sdk-backup'

    client.delete_backup(sdk.DeleteBackupRequest(backup_id=backup.id))
    cbr.wait_gone('backups/%s' % backup.id)
    with pytest.raises(ClientRequestException) as missing:
        client.show_backup(sdk.ShowBackupRequest(backup_id=backup.id))
    assert (missing.value.status_code, missing.value.error_code) == (404, 'BackupService.6400')


def test_server_backup_through_the_sdk_restores_with_mappings(client, cbr):
    server, disks = cbr.server((10, 10))
    for disk in disks:
        cbr.write(disk, 1 << 20, os.urandom(1 << 16))
    digests = [cbr.checksum(d) for d in disks]
    vault = cbr.vault('server', 40, [server])
    made = client.create_checkpoint(sdk.CreateCheckpointRequest(body=sdk.VaultBackupReq(
        checkpoint=sdk.VaultBackup(vault_id=vault['id'],
                                   parameters=sdk.CheckpointParam(resources=[server])))))
    backup = poll(lambda: client.list_backups(sdk.ListBackupsRequest(
        checkpoint_id=made.checkpoint.id)), lambda r: r.backups and
        r.backups[0].status == 'available', 60, 'the server backup did not finish')
    check(backup)
    children = backup.backups[0].children
    assert {c.resource_id for c in children} == set(disks)
    for disk in disks:
        cbr.write(disk, 1 << 20, os.urandom(1 << 16))
    client.restore_backup(sdk.RestoreBackupRequest(
        backup_id=backup.backups[0].id, body=sdk.BackupRestoreReq(restore=sdk.BackupRestore(
            server_id=server, power_on=True, mappings=[
                sdk.BackupRestoreServerMapping(backup_id=c.id, volume_id=c.resource_id)
                for c in children]))))
    poll(lambda: client.list_op_logs(sdk.ListOpLogsRequest(operation_type='restore',
                                                           resource_id=server)),
         lambda r: r.operation_logs and r.operation_logs[0].status == 'success', 60,
         'the server restore did not finish')
    assert [cbr.checksum(d) for d in disks] == digests


def test_errors_reach_the_sdk_with_code_and_request_id(client):
    with pytest.raises(ClientRequestException) as bad:
        client.create_vault(sdk.CreateVaultRequest(body=sdk.VaultCreateReq(
            vault=sdk.VaultCreate(name='x', billing=_billing('disk', 5), resources=[]))))
    assert bad.value.status_code == 400 and bad.value.error_code == 'BackupService.0100'
    assert 'vault.billing.size' in bad.value.error_msg and bad.value.request_id
    with pytest.raises(ClientRequestException) as missing:
        client.show_vault(sdk.ShowVaultRequest(vault_id='does-not-exist'))
    assert (missing.value.status_code, missing.value.error_code) == (404, 'BackupService.6300')


def test_sharing_through_the_sdk(client, cbr, stack):
    alt_client = cbr_client(stack, 'alt_demo')
    alt = Cbr(stack, 'alt_demo')
    disk = cbr.disk(10)
    vault = cbr.vault('disk', 20, [disk])
    backup = cbr.backup(vault['id'], disk)
    added = client.add_member(sdk.AddMemberRequest(backup_id=backup['id'], body=sdk.AddMembersReq(
        members=[alt.project_id])))
    check(added)
    assert added.members[0].status == 'pending'
    listed = client.show_members_detail(sdk.ShowMembersDetailRequest(backup_id=backup['id']))
    check(listed)
    assert listed.count == 1
    inbox = alt.vault('disk', 20, name='sdk-inbox')
    answered = alt_client.update_member_status(sdk.UpdateMemberStatusRequest(
        backup_id=backup['id'], member_id=alt.project_id,
        body=sdk.UpdateMember(status='accepted', vault_id=inbox['id'])))
    check(answered)
    assert answered.member.vault_id == inbox['id']
    shown = client.show_member_detail(sdk.ShowMemberDetailRequest(
        backup_id=backup['id'], member_id=alt.project_id))
    check(shown)
    assert shown.member.status == 'accepted'
    shared = alt_client.list_backups(sdk.ListBackupsRequest(own_type='shared'))
    check(shared)
    assert backup['id'] in [b.id for b in shared.backups]
    client.delete_member(sdk.DeleteMemberRequest(backup_id=backup['id'],
                                                 member_id=alt.project_id))
    with pytest.raises(ClientRequestException) as gone:
        alt_client.show_backup(sdk.ShowBackupRequest(backup_id=backup['id']))
    assert (gone.value.status_code, gone.value.error_code) == (404, 'BackupService.6400')


def test_migrate_set_batch_update_and_expiry_through_the_sdk(client, cbr):
    disk = cbr.disk(10)
    cbr.write(disk, 0, os.urandom(1 << 20))
    source, destination = cbr.vault('disk', 20, [disk]), cbr.vault('disk', 20)
    backup = cbr.backup(source['id'], disk)
    expiry = client.update_expiration_time(sdk.UpdateExpirationTimeRequest(
        vault_id=source['id'], body=sdk.UpdateExpirationTimeReq(
            expect_expiration_date='2999-01-31', time_zone='UTC+00:00')))
    check(expiry)
    assert expiry.affected_backups_count == 1
    cbr.wait_task(expiry.operation_log_id)
    suspended = client.set_vault_resource(sdk.SetVaultResourceRequest(
        vault_id=source['id'], body=sdk.VaultSetResourceReq(resource_ids=[disk],
                                                            action='suspend')))
    check(suspended)
    assert suspended.set_resource_ids == [disk]
    batch = client.batch_update_vault(sdk.BatchUpdateVaultRequest(
        body=sdk.BatchUpdateVaultRequestBody(vault=sdk.VaultBatchUpdate(smn_notify=False))))
    check(batch)
    assert source['id'] in batch.updated_vaults_id
    migrated = client.migrate_vault_resource(sdk.MigrateVaultResourceRequest(
        vault_id=source['id'], body=sdk.VaultMigrateResourceReq(
            destination_vault_id=destination['id'], resource_ids=[disk])))
    check(migrated)
    assert migrated.migrated_resources == [disk]
    poll(lambda: client.show_backup(sdk.ShowBackupRequest(backup_id=backup['id'])),
         lambda shown: shown.backup.vault_id == destination['id'], 60,
         'the backup did not move')
    shown = client.show_backup(sdk.ShowBackupRequest(backup_id=backup['id']))
    assert shown.backup.expired_at.year == 2999
