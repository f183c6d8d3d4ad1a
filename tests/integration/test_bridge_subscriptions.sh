#!/usr/bin/env bash
# Subscriptions shared between their owners, and SIGHUP without a gap.
#
# One MQTT filter can be wanted by several parts of the gateway at once:
# downlink routes (two routes may even have the same topic), the default
# layout's B/#, a device observing ps/<topic>, Home Assistant's status
# topic. Each owner holds its own reference; the broker sees SUBSCRIBE
# when the first one comes (or the QoS rises) and UNSUBSCRIBE only when
# the last one goes. On SIGHUP the new set is subscribed before the old
# one is let go, so an unchanged filter never leaves the broker.
#
# Steps, one gateway run, each config a SIGHUP away from the last:
#  C1  ha/status is both HA's status topic and a downlink route's topic;
#      a device observes ps/cmd/led (pub/sub owns cmd/led)
#  C2  + two downlink routes on cmd/led: commands reach the device and
#      the observer; no UNSUBSCRIBE of anything, no new SUBSCRIBE of the
#      unchanged filters
#  C3  the device loses its ps/ rights (the observation ends): commands
#      on cmd/led still reach the device
#  C4  Home Assistant disabled: commands on ha/status now reach the
#      device (HA no longer takes them) -- the route kept its subscription
#  C5  mqtt.qos 0 -> 1 and the ha/status route dropped: cmd/led is
#      subscribed again with QoS 1 (no UNSUBSCRIBE), ha/status is
#      unsubscribed (its last owner left)
# The broker logs every SUBSCRIBE/UNSUBSCRIBE (log_type all); before the
# log is read, an uplink publish sent after the reload has come through
# the broker, which handles one client's packets in order.
. "$(dirname "$0")/lib.sh"

# A broker like lib.sh's start_broker, but logging subscriptions: lines
# "CLIENT QOS FILTER" for a subscription, "CLIENT FILTER" for an
# unsubscription.
MQTT_PORT=$(free_port)
cat >"$WORK/mosquitto.conf" <<EOF
listener $MQTT_PORT 127.0.0.1
allow_anonymous true
persistence false
log_dest stderr
log_type all
EOF
mosquitto -c "$WORK/mosquitto.conf" >>"$BROKER_LOG" 2>&1 &
BROKER_PID=$!
track "$BROKER_PID"
wait_until 5 _broker_accepts || die "mosquitto did not accept on $MQTT_PORT"

COAP_PORT=$(free_port)
DEV_PORT=$(free_port)
CONF=$WORK/gw.conf
CLIENT=coapbridge-subs

# write_config QOS HA_ENABLED DEV_SUBSCRIBE ROUTES
write_config() {
	cat >"$CONF" <<EOF
gateway = { id = "subs"; base_topic = "$B"; default_routes = true; };
coap = { listen = [ "127.0.0.1:$COAP_PORT" ]; };
mqtt = { host = "127.0.0.1"; port = $MQTT_PORT; protocol = "v5"; qos = $1; };
devices = ( { name = "dev1"; address = "127.0.0.1"; port = $DEV_PORT;
              subscribe = [ $3 ]; } );
homeassistant = { enabled = $2; discovery_prefix = "ha"; };
routes = { downlink = ( $4 ); };
EOF
}
R_HA='{ topic = "ha/status"; method = "PUT"; uri = "coap://dev1/hastatus"; }'
R_LED='{ topic = "cmd/led"; method = "PUT"; uri = "coap://dev1/led"; },
  { topic = "cmd/led"; method = "POST"; uri = "coap://dev1/led2"; }'

CUT=0
RELOADS=0
# reload: SIGHUP with the config just written; wait until it is in force.
reload() {
	RELOADS=$((RELOADS + 1))
	kill -HUP "$GW_PID"
	wait_lines "$GW_LOG" 'configuration reloaded' "$RELOADS" 10 ||
		die "reload $RELOADS not done: $(grep -E 'reload|error' "$GW_LOG" | tail -n 5)"
}

MARKS=0
# barrier: an uplink publish sent now is seen by a subscriber, so the
# broker has handled every packet the gateway sent before it (one TCP
# stream, handled in order) and logged its subscriptions.
barrier() {
	MARKS=$((MARKS + 1))
	check_answer "uplink mark $MARKS: 2.04" "ACK 2.04" "$(gw_req -m POST -p mark -e "$MARKS")"
	mqtt_wait_topic marks "$B/dev1/mark" "$MARKS" 10 ||
		_not_ok "mark $MARKS came through the broker" "$(mqtt_messages marks)"
}

