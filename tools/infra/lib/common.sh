# shellcheck shell=bash
# Shared helpers for tools/infra/infra.sh. Sourced, never executed.
#
# Each component lib (lib/<name>.sh) defines, for component NAME:
#   NAME_port_list      ports it binds (checked for foreign listeners before start)
#   NAME_address        URL printed by status / env
#   NAME_version        actual version found on disk ("" when not installed)
#   NAME_pinned         version we pin / expect
#   NAME_installed      0 when nothing needs installing
#   NAME_apt_packages   Debian packages to install (optional)
#   NAME_install        slow non-apt install step, run in the background (optional)
#   NAME_prereqs        fail early with a clear message (optional)
#   NAME_prepare        render config / init data, idempotent (optional)
#   NAME_start          launch the process and write its pid file
#   NAME_ready          one health probe of a running instance
#   NAME_start_probe    stricter probe used right after a start (optional)
#   NAME_after_ready    idempotent bootstrap once healthy (optional)
#   NAME_refresh        re-apply config to an already running instance (optional)
#   NAME_stop           graceful stop request (optional; default SIGTERM)
#   NAME_proc_marker    substring of /proc/PID/cmdline proving the pid is ours
#   NAME_timeout        readiness deadline in seconds

INFRA_COMPONENTS=(opa kafka redis postgres prometheus alertmanager)

INFRA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_ROOT="$(cd "$INFRA_DIR/../.." && pwd)"
LOCAL_DIR="${CARACAL_LOCAL_DIR:-$REPO_ROOT/.local}"
BIN_DIR="$LOCAL_DIR/bin"
DATA_DIR="$LOCAL_DIR/data"
RUN_DIR="$LOCAL_DIR/run"
LOG_DIR="$LOCAL_DIR/log"
ETC_DIR="$LOCAL_DIR/etc"
# fd of run/infra.lock while up/down hold it; take_lock assigns the real number.
LOCK_FD=9
# Loopback only: these are dev/test instances with no auth.
BIND_HOST=127.0.0.1

log() { printf '[infra] %s\n' "$*" >&2; }
warn() { printf '[infra] warning: %s\n' "$*" >&2; }
die() {
  printf '[infra] error: %s\n' "$*" >&2
  exit 1
}

now_ms() { date +%s%3N; }

# "12.3s" from a start timestamp taken with now_ms.
elapsed_since() {
  local ms=$(($(now_ms) - $1))
  printf '%d.%ds' $((ms / 1000)) $((ms % 1000 / 100))
}

is_root() { [[ $EUID -eq 0 ]]; }

ensure_layout() {
  mkdir -p "$BIN_DIR" "$DATA_DIR" "$RUN_DIR" "$LOG_DIR" "$ETC_DIR"
}

is_component() {
  local c
  for c in "${INFRA_COMPONENTS[@]}"; do [[ $c == "$1" ]] && return 0; done
  return 1
}

# Sets COMPONENTS from the arguments (validated); none means all. Not a
# printer on purpose: die must run in this shell, not a substitution.
resolve_components() {
  local c
  COMPONENTS=()
  if [[ $# -eq 0 ]]; then
    COMPONENTS=("${INFRA_COMPONENTS[@]}")
    return
  fi
  for c in "$@"; do
    is_component "$c" || die "unknown component '$c' (known: ${INFRA_COMPONENTS[*]})"
    COMPONENTS+=("$c")
  done
}

has_fn() { declare -F "$1" >/dev/null; }

pid_file() { printf '%s/%s.pid' "$RUN_DIR" "$1"; }
log_file() { printf '%s/%s.log' "$LOG_DIR" "$1"; }

# True while the process exists and is not a zombie. Our daemons are
# reparented to pid 1, which may reap them late; a zombie counts as exited.
pid_running() {
  local state
  kill -0 "$1" 2>/dev/null || return 1
  # Field after the last ')' : comm may itself contain spaces or parens.
  state=$(sed 's/.*) //; s/ .*//' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z ]]
}

# Prints the recorded pid of a component if that process is still alive and
# still looks like what we started (guards against pid reuse after a reboot).
live_pid() {
  local c=$1 f pid cmdline
  f=$(pid_file "$c")
  [[ -s $f ]] || return 1
  pid=$(<"$f")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  pid_running "$pid" || return 1
  cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmdline == *"$("${c}_proc_marker")"* ]] || return 1
  printf '%s' "$pid"
}

# Removes a pid file whose process is gone; returns 0 if it did.
clear_stale_pid() {
  local c=$1 f
  f=$(pid_file "$c")
  if [[ -e $f ]] && ! live_pid "$c" >/dev/null; then
    log "$c: removing stale pid file (pid $(cat "$f" 2>/dev/null || true) is gone)"
    rm -f "$f"
  fi
}

port_open() {
  timeout 1 bash -c "exec 3<>/dev/tcp/$BIND_HOST/$1" 2>/dev/null
}

# Best-effort description of who holds a port, for error messages.
port_owner() {
  command -v ss >/dev/null || return 0
  ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'users:(([^)]*))' | head -1 || true
}

