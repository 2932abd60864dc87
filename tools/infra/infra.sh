#!/usr/bin/env bash
# Local infrastructure for Caracal Deploy: real OPA, Kafka, Redis, PostgreSQL,
# Prometheus and Alertmanager, installed on demand, bound to 127.0.0.1, with
# all state under ${CARACAL_LOCAL_DIR:-<repo>/.local}. No Docker, no systemd.
#
#   infra.sh up [component...]     install what is missing, start, wait healthy
#   infra.sh status                one line per component
#   infra.sh down [component...]   stop what we started (data is kept)
#   infra.sh env                   export lines for tests: eval "$(infra.sh env)"
#   infra.sh kafka-tool CLASS ...  run a Kafka CLI class from the jars, e.g.
#                                  org.apache.kafka.tools.TopicCommand --list ...
#
# Components: opa kafka redis postgres prometheus alertmanager (default: all).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib"
# shellcheck source=lib/common.sh
source "$LIB_DIR/common.sh"
# shellcheck source=lib/opa.sh
source "$LIB_DIR/opa.sh"
# shellcheck source=lib/kafka.sh
source "$LIB_DIR/kafka.sh"
# shellcheck source=lib/redis.sh
source "$LIB_DIR/redis.sh"
# shellcheck source=lib/postgres.sh
source "$LIB_DIR/postgres.sh"
# shellcheck source=lib/prometheus.sh
source "$LIB_DIR/prometheus.sh"
# shellcheck source=lib/alertmanager.sh
source "$LIB_DIR/alertmanager.sh"

