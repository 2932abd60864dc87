# shellcheck shell=bash
# PostgreSQL 15 from Debian, run as a private cluster in .local/data/postgres.
# Debian's own "main" cluster (port 5432), if the package created or started
# one, is not ours: we never stop it and never connect to it.

PG_PORT=${CARACAL_POSTGRES_PORT:-15432}
PG_MAJOR=15
PG_BINDIR=/usr/lib/postgresql/$PG_MAJOR/bin
PG_DATA="$DATA_DIR/postgres"
PG_SOCKET_DIR="$RUN_DIR/postgres"
PG_USER=caracal
PG_DB=caracal
# initdb/postgres refuse to run as root, so as root we run them as this user.
PG_OS_USER=postgres

postgres_port_list() { echo "$PG_PORT"; }
postgres_address() { echo "postgres://$PG_USER@$BIND_HOST:$PG_PORT/$PG_DB"; }
postgres_pinned() { echo "$PG_MAJOR (apt)"; }
postgres_timeout() { echo 60; }
postgres_proc_marker() { echo "$PG_BINDIR/postgres"; }

postgres_version() {
  [[ -x $PG_BINDIR/postgres ]] || return 0
  "$PG_BINDIR/postgres" --version | awk '{print $3}'
}

postgres_installed() { [[ -x $PG_BINDIR/postgres && -x $PG_BINDIR/pg_isready ]]; }
postgres_apt_packages() { postgres_installed || echo "postgresql-$PG_MAJOR postgresql-client-$PG_MAJOR"; }

# Runs a server-side binary as the cluster owner.
pg_as_owner() {
  if is_root; then
    runuser -u "$PG_OS_USER" -- "$@"
  else
    "$@"
  fi
}

# The postgres user must be able to reach .local/{data,run,log} even when the
# clone lives under a 0700 directory (e.g. a mktemp dir or /root). We add only
# the search bit, and say so.
postgres_ensure_traversable() {
  local d="$LOCAL_DIR"
  while [[ $d != / ]]; do
    if ! runuser -u "$PG_OS_USER" -- test -x "$d"; then
      log "postgres: adding o+x (search only) to $d so the '$PG_OS_USER' user can reach its data dir"
      chmod o+x "$d"
    fi
    d=$(dirname "$d")
  done
}

postgres_prepare() {
  mkdir -p "$PG_DATA" "$PG_SOCKET_DIR"
  touch "$(log_file postgres)"
  if is_root; then
    id "$PG_OS_USER" >/dev/null 2>&1 || die "postgres: system user '$PG_OS_USER' missing (reinstall postgresql-$PG_MAJOR)"
    chown "$PG_OS_USER:" "$PG_DATA" "$PG_SOCKET_DIR" "$(log_file postgres)"
    chmod 0700 "$PG_DATA"
    postgres_ensure_traversable
  fi
  if [[ ! -s $PG_DATA/PG_VERSION ]]; then
    log "postgres: initdb $PG_DATA"
    # Trust auth is deliberate: a throwaway dev/test cluster reachable only on
    # loopback and via a socket in .local/run. Never copy this to production.
    pg_as_owner "$PG_BINDIR/initdb" -D "$PG_DATA" --username=postgres \
      --auth=trust --encoding=UTF8 --locale=C.UTF-8 >>"$(log_file postgres)" 2>&1 ||
      {
        show_log_tail postgres
        die "postgres: initdb failed"
      }
  fi
  # Rewritten on every start so a changed port/socket takes effect; loopback only.
  pg_as_owner tee "$PG_DATA/pg_hba.conf" >/dev/null <<CONF
# Local dev/test cluster managed by tools/infra: trust on loopback only.
local all all trust
host  all all 127.0.0.1/32 trust
CONF
}

postgres_start() {
  local i pid
  rm -f "$(pid_file postgres)"
  # pg_ctl daemonizes the postmaster; setsid detaches it from our session so
  # it outlives this shell. -W: readiness is polled with the other components.
  pg_as_owner setsid -w "$PG_BINDIR/pg_ctl" start -W -D "$PG_DATA" \
    -l "$(log_file postgres)" \
    -o "-c listen_addresses=$BIND_HOST -p $PG_PORT -c unix_socket_directories=$PG_SOCKET_DIR" \
    >/dev/null {LOCK_FD}>&- || return 0 # the readiness wait reports it with the log
  # postmaster.pid appears within milliseconds of launch, long before ready.
  for i in {1..100}; do
    pid=$(head -1 "$PG_DATA/postmaster.pid" 2>/dev/null || true)
    if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
      echo "$pid" >"$(pid_file postgres)"
      return 0
    fi
    sleep 0.1
    : "$i"
  done
}

postgres_ready() {
  "$PG_BINDIR/pg_isready" -q -h "$BIND_HOST" -p "$PG_PORT"
}

# Superuser so integration tests can create and drop isolated databases.
postgres_after_ready() {
  "$PG_BINDIR/psql" -q -X -v ON_ERROR_STOP=1 -h "$BIND_HOST" -p "$PG_PORT" -U postgres -d postgres <<SQL
SELECT 'CREATE ROLE $PG_USER LOGIN SUPERUSER'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$PG_USER')\gexec
SELECT 'CREATE DATABASE $PG_DB OWNER $PG_USER'
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '$PG_DB')\gexec
SQL
}

postgres_stop() {
  pg_as_owner "$PG_BINDIR/pg_ctl" stop -D "$PG_DATA" -m fast -w -t 60 >/dev/null || true
}
