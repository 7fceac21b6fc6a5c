#!/usr/bin/env bash
# Install what the tests need and run them all: unit, functional and contract tests, the
# database-touching ones on SQLite and on PostgreSQL. Extra arguments go to pytest.
#
# Needs Redis (the configured one is used, or a local one is started, installing
# redis-server with apt-get if it is missing, as devstack/stack.sh does). PostgreSQL runs
# are skipped, with the reason printed, when no server answers at CBR_TEST_PG_ADMIN
# (default postgresql://postgres@127.0.0.1:5432/test); a stopped local cluster is started.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
DEVSTACK_DIR=$REPO_ROOT/devstack
# shellcheck source=devstack/lib/common.sh
source "$DEVSTACK_DIR/lib/common.sh"
# shellcheck source=devstack/lib/redis.sh
source "$DEVSTACK_DIR/lib/redis.sh"
# shellcheck source=devstack/lib/cbr.sh
source "$DEVSTACK_DIR/lib/cbr.sh"

CBR_LOG_TAG=run_tests
load_settings
mkdir -p "$LOG_DIR"
cd "$REPO_ROOT"

ensure_venv
log "installing the test dependencies (pip log: $LOG_DIR/pip-test.log)"
if ! "$VENV/bin/python" -m pip install --disable-pip-version-check -e ".[test]" \
    >"$LOG_DIR/pip-test.log" 2>&1; then
    tail -n 30 "$LOG_DIR/pip-test.log" >&2
    die "pip install of the test dependencies failed"
fi

ensure_redis
redis_parse_url "$CBR_REDIS_URL"
export CBR_TEST_REDIS="redis://$REDIS_HOST:$REDIS_PORT"

# A PostgreSQL cluster that is installed but stopped is started; none installed: skipped.
if ! "$VENV/bin/python" -c 'import psycopg, os; psycopg.connect(os.environ.get("CBR_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/test"), connect_timeout=3).close()' 2>/dev/null; then
    if command -v pg_ctlcluster >/dev/null && [[ -d /etc/postgresql ]]; then
        log "starting the local PostgreSQL cluster"
        for version in /etc/postgresql/*; do
            run_as_root pg_ctlcluster --skip-systemctl-redirect "$(basename "$version")" main start || true
        done
    fi
fi

log "running the tests"
exec "$VENV/bin/python" -m pytest -rs -p no:cacheprovider tests "$@"
