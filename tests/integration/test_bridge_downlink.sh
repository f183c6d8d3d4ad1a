#!/usr/bin/env bash
# Downlink: the default set/post/get topics and their result documents
# (text, base64, timeout, error codes), explicit downlink routes with
# templates, response_topic, NON, literal hosts and queries, retained
# commands (accept_retained), hosts that are not devices, at most one
# outstanding request per device with queued commands in order, and a
# retransmitted CON. The devices are coapdev processes on 127.0.0.x.
. "$(dirname "$0")/lib.sh"

start_broker
COAP_PORT=$(free_port)
declare -A ADDR=([dev1]=127.0.0.1 [bin]=127.0.0.2 [mute]=127.0.0.3
	[slow]=127.0.0.4 [flaky]=127.0.0.5 [err]=127.0.0.6)
declare -A PORT=()
for d in "${!ADDR[@]}"; do
	PORT[$d]=$(free_port)
done

# Retained commands already on the broker when the gateway subscribes:
# only the route with accept_retained = true may act on one.
mqtt_pub -r -t ret/yes -m Y
mqtt_pub -r -t ret/no -m N
mqtt_pub -r -t "$B/dev1/rd/set" -m R

cat >"$WORK/gw.conf" <<EOF
gateway = { id = "itest"; base_topic = "$B"; default_routes = true; };
coap = {
  listen = [ "127.0.0.1:$COAP_PORT" ];
  ack_timeout_ms = 200; max_retransmit = 1; request_timeout_ms = 800;
};
mqtt = { host = "127.0.0.1"; port = $MQTT_PORT; protocol = "v3.1.1"; };
devices = (
$(for d in "${!ADDR[@]}"; do
	echo "  { name = \"$d\"; address = \"${ADDR[$d]}\"; port = ${PORT[$d]}; },"
done | sed '$ s/,$//')
);
routes = {
  downlink = (
    { topic = "home/+/led/set"; method = "PUT"; uri = "coap://{1}/led";
      confirmable = true; timeout_ms = 600; response_topic = "home/{1}/led/state"; },
    { topic = "non/+/cmd"; method = "POST"; uri = "coap://{1}/cmd"; confirmable = false; },
    { topic = "fixed/go"; method = "POST"; uri = "coap://dev1/go/now?x=1"; },
    { topic = "ret/yes"; method = "PUT"; uri = "coap://dev1/ry"; accept_retained = true; },
    { topic = "ret/no"; method = "PUT"; uri = "coap://dev1/rn"; }
  );
};
EOF

start_device dev1 127.0.0.1 "${PORT[dev1]}" -e ok
start_device bin 127.0.0.2 "${PORT[bin]}" -E fffe00
start_device mute 127.0.0.3 "${PORT[mute]}" -s
start_device slow 127.0.0.4 "${PORT[slow]}" -d 150
start_device flaky 127.0.0.5 "${PORT[flaky]}" -n 1
start_device err 127.0.0.6 "${PORT[err]}" -c 4.04 -g 4.04 -e nope
# Everything on the broker but the gateway's state and our own commands.
mqtt_sub out 200 60 -t '#' -T "$B/bridge/state" -T "$B/+/availability" \
	-T ret/yes -T ret/no -T fixed/go -T 'non/+/cmd' -T 'home/+/led/set'
SUB_FMT='%t %x' mqtt_sub hex 1 20 -t "$B/bin/val"
start_gateway "$WORK/gw.conf"

# The retained command of the accept_retained = true route arrives at once.
check_true "retained command accepted by accept_retained = true" wait_dev dev1 'PUT ry pl=Y$' 1

# Default layout: set -> PUT, post -> POST, get -> GET; results as JSON.
mqtt_pub -t "$B/dev1/led/set" -m 1
check_true "set: the device got PUT led 1" wait_dev dev1 '^CON PUT led pl=1$' 1
mqtt_wait_topic out "$B/dev1/led/result"
r=$(mqtt_payloads out "$B/dev1/led/result")
check_json "set: result is {code 2.04, payload ok}" '.code == "2.04" and .payload == "ok" and (has("payload_b64") | not)' "$r"