usage() {
  sed -n '2,/^# Components:/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

# Serializes up/down so concurrent callers (parallel test targets) don't race
# on pid files or double-start a component.
take_lock() {
  ensure_layout
  exec {LOCK_FD}>"$RUN_DIR/infra.lock"
  if ! flock -n "$LOCK_FD"; then
    log "waiting for another infra.sh up/down to finish (lock: $RUN_DIR/infra.lock)"
    flock -w 900 "$LOCK_FD" || die "timed out waiting for $RUN_DIR/infra.lock"
  fi
}

# Fails if any port of the component answers although we have no live
# process for it: someone else owns it and we would clash.
check_ports_free() {
  local c=$1 p owner
  for p in $("${c}_port_list"); do
    if port_open "$p"; then
      owner=$(port_owner "$p")
      die "$c: port $BIND_HOST:$p is already in use by a process infra.sh did not start${owner:+ ($owner)}; stop it or free the port"
    fi
  done
}

# Runs the slow install steps concurrently: one apt-get for all missing Debian
# packages (dpkg takes a global lock anyway), plus go install / mvn, each
# logging to log/install-<name>.log.
install_missing() {
  local c more pkgs=() jobs=() names=() i rc failed=0
  for c in "$@"; do
    if has_fn "${c}_apt_packages"; then
      read -ra more <<<"$("${c}_apt_packages")"
      pkgs+=("${more[@]}")
    fi
  done
  if ((${#pkgs[@]})); then
    is_root || die "missing Debian packages: ${pkgs[*]} (run: sudo apt-get install -y --no-install-recommends ${pkgs[*]})"
    log "installing Debian packages in the background: ${pkgs[*]}"
    run_install_job apt apt_install "${pkgs[@]}" &
    jobs+=($!)
    names+=(apt)
  fi
  for c in "$@"; do
    if has_fn "${c}_install" && ! "${c}_installed"; then
      log "$c: installing $("${c}_pinned") in the background"
      run_install_job "$c" "${c}_install" &
      jobs+=($!)
      names+=("$c")
    fi
  done
  for i in "${!jobs[@]}"; do
    rc=0
    wait "${jobs[$i]}" || rc=$?
    if ((rc == 0)); then
      log "${names[$i]}: install done in $(cat "$RUN_DIR/install-${names[$i]}.time")"
    else
      failed=1
      log "${names[$i]}: install FAILED (exit $rc); last lines of $LOG_DIR/install-${names[$i]}.log:"
      tail -n 30 "$LOG_DIR/install-${names[$i]}.log" >&2 || true
    fi
  done
  ((failed == 0)) || die "installation failed"
  for c in "$@"; do
    "${c}_installed" || die "$c: still not installed after install step; see $LOG_DIR/install-*.log"
  done
}

run_install_job() {
  local name=$1 t0
  shift
  t0=$(now_ms)
  "$@" >"$LOG_DIR/install-$name.log" 2>&1
  elapsed_since "$t0" >"$RUN_DIR/install-$name.time"
}

cmd_up() {
  local comps c pid t0 t_all to_start=() to_wait=()
  resolve_components "$@"
  comps=("${COMPONENTS[@]}")
  take_lock
  t_all=$(now_ms)

  for c in "${comps[@]}"; do
    clear_stale_pid "$c"
    if pid=$(live_pid "$c"); then
      if "${c}_ready"; then
        log "$c: already running (pid $pid) at $("${c}_address")"
        if has_fn "${c}_refresh"; then "${c}_refresh"; fi
      else
        log "$c: our process (pid $pid) is up but not healthy yet; waiting"
        to_wait+=("$c")
      fi
      continue
    fi
    check_ports_free "$c"
    to_start+=("$c")
  done

  if ((${#to_start[@]})); then
    for c in "${to_start[@]}"; do
      if has_fn "${c}_prereqs"; then "${c}_prereqs"; fi
    done
    install_missing "${to_start[@]}"
  fi

  # Prepare (one-time initdb/format, config rendering) for all, then start
  # all, then wait: startups overlap and each "ready in" measures only that
  # component's own boot.
  local waits=()
  for c in "${to_wait[@]}"; do waits+=("$c=$(now_ms)"); done
  for c in "${to_start[@]}"; do
    if has_fn "${c}_prepare"; then
      t0=$(now_ms)
      "${c}_prepare"
      (($(now_ms) - t0 < 500)) || log "$c: prepared in $(elapsed_since "$t0")"
    fi
  done
  for c in "${to_start[@]}"; do
    check_ports_free "$c"
    waits+=("$c=$(now_ms)")
    "${c}_start"
  done
  ((${#waits[@]} == 0)) || wait_all_ready "${waits[@]}"
  # Bootstrap steps are idempotent, so they also repair an instance that was
  # already running.
  for c in "${comps[@]}"; do
    if has_fn "${c}_after_ready"; then "${c}_after_ready"; fi
  done
  rm -f "$RUN_DIR"/install-*.time
  log "up: ${comps[*]} ready in $(elapsed_since "$t_all")"
}

cmd_down() {
  local comps c pid t0 i
  resolve_components "$@"
  comps=("${COMPONENTS[@]}")
  take_lock
  # Reverse order: consumers of other components (Prometheus -> Alertmanager)
  # go first.
  for ((i = ${#comps[@]} - 1; i >= 0; i--)); do
    c=${comps[$i]}
    clear_stale_pid "$c"
    if pid=$(live_pid "$c"); then
      t0=$(now_ms)
      stop_and_wait "$c"
      rm -f "$(pid_file "$c")"
      log "$c: stopped pid $pid in $(elapsed_since "$t0")"
    else
      log "$c: not running"
    fi
  done
}

cmd_status() {
  local c pid version state
  for c in "${INFRA_COMPONENTS[@]}"; do
    version=$("${c}_version")
    if [[ -z $version ]]; then
      version="not-installed"
    fi
    if pid=$(live_pid "$c"); then
      if "${c}_ready"; then state="running (pid $pid)"; else state="unhealthy (pid $pid)"; fi
    elif [[ -e $(pid_file "$c") ]]; then
      state="stopped (stale pid file)"
    else
      state="stopped"
    fi
    printf '%-13s %-14s %-20s %-44s %s\n' "$c" "$version" "pinned $("${c}_pinned")" \
      "$("${c}_address")" "$state"
  done
}

cmd_env() {
  local kv
  for kv in \
    "CARACAL_LOCAL_DIR=$LOCAL_DIR" \
    "CARACAL_OPA_BIN=$OPA_BIN" \
    "CARACAL_OPA_URL=$(opa_address)" \
    "CARACAL_KAFKA_BROKERS=$(kafka_address)" \
    "CARACAL_REDIS_URL=$(redis_address)" \
    "CARACAL_POSTGRES_URL=$(postgres_address)" \
    "CARACAL_PROMETHEUS_URL=$(prometheus_address)" \
    "CARACAL_PROMETHEUS_TARGETS_DIR=$PROM_TARGETS_DIR" \
    "CARACAL_ALERTMANAGER_URL=$(alertmanager_address)" \
    "CARACAL_ALERTMANAGER_WEBHOOK_URL=$AM_WEBHOOK_URL"; do
    printf 'export %s=%q\n' "${kv%%=*}" "${kv#*=}"
  done
}

main() {
  local cmd=${1:-}
  [[ $# -gt 0 ]] && shift
  case $cmd in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    status) cmd_status ;;
    env) cmd_env ;;
    kafka-tool) kafka_tool "$@" ;;
    -h | --help | help) usage ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
