"""CBR v3 vault tags on a running stack: a vault's tags, the project's tags, the search.

The stack is shared, so every search is narrowed to the vaults a test made by a tag
whose value is unique to the test.
"""
from __future__ import annotations

import threading
import uuid
from urllib.parse import quote

import pytest

from tests.support.cbr import Cbr


@pytest.fixture
def cbr(stack) -> Cbr:
    return Cbr(stack)


@pytest.fixture
def run() -> str:
    """A tag value no other test uses."""
    return uuid.uuid4().hex[:12]


def tags_of(cbr: Cbr, vault_id: str) -> list[dict]:
    body = cbr.call('GET', 'vault/%s/tags' % vault_id)
    assert body['sys_tags'] == []
    return body['tags']


def add(cbr: Cbr, vault_id: str, key: str, value: str) -> None:
    cbr.call('POST', 'vault/%s/tags' % vault_id, 204, json={'tag': {'key': key, 'value': value}})


def batch(cbr: Cbr, vault_id: str, action: str, tags: list[dict], expect: int = 204) -> dict:
    return cbr.call('POST', 'vault/%s/tags/action' % vault_id, expect,
                    json={'action': action, 'tags': tags})


def pairs(**tags: str) -> list[dict]:
    return [{'key': key, 'value': value} for key, value in tags.items()]


def search(cbr: Cbr, run: str, **body) -> dict:
    """A search among the vaults tagged ``run=<run>``."""
    body['tags'] = [{'key': 'run', 'values': [run]}, *body.get('tags', [])]
    return cbr.call('POST', 'vault/resource_instances/action', json={'action': 'filter', **body})


def found(cbr: Cbr, run: str, **body) -> set[str]:
    return {r['resource_id'] for r in search(cbr, run, **body)['resources']}


def test_adding_a_tag_with_an_existing_key_replaces_its_value(cbr):
    # rule: V13
    vault = cbr.vault('disk', 10, tags=pairs(env='prod'))
    response = cbr.response('POST', 'vault/%s/tags' % vault['id'],
                            json={'tag': {'key': 'env', 'value': 'dev'}})
    assert (response.status_code, response.content) == (204, b'')
    add(cbr, vault['id'], 'team', 'qa')
    assert tags_of(cbr, vault['id']) == pairs(env='dev', team='qa')
    batch(cbr, vault['id'], 'create', pairs(team='ops', tier='gold'))
    assert tags_of(cbr, vault['id']) == pairs(env='dev', team='ops', tier='gold')
    assert cbr.call('GET', 'vaults/%s' % vault['id'])['vault']['tags'] == \
        pairs(env='dev', team='ops', tier='gold')


def test_a_vault_holds_at_most_ten_tags(cbr):
    # rule: V13
    vault = cbr.vault('disk', 10)
    ten = [{'key': 'k%d' % i, 'value': 'v'} for i in range(10)]
    batch(cbr, vault['id'], 'create', ten)
    add(cbr, vault['id'], 'k0', 'changed')   # a replacement adds no key
    eleventh = cbr.error('POST', 'vault/%s/tags' % vault['id'], 400,
                         json={'tag': {'key': 'k10', 'value': 'v'}})
    assert eleventh['error_code'] == 'BackupService.0100' and 'tag' in eleventh['error_msg']
    over = cbr.error('POST', 'vault/%s/tags/action' % vault['id'], 400, json={
        'action': 'create', 'tags': pairs(k1='x', k10='v')})
    assert 'tags' in over['error_msg'] and '11' in over['error_msg']
    eleven = cbr.error('POST', 'vault/%s/tags/action' % vault['id'], 400, json={
        'action': 'create', 'tags': ten + [{'key': 'k10', 'value': 'v'}]})
    assert 'tags' in eleven['error_msg']
    shown = tags_of(cbr, vault['id'])
    assert len(shown) == 10 and shown[0] == {'key': 'k0', 'value': 'changed'}
    assert shown[1] == {'key': 'k1', 'value': 'v'}   # the refused batch changed nothing


