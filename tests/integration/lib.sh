# shellcheck shell=bash
#
# Shared functions for the coapbridge integration tests (tests/integration/
# test_bridge_*.sh). Source it first thing; it needs the environment ctest
# gives (see tests/CMakeLists.txt): COAPBRIDGE, FREEPORT, TOOLS_DIR.
#
# Every peer is real and on loopback: a private mosquitto with its own
# config on a port from $FREEPORT, the daemon with a generated config,
# CoAP peers from $TOOLS_DIR (rawcoap, coapdev) or libcoap3-bin. Every
# process started here is killed by the EXIT trap.
#
# A test calls check_* for each assertion (failures are counted, the run
# goes on so one run shows every failure) and `finish` at the end. Setup
# problems call `die`. ITEST_KEEP=1 keeps the work directory for a look.

set -uo pipefail

: "${COAPBRIDGE:?COAPBRIDGE must name the daemon binary}"
: "${FREEPORT:?FREEPORT must name the freeport tool}"
: "${TOOLS_DIR:?TOOLS_DIR must name the test tools directory}"

RAWCOAP=$TOOLS_DIR/rawcoap
COAPDEV=$TOOLS_DIR/coapdev
TEST_NAME=$(basename "$0" .sh)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/itest-$TEST_NAME.XXXXXX")
GW_LOG=$WORK/gateway.log
BROKER_LOG=$WORK/mosquitto.log
_PIDS=()
_CHECKS=0
_FAILS=0
declare -A SUB_PID=()
declare -A DEV_PID=()
MQTT_PORT=
BROKER_PID=
GW_PID=
# shellcheck disable=SC2034 # read by the tests after stop_gateway
GW_STATUS=
COAP_HOST=127.0.0.1
COAP_PORT=
# Command prefix for the gateway (e.g. env --default-signal=INT: bash starts
# background jobs with SIGINT ignored).
GW_LAUNCH=()
# The base topic the tests' configs use unless a test says otherwise.
B=gw

_cleanup() {
	local rc=$? pid
	for pid in "${_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${_PIDS[@]}"; do
		# Give each a moment to go, then make sure it has.
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	# In the sanitizer build a report in the daemon's log fails the test
	# even when every check passed (leaks show up only at exit, above).
	if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' \
		"$GW_LOG" "$WORK/gateway-reloads.log" 2>/dev/null; then
		echo "not ok - sanitizer report in the gateway's log"
		grep -hE -A20 'ERROR: (Address|Leak)Sanitizer|runtime error:' \
			"$GW_LOG" "$WORK/gateway-reloads.log" 2>/dev/null | head -n 60
		[ "$rc" -ne 0 ] || rc=1
	fi
	if [ "$rc" -ne 0 ] || [ "$_FAILS" -ne 0 ]; then
		if [ -s "$GW_LOG" ]; then
			echo "--- gateway log (last 60 lines) ---"
			tail -n 60 "$GW_LOG"
		fi
		if [ -s "$BROKER_LOG" ]; then
			echo "--- mosquitto log (last 20 lines) ---"
			tail -n 20 "$BROKER_LOG"
		fi
	fi
	if [ -n "${ITEST_KEEP:-}" ]; then
		echo "work directory kept: $WORK"
	else
		rm -rf "$WORK"
	fi
	exit "$rc"
}
trap _cleanup EXIT
trap 'exit 130' INT TERM

# ---- assertions -------------------------------------------------------

die() {
	echo "SETUP FAILED: $*" >&2
	_FAILS=$((_FAILS + 1))
	exit 1
}

_ok() {
	_CHECKS=$((_CHECKS + 1))
	echo "ok $_CHECKS - $1"
}

_not_ok() {
	_CHECKS=$((_CHECKS + 1))
	_FAILS=$((_FAILS + 1))
	echo "not ok $_CHECKS - $1"
	shift
	local line
	for line in "$@"; do
		printf '#   %s\n' "$line"
	done
}

# check_eq DESC EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then
		_ok "$1"
	else
		_not_ok "$1" "expected: $(printf '%q' "$2")" "got:      $(printf '%q' "$3")"
	fi
}

