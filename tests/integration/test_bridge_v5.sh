#!/usr/bin/env bash
# MQTT v5: a downlink command with a Response Topic gets its answer there
# with the same Correlation Data and a user property coap-code; and the
# gateway subscribes with No Local, so its own uplink publish onto a
# downlink route's topic does not come back to it as a command.
. "$(dirname "$0")/lib.sh"

start_broker
COAP_PORT=$(free_port)
DEV_PORT=$(free_port)
ERR_PORT=$(free_port)

cat >"$WORK/gw.conf" <<EOF
gateway = { id = "itest"; base_topic = "$B"; };
coap = { listen = [ "127.0.0.1:$COAP_PORT" ]; };
mqtt = { host = "127.0.0.1"; port = $MQTT_PORT; protocol = "v5"; };
devices = (
  { name = "dev1"; address = "127.0.0.1"; port = $DEV_PORT; },
  { name = "err"; address = "127.0.0.2"; port = $ERR_PORT; }
);
routes = {
  uplink = ( { path = "lp/+"; topic = "cmd/{1}"; } );
  downlink = ( { topic = "cmd/+"; method = "PUT"; uri = "coap://{1}/x"; } );
};
EOF

start_device dev1 127.0.0.1 "$DEV_PORT" -e ok
start_device err 127.0.0.2 "$ERR_PORT" -c 4.04 -e nope
SUB_FMT='%t|%p|%D|%P' mqtt_sub resp 3 20 -V mqttv5 -t 'resp/#'
start_gateway "$WORK/gw.conf"

# the answer document on a response topic: the device's payload, either as
# it is or inside the result document.
answer_payload() {
	local p=$1
	if printf '%s' "$p" | jq -e 'type == "object"' >/dev/null 2>&1; then
		printf '%s' "$p" | jq -r '.payload'
	else
		printf '%s' "$p"
	fi
}

mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -V mqttv5 -t "$B/dev1/led/set" -m 1 \
	-D publish response-topic resp/one -D publish correlation-data c0rr-1 ||
	die "mosquitto_pub v5 failed"
check_true "v5 command reached the device" wait_dev dev1 '^CON PUT led pl=1$' 1
wait_lines "$WORK/sub-resp.raw" '^M\|resp/one\|' 1 5
line=$(mqtt_messages resp | grep '^resp/one|')
IFS='|' read -r topic payload corr props <<<"$line"
check_eq "response topic used" "resp/one" "$topic"
check_eq "same correlation data" "c0rr-1" "$corr"
check_match "user property coap-code 2.04" '(^| )coap-code:2\.04( |$)' "$props"
check_eq "answer payload" "ok" "$(answer_payload "$payload")"

mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -V mqttv5 -t "$B/err/thing/post" -m 2 \
	-D publish response-topic resp/two -D publish correlation-data c0rr-2 ||
	die "mosquitto_pub v5 failed"
wait_lines "$WORK/sub-resp.raw" '^M\|resp/two\|' 1 5
IFS='|' read -r topic payload corr props <<<"$(mqtt_messages resp | grep '^resp/two|')"
check_eq "error answer: same correlation data" "c0rr-2" "$corr"
check_match "error answer: user property coap-code 4.04" '(^| )coap-code:4\.04( |$)' "$props"

# No Local: the uplink publish on cmd/dev1 must not become a command.
SUB_FMT='%t %p' mqtt_sub cmd 1 10 -t 'cmd/#'
check_answer "uplink onto a downlink topic: 2.04" "ACK 2.04" "$(gw_req -m POST -p lp/dev1 -e self)"
check_eq "the uplink was published" "cmd/dev1 self" "$(mqtt_wait cmd)"
mqtt_pub -t cmd/dev1 -m ext
check_true "an outside publish on the same topic is a command" wait_dev dev1 '^CON PUT x pl=ext$' 1
check_eq "the device got the outside command only, not the gateway's own publish" \
	"CON PUT led pl=1
CON PUT x pl=ext" "$(dev_requests dev1)"

finish
