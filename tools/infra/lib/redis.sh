# shellcheck shell=bash
# Redis 7 from Debian. We run our own instance from a rendered config; the
# package's system service (if any) is not ours and is never touched.

REDIS_PORT=${CARACAL_REDIS_PORT:-16379}

redis_port_list() { echo "$REDIS_PORT"; }
redis_address() { echo "redis://$BIND_HOST:$REDIS_PORT"; }
redis_pinned() { echo "7 (apt)"; }
redis_timeout() { echo 60; }
# redis rewrites its process title to "redis-server host:port".
redis_proc_marker() { echo "redis-server"; }

redis_version() {
  command -v redis-server >/dev/null || return 0
  redis-server --version | sed -n 's/.* v=\([^ ]*\).*/\1/p'
}

redis_installed() { command -v redis-server >/dev/null && command -v redis-cli >/dev/null; }
redis_apt_packages() { redis_installed || echo "redis-server redis-tools"; }

redis_prepare() {
  mkdir -p "$DATA_DIR/redis" "$ETC_DIR/redis"
  # Periodic RDB snapshots are enough for a dev/test cache; no AOF.
  cat >"$ETC_DIR/redis/redis.conf" <<CONF
bind $BIND_HOST
port $REDIS_PORT
protected-mode yes
daemonize no
supervised no
dir $DATA_DIR/redis
dbfilename dump.rdb
save 60 1
appendonly no
loglevel notice
logfile ""
CONF
}

redis_start() {
  spawn_detached redis redis-server "$ETC_DIR/redis/redis.conf"
}

redis_ready() {
  [[ $(redis-cli -h "$BIND_HOST" -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]
}
