"""docs/api-coverage.md is what tools/api_coverage.py generates, and the generator works."""
from __future__ import annotations

from pathlib import Path

from flask import Flask

from tools import api_coverage


def test_checked_in_coverage_is_not_stale():
    generated = api_coverage.generate(api_coverage.build_app(), api_coverage.CONTRACT_TESTS)
    assert api_coverage.DOC.read_text() == generated, (
        'docs/api-coverage.md is stale: run `python tools/api_coverage.py --write`')


def test_operations_come_from_the_sdk():
    operations = {op.name: op for op in api_coverage.sdk_operations()}
    assert len(operations) >= 70
    assert operations['list_vault'] == api_coverage.Operation(
        'list_vault', 'GET', '/v3/{project_id}/vaults')
    assert operations['show_vault'].path == '/v3/{project_id}/vaults/{vault_id}'
    assert not any(name.endswith('_invoker') for name in operations)


def test_routes_match_by_method_and_exact_template():
    app = Flask('throw-away')
    app.add_url_rule('/v3/<project_id>/vaults', 'list', lambda project_id: '', methods=['GET'])
    app.add_url_rule('/v3/<pid>/vaults/<string:vid>', 'show', lambda pid, vid: '',
                     methods=['GET'])
    found = api_coverage.implemented(api_coverage.sdk_operations(), app)
    assert {'list_vault', 'show_vault'} <= found
    # same path, other method; a literal segment a variable would match; no rule at all
    assert not found & {'create_vault', 'show_summary', 'list_backups'}


def test_tested_means_called_through_the_sdk(tmp_path: Path):
    (tmp_path / 'nested').mkdir()
    (tmp_path / 'nested' / 'test_vaults.py').write_text(
        'client.list_vault(ListVaultRequest())\n'
        'client.show_vault_invoker(request)\n'
        '# show_summary( is mentioned, not called\n')
    (tmp_path / 'notes.txt').write_text('client.list_policies(request)\n')
    called = api_coverage.tested(api_coverage.sdk_operations(), tmp_path)
    assert called == {'list_vault'}


def test_status_of_each_row():
    operations = [api_coverage.Operation('list_vault', 'GET', '/v3/{project_id}/vaults'),
                  api_coverage.Operation('create_vault', 'POST', '/v3/{project_id}/vaults'),
                  api_coverage.Operation('show_summary', 'GET', '/v3/{project_id}/vaults/summary')]
    text = api_coverage.render(operations, {'list_vault', 'create_vault'}, {'list_vault'})
    assert 'Implemented: 2 of 3 operations; tested: 1.' in text
    assert text.splitlines()[-3:] == [
        '| 1 | `list_vault` | GET | `/v3/{project_id}/vaults` | implemented, tested |',
        '| 2 | `create_vault` | POST | `/v3/{project_id}/vaults` | implemented, not yet tested |',
        '| 3 | `show_summary` | GET | `/v3/{project_id}/vaults/summary` | not yet |',
    ]
