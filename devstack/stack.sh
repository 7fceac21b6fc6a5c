#!/usr/bin/env bash
# Bring cbr-sim up on this machine, like DevStack does for OpenStack: a virtualenv with
# the project, Redis (the configured one, or one started here), the configuration in
# .stack/cbr.conf, the database schema, cbr-api, one cbr-scheduler and CBR_WORKERS
# cbr-worker processes in the background, a health check, and the seeded projects with
# their credentials in .stack/credentials.json and .stack/openrc.
#
# Settings: devstack/local.conf (see local.conf.sample); environment variables win.
# Safe to run again: the services of the previous run are stopped first.
# Stop everything with devstack/unstack.sh.
set -euo pipefail

DEVSTACK_DIR=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=SCRIPTDIR/lib/common.sh
source "$DEVSTACK_DIR/lib/common.sh"
# shellcheck source=SCRIPTDIR/lib/redis.sh
source "$DEVSTACK_DIR/lib/redis.sh"
# shellcheck source=SCRIPTDIR/lib/cbr.sh
source "$DEVSTACK_DIR/lib/cbr.sh"

CBR_LOG_TAG=stack
HEALTH_TIMEOUT=60

_on_exit() {
    local rc=$?
    stop_health_check
    if ((rc != 0)); then
        log "stack.sh failed (exit $rc); logs are in ${LOG_DIR:-.stack/logs}" >&2
    fi
}
trap _on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP PIPE

load_settings
take_lock
mkdir -p "$STATE_PATH" "$LOG_DIR" "$PID_DIR"
cd "$REPO_ROOT"

stop_services # whatever a previous run left running
ensure_venv
ensure_redis
write_config

log "cbr-manage db sync"
_require_command cbr-manage
cbr_manage db sync

start_cbr_services
wait_healthy "$HEALTH_TIMEOUT"
seed

# rel PATH: PATH relative to the repository when it is inside it.
rel() {
    if [[ $1 == "$REPO_ROOT"/* ]]; then echo "${1#"$REPO_ROOT"/}"; else echo "$1"; fi
}
cat <<SUMMARY

cbr-sim is up ($((SECONDS))s): api, scheduler and $CBR_WORKERS worker(s).
  endpoint      $API_ENDPOINT   (Keystone: $API_ENDPOINT/v3)
  credentials   $(rel "$STACK_DIR/credentials.json")   shell: source $(rel "$STACK_DIR/openrc")
  config        $(rel "$CBR_CONF")
  logs          $(rel "$LOG_DIR")/{api,scheduler,worker-N}.log
  stop          ./devstack/unstack.sh
SUMMARY
