#!/usr/bin/env bash
# The broker stops and comes back mid-stream: CON readings sent while it is
# away are answered 2.04 (queued) and published after the reconnect, none
# lost and in order. The subscriber keeps a persistent session on a broker
# with persistence, so it cannot miss what the gateway publishes right
# after it reconnects, whenever that is.
. "$(dirname "$0")/lib.sh"

BROKER_PERSIST=1 # for every start_broker below, the restart included
start_broker
COAP_PORT=$(free_port)

cat >"$WORK/gw.conf" <<EOF
gateway = { id = "itest"; base_topic = "$B"; };
coap = { listen = [ "127.0.0.1:$COAP_PORT" ]; };
mqtt = { host = "127.0.0.1"; port = $MQTT_PORT; qos = 1; keepalive = 5; };
devices = ( { name = "dev1"; address = "127.0.0.1"; } );
EOF
start_gateway "$WORK/gw.conf"

SUB=(-q 1 -c -i itest-restart-sub -t "$B/dev1/r")
mqtt_sub s1 5 10 "${SUB[@]}"

reading() {
	check_answer "reading $1 ($2): 2.04" "ACK 2.04" "$(gw_req -m POST -p r -e "$1")"
}
for i in 1 2 3 4 5; do reading "$i" "broker up"; done
check_eq "readings 1-5 delivered" "$(seq 1 5 | sed "s|^|$B/dev1/r |")" "$(mqtt_wait s1)"

stop_broker
# Let the gateway read the broker's close before the next readings (not an
# assertion: the readings must be kept either way).
sleep 0.3
for i in 6 7 8 9 10; do reading "$i" "broker away"; done
start_broker
for i in 11 12 13 14 15; do reading "$i" "broker back"; done

mqtt_sub s2 10 40 "${SUB[@]}"
got=$(mqtt_wait s2 | sed "s|^$B/dev1/r ||")
# QoS 1 may deliver a message twice; count each reading once, in the order
# it first arrived.
firsts=$(awk '!seen[$0]++' <<<"$got")
check_eq "readings 6-15 all delivered after the restart, in order" "$(seq 6 15)" "$firsts"
check_true "gateway still running" kill -0 "$GW_PID"

finish
