#!/usr/bin/env bash
# Two of the gateway's subscriptions match one message: the default
# layout's B/# and a ps/ observer's exact topic, here a command topic.
# mosquitto sends an MQTT 5 client a copy per subscription; the command
# must still reach the device once and the observer once (each owner takes
# the copy its own subscription brought, by Subscription Identifier).
. "$(dirname "$0")/lib.sh"

start_broker
COAP_PORT=$(free_port)
DEV_PORT=$(free_port)
start_device dev1 127.0.0.1 "$DEV_PORT"
cat >"$WORK/gw.conf" <<CONF
gateway = { id = "itest"; base_topic = "$B"; };
coap = { listen = [ "127.0.0.1:$COAP_PORT" ]; };
mqtt = { host = "127.0.0.1"; port = $MQTT_PORT; qos = 1; };
devices = ( { name = "dev1"; address = "127.0.0.1"; port = $DEV_PORT;
              subscribe = [ "$B/#" ]; } );
CONF
start_gateway "$WORK/gw.conf"

stdbuf -oL coap-client-notls -B 30 -s 30 -w "$(coap_uri "ps/$B/dev1/led/set")" >"$WORK/obs.out" 2>&1 &
track $!
wait_until 5 grep -q "dev1 observes $B/dev1/led/set" "$GW_LOG" ||
	_not_ok "observer registered" "no registration in the log"
for m in ON1 ON2 ON3; do
	mqtt_pub -q 1 -t "$B/dev1/led/set" -m "$m"
	wait_dev dev1 "PUT .*pl=$m\$" 1 5
	wait_lines "$WORK/obs.out" "^$m\$" 1 5
done
# The device takes one request at a time: a second copy of ON1 or ON2
# would have come before ON3's.
check_eq "each command reached the device once" "ON1 ON2 ON3" \
	"$(dev_requests dev1 | sed -n 's/.*PUT .*pl=//p' | paste -sd ' ')"
check_eq "the observer got each command once" "ON1 ON2 ON3" \
	"$(grep -E '^ON[0-9]$' "$WORK/obs.out" | paste -sd ' ')"

finish