# check_match DESC EXTENDED_REGEX ACTUAL
check_match() {
	if [[ $3 =~ $2 ]]; then
		_ok "$1"
	else
		_not_ok "$1" "expected to match: $2" "got: $(printf '%q' "$3")"
	fi
}

# check_no_match DESC EXTENDED_REGEX ACTUAL
check_no_match() {
	if [[ $3 =~ $2 ]]; then
		_not_ok "$1" "expected not to match: $2" "got: $(printf '%q' "$3")"
	else
		_ok "$1"
	fi
}

# check_true DESC COMMAND... (passes when the command succeeds)
check_true() {
	local desc=$1
	shift
	if "$@"; then
		_ok "$desc"
	else
		_not_ok "$desc" "command failed: $*"
	fi
}

# check_json DESC JQ_FILTER JSON: passes when jq -e FILTER is true.
check_json() {
	if printf '%s' "$3" | jq -e "$2" >/dev/null 2>&1; then
		_ok "$1"
	else
		_not_ok "$1" "jq filter false: $2" "json: $(printf '%q' "$3")"
	fi
}

finish() {
	if [ "$_FAILS" -ne 0 ]; then
		echo "# $TEST_NAME: $_FAILS of $_CHECKS checks failed"
		exit 1
	fi
	echo "# $TEST_NAME: all $_CHECKS checks passed"
	exit 0
}

# ---- processes -----------------------------------------------------------

track() {
	_PIDS+=("$1")
}

free_port() {
	"$FREEPORT" || die "freeport failed"
}

