#!/usr/bin/env bash
# Quick start: bring up the local stack (real infrastructure + every Caracal
# Deploy service, two regions of data plane) and prove it works end to end.
#
#   tools/dev/stack.sh [up]   install what is missing, build, start, verify, run the demo, print addresses
#   tools/dev/stack.sh up --down   the same, then stop everything (services and infrastructure)
#   tools/dev/stack.sh status what runs where
#   tools/dev/stack.sh stop   stop the services, leave the infrastructure running
#   tools/dev/stack.sh down   stop the services, then the infrastructure
#
# Services log to .local/log/<service>.log; their pids are in .local/run/.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
local_dir=${CARACAL_LOCAL_DIR:-$root/.local}
run_dir=$local_dir/run
log_dir=$local_dir/log
zone=demo
regions=(eu us)

# Control plane: name|entry|grpc address|metrics port|NAME=value... (values without spaces)
control_plane=(
  "policy-validator|apps/policy-validator/dist/main.js|127.0.0.1:50061|9461|CARACAL_VALIDATOR_GRPC_ADDRESS=127.0.0.1:50061|CARACAL_VALIDATOR_METRICS_PORT=9461"
  "admin-api|apps/admin-api/dist/main.js|127.0.0.1:50070|9470|CARACAL_ADMIN_GRPC_ADDRESS=127.0.0.1:50070|CARACAL_ADMIN_METRICS_PORT=9470|CARACAL_ADMIN_HTTP_PORT=8470"
  "activation-coordinator|apps/activation-coordinator/dist/main.js|127.0.0.1:50071|9471|CARACAL_COORDINATOR_GRPC_ADDRESS=127.0.0.1:50071|CARACAL_COORDINATOR_METRICS_PORT=9471"
  "rollback-controller|apps/rollback-controller/dist/main.js|127.0.0.1:50072|9472|CARACAL_ROLLBACK_GRPC_ADDRESS=127.0.0.1:50072|CARACAL_ROLLBACK_METRICS_PORT=9472"
  "verification-aggregator|apps/verification-aggregator/dist/main.js|127.0.0.1:50073|9473|CARACAL_VERIFIER_GRPC_ADDRESS=127.0.0.1:50073|CARACAL_VERIFIER_METRICS_PORT=9473"
)

# Per region r (0, 1): two STS replicas and a Gateway in front of the demo upstream.
sts_http_port() { echo $((8480 + 2 * $1 + $2)); }  # region index, replica index
sts_grpc_port() { echo $((50081 + 2 * $1 + $2)); }
sts_metrics_port() { echo $((9480 + 2 * $1 + $2)); }
gateway_http_port() { echo $((8500 + $1)); }
upstream_port=8600

say() { printf '==> %s\n' "$*"; }

service_pid() {
  local pid_file=$run_dir/$1.pid pid
  [ -f "$pid_file" ] || return 1
  pid=$(cat "$pid_file")
  kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# start_service <name> <entry> <metrics port or -> [NAME=value...]
start_service() {
  local name=$1 main=$2 metrics=$3
  shift 3
  env "$@" nohup node --enable-source-maps "$main" >>"$log_dir/$name.log" 2>&1 &
  echo $! >"$run_dir/$name.pid"
  say "$name started (pid $!), log $log_dir/$name.log"
  if [ "$metrics" != - ]; then
    # Let the local Prometheus scrape the service's /metrics.
    # Written aside and renamed into place: Prometheus must never read half a file.
    local target=$CARACAL_PROMETHEUS_TARGETS_DIR/caracal-stack-$name.json
    printf '[{"targets":["127.0.0.1:%s"],"labels":{"app":"%s"}}]\n' "$metrics" "$name" >"$target.partial"
    mv "$target.partial" "$target"
  fi
}

start_control_plane() {
  local entry name main grpc metrics environment
  for entry in "${control_plane[@]}"; do
    IFS='|' read -r name main grpc metrics environment <<<"$entry"
    IFS='|' read -r -a environment <<<"$environment"
    # Services with a database of their own: on the infrastructure's PostgreSQL.
    case $name in
      rollback-controller) environment+=("CARACAL_ROLLBACK_POSTGRES_URL=${CARACAL_POSTGRES_URL%/*}/caracal_rollback") ;;
      verification-aggregator) environment+=("CARACAL_VERIFIER_POSTGRES_URL=${CARACAL_POSTGRES_URL%/*}/caracal_verification") ;;
    esac
    start_service "$name" "$main" "$metrics" "${environment[@]}"
  done
}