# Launches a command detached in its own session so it outlives this script
# (and the shell/CI step that ran it); its pid is written by the child itself
# so it is exact even if setsid has to fork. The lock fd is closed so a
# long-lived daemon never holds infra.sh's lock.
spawn_detached() {
  local c=$1
  shift
  local pidf logf
  pidf=$(pid_file "$c")
  logf=$(log_file "$c")
  # shellcheck disable=SC2016 # $$ and $@ belong to the child shell
  setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$pidf" "$@" \
    </dev/null >>"$logf" 2>&1 {LOCK_FD}>&- &
  local i
  for i in {1..50}; do
    [[ -s $pidf ]] && return 0
    sleep 0.1
    : "$i"
  done
  die "$c: process did not record its pid in $pidf"
}

# Fingerprint of rendered config files, to tell whether a reload is needed.
config_digest() {
  find "$@" -maxdepth 1 -type f -name '*.yml' -print0 2>/dev/null | sort -z |
    xargs -0 -r cat | md5sum | cut -d' ' -f1
}

# Re-renders a running component's config and hot-reloads it when it changed,
# so 'up' after editing deploy/ takes effect without a restart.
refresh_and_reload() {
  local c=$1 url=$2 before
  shift 2
  before=$(config_digest "$@")
  "${c}_prepare"
  if [[ $(config_digest "$@") != "$before" ]]; then
    curl -fsS -o /dev/null --max-time 10 -X POST "$url/-/reload" ||
      die "$c: config changed but $url/-/reload failed; see $(log_file "$c")"
    log "$c: config changed, reloaded"
  fi
}

http_ok() {
  curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null
}

show_log_tail() {
  local c=$1 f
  f=$(log_file "$c")
  printf '[infra] ---- last 30 lines of %s ----\n' "$f" >&2
  tail -n 30 "$f" >&2 2>/dev/null || printf '(no log)\n' >&2
  printf '[infra] ----\n' >&2
}

# Polls every started component in turn until each passes its probe, so the
# per-component "ready in" is its own boot time. Fails fast (with the log
# tail) when a process dies or misses its deadline. Args: name=start_ms ...
wait_all_ready() {
  local -A t0=() deadline=()
  local pending=() still c now
  for c in "$@"; do
    t0[${c%%=*}]=${c#*=}
    deadline[${c%%=*}]=$((${c#*=} + $("${c%%=*}_timeout") * 1000))
    pending+=("${c%%=*}")
  done
  while ((${#pending[@]})); do
    still=()
    for c in "${pending[@]}"; do
      if component_probe "$c"; then
        log "$c: ready in $(elapsed_since "${t0[$c]}") at $("${c}_address") (pid $(live_pid "$c"))"
        continue
      fi
      now=$(now_ms)
      if ! live_pid "$c" >/dev/null; then
        log "$c: process exited during startup"
        show_log_tail "$c"
        die "$c: failed to start (log: $(log_file "$c"))"
      fi
      if ((now > deadline[$c])); then
        log "$c: not ready after $("${c}_timeout")s"
        show_log_tail "$c"
        die "$c: failed to become ready (log: $(log_file "$c"))"
      fi
      still+=("$c")
    done
    pending=("${still[@]}")
    ((${#pending[@]} == 0)) || sleep 0.25
  done
}

# Startup probe: the stricter one when a component has it.
component_probe() {
  if has_fn "${1}_start_probe"; then "${1}_start_probe"; else "${1}_ready"; fi
}

# Sends the stop request and waits for the process to exit; escalates to
# SIGKILL only after the deadline so data is flushed in the normal case.
stop_and_wait() {
  local c=$1 pid deadline
  pid=$(live_pid "$c") || return 0
  if has_fn "${c}_stop"; then
    "${c}_stop" "$pid" || true
  else
    kill -TERM "$pid" 2>/dev/null || true
  fi
  deadline=$((SECONDS + 60))
  while pid_running "$pid" && ((SECONDS < deadline)); do
    sleep 0.2
  done
  if pid_running "$pid"; then
    warn "$c: pid $pid still alive after 60s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
}

# --- apt -------------------------------------------------------------------

APT_UPDATED=0
apt_install() {
  [[ $# -gt 0 ]] || return 0
  if ! is_root; then
    die "missing Debian packages: $* (run: sudo apt-get install -y $*)"
  fi
  command -v apt-get >/dev/null || die "apt-get not found; install manually: $*"
  export DEBIAN_FRONTEND=noninteractive
  if [[ $APT_UPDATED -eq 0 ]]; then
    apt-get -o DPkg::Lock::Timeout=300 update
    APT_UPDATED=1
  fi
  apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends "$@"
}

# --- java ------------------------------------------------------------------

java_bin() {
  if [[ -n ${JAVA_HOME:-} && -x $JAVA_HOME/bin/java ]]; then
    printf '%s' "$JAVA_HOME/bin/java"
  else
    command -v java || true
  fi
}

java_major() {
  local j v
  j=$(java_bin)
  [[ -n $j ]] || return 1
  v=$("$j" -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -1)
  v=${v#1.}
  printf '%s' "${v%%[.+-]*}"
}
