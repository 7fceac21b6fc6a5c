"""What the official huaweicloudsdkcbr client sees of CSBS and VBS backups: nothing.

The real CBR v3 API lists only CBR vaults, their backups and their tasks; CSBS and VBS
backups live in their own services (their consoles and APIs), and so here in each
project's hidden service vaults.  The SDK, unmodified, must not see those vaults, their
backups or their tasks, nor find a CSBS or VBS backup by id.
"""
from __future__ import annotations

import huaweicloudsdkcbr.v1 as sdk
import pytest
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException

from tests.support.csbs import Csbs
from tests.support.vbs import Vbs


def test_csbs_and_vbs_backups_stay_out_of_cbr_lists(client, stack):
    # rule: C5
    csbs, vbs = Csbs(stack), Vbs(stack)
    server, _ = csbs.server((10,))
    item = csbs.backup(server, backup_name='csbs-only')
    disk_backup = vbs.backup(vbs.cbr.disk(10), name='vbs-only')
    hidden = {item['id'], disk_backup['id'],
              *(volume['id'] for volume in item['extend_info']['volume_backups'])}

    backups = client.list_backups(sdk.ListBackupsRequest(limit=1000)).backups or []
    assert not hidden & {backup.id for backup in backups}
    vaults = client.list_vault(sdk.ListVaultRequest(limit=1000)).vaults or []
    assert not [vault for vault in vaults if vault.name.endswith(('-service', '-policy'))]
    logs = client.list_op_logs(sdk.ListOpLogsRequest(limit=1000)).operation_logs or []
    assert not hidden & {log.extra_info.backup.backup_id for log in logs
                         if log.extra_info and log.extra_info.backup}
    for backup_id in hidden:
        with pytest.raises(ClientRequestException) as refused:
            client.show_backup(sdk.ShowBackupRequest(backup_id=backup_id))
        assert refused.value.status_code == 404
    with pytest.raises(ClientRequestException) as refused:
        client.show_checkpoint(sdk.ShowCheckpointRequest(checkpoint_id=item['checkpoint_id']))
    assert refused.value.status_code == 404
