# shellcheck shell=bash
# Kafka 4.x as a single-node KRaft broker+controller, assembled from Maven
# Central jars (tools/infra/kafka/pom.xml) because the binary tarball is not
# reachable here. KAFKA_VERSION is the pin: it is passed to mvn as
# -Dkafka.version, overriding the default in the pom.

KAFKA_VERSION=4.4.0
KAFKA_PORT=${CARACAL_KAFKA_PORT:-19092}
KAFKA_CONTROLLER_PORT=${CARACAL_KAFKA_CONTROLLER_PORT:-19094}
KAFKA_HOME="$LOCAL_DIR/kafka/$KAFKA_VERSION"
KAFKA_LIBS="$KAFKA_HOME/libs"
KAFKA_DATA="$DATA_DIR/kafka"
KAFKA_CONF="$ETC_DIR/kafka/server.properties"
# Fixed so re-formatting after a data wipe yields the same cluster; it is
# base64url("caracal-local-01").
KAFKA_CLUSTER_ID=Y2FyYWNhbC1sb2NhbC0wMQ
KAFKA_HEAP_OPTS=${CARACAL_KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}
# Byte offset of kafka.log when this start began (see kafka_start_probe).
KAFKA_LOG_OFFSET_FILE="$RUN_DIR/kafka.log-offset"

kafka_port_list() { echo "$KAFKA_PORT $KAFKA_CONTROLLER_PORT"; }
kafka_address() { echo "$BIND_HOST:$KAFKA_PORT"; }
kafka_pinned() { echo "$KAFKA_VERSION"; }
kafka_timeout() { echo 120; }
kafka_proc_marker() { echo "kafka.Kafka $KAFKA_CONF"; }

kafka_installed() { [[ -e $KAFKA_HOME/.complete ]]; }