# log_lines REGEX: the broker log's lines after the last `log_cut`.
log_lines() {
	tail -n +"$((CUT + 1))" "$BROKER_LOG" | grep -E -- "$1"
}
log_cut() {
	CUT=$(wc -l <"$BROKER_LOG")
}
subscribed() { # FILTER: "QOS" for each SUBSCRIBE of FILTER since the cut
	log_lines ": $CLIENT [012] $(re_escape "$1")\$" | awk '{ print $3 }' | paste -sd ' '
}
unsubscribed() { # FILTER: how many UNSUBSCRIBEs of FILTER since the cut
	log_lines ": $CLIENT $(re_escape "$1")\$" | wc -l
}

# command TOPIC PAYLOAD REGEX: publish, then wait for the device to log it.
command() {
	local n
	n=$(grep -cE -- "$3" "$WORK/dev-dev1.log")
	mqtt_pub -q 1 -t "$1" -m "$2"
	check_true "command '$2' on $1 reaches the device" wait_dev dev1 "$3" $((n + 1)) 10
}

start_device dev1 127.0.0.1 "$DEV_PORT" -e ok
SUB_FMT='%t %p' mqtt_sub marks 100 120 -t "$B/dev1/mark"

# ---- C1: ha/status shared by HA and a route; ps/cmd/led observed ----
write_config 0 true '"cmd/#"' "$R_HA"
start_gateway "$CONF"
stdbuf -oL coap-client-notls -B 60 -s 60 -w "$(coap_uri ps/cmd/led)" >"$WORK/obs.out" 2>&1 &
OBS_PID=$!
track "$OBS_PID"
wait_lines "$GW_LOG" 'dev1 observes cmd/led' 1 10 || die "the observation of ps/cmd/led did not start"
barrier
check_eq "C1: ha/status subscribed once, with HA's QoS 1 (the higher)" "1" "$(subscribed ha/status)"
check_eq "C1: cmd/led subscribed (for the observer) with QoS 0" "0" "$(subscribed cmd/led)"
check_no_match "C1: nothing unsubscribed" "." "$(log_lines ": $CLIENT [^ ]+\$")"
# Home Assistant acts on its status topic and leaves it to the route too.
command ha/status online '^CON PUT hastatus pl=online$'
check_true "C1: ... and Home Assistant announced again" wait_lines "$GW_LOG" 'homeassistant: ha online: announcing' 1 10

# ---- C2: two routes on the observed cmd/led; nothing else changes ----
log_cut
write_config 0 true '"cmd/#"' "$R_HA, $R_LED"
reload
barrier
for f in "$B/#" ha/status cmd/led; do
	check_eq "C2: $f not unsubscribed" "0" "$(unsubscribed "$f")"
done
check_eq "C2: unchanged $B/# not subscribed again" "" "$(subscribed "$B/#")"
check_eq "C2: unchanged ha/status not subscribed again" "" "$(subscribed ha/status)"
check_eq "C2: cmd/led, held by the observer, not subscribed again" "" "$(subscribed cmd/led)"
command cmd/led c2 '^CON PUT led pl=c2$'
check_true "C2: the observer gets the command too" wait_lines "$WORK/obs.out" '^c2$' 1 10

# ---- C3: the device loses its ps/ rights: the routes keep cmd/led ----
log_cut
write_config 0 true '' "$R_HA, $R_LED"
reload
barrier
check_match "C3: the observation ended with 4.03" '4\.03' "$(cat "$WORK/obs.out")"
check_eq "C3: cmd/led not unsubscribed" "0" "$(unsubscribed cmd/led)"
command cmd/led c3 '^CON PUT led pl=c3$'

# ---- C4: Home Assistant off: the ha/status route keeps its filter ----
log_cut
write_config 0 false '' "$R_HA, $R_LED"
reload
barrier
check_eq "C4: ha/status not unsubscribed" "0" "$(unsubscribed ha/status)"
command ha/status online '^CON PUT hastatus pl=online$'

# ---- C5: QoS 0 -> 1, the ha/status route dropped ----
log_cut
write_config 1 false '' "$R_LED"
reload
barrier
check_eq "C5: cmd/led subscribed again with QoS 1" "1" "$(subscribed cmd/led)"
check_eq "C5: $B/# subscribed again with QoS 1" "1" "$(subscribed "$B/#")"
check_eq "C5: cmd/led not unsubscribed" "0" "$(unsubscribed cmd/led)"
check_eq "C5: ha/status unsubscribed: its last owner left" "1" "$(unsubscribed ha/status)"
command cmd/led c5 '^CON PUT led pl=c5$'

check_no_match "no subscription error logged" 'subscribe' "$(grep -iE 'error|warn' "$GW_LOG")"
stop_gateway TERM
check_eq "SIGTERM: exit status 0" "0" "$GW_STATUS"
finish
