# shellcheck shell=bash
# Alertmanager from Debian (binary: prometheus-alertmanager), single instance
# with clustering disabled, running the project's deploy/alertmanager config.

AM_PORT=${CARACAL_ALERTMANAGER_PORT:-19093}
AM_SRC="$REPO_ROOT/deploy/alertmanager"
AM_ETC="$ETC_DIR/alertmanager"
# shellcheck disable=SC2034 # read by render_addresses (prometheus.sh)
AM_DEFAULT_ADDR=127.0.0.1:19093
# The rollback-controller's receiver; until it runs, deliveries just fail and
# are retried, which is harmless.
AM_DEFAULT_WEBHOOK=http://127.0.0.1:18090/v1/webhooks/alertmanager
# shellcheck disable=SC2034 # read by render_addresses (prometheus.sh)
AM_WEBHOOK_URL=${CARACAL_ALERTMANAGER_WEBHOOK_URL:-$AM_DEFAULT_WEBHOOK}

alertmanager_port_list() { echo "$AM_PORT"; }
alertmanager_address() { echo "http://$BIND_HOST:$AM_PORT"; }
alertmanager_pinned() { echo "0.x (apt)"; }
alertmanager_timeout() { echo 60; }
alertmanager_proc_marker() { echo "--config.file=$AM_ETC/alertmanager.yml"; }

alertmanager_bin() { command -v prometheus-alertmanager || command -v alertmanager || true; }

alertmanager_version() {
  local b
  b=$(alertmanager_bin)
  [[ -n $b ]] || return 0
  "$b" --version 2>&1 | sed -n 's/^alertmanager, version \([^ ]*\).*/\1/p'
}

alertmanager_installed() { [[ -n $(alertmanager_bin) ]]; }
alertmanager_apt_packages() { alertmanager_installed || echo prometheus-alertmanager; }

alertmanager_prepare() {
  [[ -f $AM_SRC/alertmanager.yml ]] || die "alertmanager: $AM_SRC/alertmanager.yml missing"
  mkdir -p "$AM_ETC" "$DATA_DIR/alertmanager"
  render_addresses "$AM_SRC/alertmanager.yml" >"$AM_ETC/alertmanager.yml"
  if command -v amtool >/dev/null; then
    local out
    out=$(amtool check-config "$AM_ETC/alertmanager.yml" 2>&1) || {
      printf '%s\n' "$out" >&2
      die "alertmanager: amtool check-config failed for $AM_ETC/alertmanager.yml (source: $AM_SRC)"
    }
  fi
}

alertmanager_start() {
  # Empty --cluster.listen-address disables gossip (no 9094 listener).
  spawn_detached alertmanager "$(alertmanager_bin)" \
    --config.file="$AM_ETC/alertmanager.yml" \
    --storage.path="$DATA_DIR/alertmanager" \
    --web.listen-address="$BIND_HOST:$AM_PORT" \
    --cluster.listen-address=
}

alertmanager_refresh() {
  refresh_and_reload alertmanager "$(alertmanager_address)" "$AM_ETC"
}

alertmanager_ready() { http_ok "$(alertmanager_address)/-/ready"; }
