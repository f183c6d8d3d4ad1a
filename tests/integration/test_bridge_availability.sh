#!/usr/bin/env bash
# Device availability on B/D/availability (retained): offline until the
# device is heard from, online when it sends, offline again after
# availability_timeout seconds of silence, online when it comes back. A
# reload clears a removed device's state; one that changes base_topic
# leaves every topic where it was until the next start.
. "$(dirname "$0")/lib.sh"

start_broker
COAP_PORT=$(free_port)
cat >"$WORK/gw.conf" <<EOF
gateway = { id = "itest"; base_topic = "$B"; };
coap = { listen = [ "127.0.0.1:$COAP_PORT" ]; };
mqtt = { host = "127.0.0.1"; port = $MQTT_PORT; };
devices = ( { name = "dev1"; address = "127.0.0.1"; availability_timeout = 1; } );
EOF
start_gateway "$WORK/gw.conf"

state() {
	mqtt_retained "$B/dev1/availability"
}
is_state() {
	[ "$(state)" = "$1" ]
}
check_true "not heard from yet: offline (retained)" wait_until 5 is_state offline

SUB_FMT='%p' mqtt_sub live 3 20 -t "$B/dev1/availability" -R
check_answer "a reading: 2.04" "ACK 2.04" "$(gw_req -m POST -p r -e 1)"
check_true "after a reading: online (retained)" wait_until 5 is_state online
check_true "after availability_timeout of silence: offline (retained)" wait_until 10 is_state offline
check_answer "another reading: 2.04" "ACK 2.04" "$(gw_req -m POST -p r -e 2)"
check_true "heard from again: online (retained)" wait_until 5 is_state online
check_eq "live transitions: online, offline, online" "online
offline
online" "$(mqtt_wait live)"

# A reload that takes dev1 out of the file clears its retained state, so
# no "offline" for a device that no longer exists stays on the broker; a
# device added by the reload starts offline.
cat >"$WORK/gw.conf" <<EOF
gateway = { id = "itest"; base_topic = "$B"; };
coap = { listen = [ "127.0.0.1:$COAP_PORT" ]; };
mqtt = { host = "127.0.0.1"; port = $MQTT_PORT; };
devices = ( { name = "dev2"; address = "127.0.0.1"; } );
EOF
kill -HUP "$GW_PID"
dev2_offline() {
	[ "$(mqtt_retained "$B/dev2/availability")" = offline ]
}
check_true "added by a reload: offline (retained)" wait_until 5 dev2_offline
check_eq "removed by that reload: no retained state left" "" "$(mqtt_retained "$B/dev1/availability")"

# gateway.base_topic changes only at a restart (the Last Will and the
# connection's own topics use it): a reload that changes it says so and
# leaves every topic where it was -- readings, availability, commands.
sed -i "s|base_topic = \"$B\"|base_topic = \"$B-new\"|" "$WORK/gw.conf"
kill -HUP "$GW_PID"
check_true "base_topic changed by a reload: the warning" \
	wait_lines "$GW_LOG" 'gateway.base_topic changed: takes effect at the next start' 1 10
wait_until 10 grep -q 'reloaded:' "$GW_LOG" || _not_ok "SIGHUP reloads" "no 'reloaded' in the log"
mqtt_sub bt 2 10 -R -t "$B/dev2/#" -t "$B-new/#"
check_answer "after that reload: a reading, 2.04" "ACK 2.04" "$(gw_req -m POST -p r -e 3)"
check_eq "the reading and dev2's availability are still under $B" "$B/dev2/availability online
$B/dev2/r 3" "$(mqtt_wait bt | sort)"

finish
