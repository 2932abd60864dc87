# shellcheck shell=bash
# Prometheus from Debian, running the project's deploy/prometheus config.
# The checked-in config names the default local addresses; rendering swaps in
# the ports actually configured here, and the rendered dir gets a targets/
# folder where tests drop file_sd JSON files.

PROM_PORT=${CARACAL_PROMETHEUS_PORT:-19090}
PROM_SRC="$REPO_ROOT/deploy/prometheus"
PROM_ETC="$ETC_DIR/prometheus"
PROM_TARGETS_DIR="$PROM_ETC/targets"
PROM_DEFAULT_ADDR=127.0.0.1:19090

prometheus_port_list() { echo "$PROM_PORT"; }
prometheus_address() { echo "http://$BIND_HOST:$PROM_PORT"; }
prometheus_pinned() { echo "2.x (apt)"; }
prometheus_timeout() { echo 60; }
prometheus_proc_marker() { echo "--config.file=$PROM_ETC/prometheus.yml"; }

prometheus_version() {
  command -v prometheus >/dev/null || return 0
  prometheus --version 2>&1 | sed -n 's/^prometheus, version \([^ ]*\).*/\1/p'
}

prometheus_installed() { command -v prometheus >/dev/null && command -v promtool >/dev/null; }
prometheus_apt_packages() { prometheus_installed || echo prometheus; }

# Rewrites the default local addresses in a checked-in config to the ones in
# use (identity unless ports were overridden). Also used by alertmanager.sh;
# infra.sh sources every lib before calling anything.
render_addresses() {
  sed -e "s|$PROM_DEFAULT_ADDR|$BIND_HOST:$PROM_PORT|g" \
    -e "s|$AM_DEFAULT_ADDR|$BIND_HOST:$AM_PORT|g" \
    -e "s|$AM_DEFAULT_WEBHOOK|$AM_WEBHOOK_URL|g" "$1"
}

prometheus_prepare() {
  [[ -f $PROM_SRC/prometheus.yml ]] || die "prometheus: $PROM_SRC/prometheus.yml missing"
  mkdir -p "$PROM_ETC/rules" "$PROM_TARGETS_DIR" "$DATA_DIR/prometheus"
  render_addresses "$PROM_SRC/prometheus.yml" >"$PROM_ETC/prometheus.yml"
  # Rules are mirrored, not merged, so a rule file deleted from deploy/ goes away.
  find "$PROM_ETC/rules" -maxdepth 1 -name '*.yml' -delete
  local f
  for f in "$PROM_SRC"/rules/*.yml; do
    [[ -e $f ]] || continue
    render_addresses "$f" >"$PROM_ETC/rules/${f##*/}"
  done
  local out
  out=$(promtool check config "$PROM_ETC/prometheus.yml" 2>&1) || {
    printf '%s\n' "$out" >&2
    die "prometheus: promtool check config failed for $PROM_ETC/prometheus.yml (source: $PROM_SRC)"
  }
}

prometheus_start() {
  # --web.enable-lifecycle lets tests POST /-/reload after changing rules.
  spawn_detached prometheus prometheus \
    --config.file="$PROM_ETC/prometheus.yml" \
    --web.listen-address="$BIND_HOST:$PROM_PORT" \
    --storage.tsdb.path="$DATA_DIR/prometheus" \
    --storage.tsdb.retention.time=2d \
    --web.enable-lifecycle
}

prometheus_refresh() {
  refresh_and_reload prometheus "$(prometheus_address)" "$PROM_ETC" "$PROM_ETC/rules"
}

prometheus_ready() { http_ok "$(prometheus_address)/-/ready"; }
