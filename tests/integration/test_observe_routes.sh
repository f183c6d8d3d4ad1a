#!/usr/bin/env bash
# routes.observe: the gateway observes libcoap's coap-server /time (a
# notification every second, Max-Age 1) and publishes each one; the
# notifications alone make the device count as online; the server is
# killed without a word (a reboot: the core notices when Max-Age runs out,
# its re-registration times out, the loss is logged) and started again on
# the same port, and the gateway registers again, logs it and publishes
# again. With the broker gone and the queue full, notifications are
# dropped with a log line.
. "$(dirname "$0")/lib.sh"

start_broker
COAP_PORT=$(free_port)
DEV_PORT=$(free_port)

_dev_up() {
	coap-client-notls -B 1 "coap://127.0.0.1:$DEV_PORT/time" >/dev/null 2>&1
}

start_clock() {
	coap-server-notls -A 127.0.0.1 -p "$DEV_PORT" >>"$WORK/clock.log" 2>&1 &
	CLOCK_PID=$!
	track "$CLOCK_PID"
	wait_until 5 _dev_up || die "coap-server-notls did not answer on $DEV_PORT"
}

start_clock
# Short retransmission parameters, so a lost observation shows quickly.
cat >"$WORK/gw.conf" <<EOF
gateway = { id = "itest"; base_topic = "$B"; };
coap = { listen = [ "127.0.0.1:$COAP_PORT" ]; ack_timeout_ms = 200; max_retransmit = 1; };
mqtt = { host = "127.0.0.1"; port = $MQTT_PORT; queue_limit = 1; };
devices = ( { name = "clock"; address = "127.0.0.1"; port = $DEV_PORT; availability_timeout = 60; } );
routes = {
  observe = ( { uri = "coap://clock/time"; topic = "obs/{device}/{path}"; qos = 0; retain = true; } );
};
EOF

SUB_FMT='%r %q %t %p' mqtt_sub first 3 20 -t 'obs/#'
mqtt_sub avail 10 30 -t "$B/clock/availability"
start_gateway "$WORK/gw.conf"

msgs=$(mqtt_wait first)
check_eq "three notifications arrive as MQTT messages" 3 "$(grep -c . <<<"$msgs")"
check_match "on obs/clock/time, QoS 0, with the time as payload" \
	'^0 0 obs/clock/time [A-Z][a-z]{2} [0-9 ]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$' "$(head -n 1 <<<"$msgs")"
# At connect the gateway may first publish the state it knows (offline).
check_true "the device counts as online from its notifications alone" \
	wait_lines "$WORK/sub-avail.raw" "^M\\|$B/clock/availability online\$" 1 10
check_true "the observation is logged as established" \
	file_has_lines "$GW_LOG" 'observe coap://clock/time: established' 1
check_match "retain = true: the last notification is retained" \
	'^[A-Z][a-z]{2} ' "$(mqtt_retained obs/clock/time)"

# A reboot: the device vanishes without deregistering anyone.
kill -KILL "$CLOCK_PID"
wait "$CLOCK_PID" 2>/dev/null
check_true "the lost observation is logged" \
	wait_lines "$GW_LOG" 'observe coap://clock/time: lost' 1 20
start_clock
SUB_FMT='%t %p' mqtt_sub again 2 20 -t 'obs/#'
check_true "the observation is established again and logged" \
	wait_lines "$GW_LOG" 'observe coap://clock/time: established' 2 20
check_eq "notifications flow again" 2 "$(mqtt_wait again | grep -c '^obs/clock/time ')"

# The broker goes away: the first notification waits in the queue
# (queue_limit = 1), the next ones cannot be refused as a device's request
# would be (5.03): they are dropped, and the log says so.
stop_broker
check_true "with the queue full, a dropped notification is logged" \
	wait_lines "$GW_LOG" 'observe coap://clock/time: notification not published to obs/clock/time: the queue is full' 1 10

stop_gateway
check_eq "clean stop" 0 "$GW_STATUS"
finish
