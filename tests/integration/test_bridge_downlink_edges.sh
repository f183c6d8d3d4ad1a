#!/usr/bin/env bash
# Downlink edges:
# - a queued command whose request cannot be built (a topic deeper than
#   the 40 options a message holds) answers "error" and the command queued
#   behind it still goes out and gets the device's answer (it was stranded
#   until its deadline, then reported as a timeout, never sent);
# - topic levels become Uri-Path options byte for byte: '?', '&' and '%'
#   in a level stay in its segment (B/D/led?on=1/set was sent as Uri-Path
#   "led" + Uri-Query "on=1"), also through an explicit route's {N}, while
#   the route's own query still becomes Uri-Query options, one per '&' of
#   the template (a capture in the query stays inside its argument);
# - the result document carries the whole answer of a block-wise GET
#   (5000 bytes as text, as escape-heavy text and as base64; it was cut
#   to {"code":"2.05"} above about 4 KiB).
# Devices: coapdev (answers after a delay) and libcoap's coap-server-notls
# with dynamic resources, whose debug log shows every option it got.
. "$(dirname "$0")/lib.sh"

command -v coap-server-notls >/dev/null || die "coap-server-notls missing (apt install libcoap3-bin)"
command -v coap-client-notls >/dev/null || die "coap-client-notls missing (apt install libcoap3-bin)"

start_broker
COAP_PORT=$(free_port)
SLOW_PORT=$(free_port)
SRV_PORT=$(free_port)
SRV_LOG=$WORK/srv.log

cat >"$WORK/gw.conf" <<EOF
gateway = { id = "itest"; base_topic = "$B"; default_routes = true; };
coap = {
  listen = [ "127.0.0.1:$COAP_PORT" ];
  ack_timeout_ms = 3000; max_retransmit = 1; request_timeout_ms = 6000;
};
mqtt = { host = "127.0.0.1"; port = $MQTT_PORT; protocol = "v3.1.1"; };
devices = (
  { name = "slow"; address = "127.0.0.1"; port = $SLOW_PORT; },
  { name = "srv"; address = "127.0.0.2"; port = $SRV_PORT; }
);
routes = {
  downlink = (
    { topic = "mode/+/put"; method = "PUT"; uri = "coap://srv/mode/{1}?set={1}&x=1"; },
    { topic = "plain/put"; method = "PUT"; uri = "coap://srv/plain?a=1&b=2"; }
  );
};
EOF

# slow answers each request 1.5 s late: long enough for the next two
# commands to be queued behind the first.
start_device slow 127.0.0.1 "$SLOW_PORT" -d 1500 -e ack
# -v 7 logs each PDU with its options; line-buffered, so a line is there
# once the answer it led to is.
stdbuf -oL -eL coap-server-notls -A 127.0.0.2 -p "$SRV_PORT" -d 20 -v 7 >"$SRV_LOG" 2>&1 &
track $!
wait_until 5 coap_ping 127.0.0.2 "$SRV_PORT" || die "coap-server-notls not answering: $(cat "$SRV_LOG")"

mqtt_sub out 200 60 -t "$B/+/#" -t 'mode/#' -T "$B/bridge/state" -T "$B/+/availability"
start_gateway "$WORK/gw.conf"

# ---- 1. a failed queued command does not strand the next one ----------
long=$(printf 'a/%.0s' $(seq 1 41))
mqtt_pub -q 1 -t "$B/slow/first/set" -m 1
check_true "first command reached the slow device" wait_dev slow '^CON PUT first pl=1$' 1
mqtt_pub -q 1 -t "$B/slow/${long}set" -m 2
mqtt_pub -q 1 -t "$B/slow/third/set" -m 3
mqtt_wait_topic out "$B/slow/first/result" 1 10
check_json "first command: the device's 2.04" '.code == "2.04" and .payload == "ack"' \
	"$(mqtt_payloads out "$B/slow/first/result")"
mqtt_wait_topic out "$B/slow/${long}result" 1 10
check_json "41 path levels (more options than a message holds): error" '. == {"code":"error"}' \
	"$(mqtt_payloads out "$B/slow/${long}result")"
mqtt_wait_topic out "$B/slow/third/result" 1 15
check_json "third command, queued behind the failed one: the device's 2.04, not a timeout" \
	'.code == "2.04" and .payload == "ack"' "$(mqtt_payloads out "$B/slow/third/result")"
check_eq "the slow device got the first and the third, one at a time" \
	"CON PUT first pl=1
CON PUT third pl=3" "$(dev_requests slow)"

# ---- 2. topic levels are Uri-Path segments, byte for byte ----------------
# srv_opts METHOD: the option lists of every METHOD request srv logged.
srv_opts() {
	grep -E "^v:1 t:CON c:$1 " "$SRV_LOG" | sed -E 's/^[^[]*\[ (.*) \].*$/\1/'
}

