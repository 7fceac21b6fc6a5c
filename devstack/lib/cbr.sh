# shellcheck shell=bash
# The cbr-sim services: virtualenv, configuration file, start, health, seed.
# Needs lib/common.sh and load_settings.

# ensure_venv: .venv with Python 3.11+ and the project installed (editable); the
# install is skipped while setup.cfg and pyproject.toml are what was last installed.
ensure_venv() {
    local stamp=$STACK_DIR/install.stamp digest py_ok='import sys; sys.exit(sys.version_info < (3, 11))'
    if [[ ! -x $VENV/bin/python ]] || ! "$VENV/bin/python" -c "$py_ok" 2>/dev/null; then
        command -v "$CBR_PYTHON" >/dev/null || die "$CBR_PYTHON not found (set CBR_PYTHON to a Python 3.11+)"
        "$CBR_PYTHON" -c "$py_ok" || die "$CBR_PYTHON is older than Python 3.11 (set CBR_PYTHON)"
        log "creating $VENV with $CBR_PYTHON"
        rm -f -- "$stamp"
        if ! "$CBR_PYTHON" -m venv --clear "$VENV"; then
            if [[ $(command -v "$CBR_PYTHON") != /usr/bin/* ]] || ! command -v apt-get >/dev/null; then
                die "could not create $VENV"
            fi
            log "installing python3-venv with apt-get"
            run_as_root apt-get update -q >/dev/null
            run_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >/dev/null
            "$CBR_PYTHON" -m venv --clear "$VENV" || die "could not create $VENV"
        fi
    fi
    digest=$(cat "$REPO_ROOT/setup.cfg" "$REPO_ROOT/pyproject.toml" 2>/dev/null | sha256sum)
    digest=${digest%% *}
    if [[ -f $stamp && $(<"$stamp") == "$digest" && -x $VENV/bin/cbr-manage ]]; then
        log "project already installed in $VENV (setup.cfg unchanged)"
        return 0
    fi
    log "installing the project into $VENV (pip log: $LOG_DIR/pip.log)"
    if ! "$VENV/bin/python" -m pip install --disable-pip-version-check -e "$REPO_ROOT" \
        >"$LOG_DIR/pip.log" 2>&1; then
        tail -n 30 "$LOG_DIR/pip.log" >&2
        die "pip install failed; see $LOG_DIR/pip.log"
    fi
    echo "$digest" >"$stamp"
}

# oslo.config expands $name in values; a literal $ is written $$.
_conf_value() { printf '%s' "${1//\$/\$\$}"; }

# write_config: $STACK_DIR/cbr.conf from the settings (rewritten on every run).
write_config() {
    local connection=$CBR_DB_CONNECTION tmp
    [[ -n $connection ]] || connection=sqlite:///$STATE_PATH/cbr.sqlite
    tmp=$(mktemp "$CBR_CONF.XXXXXX")
    {
        echo "# Written by devstack/stack.sh from devstack/local.conf and CBR_* variables;"
        echo "# rewritten on every run, so change those instead. Options: etc/cbr/cbr.conf.sample."
        echo "# The services log to stdout/stderr, which stack.sh sends to $LOG_DIR."
        echo "[DEFAULT]"
        echo "state_path = $(_conf_value "$STATE_PATH")"
        [[ -z $CBR_REGION ]] || echo "region = $(_conf_value "$CBR_REGION")"
        echo
        echo "[database]"
        echo "connection = $(_conf_value "$connection")"
        echo
        echo "[messaging]"
        echo "broker_url = $(_conf_value "$CBR_REDIS_URL")"
        echo
        echo "[api]"
        echo "bind_host = $CBR_API_HOST"
        echo "bind_port = $CBR_API_PORT"
        [[ -z $CBR_API_WORKERS ]] || echo "workers = $CBR_API_WORKERS"
        [[ -z $CBR_API_THREADS ]] || echo "threads = $CBR_API_THREADS"
        echo "public_endpoint = $API_ENDPOINT"
        if [[ -n $CBR_S3_ENDPOINT ]]; then
            echo
            echo "[chunk_store]"
            echo "backend = s3"
            echo "s3_endpoint_url = $(_conf_value "$CBR_S3_ENDPOINT")"
            echo "s3_bucket = $(_conf_value "$CBR_S3_BUCKET")"
            [[ -z $CBR_S3_ACCESS_KEY ]] || echo "s3_access_key_id = $(_conf_value "$CBR_S3_ACCESS_KEY")"
            [[ -z $CBR_S3_SECRET_KEY ]] || echo "s3_secret_access_key = $(_conf_value "$CBR_S3_SECRET_KEY")"
        fi
        if [[ -n $CBR_WORKER_CONCURRENCY || -n $CBR_WORKER_BATCH_SIZE ]]; then
            echo
            echo "[worker]"
            [[ -z $CBR_WORKER_CONCURRENCY ]] || echo "concurrency = $CBR_WORKER_CONCURRENCY"
            [[ -z $CBR_WORKER_BATCH_SIZE ]] || echo "batch_size = $CBR_WORKER_BATCH_SIZE"
        fi
    } >"$tmp"
    chmod 600 "$tmp"
    mv -f -- "$tmp" "$CBR_CONF"
    export CBR_CONFIG_FILE=$CBR_CONF
    log "wrote $CBR_CONF"
}

# cbr_manage ARGS...: cbr-manage against the generated configuration.
cbr_manage() {
    # fd 9 is the devstack lock (lib/common.sh take_lock); no child keeps it.
    "$VENV/bin/cbr-manage" --config-file "$CBR_CONF" "$@" 9>&-
}

_require_command() {
    [[ -x $VENV/bin/$1 ]] || die "$VENV/bin/$1 is missing: the project did not install its console scripts"
}

# start_cbr_services: cbr-api, one cbr-scheduler and CBR_WORKERS cbr-worker processes.
start_cbr_services() {
    local i
    for i in cbr-api cbr-scheduler cbr-worker; do _require_command "$i"; done
    if tcp_listening "$API_PUBLIC_HOST" "$CBR_API_PORT"; then
        die "port $CBR_API_PORT is already in use by a process stack.sh did not start (set CBR_API_PORT)"
    fi
    start_service api "$LOG_DIR/api.log" "$VENV/bin/cbr-api" --config-file "$CBR_CONF"
    start_service scheduler "$LOG_DIR/scheduler.log" "$VENV/bin/cbr-scheduler" --config-file "$CBR_CONF"
    for ((i = 1; i <= CBR_WORKERS; i++)); do
        start_service "worker-$i" "$LOG_DIR/worker-$i.log" "$VENV/bin/cbr-worker" --config-file "$CBR_CONF"
    done
}

# _dead_services: print the names of started services whose main process has exited.
_dead_services() {
    local file pid
    shopt -s nullglob
    for file in "$PID_DIR"/*.pid; do
        read -r pid <"$file" || pid=
        pid_alive "$pid" || basename "$file" .pid
    done
    shopt -u nullglob
}

# show_logs: the end of every service log.
show_logs() {
    local file
    shopt -s nullglob
    for file in "$LOG_DIR"/api.log "$LOG_DIR"/scheduler.log "$LOG_DIR"/worker-*.log "$LOG_DIR"/redis.log; do
        [[ -f $file ]] || continue
        echo "----- tail of $file -----" >&2
        tail -n 25 "$file" >&2 || true
    done
    shopt -u nullglob
}

HEALTH_CHECK_PID=

# stop_health_check: end a running `cbr-manage health` started by wait_healthy.
stop_health_check() {
    if [[ -n $HEALTH_CHECK_PID ]]; then
        kill "$HEALTH_CHECK_PID" 2>/dev/null || true
        wait "$HEALTH_CHECK_PID" 2>/dev/null || true
        HEALTH_CHECK_PID=
    fi
}

# wait_healthy SECONDS: `cbr-manage health --wait`, giving up at once if a service exits.
wait_healthy() {
    local timeout=$1 rc dead out=$LOG_DIR/health.log
    log "waiting up to ${timeout}s for api, scheduler, workers, broker and database to report healthy"
    cbr_manage health --wait "$timeout" >"$out" 2>&1 &
    HEALTH_CHECK_PID=$!
    while pid_alive "$HEALTH_CHECK_PID"; do
        dead=$(_dead_services)
        if [[ -n $dead ]]; then
            stop_health_check
            show_logs
            die "exited during start-up: $(echo "$dead" | tr '\n' ' ')(logs above, in $LOG_DIR)"
        fi
        sleep 0.5
    done
    rc=0
    wait "$HEALTH_CHECK_PID" || rc=$?
    HEALTH_CHECK_PID=
    if ((rc != 0)); then
        show_logs
        echo "----- cbr-manage health -----" >&2
        cat "$out" >&2
        die "the services did not become healthy within ${timeout}s (exit $rc); they are left running for inspection, stop them with devstack/unstack.sh"
    fi
}

# seed: the demo, alt_demo and admin projects and their inventory; credentials files.
seed() {
    log "seeding projects demo, alt_demo and admin"
    cbr_manage seed --credentials-out "$STACK_DIR/credentials.json" --openrc-out "$STACK_DIR/openrc"
    chmod 600 "$STACK_DIR/credentials.json" "$STACK_DIR/openrc" 2>/dev/null || true
}
