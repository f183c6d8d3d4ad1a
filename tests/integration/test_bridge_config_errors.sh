#!/usr/bin/env bash
# The command line and config validation: -V, -h, a bad option (usage on
# stderr, exit 2), --check-config on good configs ("FILE: ok", exit 0) and
# on bad ones (one "FILE:LINE: message" per problem on stderr, exit 1, with
# the right line), a config error at startup (exit 1; "<3>" first under
# journald, as every log line), a port in use
# (exit 3). Every bad config has its one mistake on a line of its own.
. "$(dirname "$0")/lib.sh"

version=$(sed -n 's/^project(coapbridge VERSION \([0-9.]*\).*/\1/p' "${SRC_DIR:?}/CMakeLists.txt")
check_eq "-V prints the version" "coapbridge $version" "$("$COAPBRIDGE" -V 2>&1)"
check_eq "--version prints the version" "coapbridge $version" "$("$COAPBRIDGE" --version 2>&1)"

for opt in -h --help; do
	"$COAPBRIDGE" "$opt" >"$WORK/out" 2>"$WORK/err"
	check_eq "$opt: exit 0" "0" "$?"
	check_match "$opt: usage on stdout" 'usage:.*-c' "$(tr '\n' ' ' <"$WORK/out")"
	check_eq "$opt: nothing on stderr" "" "$(cat "$WORK/err")"
done
for bad in -Z --no-such-option; do
	"$COAPBRIDGE" "$bad" >"$WORK/out" 2>"$WORK/err"
	check_eq "$bad: exit 2" "2" "$?"
	check_match "$bad: usage on stderr" '[Uu]sage:' "$(cat "$WORK/err")"
	check_eq "$bad: nothing on stdout" "" "$(cat "$WORK/out")"
done

# check FILE: run --check-config, set RC, OUT and ERR.
check() {
	"$COAPBRIDGE" --check-config -c "$1" >"$WORK/out" 2>"$WORK/err"
	RC=$?
	OUT=$(cat "$WORK/out")
	ERR=$(cat "$WORK/err")
}

good=$WORK/good.conf
cat >"$good" <<'EOF'
gateway = { id = "pi-garden"; base_topic = "coapbridge"; default_routes = true; };
coap = { listen = [ "[::]:5683", "127.0.0.1:5684" ]; allow_unknown_devices = false;
  max_message_size = 1152; ack_timeout_ms = 2000; ack_random_factor = 1.5;
  max_retransmit = 4; request_timeout_ms = 10000; };
mqtt = { host = "localhost"; port = 1883; client_id = "coapbridge-pi-garden";
  username = "gw"; protocol = "v5"; keepalive = 30; qos = 1; queue_limit = 10000; };
devices = (
  { name = "kitchen"; address = "192.0.2.10"; port = 5683; availability_timeout = 900;
    publish = [ "home/kitchen/#" ]; subscribe = [ "home/kitchen/#" ]; },
  { name = "garden"; address = "2001:db8::20"; }
);
routes = {
  uplink = ( { path = "sensors/+/temp"; methods = [ "POST", "PUT" ];
      topic = "home/{device}/{1}/temperature"; qos = 1; retain = true;
      payload = "raw"; senml = "none"; } );
  downlink = ( { topic = "home/+/led/set"; method = "PUT"; uri = "coap://{1}/led";
      confirmable = true; timeout_ms = 5000; response_topic = "home/{1}/led/state";
      accept_retained = false; } );
  observe = ( { uri = "coap://kitchen/temperature"; topic = "home/kitchen/temperature"; } );
};
homeassistant = { enabled = true; discovery_prefix = "homeassistant";
  entities = (
    { device = "kitchen"; component = "sensor"; object_id = "temperature"; name = "Temperature";
      state_topic = "home/kitchen/temperature"; device_class = "temperature"; unit = "°C";
      value_template = "{{ value_json.t }}"; },
    { device = "kitchen"; component = "switch"; object_id = "led"; name = "LED";
      state_topic = "home/kitchen/led/state"; command_topic = "home/kitchen/led/set";
      payload_on = "1"; payload_off = "0"; }
  );
};
EOF
check "$good"
check_eq "the spec's full example: exit 0" "0" "$RC"
check_eq "the spec's full example: FILE: ok" "$good: ok" "$OUT"
check_eq "the spec's full example: nothing on stderr" "" "$ERR"

printf '# nothing but a comment: every key is optional\n' >"$WORK/empty.conf"
check "$WORK/empty.conf"
check_eq "a config without keys: ok" "0 $WORK/empty.conf: ok" "$RC $OUT"