# Specs of the data-plane services for verify-stack.mjs (name|entry|grpc|metrics).
data_plane_specs() {
  local r i
  for r in "${!regions[@]}"; do
    for i in 0 1; do
      echo "sts-${regions[$r]}-$i|apps/sts/dist/main.js|127.0.0.1:$(sts_grpc_port "$r" "$i")|$(sts_metrics_port "$r" "$i")"
    done
    echo "gateway-${regions[$r]}|apps/gateway/dist/main.js|127.0.0.1:$((50091 + r))|$((9500 + r))"
    echo "canary-${regions[$r]}|apps/canary-agent/dist/main.js|127.0.0.1:$((50074 + r))|$((9474 + r))"
  done
}

start_data_plane() {
  local sts_token=$1 r i region issuer routes jwks addresses
  start_service demo-upstream tools/dev/demo-upstream.mjs - "PORT=$upstream_port"
  for r in "${!regions[@]}"; do
    region=${regions[$r]}
    # Both replicas of a region issue tokens under one issuer, each with its own key.
    issuer=http://127.0.0.1:$(sts_http_port "$r" 0)
    jwks="" addresses=""
    for i in 0 1; do
      start_service "sts-$region-$i" apps/sts/dist/main.js "$(sts_metrics_port "$r" "$i")" \
        "CARACAL_STS_REPLICA_ID=sts-$region-$i" \
        "CARACAL_STS_REGION=$region" \
        "CARACAL_STS_ZONES=$zone,$zone-$region" \
        "CARACAL_STS_ISSUER=$issuer" \
        "CARACAL_STS_HTTP_PORT=$(sts_http_port "$r" "$i")" \
        "CARACAL_STS_GRPC_ADDRESS=127.0.0.1:$(sts_grpc_port "$r" "$i")" \
        "CARACAL_STS_METRICS_PORT=$(sts_metrics_port "$r" "$i")" \
        "CARACAL_STS_SIGNING_KEY_FILE=$local_dir/keys/sts-$region-$i.pem" \
        "CARACAL_STS_SIGNING_KEY_ID=sts-$region-$i" \
        "CARACAL_STS_ADMIN_API_TOKEN=$sts_token" \
        "CARACAL_STS_POLICY_CHECK_INTERVAL_MS=5000"
      jwks+="${jwks:+,}http://127.0.0.1:$(sts_http_port "$r" "$i")/.well-known/jwks.json"
      addresses+="${addresses:+,}127.0.0.1:$(sts_grpc_port "$r" "$i")"
    done
    routes="[{\"prefix\":\"/api\",\"upstream\":\"http://127.0.0.1:$upstream_port/\",\"resource\":{\"identifier\":\"resource://api\"},\"operations\":{\"GET\":\"read\",\"POST\":\"write\"}}]"
    start_service "gateway-$region" apps/gateway/dist/main.js "$((9500 + r))" \
      "CARACAL_GATEWAY_REGION=$region" \
      "CARACAL_GATEWAY_HTTP_PORT=$(gateway_http_port "$r")" \
      "CARACAL_GATEWAY_GRPC_ADDRESS=127.0.0.1:$((50091 + r))" \
      "CARACAL_GATEWAY_METRICS_PORT=$((9500 + r))" \
      "CARACAL_GATEWAY_ROUTES=$routes" \
      "CARACAL_GATEWAY_STS_ADDRESSES=$addresses" \
      "CARACAL_GATEWAY_STS_JWKS_URLS=$jwks" \
      "CARACAL_GATEWAY_TOKEN_ISSUER=$issuer"
    # The region's canary probes through its Gateway and reports to the verification-aggregator.
    # It signs its subject tokens with the development IdP key the first STS replica generates.
    for _ in $(seq 1 300); do [ -s "$local_dir/keys/subject-issuer-es256.pem" ] && break; sleep 0.1; done
    start_service "canary-$region" apps/canary-agent/dist/main.js "$((9474 + r))" \
      "CARACAL_CANARY_REGION=$region" \
      "CARACAL_CANARY_AGENT_ID=canary-$region" \
      "CARACAL_CANARY_GATEWAY_URL=http://127.0.0.1:$(gateway_http_port "$r")" \
      "CARACAL_CANARY_STS_TOKEN_URL=$issuer/oauth/2/token" \
      "CARACAL_CANARY_ROUTES=$routes" \
      "CARACAL_CANARY_PROBES_FILE=$(canary_probes "$region")" \
      "CARACAL_CANARY_ZONE=$zone" \
      "CARACAL_CANARY_INTERVAL_MS=2000" \
      "CARACAL_CANARY_METRICS_PORT=$((9474 + r))" \
      "CARACAL_CANARY_GRPC_ADDRESS=127.0.0.1:$((50074 + r))"
  done
}

