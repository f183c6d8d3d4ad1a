#!/usr/bin/env bash
# While the broker is away uplink messages wait in a queue of queue_limit
# entries; one more is refused with 5.03 and Max-Age, so the device retries
# later, and nothing is dropped silently: exactly the queued ones arrive.
. "$(dirname "$0")/lib.sh"

BROKER_PERSIST=1 # for every start_broker below, the restart included
start_broker
COAP_PORT=$(free_port)

cat >"$WORK/gw.conf" <<EOF
gateway = { id = "itest"; base_topic = "$B"; };
coap = { listen = [ "127.0.0.1:$COAP_PORT" ]; };
mqtt = { host = "127.0.0.1"; port = $MQTT_PORT; qos = 1; queue_limit = 3; };
devices = ( { name = "dev1"; address = "127.0.0.1"; } );
EOF
start_gateway "$WORK/gw.conf"

# A persistent session on the broker, so messages published right after the
# gateway reconnects wait for the subscriber.
SUB=(-q 1 -c -i itest-queue-sub -t "$B/dev1/q")
mqtt_sub s0 1 1 "${SUB[@]}"
mqtt_stop s0 >/dev/null

stop_broker
# The queue's bound is what is tested, so the gateway must have seen the
# broker go before the readings come: a reading handed to a connection
# that is already dead counts against the bound differently under load.
check_true "the gateway noticed the broker is gone" \
	wait_lines "$GW_LOG" 'readings are queued meanwhile' 1 20
for i in 1 2 3; do
	check_answer "reading $i, queue not full: 2.04" "ACK 2.04" "$(gw_req -m POST -p q -e "$i")"
done
check_match "CON reading 4, queue full: 5.03 with Max-Age" '^ACK 5\.03 Max-Age=[0-9]+( pl=.*)?$' \
	"$(gw_req -m POST -p q -e 4)"
check_match "NON reading 5, queue full: NON 5.03 with Max-Age" '^NON 5\.03 Max-Age=[0-9]+( pl=.*)?$' \
	"$(gw_req -N -T 05 -m POST -p q -e 5)"

start_broker
mqtt_sub s1 3 40 "${SUB[@]}"
check_eq "the three queued readings arrive after the reconnect" \
	"$(printf '%s\n' 1 2 3 | sed "s|^|$B/dev1/q |")" "$(mqtt_wait s1)"

# Once drained, the queue takes readings again; a refused reading, had it
# been kept after all, would arrive before this one.
mqtt_sub s2 1 10 "${SUB[@]}"
post_after() {
	[ "$(gw_req -m POST -p q -e after)" = "ACK 2.04" ]
}
check_true "reading after the reconnect: 2.04" wait_until 40 post_after
check_eq "nothing but the queued readings was published" "$B/dev1/q after" "$(mqtt_wait s2)"

finish
