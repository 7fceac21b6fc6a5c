"""Migrations on each backend: upgrade paths keep data valid, and downgrades work."""
from __future__ import annotations

import subprocess
import sys

from tests.support.stack import Database

SCRIPT = '''
import sys
from sqlalchemy import text
from alembic import command
from cbr_common import config
config.load([], config_file=sys.argv[1])
from cbr_common.db import migrate
from cbr_common.db.engine import get_engine
migrate.sync('0001')
with get_engine().begin() as conn:
    conn.execute(text("INSERT INTO projects (id, name, domain_name, created_at) "
                      "VALUES ('%s', 'old', 'd', '2026-01-01 00:00:00')" % ('a' * 32)))
migrate.sync()
with get_engine().connect() as conn:
    print(conn.execute(text('SELECT count(*) FROM change_stamps')).scalar())
command.downgrade(migrate.alembic_config(), 'base')
migrate.sync()
print(migrate.current_version(), migrate.head_version())
'''


def test_upgrade_gives_existing_projects_a_stamp_and_downgrade_round_trips(backend, tmp_path):
    database = Database(backend, tmp_path)
    try:
        conf = tmp_path / 'cbr.conf'
        conf.write_text('[DEFAULT]\nstate_path = %s\n[database]\nconnection = %s\n' % (
            tmp_path / 'state', database.url))
        result = subprocess.run([sys.executable, '-c', SCRIPT, str(conf)],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        stamps, versions = result.stdout.split('\n')[:2]
        assert stamps == '1'
        current, head = versions.split()
        assert current == head == '0007'
    finally:
        database.drop()
