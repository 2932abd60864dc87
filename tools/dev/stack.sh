#!/usr/bin/env bash
# Quick start: bring up the local stack (real infrastructure + Caracal Deploy
# services) and prove it works end to end.
#
#   tools/dev/stack.sh [up]   install what is missing, build, start, verify, print addresses
#   tools/dev/stack.sh status what runs where
#   tools/dev/stack.sh down   stop the services, then the infrastructure
#
# Services log to .local/log/<service>.log; their pids are in .local/run/.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
local_dir=${CARACAL_LOCAL_DIR:-$root/.local}
run_dir=$local_dir/run
log_dir=$local_dir/log

# name|entry|grpc address|metrics port|environment (space-separated NAME=value)
services=(
  "policy-validator|apps/policy-validator/dist/main.js|127.0.0.1:50061|9461|CARACAL_VALIDATOR_GRPC_ADDRESS=127.0.0.1:50061 CARACAL_VALIDATOR_METRICS_PORT=9461"
  "admin-api|apps/admin-api/dist/main.js|127.0.0.1:50070|9470|CARACAL_ADMIN_GRPC_ADDRESS=127.0.0.1:50070 CARACAL_ADMIN_METRICS_PORT=9470 CARACAL_ADMIN_HTTP_PORT=8470"
)

say() { printf '==> %s\n' "$*"; }

service_pid() {
  local pid_file=$run_dir/$1.pid pid
  [ -f "$pid_file" ] || return 1
  pid=$(cat "$pid_file")
  kill -0 "$pid" 2>/dev/null && echo "$pid"
}

start_services() {
  eval "$(bash tools/infra/infra.sh env)"
  mkdir -p "$run_dir" "$log_dir" "$CARACAL_PROMETHEUS_TARGETS_DIR"
  local entry name main grpc metrics environment
  for entry in "${services[@]}"; do
    IFS='|' read -r name main grpc metrics environment <<<"$entry"
    # shellcheck disable=SC2086 # word splitting of the NAME=value list is intended
    env $environment nohup node --enable-source-maps "$main" >>"$log_dir/$name.log" 2>&1 &
    echo $! >"$run_dir/$name.pid"
    say "$name started (pid $!), log $log_dir/$name.log"
    # Let the local Prometheus scrape the service's /metrics.
    printf '[{"targets":["127.0.0.1:%s"],"labels":{"app":"%s"}}]\n' "$metrics" "$name" \
      >"$CARACAL_PROMETHEUS_TARGETS_DIR/$name.json"
  done
}

stop_services() {
  local entry name pid
  for entry in "${services[@]}"; do
    name=${entry%%|*}
    if pid=$(service_pid "$name"); then
      kill -TERM "$pid"
      # Wait for a graceful exit (gRPC drain), then insist.
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
      say "$name stopped"
    fi
    rm -f "$run_dir/$name.pid"
  done
}

case ${1:-up} in
  up)
    if [ ! -x node_modules/.bin/tsc ]; then say "npm ci"; npm ci --no-audit --no-fund; fi
    say "infrastructure"
    bash tools/infra/infra.sh up
    say "build"
    node_modules/.bin/tsc -b tsconfig.json
    say "services (restarted, so they run what was just built)"
    stop_services
    start_services
    say "verifying: gRPC health of every service, and Prometheus scraping each one"
    eval "$(bash tools/infra/infra.sh env)"
    node tools/dev/verify-stack.mjs "${services[@]}"
    say "a real policy through the Admin API: push a pack, validate, build + sign, download, verify, simulate"
    node tools/dev/demo-policy.mjs http://127.0.0.1:8470 127.0.0.1:50061
    echo
    bash tools/infra/infra.sh status
    echo
    say "Admin API: http://127.0.0.1:8470 (OpenAPI: http://127.0.0.1:8470/v1/openapi.json; tokens: node apps/admin-api/dist/cli.js create-token --role admin --name <name>)"
    say "Prometheus: $CARACAL_PROMETHEUS_URL  Alertmanager: $CARACAL_ALERTMANAGER_URL"
    say "stop everything with: bash tools/dev/stack.sh down"
    ;;
  status)
    bash tools/infra/infra.sh status
    for entry in "${services[@]}"; do
      IFS='|' read -r name _ grpc metrics _ <<<"$entry"
      if pid=$(service_pid "$name"); then state="running (pid $pid)"; else state=stopped; fi
      printf '%-22s grpc://%s  http://127.0.0.1:%s/metrics  %s\n' "$name" "$grpc" "$metrics" "$state"
    done
    ;;
  down)
    stop_services
    bash tools/infra/infra.sh down
    ;;
  *)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
