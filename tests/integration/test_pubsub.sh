#!/usr/bin/env bash
# Publish/subscribe over CoAP (spec "Publish/subscribe over CoAP"): POST/PUT
# ps/<topic> within the device's publish patterns, with ?qos= and ?retain=;
# GET ps/<topic> answers the broker's retained message or 4.04, within the
# subscribe patterns; an observing coap-client gets every MQTT message as a
# notification, also the gateway's own publishes (MQTT v5 No Local);
# .well-known/core with an rt= filter; unknown devices have no permissions.
. "$(dirname "$0")/lib.sh"

start_broker
COAP_PORT=$(free_port)

# 127.0.0.1 is dev1; 127.0.0.3 is dev3, which may do nothing; 127.0.0.2 is
# an allowed unknown device.
cat >"$WORK/gw.conf" <<EOF
gateway = { id = "itest"; base_topic = "$B"; };
coap = { listen = [ "127.0.0.1:$COAP_PORT" ]; allow_unknown_devices = true; };
mqtt = { host = "127.0.0.1"; port = $MQTT_PORT; qos = 1; };
devices = (
  { name = "dev1"; address = "127.0.0.1";
    publish = [ "pub/#", "both/+" ]; subscribe = [ "sub/#", "both/+" ]; },
  { name = "dev3"; address = "127.0.0.3"; }
);
EOF

start_gateway "$WORK/gw.conf"
SUB_FMT='%q %t %p' mqtt_sub all 100 60 -q 1 -t 'pub/#' -t 'sub/#' -t 'both/#'

# ---- publish ----
check_answer "POST ps/pub/a: 2.04" "ACK 2.04" "$(gw_req -m POST -p ps/pub/a -e one)"
check_answer "PUT ps/pub/b/c?qos=0&retain=true: 2.04" "ACK 2.04" \
	"$(gw_req -m PUT -p ps/pub/b/c -q 'qos=0&retain=true' -e two)"
check_answer "NON POST ps/both/x?qos=1: NON 2.04" "NON 2.04" \
	"$(gw_req -N -m POST -p ps/both/x -q qos=1 -e three)"
check_answer "EMQX's connection arguments are accepted: 2.04" "ACK 2.04" \
	"$(gw_req -m POST -p ps/pub/a -q 'c=cid&u=user&p=pw' -e four)"
out=$(coap-client-notls -B 5 -m post -e five "$(coap_uri ps/pub/cc)" 2>&1)
check_eq "coap-client POST ps/pub/cc: no error printed" "" "$out"

check_answer "POST outside the publish patterns: 4.03" "ACK 4.03" \
	"$(gw_req -m POST -p ps/sub/a -e no)"
check_answer "a device without publish patterns: 4.03" "ACK 4.03" \
	"$(gw_req -s 127.0.0.3 -m POST -p ps/pub/a -e no)"
check_answer "an unknown device has no permissions: 4.03" "ACK 4.03" \
	"$(gw_req -s 127.0.0.2 -m POST -p ps/pub/a -e no)"
check_answer "qos=3: 4.00" "ACK 4.00" "$(gw_req -m POST -p ps/pub/a -q qos=3 -e no)"
check_answer "qos=x: 4.00" "ACK 4.00" "$(gw_req -m POST -p ps/pub/a -q qos=x -e no)"
check_answer "retain=yes: 4.00" "ACK 4.00" "$(gw_req -m POST -p ps/pub/a -q retain=yes -e no)"
check_answer "an unknown query argument: 4.00" "ACK 4.00" "$(gw_req -m POST -p ps/pub/a -q x=1 -e no)"
check_answer "a '+' in the topic: 4.00" "ACK 4.00" "$(gw_req -m POST -p ps/pub/+ -e no)"
check_answer "ps with no topic: 4.00" "ACK 4.00" "$(gw_req -m POST -p ps -e no)"
check_answer "DELETE ps/pub/a: 4.05" "ACK 4.05" "$(gw_req -m DELETE -p ps/pub/a)"

# ---- GET: the retained message ----
mqtt_pub -r -t sub/r -m hello
out=$(coap-client-notls -B 5 "$(coap_uri ps/sub/r)" 2>&1)
check_eq "GET ps/sub/r: the retained message" "hello" "$out"
# A separate response (RFC 7252 §5.2.2): the empty ACK, then a CON, with
# the message's ETag (0x4f9f2cab: the FNV-1a hash of "hello").
check_eq "GET ps/sub/r over rawcoap: empty ACK, then CON 2.05 with an ETag" \
	"ACK 0.00|CON 2.05 ETag=0x4f9f2cab pl=hello" "$(gw_req -n 2 -T 51 -p ps/sub/r | paste -sd '|')"