mqtt_pub -t "$B/dev1/motor/post" -m go
check_true "post: the device got POST motor go" wait_dev dev1 '^CON POST motor pl=go$' 1
mqtt_wait_topic out "$B/dev1/motor/result"
check_json "post: result code 2.04" '.code == "2.04"' "$(mqtt_payloads out "$B/dev1/motor/result")"

mqtt_pub -t "$B/dev1/temp/get" -n
check_true "get: the device got GET temp" wait_dev dev1 '^CON GET temp$' 1
mqtt_wait_topic out "$B/dev1/temp"
check_eq "get: the 2.05 answer's payload published on B/D/P" "ok" "$(mqtt_payloads out "$B/dev1/temp")"
mqtt_wait_topic out "$B/dev1/temp/result"
check_json "get: result code 2.05 with the payload" '.code == "2.05" and .payload == "ok"' \
	"$(mqtt_payloads out "$B/dev1/temp/result")"

mqtt_pub -t "$B/dev1/a/b/c/set" -m x
check_true "set on a deep path: PUT a/b/c" wait_dev dev1 '^CON PUT a/b/c pl=x$' 1
mqtt_wait_topic out "$B/dev1/a/b/c/result"

# Explicit routes: template host, response_topic, NON, literal host + query.
mqtt_pub -t home/dev1/led/set -m on
check_true "explicit route: PUT led on" wait_dev dev1 '^CON PUT led pl=on$' 1
mqtt_wait_topic out home/dev1/led/state
check_eq "explicit route: answer payload on response_topic" "ok" "$(mqtt_payloads out home/dev1/led/state)"

mqtt_pub -t non/dev1/cmd -m n
check_true "confirmable = false: the device got a NON POST" wait_dev dev1 '^NON POST cmd pl=n$' 1

mqtt_pub -t fixed/go -m f
check_true "literal device host with a query" wait_dev dev1 '^CON POST go/now\?x=1 pl=f$' 1

# accept_retained = false (explicit or default route): a live command acts.
mqtt_pub -t ret/no -m live
check_true "live command on an accept_retained = false route" wait_dev dev1 '^CON PUT rn pl=live$' 1

# MQTT must never make the gateway send to something that is not a device.
mqtt_pub -t home/evil/led/set -m e1
mqtt_pub -t home/127.0.0.1/led/set -m e2
mqtt_pub -t "$B/nodev/x/set" -m e3
mqtt_pub -t "$B/127.0.0.1/x/set" -m e4
mqtt_pub -t "$B/dev1/after/set" -m z
check_true "command after the refused ones arrives" wait_dev dev1 '^CON PUT after pl=z$' 1

expected_dev1="CON PUT ry pl=Y
CON PUT led pl=1
CON POST motor pl=go
CON GET temp
CON PUT a/b/c pl=x
CON PUT led pl=on
NON POST cmd pl=n
CON POST go/now?x=1 pl=f
CON PUT rn pl=live
CON PUT after pl=z"
check_eq "dev1 got exactly these requests (no retained N/R, nothing for non-devices)" \
	"$expected_dev1" "$(dev_requests dev1)"
for d in bin mute slow flaky err; do
	check_eq "device $d got nothing yet" "" "$(dev_requests "$d")"
done

# A non-UTF-8 answer: payload_b64 instead of payload.
mqtt_pub -t "$B/bin/val/get" -n
mqtt_wait_topic out "$B/bin/val/result"
r=$(mqtt_payloads out "$B/bin/val/result")
check_json "binary answer: result has payload_b64 //4A and no payload" \
	'.code == "2.05" and .payload_b64 == "//4A" and (has("payload") | not)' "$r"
check_eq "binary answer published unchanged on B/D/P" "$B/bin/val fffe00" "$(mqtt_wait hex)"