for f in "$SRC_DIR"/conf/coapbridge.conf "$SRC_DIR"/conf/examples/*.conf; do
	[ -f "$f" ] || continue
	check "$f"
	check_eq "shipped config $(basename "$f"): ok" "0 $f: ok" "$RC $OUT"
done

nl=$'\n'
# bad LINE TEXT DESC: a config that is the minimal one below with TEXT as
# line LINE (lines before it are comments) must fail on exactly that line.
bad() {
	local line=$1 text=$2 desc=$3 f=$WORK/bad.conf i
	: >"$f"
	for ((i = 1; i < line; i++)); do
		echo "# line $i" >>"$f"
	done
	printf '%s\n' "$text" >>"$f"
	check "$f"
	check_eq "$desc: exit 1" "1" "$RC"
	check_eq "$desc: nothing on stdout" "" "$OUT"
	check_match "$desc: '$f:$line: message' on stderr" "(^|$nl)$(re_escape "$f"):$line: [^ ]" "$ERR"
}

bad 1 'bogus = 1;' "unknown top-level key"
bad 2 'coap = { listen = [ "127.0.0.1:5683" ]; max_msg_size = 100; };' "unknown key in coap"
bad 3 'gateway = { default_routes = "yes"; };' "wrong type (string for bool)"
bad 2 'coap = { max_message_size = "big"; };' "wrong type (string for int)"
bad 4 'mqtt = { port = 70000; };' "port out of range"
bad 2 'mqtt = { port = 99999999999; };' "integer too large for libconfig's int"
bad 3 'mqtt = { qos = 3; };' "qos 3"
bad 2 'mqtt = { protocol = "v4"; };' "unknown protocol"
bad 5 'coap = { listen = [ "127.0.0.1:99999" ]; };' "listen port out of range"
bad 2 'coap = { listen = [ "not-an-address" ]; };' "listen address not a literal"
bad 1 'devices = ( { name = "a b"; address = "127.0.0.1"; } );' "device name with a space"
bad 2 'devices = ( { name = "x"; address = "224.0.0.1"; } );' "multicast device address"
bad 2 'devices = ( { name = "x"; address = "0.0.0.0"; } );' "unspecified device address"
bad 2 'devices = ( { name = "x"; address = "255.255.255.255"; } );' "broadcast device address"
bad 2 'devices = ( { name = "x"; address = "ff02::1"; } );' "IPv6 multicast device address"
bad 2 'devices = ( { name = "x"; address = "::"; } );' "IPv6 unspecified device address"
bad 2 'devices = ( { name = "x"; } );' "device without an address"
bad 3 'routes = { uplink = ( { path = "a/#/b"; topic = "t"; } ); };' "# not last in a pattern"
bad 3 'routes = { uplink = ( { path = "a/b+/c"; topic = "t"; } ); };' "+ inside a segment"
bad 2 'routes = { uplink = ( { path = "a/+"; topic = "t/{2}"; } ); };' "template names a missing wildcard"
bad 2 'routes = { uplink = ( { path = "a/+"; topic = "t/{nope}"; } ); };' "unknown template field"
bad 2 'routes = { uplink = ( { path = "a/+"; topic = "t/+"; } ); };' "wildcard in a publish topic"
bad 2 'routes = { uplink = ( { path = "a"; methods = [ "FOO" ]; topic = "t"; } ); };' "unknown method"
bad 2 'routes = { uplink = ( { path = "a"; topic = "t"; payload = "xml"; } ); };' "unknown payload mode"
bad 2 'routes = { uplink = ( { path = "a"; topic = "t"; qos = 5; } ); };' "route qos 5"
bad 2 'routes = { downlink = ( { topic = "c/+"; method = "PUT"; uri = "coap://nosuch/x"; } ); };' \
	"downlink uri host not a device"
bad 2 'routes = { downlink = ( { topic = "c/+"; method = "PUT"; uri = "coap://127.0.0.1/x"; } ); };' \
	"downlink uri host an address"
bad 2 'routes = { downlink = ( { topic = "c/+"; method = "PUT"; uri = "coap://{2}/x"; } ); };' \
	"downlink uri host names a missing wildcard"
bad 2 'routes = { downlink = ( { topic = "c/+"; method = "BREW"; uri = "coap://{1}/x"; } ); };' \
	"downlink unknown method"
bad 3 'gateway = { id = "a"; base_topic = "x/#"; };' "wildcard in base_topic"
bad 2 'gateway = { id = ; };' "syntax error (no value)"
bad 2 'gateway = { base_topic = "a\x00b"; };' "NUL inside a string"
mkdir -p "$WORK/somedir"
bad 2 '@include "somedir"' "@include of a directory"

# A device named twice: the error is on the second one's line.
printf '%s\n' 'devices = (' '  { name = "a"; address = "127.0.0.1"; },' \
	'  { name = "a"; address = "127.0.0.2"; }' ');' >"$WORK/dup.conf"
check "$WORK/dup.conf"
check_eq "duplicate device name: exit 1" "1" "$RC"
check_match "duplicate device name: reported on line 3" "$(re_escape "$WORK/dup.conf"):3: " "$ERR"

# Two problems: one line each.
printf '%s\n' 'bogus1 = 1;' 'gateway = { id = "x"; };' 'bogus2 = 2;' >"$WORK/two.conf"
check "$WORK/two.conf"
check_eq "two problems: exit 1" "1" "$RC"
check_match "two problems: line 1 reported" "$(re_escape "$WORK/two.conf"):1: " "$ERR"
check_match "two problems: line 3 reported" "$(re_escape "$WORK/two.conf"):3: " "$ERR"

# A line in an @include'd file is reported as that file's line.
printf '%s\n' 'gateway = { id = "x"; };' '@include "inc.conf"' >"$WORK/main.conf"
printf '%s\n' '# included' 'mqtt = { nonsense = 1; };' >"$WORK/inc.conf"
check "$WORK/main.conf"
check_eq "error in an included file: exit 1" "1" "$RC"
check_match "error in an included file: reported as inc.conf:2" "inc\.conf:2: " "$ERR"

# A valid @include.
printf '%s\n' 'gateway = { id = "x"; };' '@include "inc2.conf"' >"$WORK/main2.conf"
printf '%s\n' 'mqtt = { port = 1884; };' >"$WORK/inc2.conf"
check "$WORK/main2.conf"
check_eq "valid @include: ok" "0 $WORK/main2.conf: ok" "$RC $OUT"

# Starting (not -t) with a bad config: exit 1 with FILE:LINE, no service.
printf '%s\n' '# a' 'coap = { bogus = 1; };' >"$WORK/start-bad.conf"
timeout 10 "$COAPBRIDGE" -c "$WORK/start-bad.conf" >"$WORK/out" 2>"$WORK/err"
check_eq "start with a bad config: exit 1" "1" "$?"
check_match "start with a bad config: plain FILE:LINE on stderr" "(^|$nl)$(re_escape "$WORK/start-bad.conf"):2: " "$(cat "$WORK/err")"

# Under journald (JOURNAL_STREAM is the device:inode of stderr, as systemd
# sets it) the same line carries the "<3>" error priority, or journald
# stores why the service failed at info level; -t, read by a human, stays
# plain.
: >"$WORK/err"
js=$(stat -c '%d:%i' "$WORK/err")
JOURNAL_STREAM=$js timeout 10 "$COAPBRIDGE" -c "$WORK/start-bad.conf" >"$WORK/out" 2>>"$WORK/err"
check_eq "start with a bad config under journald: exit 1" "1" "$?"
check_match "start with a bad config under journald: <3>FILE:LINE" "(^|$nl)<3>$(re_escape "$WORK/start-bad.conf"):2: [^ ]" "$(cat "$WORK/err")"
check_no_match "start with a bad config under journald: no line without a priority" "(^|$nl)[^<]" "$(cat "$WORK/err")"
: >"$WORK/err"
JOURNAL_STREAM=$js timeout 10 "$COAPBRIDGE" -c "$WORK/does-not-exist.conf" >"$WORK/out" 2>>"$WORK/err"
check_eq "start with a missing config file under journald: exit 1" "1" "$?"
check_match "start with a missing config file under journald: <3>FILE" "^<3>.*does-not-exist\.conf" "$(cat "$WORK/err")"
: >"$WORK/err"
JOURNAL_STREAM=$js "$COAPBRIDGE" -t -c "$WORK/start-bad.conf" >"$WORK/out" 2>>"$WORK/err"
check_eq "-t under journald: exit 1" "1" "$?"
check_match "-t under journald: plain FILE:LINE" "^$(re_escape "$WORK/start-bad.conf"):2: [^ ]" "$(cat "$WORK/err")"
# A JOURNAL_STREAM inherited by a process whose stderr is elsewhere (here
# another file) is stale: plain lines (systemd.exec(5) says to compare).
: >"$WORK/err2"
JOURNAL_STREAM=$js timeout 10 "$COAPBRIDGE" -c "$WORK/start-bad.conf" >"$WORK/out" 2>"$WORK/err2"
check_match "a stale JOURNAL_STREAM: plain FILE:LINE" "^$(re_escape "$WORK/start-bad.conf"):2: [^ ]" "$(cat "$WORK/err2")"
timeout 10 "$COAPBRIDGE" -c "$WORK/does-not-exist.conf" >"$WORK/out" 2>"$WORK/err"
check_eq "start with a missing config file: exit 1" "1" "$?"
check_match "start with a missing config file: names the file" "does-not-exist\.conf" "$(cat "$WORK/err")"

# The CoAP port already taken: exit 3.
start_broker
busy=$(free_port)
start_device squatter 127.0.0.1 "$busy"
cat >"$WORK/busy.conf" <<EOF
coap = { listen = [ "127.0.0.1:$busy" ]; };
mqtt = { host = "127.0.0.1"; port = $MQTT_PORT; };
EOF
timeout 10 "$COAPBRIDGE" -c "$WORK/busy.conf" >"$WORK/out" 2>"$WORK/err"
check_eq "CoAP port in use: exit 3" "3" "$?"
check_match "CoAP port in use: says so" "$busy" "$(cat "$WORK/err")"

finish
