# shellcheck shell=bash
# Shared helpers of devstack/stack.sh and devstack/unstack.sh: logging, settings,
# and starting/stopping background processes through pid files.
#
# The caller sets DEVSTACK_DIR (the devstack/ folder) before sourcing this file.
# Processes are never looked up or killed by name: only by the pids this project
# recorded, and only when the recorded process is still the one that was started.

REPO_ROOT=$(cd "$DEVSTACK_DIR/.." && pwd)

# Every setting devstack/local.conf may set; an environment variable of the same name wins.
CBR_SETTINGS=(
    CBR_API_HOST CBR_API_PORT CBR_API_WORKERS CBR_API_THREADS
    CBR_WORKERS CBR_WORKER_CONCURRENCY CBR_WORKER_BATCH_SIZE
    CBR_REDIS_URL CBR_DB_CONNECTION CBR_REGION
    CBR_S3_ENDPOINT CBR_S3_BUCKET CBR_S3_ACCESS_KEY CBR_S3_SECRET_KEY
    CBR_STATE_DIR CBR_PYTHON
)

# --- logging -------------------------------------------------------------------------

log() { printf '%s [%s] %s\n' "$(date +%H:%M:%S)" "${CBR_LOG_TAG:-devstack}" "$*"; }
warn() { log "WARNING: $*" >&2; }
die() {
    log "ERROR: $*" >&2
    exit 1
}

# --- settings ------------------------------------------------------------------------