check_eq "GET ps/sub/none: 4.04" "ACK 0.00|CON 4.04" \
	"$(gw_req -n 2 -T 52 -p ps/sub/none | paste -sd '|')"
check_answer "GET outside the subscribe patterns: 4.03" "ACK 4.03" "$(gw_req -p ps/pub/a)"
check_answer "GET by an unknown device: 4.03" "ACK 4.03" "$(gw_req -s 127.0.0.2 -p ps/sub/r)"
# What a device published retained over ps/ reads back.
check_answer "PUT ps/both/r?retain=true: 2.04" "ACK 2.04" \
	"$(gw_req -m PUT -p ps/both/r -q retain=true -e kept)"
out=$(coap-client-notls -B 5 "$(coap_uri ps/both/r)" 2>&1)
check_eq "GET ps/both/r: what the device retained" "kept" "$out"

# ---- Observe: every MQTT message on the topic is a notification ----
stdbuf -oL coap-client-notls -B 30 -s 30 -w "$(coap_uri ps/sub/o)" >"$WORK/obs.out" 2>&1 &
OBS_PID=$!
track "$OBS_PID"
wait_until 5 grep -q "dev1 observes sub/o" "$GW_LOG" || _not_ok "observer registered" "no registration in the log"
for m in m1 m2 m3; do
	mqtt_pub -q 1 -t sub/o -m "$m"
	wait_lines "$WORK/obs.out" "^$m\$" 1 5
done
# dev1's own publish over ps/ reaches an observer of the same topic, though
# the broker does not echo it to the gateway (MQTT v5 No Local).
stdbuf -oL coap-client-notls -B 30 -s 30 -w "$(coap_uri ps/both/o)" >"$WORK/obs2.out" 2>&1 &
OBS2_PID=$!
track "$OBS2_PID"
wait_until 5 grep -q "dev1 observes both/o" "$GW_LOG" || _not_ok "second observer registered" "no registration in the log"
check_answer "POST ps/both/o: 2.04" "ACK 2.04" "$(gw_req -m POST -p ps/both/o -e mine)"
wait_lines "$WORK/obs2.out" '^mine$' 1 5
check_eq "the observer of sub/o got every message, in order" "m1 m2 m3" \
	"$(grep -E '^m[0-9]$' "$WORK/obs.out" | paste -sd ' ')"
check_eq "the observer of both/o got the device's own publish" "mine" \
	"$(grep -v '^$' "$WORK/obs2.out")"
kill -TERM "$OBS_PID" "$OBS2_PID" 2>/dev/null
check_answer "Observe on a topic outside the subscribe patterns: 4.03" "ACK 4.03" \
	"$(gw_req -O 6, -p ps/pub/a)"

# ---- .well-known/core ----
out=$(coap-client-notls -B 5 "$(coap_uri .well-known/core)" 2>&1)
check_match ".well-known/core lists </ps>;rt=\"core.ps\"" '(^|,)</ps>;rt="core\.ps"(,|$)' "$out"
out=$(coap-client-notls -B 5 "$(coap_uri '.well-known/core?rt=core.ps')" 2>&1)
check_eq "?rt=core.ps filters to the ps function set" '</ps>;rt="core.ps"' "$out"
out=$(gw_req -p .well-known/core -q rt=nothing)
# 0x811c9dc5: the FNV-1a hash of nothing, the empty document's ETag.
check_eq "?rt=nothing: an empty document" "ACK 2.05 ETag=0x811c9dc5 Content-Format=40" "$out"
check_answer "POST .well-known/core: 4.05" "ACK 4.05" "$(gw_req -m POST -p .well-known/core -e x)"

# ---- what reached MQTT ----
wait_lines "$WORK/sub-all.raw" ' both/o mine$' 1 5
expected="1 pub/a one
0 pub/b/c two
1 both/x three
1 pub/a four
1 pub/cc five
1 both/r kept
1 sub/o m1
1 sub/o m2
1 sub/o m3
1 both/o mine"
check_eq "published: topics, QoS and payloads; nothing refused went out" \
	"$expected" "$(mqtt_stop all | grep -v ' sub/r hello$')"
check_eq "retain=true is retained" "two" "$(mqtt_retained pub/b/c)"
check_eq "no retain: nothing retained" "" "$(mqtt_retained pub/a)"

finish
