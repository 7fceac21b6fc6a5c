# shellcheck shell=bash
# The broker: use the Redis that CBR_REDIS_URL names, or start one (and only then stop
# it again in unstack.sh). Needs lib/common.sh and load_settings.
#
# A Redis started here is recorded in $STACK_DIR/redis.started ("HOST PORT"); its pid
# is in $STACK_DIR/redis.pid (written by redis-server itself).

redis_files() {
    REDIS_MARKER=$STACK_DIR/redis.started
    REDIS_PIDFILE=$STACK_DIR/redis.pid
}

# redis_parse_url URL: set REDIS_SCHEME, REDIS_HOST, REDIS_PORT, REDIS_AUTH.
redis_parse_url() {
    local rest=$1
    REDIS_SCHEME=${rest%%://*}
    rest=${rest#*://}
    rest=${rest%%[/?]*}
    REDIS_AUTH=
    if [[ $rest == *@* ]]; then
        REDIS_AUTH=${rest%@*}
        rest=${rest##*@}
    fi
    REDIS_PORT=6379
    if [[ $rest == \[* ]]; then # [IPv6]:port
        REDIS_HOST=${rest%%]*}
        REDIS_HOST=${REDIS_HOST#[}
        rest=${rest#*]}
        if [[ $rest == :?* ]]; then REDIS_PORT=${rest#:}; fi
    else
        REDIS_HOST=${rest%%:*}
        if [[ $rest == *:?* ]]; then REDIS_PORT=${rest#*:}; fi
    fi
    : "${REDIS_HOST:=127.0.0.1}"
    [[ $REDIS_PORT =~ ^[0-9]+$ ]] || die "cannot read a port from CBR_REDIS_URL '$1'"
}

_redis_is_local() {
    case $REDIS_HOST in
        localhost | 127.* | ::1) return 0 ;;
        *) return 1 ;;
    esac
}

# redis_ping: the Redis of CBR_REDIS_URL answers PING.
redis_ping() {
    if [[ -z $REDIS_AUTH ]] && command -v redis-cli >/dev/null; then
        [[ $(timeout 5 redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]
    elif [[ -x ${VENV:-}/bin/python ]] && "$VENV/bin/python" -c 'import redis' 2>/dev/null; then
        # The redis package reads every form of URL, passwords included.
        "$VENV/bin/python" -c 'import redis, sys
redis.Redis.from_url(sys.argv[1], socket_connect_timeout=2, socket_timeout=3).ping()' \
            "$CBR_REDIS_URL" 2>/dev/null
    else
        tcp_listening "$REDIS_HOST" "$REDIS_PORT"
    fi
}

_install_redis_server() {
    command -v apt-get >/dev/null || die "redis-server is missing and there is no apt-get to install it"
    log "installing redis-server with apt-get"
    run_as_root apt-get update -q >/dev/null
    run_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server >/dev/null
    command -v redis-server >/dev/null || die "redis-server is still missing after apt-get install"
}

# stop_own_redis: stop the Redis that stack.sh started, if any; never another one.
stop_own_redis() {
    redis_files
    [[ -f $REDIS_MARKER ]] || return 0
    stop_pidfiles 15 "$REDIS_PIDFILE"
    rm -f -- "$REDIS_MARKER"
}

# ensure_redis: make the broker of CBR_REDIS_URL answer, starting a local Redis if none
# listens there.
ensure_redis() {
    local old_host old_port bind i
    redis_files
    redis_parse_url "$CBR_REDIS_URL"
    if [[ $REDIS_SCHEME != redis ]]; then
        log "broker is $REDIS_SCHEME://, not managed by devstack; the health check will test it"
        return 0
    fi
    if [[ -f $REDIS_MARKER ]]; then
        read -r old_host old_port <"$REDIS_MARKER" || true
        if [[ "$old_host $old_port" != "$REDIS_HOST $REDIS_PORT" ]]; then
            log "stopping the Redis stack.sh started on $old_host:$old_port (no longer configured)"
            stop_own_redis
        fi
    fi
    if redis_ping; then
        if [[ -f $REDIS_MARKER ]]; then
            log "Redis started by stack.sh answers on $REDIS_HOST:$REDIS_PORT"
        else
            log "using the Redis on $REDIS_HOST:$REDIS_PORT"
        fi
        return 0
    fi
    _redis_is_local || die "no Redis answers at $CBR_REDIS_URL (not a local address, so not starting one)"
    if tcp_listening "$REDIS_HOST" "$REDIS_PORT"; then
        die "something listens on $REDIS_HOST:$REDIS_PORT but does not answer Redis PING (password? another program?)"
    fi
    if ! command -v redis-server >/dev/null; then
        _install_redis_server
        # The package may have started its own service on that port.
        if redis_ping; then
            log "using the Redis on $REDIS_HOST:$REDIS_PORT"
            return 0
        fi
    fi
    stop_own_redis # a Redis recorded earlier that no longer answers
    bind=127.0.0.1
    if [[ $REDIS_HOST == ::1 ]]; then bind=::1; fi
    mkdir -p "$LOG_DIR"
    rm -f -- "$REDIS_PIDFILE"
    log "starting redis-server on $bind:$REDIS_PORT (no persistence), log $LOG_DIR/redis.log"
    redis-server --daemonize yes --bind "$bind" --port "$REDIS_PORT" \
        --save "" --appendonly no --dir "$STACK_DIR" \
        --pidfile "$REDIS_PIDFILE" --logfile "$LOG_DIR/redis.log" </dev/null 9>&- ||
        die "redis-server failed to start; see $LOG_DIR/redis.log"
    echo "$REDIS_HOST $REDIS_PORT" >"$REDIS_MARKER"
    for ((i = 0; i < 50; i++)); do
        if [[ -s $REDIS_PIDFILE ]] && redis_ping; then
            log "Redis answers on $REDIS_HOST:$REDIS_PORT (pid $(<"$REDIS_PIDFILE"))"
            return 0
        fi
        sleep 0.2
    done
    tail -n 20 "$LOG_DIR/redis.log" >&2 || true
    die "the Redis started on port $REDIS_PORT does not answer"
}