# The region's canary probes: the shared demo zone, and the region's own zone
# (demo-<region>, the one the deployment scenario deploys to).
canary_probes() {
  local region=$1 file=$run_dir/canary-probes-$1.json
  node -e '
    const [base, region] = process.argv.slice(1);
    const probes = JSON.parse(require("fs").readFileSync(base, "utf8")).probes;
    probes.push({ ...probes[0], id: `demo-${region}-read`, zone: `demo-${region}` });
    console.log(JSON.stringify({ probes }, null, 2));
  ' "$root/tools/dev/canary-probes.json" "$region" >"$file"
  echo "$file"
}

stop_services() {
  local name pid
  for name in $(service_names); do
    if pid=$(service_pid "$name"); then
      kill -TERM "$pid"
      # Wait for a graceful exit (gRPC drain, audit flush), then insist.
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
      say "$name stopped"
    fi
    rm -f "$run_dir/$name.pid"
    rm -f "${CARACAL_PROMETHEUS_TARGETS_DIR:-$local_dir/etc/prometheus/targets}/caracal-stack-$name.json"
  done
}

# After a failed step: which services died, with the end of their logs, so the
# cause is on screen (a CI job keeps nothing else).
report_failure() {
  local name log
  say "a step failed; service state and the end of the logs of any that stopped:"
  for name in $(service_names); do
    log=$log_dir/$name.log
    if service_pid "$name" >/dev/null; then continue; fi
    [ -f "$log" ] || continue
    say "$name is not running; last lines of $log:"
    tail -n 25 "$log" | sed 's/^/    /'
  done
  if [ -f "$log_dir/admin-api.log" ]; then
    say "last lines of $log_dir/admin-api.log:"
    tail -n 15 "$log_dir/admin-api.log" | sed 's/^/    /'
  fi
}

service_names() {
  local entry
  for entry in "${control_plane[@]}"; do echo "${entry%%|*}"; done
  data_plane_specs | cut -d'|' -f1
  echo demo-upstream
}

command=${1:-up}
teardown=false
if [ "$command" = up ] && [ "${2:-}" = --down ]; then teardown=true
elif [ "$#" -gt 1 ]; then command=usage
fi

