#!/usr/bin/env bash
# Signals: SIGHUP with a valid new config (new route in force, same CoAP
# socket), with invalid ones (FILE:LINE: message logged, old config still in
# force, daemon alive even for an @include of a directory), SIGTERM and
# SIGINT (offline published and retained, exit 0), SIGKILL (Last Will:
# offline), SIGTERM while the broker's answers are held back (Last Will:
# offline). Uses the default base topic "coapbridge".
. "$(dirname "$0")/lib.sh"

B=coapbridge
start_broker
COAP_PORT=$(free_port)
CONF=$WORK/gw.conf

# write_config EXTRA_ROUTE: the config with the route "old/+" and, if given,
# one more uplink route (path EXTRA_ROUTE/+, topic EXTRA_ROUTE/{1}).
write_config() {
	local extra=
	[ -z "$1" ] || extra=", { path = \"$1/+\"; topic = \"$1/{1}\"; }"
	cat >"$CONF" <<EOF
gateway = { id = "itest"; default_routes = false; };
coap = { listen = [ "127.0.0.1:$COAP_PORT" ]; };
mqtt = { host = "127.0.0.1"; port = $MQTT_PORT; qos = 1; };
devices = ( { name = "dev1"; address = "127.0.0.1"; } );
routes = { uplink = ( { path = "old/+"; topic = "old/{1}"; }$extra ); };
EOF
}

# udp_inode PORT: the inode of the UDP socket bound to 127.0.0.1:PORT.
udp_inode() {
	awk -v a="$(printf '0100007F:%04X' "$1")" '$2 == a { print $10 }' /proc/net/udp
}

write_config ""
start_gateway "$CONF"
SUB_FMT='%t %p' mqtt_sub up 10 60 -t 'old/#' -t 'new/#' -t 'bad/#'
inode=$(udp_inode "$COAP_PORT")
check_match "the CoAP socket is in /proc/net/udp" '^[0-9]+$' "$inode"
check_answer "before reload: old/+ routed" "ACK 2.04" "$(gw_req -m POST -p old/a -e 1)"
check_answer "before reload: new/+ has no route" "ACK 4.04" "$(gw_req -m POST -p new/a -e no)"

# A valid new config.
write_config new
kill -HUP "$GW_PID"
new_routed() {
	[ "$(gw_req -m POST -p new/a -e 2)" = "ACK 2.04" ]
}
check_true "after SIGHUP: the new route is in force" wait_until 10 new_routed
check_answer "after SIGHUP: the old route still works" "ACK 2.04" "$(gw_req -m POST -p old/b -e 3)"
check_eq "after SIGHUP: the same CoAP socket" "$inode" "$(udp_inode "$COAP_PORT")"
check_true "after SIGHUP: same process" kill -0 "$GW_PID"

# Invalid configs: each is logged as FILE:LINE: and changes nothing. The
# error is on line 6 in each (after the five lines write_config writes).
invalid_reload() {
	local what=$1 text=$2
	write_config bad
	printf '%s\n' "$text" >>"$CONF"
	kill -HUP "$GW_PID"
	check_true "invalid config ($what): logged as $CONF:6: ..." \
		wait_lines "$GW_LOG" "^(<[0-9]>)?.*$(re_escape "$CONF"):6: " 1 10
	check_true "invalid config ($what): still running" kill -0 "$GW_PID"
	check_answer "invalid config ($what): the route it adds is not in force" "ACK 4.04" \
		"$(gw_req -m POST -p bad/x -e no)"
	check_answer "invalid config ($what): the previous route still is" "ACK 2.04" \
		"$(gw_req -m POST -p new/c -e "$what")"
	# Start the next round with an empty log (the daemon appends to it).
	cat "$GW_LOG" >>"$WORK/gateway-reloads.log"
	: >"$GW_LOG"
}
invalid_reload unknown-key 'bogus_key = 1;'
invalid_reload syntax 'homeassistant = { enabled = ; };'
# libconfig 1.5 exits the whole process on an @include of a directory.
mkdir -p "$WORK/incdir"
invalid_reload include-dir '@include "incdir"'
check_eq "after SIGHUP: still the same CoAP socket" "$inode" "$(udp_inode "$COAP_PORT")"

check_eq "published through the reloads" "old/a 1
new/a 2
old/b 3
new/c unknown-key
new/c syntax
new/c include-dir" "$(mqtt_stop up)"

write_config new # the config the restarts below use

# SIGTERM: offline published (live and retained), exit status 0.
SUB_FMT='%p' mqtt_sub state 1 10 -t "$B/bridge/state" -R
stop_gateway TERM
check_eq "SIGTERM: exit status 0" "0" "$GW_STATUS"
check_eq "SIGTERM: offline published" "offline" "$(mqtt_wait state)"
check_eq "SIGTERM: offline retained" "offline" "$(mqtt_retained "$B/bridge/state")"

# SIGINT likewise (started with SIGINT at its default disposition).
if env --default-signal=INT true 2>/dev/null; then
	GW_LAUNCH=(env --default-signal=INT)
	start_gateway "$CONF"
	stop_gateway INT
	check_eq "SIGINT: exit status 0" "0" "$GW_STATUS"
	check_eq "SIGINT: offline retained" "offline" "$(mqtt_retained "$B/bridge/state")"
	GW_LAUNCH=()
else
	echo "# env --default-signal missing: SIGINT not tested"
fi

# SIGKILL: no chance to say goodbye; the broker publishes the Last Will.
start_gateway "$CONF"
check_eq "restarted: online retained" "online" "$(mqtt_retained "$B/bridge/state")"
stop_gateway KILL
is_offline() {
	[ "$(mqtt_retained "$B/bridge/state")" = "offline" ]
}
check_true "SIGKILL: Last Will offline, retained" wait_until 10 is_offline

# SIGTERM while the broker's answers are held back (by a relay between
# the two): the flush deadline passes with 'offline' still queued behind
# unacknowledged QoS 1 readings. The gateway must not end with a
# DISCONNECT, which makes the broker discard the Last Will and leaves the
# state 'online'; ending the connection without one makes the broker
# publish the Will, 'offline'.
RELAY_PORT=$(free_port)
"$TOOLS_DIR/tcprelay" "$RELAY_PORT" "$MQTT_PORT" >"$WORK/relay.out" 2>&1 &
RELAY_PID=$!
track "$RELAY_PID"
wait_until 5 grep -q ready "$WORK/relay.out" || die "tcprelay did not start"
sed "s/port = $MQTT_PORT;/port = $RELAY_PORT;/" "$CONF" >"$WORK/relay.conf"
start_gateway "$WORK/relay.conf"
kill -USR1 "$RELAY_PID"
for i in $(seq 30); do
	gw_req -m POST -p old/held -e "$i" >/dev/null
done
stop_gateway TERM
check_eq "SIGTERM, answers held back: exit status 0" "0" "$GW_STATUS"
check_true "SIGTERM, answers held back: the deadline passed with messages undelivered" \
	grep -q 'could not be delivered in time' "$GW_LOG"
check_true "SIGTERM, answers held back: Last Will offline, retained" wait_until 10 is_offline

finish