def test_concurrent_additions_lose_nothing_and_stop_at_ten(cbr):
    # rule: V13
    vault = cbr.vault('disk', 10)
    statuses: list[int] = []

    def tag(index: int) -> None:
        statuses.append(cbr.response('POST', 'vault/%s/tags' % vault['id'], json={
            'tag': {'key': 'k%d' % index, 'value': 'v'}}).status_code)
    threads = [threading.Thread(target=tag, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [204] * 10 + [400] * 2, statuses
    assert len({t['key'] for t in tags_of(cbr, vault['id'])}) == 10


@pytest.mark.parametrize('tag, field', [
    ({'key': '', 'value': 'v'}, 'tag.key'),
    ({'key': 'k' * 37, 'value': 'v'}, 'tag.key'),
    ({'key': 'a.b', 'value': 'v'}, 'tag.key'),
    ({'key': 'a b', 'value': 'v'}, 'tag.key'),
    ({'key': 'a=b', 'value': 'v'}, 'tag.key'),
    ({'key': 'k', 'value': 'v' * 44}, 'tag.value'),
    ({'key': 'k', 'value': 'a/b'}, 'tag.value'),
    ({'key': 'k', 'value': 'a*'}, 'tag.value'),
    ({'key': 'k', 'value': 7}, 'tag.value'),
    ({'key': 'k'}, 'tag.value'),
    ({'value': 'v'}, 'tag.key'),
])
def test_tag_keys_and_values_are_checked(cbr, tag, field):
    # rule: V13
    vault = cbr.vault('disk', 10)
    body = cbr.error('POST', 'vault/%s/tags' % vault['id'], 400, json={'tag': tag})
    assert field in body['error_msg'], body
    in_batch = cbr.error('POST', 'vault/%s/tags/action' % vault['id'], 400, json={
        'action': 'create', 'tags': [{'key': 'ok', 'value': 'ok'}, tag]})
    assert field.replace('tag.', 'tags.1.') in in_batch['error_msg'], in_batch
    assert tags_of(cbr, vault['id']) == []


def test_the_longest_keys_and_values_and_unicode_letters_are_accepted(cbr):
    # rule: V13
    vault = cbr.vault('disk', 10)
    add(cbr, vault['id'], 'k' * 36, 'v' * 43)
    add(cbr, vault['id'], '环境_env-1', '生产.v1_a-b')
    add(cbr, vault['id'], '  padded ', '')
    assert tags_of(cbr, vault['id']) == [{'key': 'k' * 36, 'value': 'v' * 43},
                                         {'key': '环境_env-1', 'value': '生产.v1_a-b'},
                                         {'key': 'padded', 'value': ''}]
    cbr.call('DELETE', 'vault/%s/tags/%s' % (vault['id'], quote('环境_env-1', safe='')), 204)
    assert [t['key'] for t in tags_of(cbr, vault['id'])] == ['k' * 36, 'padded']


def test_keys_are_unique_in_a_batch_to_create_but_may_repeat_in_one_to_delete(cbr):
    # rule: V13
    vault = cbr.vault('disk', 10, tags=pairs(a='1', b='2', c='3'))
    twice = cbr.error('POST', 'vault/%s/tags/action' % vault['id'], 400, json={
        'action': 'create', 'tags': [{'key': 'x', 'value': '1'}, {'key': 'x', 'value': '2'}]})
    assert 'tags' in twice['error_msg'] and 'unique' in twice['error_msg']
    batch(cbr, vault['id'], 'delete', [{'key': 'a', 'value': 'wrong'}, {'key': 'a', 'value': '1'},
                                       {'key': 'b'}, {'key': 'absent'}])
    assert tags_of(cbr, vault['id']) == pairs(c='3')


def test_batch_delete_with_a_value_removes_only_that_value(cbr):
    vault = cbr.vault('disk', 10, tags=pairs(a='1', b='2'))
    batch(cbr, vault['id'], 'delete', [{'key': 'a', 'value': '2'}, {'key': ' b ', 'value': '2 '}])
    assert tags_of(cbr, vault['id']) == pairs(a='1')


def test_deleting_a_tag_by_key(cbr):
    vault = cbr.vault('disk', 10, tags=pairs(a='1', b='2'))
    response = cbr.response('DELETE', 'vault/%s/tags/a' % vault['id'])
    assert (response.status_code, response.content) == (204, b'')
    assert tags_of(cbr, vault['id']) == pairs(b='2')
    missing = cbr.error('DELETE', 'vault/%s/tags/a' % vault['id'], 404)
    assert missing['error_code'] == 'BackupService.6311' and 'a' in missing['error_msg']


@pytest.mark.parametrize('body, status, field', [
    ({'tags': [{'key': 'k', 'value': 'v'}]}, 400, 'action'),
    ({'action': 'update', 'tags': [{'key': 'k', 'value': 'v'}]}, 400, 'action'),
    ({'action': 'create'}, 400, 'tags'),
    ({'action': 'create', 'tags': []}, 400, 'tags'),
    ({'action': 'delete', 'tags': [{'key': ''}]}, 400, 'tags.0.key'),
    ({'action': 'delete', 'tags': [{'key': 'k', 'value': 1}]}, 400, 'tags.0.value'),
    ({'action': 'delete', 'tags': [{'key': 'k%d' % i} for i in range(11)]}, 400, 'tags'),
    ({'action': 'create', 'sys_tags': [{'key': '_sys_enterprise_project_id', 'value': '0'}]},
     403, 'sys_tags'),
])
def test_batch_requests_are_checked(cbr, body, status, field):
    vault = cbr.vault('disk', 10, tags=pairs(k='v'))
    refused = cbr.error('POST', 'vault/%s/tags/action' % vault['id'], status, json=body)
    assert field in refused['error_msg'], refused
    assert tags_of(cbr, vault['id']) == pairs(k='v')


def test_project_tags_list_each_key_with_its_distinct_values(cbr, run):
    key = 'proj-%s' % run
    for value in ('b', 'a', 'b'):
        cbr.vault('disk', 10, tags=[{'key': key, 'value': value}])
    listed = cbr.call('GET', 'vault/tags')['tags']
    assert {'key': key, 'values': ['a', 'b']} in listed
    assert all(set(entry) == {'key', 'values'} for entry in listed)


def test_search_by_up_to_ten_tags_is_an_and(cbr, run):
    # rule: V13
    nine = {'k%d' % i: 'v' for i in range(9)}
    full = cbr.vault('disk', 10, tags=pairs(run=run, **nine))
    partial = cbr.vault('disk', 10, tags=pairs(run=run, **dict(list(nine.items())[:8])))
    conditions = [{'key': key, 'values': [value]} for key, value in nine.items()]
    assert found(cbr, run, tags=conditions) == {full['id']}
    assert found(cbr, run, tags=conditions[:8]) == {full['id'], partial['id']}
    assert found(cbr, run, tags=[{'key': 'k8', 'values': []}]) == {full['id']}
    too_many = cbr.error('POST', 'vault/resource_instances/action', 400, json={
        'action': 'filter', 'tags': [{'key': 'run', 'values': [run]}] + conditions
        + [{'key': 'extra', 'values': []}]})
    assert 'tags' in too_many['error_msg']


def test_search_conditions_any_not_and_names(cbr, run):
    red = cbr.vault('disk', 10, name='red-%s' % run, tags=pairs(run=run, color='red', size='l'))
    blue = cbr.vault('disk', 10, name='blue-%s' % run, tags=pairs(run=run, color='blue'))
    plain = cbr.vault('server', 10, name='plain-%s' % run, tags=pairs(run=run))
    untagged = cbr.vault('disk', 10, name='untagged-%s' % run)
    everything = {red['id'], blue['id'], plain['id']}
    assert found(cbr, run) == everything
    assert found(cbr, run, tags=[{'key': 'color', 'values': ['red', 'blue']}]) == \
        {red['id'], blue['id']}
    assert found(cbr, run, tags=[{'key': 'color', 'values': ['*lu']}]) == {blue['id']}
    assert found(cbr, run, tags_any=[{'key': 'size', 'values': []},
                                     {'key': 'color', 'values': ['blue']}]) == \
        {red['id'], blue['id']}
    assert found(cbr, run, not_tags=[{'key': 'color', 'values': ['red']},
                                     {'key': 'size', 'values': []}]) == {blue['id'], plain['id']}
    assert found(cbr, run, not_tags_any=[{'key': 'color', 'values': []}]) == {plain['id']}
    assert found(cbr, run, object_type='server') == {plain['id']}
    assert found(cbr, run, cloud_type='hybrid') == set()
    assert found(cbr, run, matches=[{'key': 'resource_name', 'value': 'ue-%s' % run}]) == \
        {blue['id']}
    named = cbr.call('POST', 'vault/resource_instances/action', json={
        'action': 'filter', 'without_any_tag': True,
        'matches': [{'key': 'resource_name', 'value': run}]})
    assert [r['resource_id'] for r in named['resources']] == [untagged['id']]
    assert named['resources'][0]['tags'] == [] and named['total_count'] == 1


def test_count_and_paging_of_the_search(cbr, run):
    made = [cbr.vault('disk', 10, name='page-%d' % i, tags=pairs(run=run))['id']
            for i in range(3)]
    counted = cbr.call('POST', 'vault/resource_instances/action', json={
        'action': 'count', 'tags': [{'key': 'run', 'values': [run]}]})
    assert counted == {'total_count': 3}
    first = search(cbr, run, limit='2', offset='0')
    assert first['total_count'] == 3
    assert [r['resource_id'] for r in first['resources']] == made[::-1][:2]   # newest first
    rest = search(cbr, run, limit='2', offset='2')
    assert [r['resource_id'] for r in rest['resources']] == [made[0]]
    assert search(cbr, run, offset='3')['resources'] == []
    resource = rest['resources'][0]
    assert set(resource) == {'resource_id', 'resource_name', 'resource_detail', 'tags',
                             'sys_tags'}
    assert resource['resource_name'] == 'page-0' and resource['sys_tags'] == []
    assert resource['resource_detail']['vault']['id'] == made[0]
    assert resource['resource_detail']['vault']['billing']['object_type'] == 'disk'
    assert resource['tags'] == pairs(run=run)


@pytest.mark.parametrize('body, field', [
    ({}, 'action'),
    ({'action': 'list'}, 'action'),
    ({'action': 'filter', 'limit': '0'}, 'limit'),
    ({'action': 'filter', 'limit': '1001'}, 'limit'),
    ({'action': 'filter', 'limit': 'ten'}, 'limit'),
    ({'action': 'filter', 'offset': '-1'}, 'offset'),
    ({'action': 'filter', 'tags': []}, 'tags'),
    ({'action': 'filter', 'tags': [{'key': 'a', 'values': []}, {'key': 'a', 'values': []}]},
     'tags'),
    ({'action': 'filter', 'tags_any': [{'key': 'a'}]}, 'tags_any.0.values'),
    ({'action': 'filter', 'not_tags': [{'key': '', 'values': []}]}, 'not_tags.0.key'),
    ({'action': 'filter', 'not_tags_any': [{'key': 'a', 'values': ['x', 'x']}]},
     'not_tags_any.0.values'),
    ({'action': 'filter', 'tags': [{'key': 'a', 'values': ['*']}]}, 'tags.0.values.0'),
    ({'action': 'filter', 'tags': [{'key': 'a', 'values': ['v%d' % i for i in range(11)]}]},
     'tags.0.values'),
    ({'action': 'filter', 'matches': [{'key': 'name', 'value': 'x'}]}, 'matches.0.key'),
    ({'action': 'filter', 'matches': [{'key': 'resource_name', 'value': 'x'}] * 2}, 'matches'),
    ({'action': 'filter', 'object_type': 'vm'}, 'object_type'),
    ({'action': 'filter', 'without_any_tag': 'sometimes'}, 'without_any_tag'),
])
def test_search_requests_are_checked(cbr, body, field):
    refused = cbr.error('POST', 'vault/resource_instances/action', 400, json=body)
    assert field in refused['error_msg'], refused


def test_search_by_system_tags_is_refused(cbr):
    refused = cbr.error('POST', 'vault/resource_instances/action', 403, json={
        'action': 'count',
        'sys_tags': [{'key': '_sys_enterprise_project_id', 'values': ['0']}]})
    assert refused['error_code'] == 'BackupService.0403' and 'sys_tags' in refused['error_msg']


def test_another_projects_vault_tags_are_not_found(cbr, stack, run):
    vault = cbr.vault('disk', 10, tags=[{'key': 'run', 'value': run}, {'key': run, 'value': 's'}])
    alt = Cbr(stack, 'alt_demo')
    for method, suffix, body in (
            ('GET', 'vault/%s/tags', None),
            ('POST', 'vault/%s/tags', {'tag': {'key': 'k', 'value': 'v'}}),
            ('POST', 'vault/%s/tags/action', {'action': 'delete', 'tags': [{'key': 'run'}]}),
            ('DELETE', 'vault/%s/tags/run', None)):
        refused = alt.error(method, suffix % vault['id'], 404, json=body)
        assert refused['error_code'] == 'BackupService.6300', (method, suffix, refused)
    assert cbr.error('GET', 'vault/no-such-vault/tags', 404)['error_code'] == \
        'BackupService.6300'
    assert found(alt, run) == set()
    assert run not in [t['key'] for t in alt.call('GET', 'vault/tags')['tags']]
    assert [t['key'] for t in tags_of(cbr, vault['id'])] == ['run', run]