mqtt_pub -t "$B/srv/led?on=1/set" -m 1
mqtt_wait_topic out "$B/srv/led?on=1/result" 1 10
check_json "PUT to the level 'led?on=1': created" '.code == "2.01"' \
	"$(mqtt_payloads out "$B/srv/led?on=1/result")"
check_eq "'led?on=1' went as one Uri-Path and no Uri-Query" \
	"Uri-Path:led?on=1" "$(srv_opts PUT | sed -n 1p)"
mqtt_pub -t "$B/srv/led?on=1/get" -n
mqtt_wait_topic out "$B/srv/led?on=1/result" 2 10
check_eq "GET on the same level reads back the same resource" \
	'{"code":"2.05","payload":"1"}' "$(mqtt_payloads out "$B/srv/led?on=1/result" | sed -n 2p)"

mqtt_pub -t "$B/srv/x/50%25&y=2/set" -m p
mqtt_wait_topic out "$B/srv/x/50%25&y=2/result" 1 10
check_eq "'%' and '&' in a level are kept literally, one segment per level" \
	"Uri-Path:x, Uri-Path:50%25&y=2" "$(srv_opts PUT | sed -n 2p)"

# RFC 7252 §5.10: a Uri-Path is at most 255 bytes; a longer level is an
# error result, and nothing is sent (the device would reject it).
lvl255=$(head -c 255 /dev/zero | tr '\0' 'l')
mqtt_pub -t "$B/srv/$lvl255/set" -m ok
mqtt_wait_topic out "$B/srv/$lvl255/result" 1 10
check_json "a 255-byte level: sent (created)" '.code == "2.01"' "$(mqtt_payloads out "$B/srv/$lvl255/result")"
mqtt_pub -t "$B/srv/${lvl255}l/set" -m no
mqtt_wait_topic out "$B/srv/${lvl255}l/result" 1 10
check_json "a 256-byte level: error" '. == {"code":"error"}' "$(mqtt_payloads out "$B/srv/${lvl255}l/result")"
check_eq "... and only the 255-byte one reached the device" "Uri-Path:$lvl255" "$(srv_opts PUT | sed -n '3,$p' | grep -v '^Uri-Path:mode\|^Uri-Path:plain')"

# An explicit route: {1} in the path is one segment, {1} in the query stays
# in its argument, the template's '&' separates arguments.
mqtt_pub -t "mode/a&b?c/put" -m m
mqtt_wait_topic out "$B/srv/mode/a&b?c/result" 1 10
check_eq "explicit route: {1} one Uri-Path segment, the template's query as Uri-Query options" \
	"Uri-Path:mode, Uri-Path:a&b?c, Uri-Query:set=a&b?c, Uri-Query:x=1" "$(srv_opts PUT | sed -n 4p)"
mqtt_pub -t plain/put -m q
mqtt_wait_topic out "$B/srv/plain/result" 1 10
check_eq "explicit route with a literal query: one Uri-Query per argument" \
	"Uri-Path:plain, Uri-Query:a=1, Uri-Query:b=2" "$(srv_opts PUT | sed -n 5p)"

# ---- 3. large answers keep their payload in the result --------------------
head -c 5000 /dev/zero | tr '\0' 'x' >"$WORK/big.txt"
head -c 5000 /dev/zero | tr '\0' '\001' >"$WORK/esc.txt"
# Not UTF-8 (0xff never is): base64.
head -c 5000 /dev/zero | tr '\0' '\377' >"$WORK/bin.dat"
for f in big.txt esc.txt bin.dat; do
	coap-client-notls -B 5 -b 1024 -m put -f "$WORK/$f" \
		"coap://127.0.0.2:$SRV_PORT/${f%.*}" >/dev/null 2>&1 ||
		die "PUT of $f to coap-server-notls failed"
done

mqtt_pub -t "$B/srv/big/get" -n
mqtt_wait_topic out "$B/srv/big/result" 1 10
r=$(mqtt_payloads out "$B/srv/big/result")
check_json "5000-byte text answer: all of it in .payload" \
	".code == \"2.05\" and .payload == \"$(cat "$WORK/big.txt")\"" "$r"
check_eq "5000-byte text answer also on B/D/P" "$(cat "$WORK/big.txt")" "$(mqtt_payloads out "$B/srv/big")"

mqtt_pub -t "$B/srv/esc/get" -n
mqtt_wait_topic out "$B/srv/esc/result" 1 10
r=$(mqtt_payloads out "$B/srv/esc/result")
check_json "5000 control characters (escaped six times as long): all in .payload" \
	'.code == "2.05" and (.payload | length) == 5000 and (.payload | test("^\u0001+$"))' "$r"

mqtt_pub -t "$B/srv/bin/get" -n
mqtt_wait_topic out "$B/srv/bin/result" 1 10
r=$(mqtt_payloads out "$B/srv/bin/result")
check_json "5000-byte binary answer: all of it in .payload_b64" \
	".code == \"2.05\" and .payload_b64 == \"$(base64 -w0 "$WORK/bin.dat")\"" "$r"

finish
