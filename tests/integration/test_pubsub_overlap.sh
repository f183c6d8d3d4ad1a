#!/usr/bin/env bash
# Two of the gateway's subscriptions match one message: the default
# layout's B/# and a ps/ observer's exact topic, here a command topic.
# mosquitto sends an MQTT 5 client a copy per subscription; the command
# must still reach the device once and the observer once (each owner takes
# the copy its own subscription brought, by Subscription Identifier).
# Likewise a retained message the gateway's own re-subscription brings
# again (for a GET ps/) is no news to the topic's observers.
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
              subscribe = [ "$B/#", "x/#" ]; } );
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

# The observer has had R1 (retained) and L2 (live); a GET makes the gateway
# subscribe again, and the broker sends R1 again: the observer must not
# be told the state went back to R1.
mqtt_pub -q 1 -r -t x/s -m R1
stdbuf -oL coap-client-notls -B 30 -s 30 -w "$(coap_uri ps/x/s)" >"$WORK/obs2.out" 2>&1 &
track $!
wait_lines "$WORK/obs2.out" '^R1$' 1 5
mqtt_pub -q 1 -t x/s -m L2
wait_lines "$WORK/obs2.out" '^L2$' 1 5
check_eq "GET ps/x/s: the retained message" "R1" \
	"$(coap-client-notls -B 5 "$(coap_uri ps/x/s)" 2>&1)"
mqtt_pub -q 1 -t x/s -m L3
wait_lines "$WORK/obs2.out" '^L3$' 1 5
check_eq "the observer: R1, L2, L3 -- not R1 again after the GET" "R1 L2 L3" \
	"$(grep -E '^[RL][0-9]$' "$WORK/obs2.out" | paste -sd ' ')"

finish
