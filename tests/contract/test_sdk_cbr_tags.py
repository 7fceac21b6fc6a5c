"""The six vault-tag operations of CBR v3 through the official huaweicloudsdkcbr client,
unmodified; each JSON body is compared key by key with the SDK's models."""
from __future__ import annotations

import uuid

import huaweicloudsdkcbr.v1 as sdk
import pytest
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException

from tests.support.cbr import Cbr
from tests.support.sdk_models import check_cbr

# A count answers only ``total_count``.
OPTIONAL = frozenset({'ShowVaultResourceInstancesResponse.resources'})


def check(response) -> None:
    """The raw body of ``response`` matches its SDK response model exactly."""
    check_cbr(response, optional=OPTIONAL)


def _tags(client, vault_id: str) -> list[tuple[str, str]]:
    shown = client.show_vault_tag(sdk.ShowVaultTagRequest(vault_id=vault_id))
    check(shown)
    assert shown.sys_tags == []
    return [(tag.key, tag.value) for tag in shown.tags]


def _batch(client, vault_id: str, action: str, tags: list) -> None:
    done = client.batch_create_and_delete_vault_tags(sdk.BatchCreateAndDeleteVaultTagsRequest(
        vault_id=vault_id, body=sdk.BulkCreateAndDeleteVaultTagsReq(action=action, tags=tags)))
    assert done.status_code == 204


def test_vault_tags_through_the_sdk(client, cbr):
    run = uuid.uuid4().hex[:12]
    vault_id = cbr.vault('disk', 10, tags=[{'key': 'run', 'value': run}])['id']
    created = client.create_vault_tags(sdk.CreateVaultTagsRequest(vault_id=vault_id, body=(
        sdk.VaultTagsCreateReq(tag=sdk.TagCreate(key='环境', value='prod')))))
    assert created.status_code == 204
    _batch(client, vault_id, 'create', [sdk.BulkCreateAndDeleteTags(key='环境', value='dev'),
                                        sdk.BulkCreateAndDeleteTags(key='team', value='qa')])
    assert _tags(client, vault_id) == [('run', run), ('环境', 'dev'), ('team', 'qa')]
    _batch(client, vault_id, 'delete', [sdk.BulkCreateAndDeleteTags(key='team')])
    deleted = client.delete_vault_tag(sdk.DeleteVaultTagRequest(vault_id=vault_id, key='环境'))
    assert deleted.status_code == 204
    assert _tags(client, vault_id) == [('run', run)]
    with pytest.raises(ClientRequestException) as missing:
        client.delete_vault_tag(sdk.DeleteVaultTagRequest(vault_id=vault_id, key='环境'))
    assert missing.value.status_code == 404 and missing.value.request_id

    project = client.show_vault_project_tag(sdk.ShowVaultProjectTagRequest())
    check(project)
    assert [tag.values for tag in project.tags if tag.key == 'run'][0].count(run) == 1


def test_vault_search_through_the_sdk(client, cbr):
    run = uuid.uuid4().hex[:12]
    made = [cbr.vault('disk', 10, name='sdk-%d' % i, tags=[{'key': 'run', 'value': run}])['id']
            for i in range(2)]
    mine = [sdk.TagsReq(key='run', values=[run])]
    page = client.show_vault_resource_instances(sdk.ShowVaultResourceInstancesRequest(
        body=sdk.VaultResourceInstancesReq(action='filter', tags=mine, limit='1', offset='1',
                                           object_type='disk', cloud_type='public')))
    check(page)
    assert page.total_count == 2 and [r.resource_id for r in page.resources] == [made[0]]
    resource = page.resources[0]
    assert (resource.resource_name, resource.tags[0].value) == ('sdk-0', run)
    assert resource.resource_detail.vault.billing.object_type == 'disk'
    counted = client.show_vault_resource_instances(sdk.ShowVaultResourceInstancesRequest(
        body=sdk.VaultResourceInstancesReq(action='count', tags=mine, matches=[
            sdk.Match(key='resource_name', value='sdk-1')])))
    check(counted)
    assert counted.total_count == 1 and counted.resources is None

    with pytest.raises(ClientRequestException) as bad:
        client.show_vault_resource_instances(sdk.ShowVaultResourceInstancesRequest(
            body=sdk.VaultResourceInstancesReq(action='filter', limit='1001')))
    assert (bad.value.status_code, bad.value.error_code) == (400, 'BackupService.0100')
    assert 'limit' in bad.value.error_msg


def test_another_projects_vault_tags_are_not_found_through_the_sdk(client, stack):
    vault_id = Cbr(stack, 'alt_demo').vault('disk', 10)['id']
    with pytest.raises(ClientRequestException) as missing:
        client.show_vault_tag(sdk.ShowVaultTagRequest(vault_id=vault_id))
    assert (missing.value.status_code, missing.value.error_code) == (404, 'BackupService.6300')