case $command in
  up)
    # Ctrl-C stops everything this command started, infrastructure included.
    trap 'say "interrupted: stopping the stack"; stop_services; bash tools/infra/infra.sh down; exit 130' INT TERM
    trap report_failure ERR
    if [ ! -x node_modules/.bin/tsc ]; then say "npm ci"; npm ci --no-audit --no-fund; fi
    say "infrastructure"
    bash tools/infra/infra.sh up
    eval "$(bash tools/infra/infra.sh env)"
    mkdir -p "$run_dir" "$log_dir" "$CARACAL_PROMETHEUS_TARGETS_DIR"
    say "build"
    node_modules/.bin/tsc -b tsconfig.json
    say "services (restarted, so they run what was just built)"
    stop_services
    start_control_plane
    say "verifying the control plane: gRPC health of every service, and Prometheus scraping each one"
    node tools/dev/verify-stack.mjs "${control_plane[@]}"
    say "a real policy through the Admin API: push a pack, validate, build + sign, download, verify, simulate"
    node tools/dev/demo-policy.mjs http://127.0.0.1:8470 127.0.0.1:50061 | tee "$run_dir/demo-policy.out"
    version_id=$(sed -n 's/^policy-set version id: //p' "$run_dir/demo-policy.out")
    say "data plane: regions ${regions[*]}, two STS replicas and a Gateway each"
    sts_token=$(node apps/admin-api/dist/cli.js create-token --role viewer --name "stack-sts-$(date +%s)" | tail -1)
    start_data_plane "$sts_token"
    say "activate it in zone $zone, watch every replica converge, then call the Gateways"
    node tools/dev/demo-activate.mjs "$zone" "$version_id" 127.0.0.1:50071
    admin_token=$(node apps/admin-api/dist/cli.js create-token --role admin --name "stack-demo-$(date +%s)" | tail -1)
    say "zones demo-eu and demo-us through the caracal-deploy CLI: push, validate, simulate, activate version 1"
    CARACAL_ADMIN_TOKEN=$admin_token node tools/dev/demo-deploy.mjs prepare
    say "verifying the data plane: every replica serves all its zones, Gateways and canaries healthy, all scraped"
    mapfile -t specs < <(data_plane_specs)
    node tools/dev/verify-stack.mjs "${specs[@]}"
    node tools/dev/demo-gateway.mjs "$zone" \
      "eu|http://127.0.0.1:$(gateway_http_port 0)|http://127.0.0.1:$(sts_http_port 0 0)" \
      "us|http://127.0.0.1:$(gateway_http_port 1)|http://127.0.0.1:$(sts_http_port 1 0)"
    say "canary probes in both regions, joined to their audit events by the verification-aggregator"
    node tools/dev/demo-canary.mjs "eu|http://127.0.0.1:9474/metrics" "us|http://127.0.0.1:9475/metrics"
    say "staged deployments with the CLI: a good change to green in two stages, then a bad one rolled back in stage 1"
    CARACAL_ADMIN_TOKEN=$admin_token node tools/dev/demo-deploy.mjs run
    echo
    bash tools/infra/infra.sh status
    echo
    say "Admin API: http://127.0.0.1:8470 (OpenAPI: http://127.0.0.1:8470/v1/openapi.json; tokens: node apps/admin-api/dist/cli.js create-token --role admin --name <name>)"
    say "Gateways: eu http://127.0.0.1:$(gateway_http_port 0)/api  us http://127.0.0.1:$(gateway_http_port 1)/api"
    say "Prometheus: $CARACAL_PROMETHEUS_URL  Alertmanager: $CARACAL_ALERTMANAGER_URL (alerts go to the rollback-controller at :18090)"
    if $teardown; then
      say "tearing down (--down)"
      stop_services
      bash tools/infra/infra.sh down
    else
      say "stop everything with: bash tools/dev/stack.sh down"
    fi
    ;;
  status)
    bash tools/infra/infra.sh status
    for entry in "${control_plane[@]}" $(data_plane_specs); do
      IFS='|' read -r name _ grpc metrics _ <<<"$entry"
      if pid=$(service_pid "$name"); then state="running (pid $pid)"; else state=stopped; fi
      printf '%-24s grpc://%s  http://127.0.0.1:%s/metrics  %s\n' "$name" "$grpc" "$metrics" "$state"
    done
    ;;
  stop)
    stop_services
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
