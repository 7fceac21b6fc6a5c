#!/usr/bin/env bash
# Stop what devstack/stack.sh started: the processes recorded in .stack/pids/*.pid
# (each with its process group) and the Redis it started, if it started one.
# SIGTERM, up to 15 s, then SIGKILL. Nothing is looked up or killed by name.
# Safe to run when nothing runs.
set -euo pipefail

DEVSTACK_DIR=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
# shellcheck source=SCRIPTDIR/lib/common.sh
source "$DEVSTACK_DIR/lib/common.sh"
# shellcheck source=SCRIPTDIR/lib/redis.sh
source "$DEVSTACK_DIR/lib/redis.sh"

CBR_LOG_TAG=unstack

load_settings --no-check
if [[ ! -d $STACK_DIR ]]; then
    log "nothing to stop ($STACK_DIR does not exist)"
    exit 0
fi
take_lock
stop_services
stop_own_redis
log "stopped"