# Error answers: a result with the code, nothing on B/D/P or response_topic.
mqtt_pub -t "$B/err/s/set" -m 1
mqtt_wait_topic out "$B/err/s/result"
check_json "4.04 answer to set: result code 4.04" '.code == "4.04"' "$(mqtt_payloads out "$B/err/s/result")"
mqtt_pub -t "$B/err/g/get" -n
mqtt_wait_topic out "$B/err/g/result"
check_json "4.04 answer to get: result code 4.04" '.code == "4.04"' "$(mqtt_payloads out "$B/err/g/result")"
mqtt_pub -t home/err/led/set -m 1
check_true "explicit route to err: the device got it" wait_dev err '^CON PUT led pl=1$' 1

# A lost first transmission: the CON is retransmitted and then answered.
mqtt_pub -t "$B/flaky/r/set" -m f
mqtt_wait_topic out "$B/flaky/r/result"
check_json "retransmitted CON: result 2.04" '.code == "2.04"' "$(mqtt_payloads out "$B/flaky/r/result")"
check_eq "flaky device saw the request and one retransmission" \
	"CON PUT r pl=f
dup CON PUT r pl=f" "$(dev_requests flaky)"

# NSTART = 1: three commands to a device that answers after 150 ms go out
# one at a time, in order.
printf '1\n2\n3\n' | mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -t "$B/slow/q/set" -l
mqtt_wait_topic out "$B/slow/q/result" 3 10
check_eq "queued commands reached the device one at a time, in order" \
	"CON PUT q pl=1
CON PUT q pl=2
CON PUT q pl=3" "$(dev_requests slow)"
check_eq "three 2.04 results" '"2.04"
"2.04"
"2.04"' "$(mqtt_payloads out "$B/slow/q/result" | jq -c .code)"

# Timeouts: CON (default layout, request_timeout_ms), CON on an explicit
# route (timeout_ms) and NON; one after the other, so that the time a
# command may spend queued behind another does not matter here.
mqtt_pub -t "$B/mute/x/set" -m t
mqtt_wait_topic out "$B/mute/x/result" 1 10
check_json "silent device: result {code: timeout}" '. == {"code":"timeout"}' \
	"$(mqtt_payloads out "$B/mute/x/result")"
mqtt_pub -t home/mute/led/set -m t2
mqtt_wait_topic out "$B/mute/led/result" 1 10
check_json "silent device, explicit route: result {code: timeout}" '. == {"code":"timeout"}' \
	"$(mqtt_payloads out "$B/mute/led/result")"
mqtt_pub -t non/mute/cmd -m t3
mqtt_wait_topic out "$B/mute/cmd/result" 1 10
check_json "silent device, NON: result {code: timeout}" '. == {"code":"timeout"}' \
	"$(mqtt_payloads out "$B/mute/cmd/result")"
# max_retransmit = 1: one transmission and one retransmission of each CON.
check_eq "silent device got each request once, each CON retransmitted once" \
	"CON PUT x pl=t
dup CON PUT x pl=t
CON PUT led pl=t2
dup CON PUT led pl=t2
NON POST cmd pl=t3" "$(dev_requests mute)"

# Nothing else was published: no response_topic or B/D/P for errors and
# timeouts, nothing for the refused commands.
topics=$(mqtt_messages out | cut -d' ' -f1 | sort)
expected_topics=$(sort <<EOF
$B/dev1/led/result
$B/dev1/motor/result
$B/dev1/temp
$B/dev1/temp/result
$B/dev1/a/b/c/result
home/dev1/led/state
$B/dev1/led/result
$B/dev1/cmd/result
$B/dev1/go/now/result
$B/dev1/rn/result
$B/dev1/ry/result
$B/dev1/after/result
$B/bin/val
$B/bin/val/result
$B/err/s/result
$B/err/g/result
$B/err/led/result
$B/flaky/r/result
$B/slow/q/result
$B/slow/q/result
$B/slow/q/result
$B/mute/x/result
$B/mute/led/result
$B/mute/cmd/result
EOF
)
# The commands we published ourselves also come back to this subscriber.
check_eq "published topics" "$expected_topics" \
	"$(grep -vE '/(set|get|post)$' <<<"$topics")"

finish