kafka_version() {
  kafka_installed || return 0
  local jar
  jar=$(compgen -G "$KAFKA_LIBS/kafka_2.13-*.jar" | head -1) || return 0
  jar=${jar##*/kafka_2.13-}
  echo "${jar%.jar}"
}

kafka_prereqs() {
  local major
  [[ -n $(java_bin) ]] || die "kafka: 'java' not found; install a JDK >= 17 (e.g. apt-get install openjdk-17-jdk-headless) or set JAVA_HOME"
  major=$(java_major) || true
  [[ $major =~ ^[0-9]+$ && $major -ge 17 ]] ||
    die "kafka: Kafka $KAFKA_VERSION needs Java >= 17, found '${major:-unknown}' at $(java_bin); install openjdk-17 or set JAVA_HOME"
  kafka_installed && return 0
  command -v mvn >/dev/null || die "kafka: 'mvn' not on PATH; install Maven 3.6+ (apt-get install maven), needed once to fetch Kafka jars"
}

kafka_install() {
  # Resolve into a scratch dir and rename, so an interrupted download never
  # looks like a complete install.
  local tmp="$KAFKA_HOME.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp/libs"
  mvn -B -q -f "$INFRA_DIR/kafka/pom.xml" dependency:copy-dependencies \
    -Dkafka.libs.dir="$tmp/libs" -Dkafka.version="$KAFKA_VERSION"
  compgen -G "$tmp/libs/kafka_2.13-$KAFKA_VERSION.jar" >/dev/null ||
    die "kafka: maven did not produce kafka_2.13-$KAFKA_VERSION.jar"
  touch "$tmp/.complete"
  rm -rf "$KAFKA_HOME"
  mkdir -p "$(dirname "$KAFKA_HOME")"
  mv "$tmp" "$KAFKA_HOME"
}

# Sets KAFKA_JVM to the java command line shared by the broker and the
# storage tool (an array, so spawn_detached can exec it directly).
kafka_jvm() {
  local heap
  read -ra heap <<<"$KAFKA_HEAP_OPTS"
  KAFKA_JVM=("$(java_bin)" "${heap[@]}" -XX:+UseG1GC -Djava.awt.headless=true
    -Dlog4j2.configurationFile="$INFRA_DIR/kafka/log4j2.xml"
    -Dcaracal.kafka.logfile="$(log_file kafka)"
    -cp "$KAFKA_LIBS/*")
}

kafka_render_config() {
  mkdir -p "$ETC_DIR/kafka"
  cat >"$KAFKA_CONF" <<CONF
# Rendered by tools/infra/lib/kafka.sh; edits are overwritten on 'up'.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$BIND_HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$BIND_HOST:$KAFKA_PORT,CONTROLLER://$BIND_HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$BIND_HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DATA

# Tests rely on topics appearing on first use.
auto.create.topics.enable=true
num.partitions=3

# Single node: internal topics cannot have more than one replica.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Fewer internal partitions: faster first consumer-group join on 2 cores.
offsets.topic.num.partitions=10

# Consumer groups in tests should not wait 3s for stragglers.
group.initial.rebalance.delay.ms=0

log.retention.hours=24
CONF
}

kafka_prepare() {
  mkdir -p "$KAFKA_DATA"
  kafka_render_config
  if [[ ! -s $KAFKA_DATA/meta.properties ]]; then
    log "kafka: formatting KRaft storage in $KAFKA_DATA (cluster id $KAFKA_CLUSTER_ID)"
    kafka_jvm
    "${KAFKA_JVM[@]}" kafka.tools.StorageTool format --ignore-formatted \
      -t "$KAFKA_CLUSTER_ID" -c "$KAFKA_CONF" >>"$(log_file kafka)" 2>&1 || {
      show_log_tail kafka
      die "kafka: storage format failed"
    }
  fi
}

kafka_start() {
  local logf
  logf=$(log_file kafka)
  touch "$logf"
  stat -c %s "$logf" >"$KAFKA_LOG_OFFSET_FILE"
  kafka_jvm
  spawn_detached kafka "${KAFKA_JVM[@]}" kafka.Kafka "$KAFKA_CONF"
}

kafka_ready() { port_open "$KAFKA_PORT"; }

# After a start, an open port is not enough (the socket server binds before
# the broker has caught up with the metadata log); wait for the line the
# broker logs once fully started, looking only at output of this start.
kafka_start_probe() {
  local offset=0
  [[ -s $KAFKA_LOG_OFFSET_FILE ]] && offset=$(<"$KAFKA_LOG_OFFSET_FILE")
  tail -c +$((offset + 1)) "$(log_file kafka)" 2>/dev/null | grep -q 'Kafka Server started' &&
    kafka_ready
}

# Runs one of Kafka's own CLI tools from the jars, e.g.
#   infra.sh kafka-tool org.apache.kafka.tools.TopicCommand --bootstrap-server 127.0.0.1:19092 --list
kafka_tool() {
  kafka_installed || die "kafka: not installed; run 'infra.sh up kafka' first"
  "$(java_bin)" -Xmx256m -Dlog4j2.level=WARN -cp "$KAFKA_LIBS/*" "$@"
}

# The topics Caracal Deploy's services read and write, created up front as a
# production cluster would have them (a consumer of a topic that does not exist
# yet has nothing to follow). A marker in the data directory skips the JVM call
# on later runs; wiping the data removes the marker too.
KAFKA_TOPICS=(caracal.audit.events caracal.decision.logs)
kafka_after_ready() {
  local marker=$KAFKA_DATA/.caracal-topics topic
  [[ -f $marker ]] && return 0
  for topic in "${KAFKA_TOPICS[@]}"; do
    kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$(kafka_address)" \
      --create --if-not-exists --topic "$topic" --partitions 3 --replication-factor 1 \
      >>"$(log_file kafka)" 2>&1 || die "kafka: could not create topic $topic"
  done
  touch "$marker"
  log "kafka: topics ${KAFKA_TOPICS[*]} ready"
}
