# shellcheck shell=bash
# OPA: built from the Go module proxy (the official release binaries are not
# downloadable here). GOMODCACHE/GOCACHE stay at their defaults so a rebuild
# after wiping .local reuses downloaded modules and compiled packages.

OPA_MODULE=github.com/open-policy-agent/opa
OPA_VERSION=v1.22.3
OPA_PORT=${CARACAL_OPA_PORT:-18181}
OPA_BIN="$BIN_DIR/opa"

opa_port_list() { echo "$OPA_PORT"; }
opa_address() { echo "http://$BIND_HOST:$OPA_PORT"; }
opa_pinned() { echo "$OPA_VERSION"; }
opa_timeout() { echo 60; }
opa_proc_marker() { echo "$OPA_BIN run"; }

opa_version() {
  [[ -x $OPA_BIN ]] || return 0
  "$OPA_BIN" version 2>/dev/null | sed -n 's/^Version: */v/p' | head -1
}

# The wasm engine is needed so `opa eval` can run the very bundle the STS runs
# (simulate what you ship); a binary without it is rebuilt.
opa_has_wasm() { "$OPA_BIN" version 2>/dev/null | grep -q '^WebAssembly: available'; }

opa_installed() { [[ $(opa_version) == "$OPA_VERSION" ]] && opa_has_wasm; }

opa_prereqs() {
  opa_installed && return 0
  command -v go >/dev/null ||
    die "opa: 'go' is not on PATH; install Go >= 1.24 (needed once to build $OPA_MODULE@$OPA_VERSION)"
}

opa_install() {
  # -tags opa_wasm links OPA's pure-Go wasm engine (no CGO needed).
  GOBIN="$BIN_DIR" go install -tags opa_wasm "$OPA_MODULE@$OPA_VERSION"
  opa_installed || die "opa: built binary does not report $OPA_VERSION with WebAssembly available"
}

opa_start() {
  # No version check: it would try the internet on every start (the old --disable-telemetry is deprecated).
  spawn_detached opa "$OPA_BIN" run --server --skip-version-check \
    --addr "$BIND_HOST:$OPA_PORT" --log-level info
}

opa_ready() { http_ok "$(opa_address)/health"; }