# wait_until TIMEOUT_S COMMAND...: poll every 50 ms until COMMAND succeeds.
wait_until() {
	local deadline=$((SECONDS + $1))
	shift
	while ! "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

# file_has_lines FILE EXTENDED_REGEX COUNT: at least COUNT matching lines.
file_has_lines() {
	[ "$(grep -cE -- "$2" "$1" 2>/dev/null)" -ge "$3" ]
}

# wait_lines FILE EXTENDED_REGEX COUNT TIMEOUT_S
wait_lines() {
	wait_until "$4" file_has_lines "$1" "$2" "$3"
}

# ---- mosquitto -----------------------------------------------------------

_broker_accepts() {
	mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -t itest/probe -n -q 0 \
		>/dev/null 2>&1
}

# start_broker: a private mosquitto on 127.0.0.1:$MQTT_PORT (picked on the
# first call, kept across restarts so the gateway can reconnect). With
# BROKER_PERSIST=1 it keeps sessions and queued messages across a restart
# in $WORK/mosq/ (used where a subscriber must not miss what the gateway
# publishes right after it reconnects). BROKER_EXTRA: more mosquitto.conf
# lines (further listeners, e.g. TLS ones, whose files are in $WORK).
start_broker() {
	local conf=$WORK/mosquitto.conf
	[ -n "$MQTT_PORT" ] || MQTT_PORT=$(free_port)
	{
		echo "listener $MQTT_PORT 127.0.0.1"
		echo "allow_anonymous true"
		# As root mosquitto would switch to its own user, which cannot
		# write or read what the test keeps in $WORK.
		[ -z "${BROKER_PERSIST:-}${BROKER_EXTRA:-}" ] || echo "user $(id -un)"
		if [ -n "${BROKER_PERSIST:-}" ]; then
			mkdir -p "$WORK/mosq"
			echo "persistence true"
			echo "persistence_location $WORK/mosq/"
			echo "autosave_interval 0"
		else
			echo "persistence false"
		fi
		echo "log_dest stderr"
		echo "log_type error"
		echo "log_type warning"
		echo "log_type notice"
		[ -z "${BROKER_EXTRA:-}" ] || printf '%s\n' "$BROKER_EXTRA"
	} >"$conf"
	mosquitto -c "$conf" >>"$BROKER_LOG" 2>&1 &
	BROKER_PID=$!
	track "$BROKER_PID"
	wait_until 5 _broker_accepts || die "mosquitto did not accept on $MQTT_PORT"
}

# stop_broker: SIGTERM and wait (mosquitto saves its persistence file then).
stop_broker() {
	[ -n "$BROKER_PID" ] || return 0
	kill -TERM "$BROKER_PID" 2>/dev/null
	wait "$BROKER_PID" 2>/dev/null
	BROKER_PID=
}

# mqtt_pub ARGS...: mosquitto_pub against the private broker.
mqtt_pub() {
	mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" "$@" ||
		_not_ok "mosquitto_pub $*" "mosquitto_pub failed"
}

# mqtt_sub NAME COUNT TIMEOUT_S ARGS...: start a subscriber in the
# background that exits after COUNT messages or TIMEOUT_S seconds, and
# return once the broker acknowledged its subscription. Each message is
# written as one line in SUB_FMT (default "%t %p"; see mosquitto_sub -F).
# ARGS are mosquitto_sub arguments (-t TOPIC, -q 1, -V mqttv5, -c -i ID).
# stdbuf: mosquitto_sub flushes after a message but not after its debug
# lines, and "Subscribed" is how we know the subscription is in place.
mqtt_sub() {
	local name=$1 count=$2 timeout=$3
	shift 3
	stdbuf -oL mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -d -C "$count" -W "$timeout" \
		-F "M|${SUB_FMT:-%t %p}" "$@" >"$WORK/sub-$name.raw" 2>&1 &
	SUB_PID[$name]=$!
	track "${SUB_PID[$name]}"
	wait_until 5 _sub_ready "$name" ||
		die "subscriber $name did not subscribe: $(cat "$WORK/sub-$name.raw")"
}

# A subscriber is ready once its SUBACK came, or earlier when a persistent
# session's queued messages arrive first (and -C may end it before SUBACK).
_sub_ready() {
	grep -qE '^(Subscribed|M\|)' "$WORK/sub-$1.raw" 2>/dev/null
}

# mqtt_messages NAME: the messages received so far, one per line.
mqtt_messages() {
	sed -n 's/^M|//p' "$WORK/sub-$1.raw"
}

_pid_gone() {
	! kill -0 "$1" 2>/dev/null
}

# mqtt_wait NAME: wait until the subscriber exits (count or its own -W
# timeout), then print its messages. Polls rather than `wait`s, so that it
# also works inside $(...).
mqtt_wait() {
	wait_until 120 _pid_gone "${SUB_PID[$1]}"
	mqtt_messages "$1"
}

# mqtt_stop NAME: stop a subscriber now and print its messages.
mqtt_stop() {
	kill -TERM "${SUB_PID[$1]}" 2>/dev/null
	mqtt_wait "$1"
}

# mqtt_count NAME: messages received so far.
mqtt_count() {
	grep -c '^M|' "$WORK/sub-$1.raw"
}

# mqtt_retained TOPIC [ARGS...]: the retained message on TOPIC (payload
# only), or nothing: a late subscriber's view.
mqtt_retained() {
	local topic=$1
	shift
	mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t "$topic" -C 1 -W 1 \
		--retained-only -F '%p' "$@" 2>/dev/null
}

# ---- the gateway -----------------------------------------------------------

_gw_alive() {
	[ -n "$GW_PID" ] && kill -0 "$GW_PID" 2>/dev/null
}

# coap_ping HOST PORT: true when an empty CON gets RST (RFC 7252 §4.3).
coap_ping() {
	[ "$("$RAWCOAP" -w 200 -m EMPTY "$1" "$2")" = "RST 0.00" ]
}

_gw_ready() {
	_gw_alive || return 2
	coap_ping "$COAP_HOST" "$COAP_PORT"
}

_gw_is_online() {
	[ "$(mqtt_retained "$B/bridge/state")" = "online" ]
}

# start_gateway CONFIG [ARGS...]: run $COAPBRIDGE -c CONFIG -v ARGS with
# stderr in $GW_LOG, then wait until it answers a CoAP ping on
# $COAP_HOST:$COAP_PORT and (unless GW_NO_MQTT_WAIT=1) its retained
# "online" is on $B/bridge/state.
start_gateway() {
	local conf=$1
	shift
	"${GW_LAUNCH[@]}" "$COAPBRIDGE" -c "$conf" -v "$@" >>"$WORK/gateway.stdout" 2>>"$GW_LOG" &
	GW_PID=$!
	track "$GW_PID"
	wait_until 10 _gw_ready ||
		die "gateway not answering on $COAP_HOST:$COAP_PORT (alive: $(_gw_alive && echo yes || echo no))"
	if [ -z "${GW_NO_MQTT_WAIT:-}" ]; then
		wait_until 10 _gw_is_online || die "gateway never published online on $B/bridge/state"
	fi
}

# stop_gateway [SIGNAL]: signal the gateway (default TERM), wait, and set
# GW_STATUS to its exit status. Not inside $(...): it must reap the child.
stop_gateway() {
	local sig=${1:-TERM}
	GW_STATUS=
	[ -n "$GW_PID" ] || return 0
	kill "-$sig" "$GW_PID" 2>/dev/null
	# The spec gives a clean stop 5 s to flush; allow twice that.
	if ! wait_until 10 _pid_gone "$GW_PID"; then
		_not_ok "gateway stops within 10 s of SIG$sig" "still running: killed"
		kill -KILL "$GW_PID" 2>/dev/null
	fi
	wait "$GW_PID" 2>/dev/null
	# shellcheck disable=SC2034 # read by the tests
	GW_STATUS=$?
	GW_PID=
}

# gw_req RAWCOAP_ARGS...: one request to the gateway, prints rawcoap's line.
gw_req() {
	"$RAWCOAP" -w "${REQ_WAIT_MS:-2000}" "$@" "$COAP_HOST" "$COAP_PORT"
}

# gw_raw HEX [RAWCOAP_ARGS...]: send a datagram given in hex.
gw_raw() {
	local hex=$1
	shift
	"$RAWCOAP" -w "${REQ_WAIT_MS:-2000}" "$@" "$COAP_HOST" "$COAP_PORT" "$hex"
}

# coap_uri PATH: coap://host:port/PATH for libcoap's client.
coap_uri() {
	if [[ $COAP_HOST == *:* ]]; then
		echo "coap://[$COAP_HOST]:$COAP_PORT/$1"
	else
		echo "coap://$COAP_HOST:$COAP_PORT/$1"
	fi
}

# ---- simulated devices ----------------------------------------------------

# start_device NAME ADDR PORT [COAPDEV_ARGS...]: a coapdev on ADDR:PORT,
# logging each request it gets to $WORK/dev-NAME.log.
start_device() {
	local name=$1 addr=$2 port=$3
	shift 3
	"$COAPDEV" "$@" "$addr" "$port" >"$WORK/dev-$name.log" 2>&1 &
	DEV_PID[$name]=$!
	track "${DEV_PID[$name]}"
	wait_lines "$WORK/dev-$name.log" '^ready$' 1 5 ||
		die "coapdev $name did not start: $(cat "$WORK/dev-$name.log")"
}

# dev_requests NAME: the requests the device logged so far.
dev_requests() {
	grep -v '^ready$' "$WORK/dev-$1.log"
}

# wait_dev NAME REGEX COUNT [TIMEOUT_S]: until the device logged COUNT
# matching lines.
wait_dev() {
	wait_lines "$WORK/dev-$1.log" "$2" "$3" "${4:-5}"
}

# check_answer DESC EXPECTED ACTUAL: ACTUAL (a rawcoap line) is EXPECTED
# ("ACK 4.04"), optionally followed by a diagnostic payload (RFC 7252
# §5.5.2) and nothing else: no other option, no id or token mismatch.
check_answer() {
	if [ "$3" = "$2" ] || { [[ $3 == "$2 pl="* ]] && [[ $3 != *MISMATCH* ]]; }; then
		_ok "$1"
	else
		_not_ok "$1" "expected: $2 (plus at most a diagnostic payload)" "got:      $3"
	fi
}

# re_escape TEXT: TEXT as a literal in an extended regex.
re_escape() {
	sed 's/[][\.*^$+?(){}|/]/\\&/g' <<<"$1"
}

# mqtt_wait_topic NAME TOPIC [COUNT [TIMEOUT_S]]: until subscriber NAME
# (SUB_FMT "%t %p") got COUNT messages on exactly TOPIC.
mqtt_wait_topic() {
	wait_lines "$WORK/sub-$1.raw" "^M\\|$(re_escape "$2") " "${3:-1}" "${4:-5}"
}

# mqtt_payloads NAME TOPIC: the payloads subscriber NAME got on exactly
# TOPIC, one per line, in order.
mqtt_payloads() {
	mqtt_messages "$1" | awk -v t="$2 " 'index($0, t) == 1 { print substr($0, length(t) + 1) }'
}