# load_settings [--no-check]: read devstack/local.conf (shell KEY=VALUE), let the
# environment override it, fill in defaults, check them (unless --no-check, for
# unstack.sh, which only needs the paths) and derive the paths everything else uses.
# shellcheck disable=SC2034,SC2120  # paths used by the sourcing scripts; the flag is optional
load_settings() {
    local name check=1
    [[ ${1:-} != --no-check ]] || check=0
    local -A from_env=()
    for name in "${CBR_SETTINGS[@]}"; do
        if [[ -n ${!name+set} ]]; then
            from_env[$name]=${!name}
        fi
    done
    if [[ -f $DEVSTACK_DIR/local.conf ]]; then
        # shellcheck source=/dev/null
        source "$DEVSTACK_DIR/local.conf"
    fi
    for name in "${!from_env[@]}"; do
        printf -v "$name" '%s' "${from_env[$name]}"
    done

    : "${CBR_API_HOST:=127.0.0.1}"
    : "${CBR_API_PORT:=8799}"
    : "${CBR_API_WORKERS:=}"
    : "${CBR_API_THREADS:=}"
    : "${CBR_WORKERS:=2}"
    : "${CBR_WORKER_CONCURRENCY:=}"
    : "${CBR_WORKER_BATCH_SIZE:=}"
    : "${CBR_REDIS_URL:=redis://127.0.0.1:6379/0}"
    : "${CBR_DB_CONNECTION:=}"
    : "${CBR_REGION:=}"
    : "${CBR_S3_ENDPOINT:=}"
    : "${CBR_S3_BUCKET:=cbr-sim-chunks}"
    : "${CBR_S3_ACCESS_KEY:=}"
    : "${CBR_S3_SECRET_KEY:=}"
    : "${CBR_STATE_DIR:=.stack}"
    : "${CBR_PYTHON:=python3}"

    if ((check)); then
        _require_int CBR_API_PORT 1
        _require_int CBR_WORKERS 1
        [[ -z $CBR_API_WORKERS ]] || _require_int CBR_API_WORKERS 1
        [[ -z $CBR_API_THREADS ]] || _require_int CBR_API_THREADS 1
        [[ -z $CBR_WORKER_CONCURRENCY ]] || _require_int CBR_WORKER_CONCURRENCY 1
        [[ -z $CBR_WORKER_BATCH_SIZE ]] || _require_int CBR_WORKER_BATCH_SIZE 1
        ((10#$CBR_API_PORT <= 65535)) || die "CBR_API_PORT must be a port number, got '$CBR_API_PORT'"
    fi

    if [[ $CBR_STATE_DIR = /* ]]; then
        STACK_DIR=$CBR_STATE_DIR
    else
        STACK_DIR=$REPO_ROOT/$CBR_STATE_DIR
    fi
    STATE_PATH=$STACK_DIR/state
    LOG_DIR=$STACK_DIR/logs
    PID_DIR=$STACK_DIR/pids
    CBR_CONF=$STACK_DIR/cbr.conf
    VENV=$REPO_ROOT/.venv
    # Clients reach the API here; a wildcard bind address is reached through loopback.
    case $CBR_API_HOST in
        0.0.0.0 | '::' | '[::]') API_PUBLIC_HOST=127.0.0.1 ;;
        *:*) API_PUBLIC_HOST="[${CBR_API_HOST//[\[\]]/}]" ;;
        *) API_PUBLIC_HOST=$CBR_API_HOST ;;
    esac
    API_ENDPOINT=http://$API_PUBLIC_HOST:$CBR_API_PORT
}

_require_int() {
    local name=$1 min=$2
    if [[ ! ${!name} =~ ^[0-9]+$ ]] || ((10#${!name} < min)); then
        die "$name must be a whole number >= $min, got '${!name}'"
    fi
}

# --- processes -----------------------------------------------------------------------

_btime=
_clk_tck=

# _proc_info PID: print "STATE PGRP START_EPOCH" of a process, fail when there is none.
_proc_info() {
    local line rest
    local -a f
    [[ $1 =~ ^[0-9]+$ ]] || return 1
    { read -r line <"/proc/$1/stat"; } 2>/dev/null || return 1
    rest=${line##*) }
    read -r -a f <<<"$rest"
    if [[ -z $_btime ]]; then
        _btime=$(awk '$1 == "btime" {print $2}' /proc/stat)
        _clk_tck=$(getconf CLK_TCK)
    fi
    # f[0] is field 3 (state), f[2] field 5 (process group), f[19] field 22 (start, ticks).
    printf '%s %s %s\n' "${f[0]}" "${f[2]}" "$((_btime + f[19] / _clk_tck))"
}

# pid_alive PID: the process exists and is not a zombie.
pid_alive() {
    local info
    info=$(_proc_info "$1") || return 1
    [[ ${info%% *} != [ZX] ]]
}

# group_alive PGID: some live (non-zombie) process is in that process group.
group_alive() {
    local f line rest
    local -a p
    for f in /proc/[0-9]*/stat; do
        { read -r line <"$f"; } 2>/dev/null || continue
        rest=${line##*) }
        read -r -a p <<<"$rest"
        if [[ ${p[2]} == "$1" && ${p[0]} != [ZX] ]]; then
            return 0
        fi
    done
    return 1
}

# pidfile_target FILE: print what to signal for the process recorded in FILE: "-PGID"
# for its whole process group (how start_service starts things), or "PID"; print
# nothing when it no longer runs. A pid that was recycled by a process started after
# the pid file was written is not ours and is left alone.
pidfile_target() {
    local file=$1 pid info state pgrp start mtime
    [[ -f $file ]] || return 0
    read -r pid <"$file" 2>/dev/null || pid=
    if [[ ! $pid =~ ^[0-9]+$ ]] || ((pid <= 1)); then return 0; fi
    if info=$(_proc_info "$pid"); then
        read -r state pgrp start <<<"$info"
        mtime=$(stat -c %Y "$file")
        if ((start > mtime + 2)); then
            warn "pid $pid from $file belongs to a newer process; leaving it alone"
            return 0
        fi
        if [[ $state == [ZX] ]]; then
            # The leader is gone; members of its group may still run.
            if group_alive "$pid"; then echo "-$pid"; fi
        elif ((pgrp == pid)); then
            echo "-$pid"
        else
            echo "$pid"
        fi
    elif group_alive "$pid"; then
        # The leader died but processes it started still run in its group. A process
        # group id is never handed out again while that group has members.
        echo "-$pid"
    fi
    return 0
}

_target_alive() {
    if [[ $1 == -* ]]; then group_alive "${1#-}"; else pid_alive "$1"; fi
}

# stop_pidfiles TIMEOUT FILE...: SIGTERM every recorded process (with its process
# group), wait up to TIMEOUT seconds for all of them, SIGKILL what is left, then remove
# the pid files. Quiet and successful when nothing runs.
stop_pidfiles() {
    local timeout=$1 file target name
    shift
    local -a targets=() names=() left=()
    for file in "$@"; do
        [[ -e $file ]] || continue
        target=$(pidfile_target "$file")
        if [[ -n $target ]]; then
            name=$(basename "$file" .pid)
            log "stopping $name (pid ${target#-})"
            kill -TERM -- "$target" 2>/dev/null || true
            targets+=("$target")
            names+=("$name")
        fi
    done
    local deadline=$((SECONDS + timeout)) i
    while ((${#targets[@]})); do
        left=()
        for i in "${!targets[@]}"; do
            if _target_alive "${targets[$i]}"; then left+=("$i"); fi
        done
        ((${#left[@]})) || break
        if ((SECONDS >= deadline)); then
            for i in "${left[@]}"; do
                warn "${names[$i]} (pid ${targets[$i]#-}) ignored SIGTERM for ${timeout}s; sending SIGKILL"
                kill -KILL -- "${targets[$i]}" 2>/dev/null || true
            done
            sleep 0.2
            break
        fi
        sleep 0.2
    done
    for file in "$@"; do
        rm -f -- "$file"
    done
}

# start_service NAME LOGFILE CMD...: run CMD in the background, detached from the
# terminal (nohup) in a process group of its own (setsid), output to LOGFILE; record
# its pid in $PID_DIR/NAME.pid.
start_service() {
    local name=$1 logfile=$2 pid
    shift 2
    mkdir -p "$PID_DIR" "$(dirname "$logfile")"
    if [[ -f $logfile ]]; then mv -f "$logfile" "$logfile.1"; fi
    if command -v setsid >/dev/null; then
        # Without job control a background job is not a group leader, so setsid
        # execs in place and $! is the service's own pid (and its process group).
        setsid nohup "$@" >"$logfile" 2>&1 </dev/null 9>&- &
    else
        nohup "$@" >"$logfile" 2>&1 </dev/null 9>&- &
    fi
    pid=$!
    echo "$pid" >"$PID_DIR/$name.pid"
    log "started $name (pid $pid), log $logfile"
}

# stop_services: stop everything recorded in $PID_DIR (what start_service started).
stop_services() {
    local -a files=()
    [[ -d $PID_DIR ]] || return 0
    shopt -s nullglob
    files=("$PID_DIR"/*.pid)
    shopt -u nullglob
    ((${#files[@]})) || return 0
    stop_pidfiles 15 "${files[@]}"
}

# take_lock: one stack.sh/unstack.sh at a time per state folder (file descriptor 9,
# which start_service closes so the services do not inherit the lock).
take_lock() {
    mkdir -p "$STACK_DIR"
    exec 9>"$STACK_DIR/devstack.lock"
    if command -v flock >/dev/null && ! flock -n 9; then
        die "another stack.sh or unstack.sh is running on $STACK_DIR"
    fi
}

# tcp_listening HOST PORT: something accepts TCP connections there.
tcp_listening() {
    local host=${1#[}
    host=${host%]}
    (exec 3<>"/dev/tcp/$host/$2") 2>/dev/null
}

# run_as_root CMD...: run CMD as root, through sudo when needed.
run_as_root() {
    if ((EUID == 0)); then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        die "need root to run: $*"
    fi
}
