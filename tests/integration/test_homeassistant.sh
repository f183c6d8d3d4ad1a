#!/usr/bin/env bash
# Home Assistant: MQTT discovery of a generated config (every field a user
# relies on, parsed with jq), retained configs, the gateway's own device
# and its stats, stale-entity deletion at start-up, re-announcement on
# homeassistant/status online, deletion and re-announcement on reload,
# device availability going online and offline (availability_timeout 2 s),
# CBOR -> JSON and SenML split on uplink routes, and an end-to-end switch:
# an MQTT command reaches a CoAP relay as a PUT and its new state comes
# back on the state topic. A run with Home Assistant disabled deletes what
# an earlier run announced.
. "$(dirname "$0")/lib.sh"

P=homeassistant
VERSION=$("$COAPBRIDGE" -V | awk '{print $2}')
[ -n "$VERSION" ] || die "no version from $COAPBRIDGE -V"

start_broker
COAP_PORT=$(free_port)
RELAY_PORT=$(free_port)

# Left by an earlier run of this gateway ("itest") for an entity it no
# longer has, and by others: only the first may go.
mqtt_pub -r -t "$P/sensor/itest_old/gone/config" \
	-m '{"unique_id":"coapbridge:itest:old:gone","name":"Gone"}'
mqtt_pub -r -t "$P/sensor/other/x/config" -m '{"unique_id":"z2m_0x1234_x"}'
mqtt_pub -r -t "$P/sensor/itest2_a/b/config" \
	-m '{"unique_id":"coapbridge:itest2:a:b"}'
# A retained birth must not trigger anything (Home Assistant's is live).
mqtt_pub -r -t "$P/status" -m online

# write_config TEMP_NAME WITH_DOOR
write_config() {
	local door=""
	if [ "$2" = yes ]; then
		door='{ device = "kitchen"; component = "binary_sensor"; object_id = "door";
      name = "Door"; state_topic = "home/kitchen/door"; device_class = "door";
      payload_on = "open"; payload_off = "closed"; },'
	fi
	cat >"$WORK/gw.conf" <<EOF
gateway = { id = "itest"; base_topic = "$B"; default_routes = true; };
coap = { listen = [ "127.0.0.1:$COAP_PORT" ]; ack_timeout_ms = 500; max_retransmit = 2; };
mqtt = { host = "127.0.0.1"; port = $MQTT_PORT; protocol = "v5"; qos = 1; };
devices = (
  { name = "kitchen"; address = "127.0.0.1"; availability_timeout = 2; },
  { name = "relay"; address = "127.0.0.2"; port = $RELAY_PORT; }
);
routes = {
  uplink = (
    { path = "sensors/+"; topic = "home/{device}/{1}"; retain = true; payload = "json"; },
    { path = "pack"; topic = "home/{device}"; senml = "split"; }
  );
  downlink = (
    { topic = "home/relay/led/set"; method = "PUT"; uri = "coap://relay/led";
      response_topic = "home/relay/led/state"; }
  );
};
homeassistant = {
  enabled = true;
  entities = (
    $door
    { device = "kitchen"; component = "sensor"; object_id = "temperature";
      name = "$1"; state_topic = "home/kitchen/temp";
      device_class = "temperature"; unit = "°C"; state_class = "measurement";
      value_template = "{{ value_json.t }}"; },
    { device = "relay"; component = "switch"; object_id = "led"; name = "LED";
      state_topic = "home/relay/led/state"; command_topic = "home/relay/led/set";
      payload_on = "1"; payload_off = "0"; },
    { device = "relay"; component = "light"; object_id = "lamp"; name = "Lamp";
      command_topic = "home/relay/lamp/set"; state_topic = "home/relay/lamp";
      brightness_command_topic = "home/relay/lamp/bri/set";
      brightness_state_topic = "home/relay/lamp/bri"; brightness_scale = 100; },
    { device = "relay"; component = "number"; object_id = "setpoint";
      command_topic = "home/relay/sp/set"; state_topic = "home/relay/sp";
      min = 5.0; max = 30.0; step = 0.5; entity_category = "config"; },
    { device = "kitchen"; component = "button"; object_id = "identify";
      name = "Identify"; command_topic = "home/kitchen/identify";
      device_class = "identify"; }
  );
};
EOF
}
write_config "Temperature" yes

"$TOOLS_DIR/coaprelay" 127.0.0.2 "$RELAY_PORT" >"$WORK/relay.log" 2>&1 &
track $!
wait_lines "$WORK/relay.log" '^ready$' 1 5 || die "coaprelay did not start"

SUB_FMT='%t %p' mqtt_sub disc 1000 120 -q 1 -t "$P/#"
SUB_FMT='%t %p' mqtt_sub state 1000 120 -q 1 -t 'home/#' -t "$B/+/availability" -t "$B/bridge/stats"
start_gateway "$WORK/gw.conf"

T_TEMP="$P/sensor/itest_kitchen/temperature/config"
T_DOOR="$P/binary_sensor/itest_kitchen/door/config"
T_LED="$P/switch/itest_relay/led/config"
T_LAMP="$P/light/itest_relay/lamp/config"
T_SP="$P/number/itest_relay/setpoint/config"
T_BTN="$P/button/itest_kitchen/identify/config"
T_CONN="$P/binary_sensor/coapbridge_itest/connection/config"
T_UP="$P/sensor/coapbridge_itest/messages_up/config"
T_STALE="$P/sensor/itest_old/gone/config"

for t in "$T_TEMP" "$T_DOOR" "$T_LED" "$T_LAMP" "$T_SP" "$T_BTN" "$T_CONN" "$T_UP"; do
	mqtt_wait_topic disc "$t" 1 10 || _not_ok "announced: $t" "never seen"
done
# retained_is TOPIC PAYLOAD: what a late subscriber gets is PAYLOAD.
retained_is() { [ "$(mqtt_retained "$1")" = "$2" ]; }
retained_is_not_empty() { [ -n "$(mqtt_retained "$1")" ]; }
# Last one wins when a topic was announced more than once.
doc() { mqtt_payloads disc "$1" | tail -n 1; }

# -- every field a user relies on --------------------------------------
d=$(doc "$T_TEMP")
check_json "sensor: identity" '.unique_id == "coapbridge:itest:kitchen:temperature" and .name == "Temperature" and .default_entity_id == "sensor.kitchen_temperature" and (has("object_id") | not)' "$d"
check_json "sensor: state, class, unit, template" '.state_topic == "home/kitchen/temp" and .device_class == "temperature" and .unit_of_measurement == "°C" and .state_class == "measurement" and .value_template == "{{ value_json.t }}" and (has("command_topic") | not)' "$d"
check_json "sensor: availability is bridge state and device, mode all" \
	".availability == [{\"topic\":\"$B/bridge/state\"},{\"topic\":\"$B/kitchen/availability\"}] and .availability_mode == \"all\"" "$d"
check_json "sensor: device block, via the gateway" '.device.identifiers == ["coapbridge_itest_kitchen"] and .device.name == "kitchen" and .device.manufacturer == "coapbridge" and .device.model == "CoAP device" and .device.via_device == "coapbridge_itest"' "$d"
check_json "sensor: origin block" ".origin.name == \"coapbridge\" and .origin.sw_version == \"$VERSION\"" "$d"
check_json "sensor: qos" '.qos == 1' "$d"

d=$(doc "$T_LED")
check_json "switch: topics and payloads" '.state_topic == "home/relay/led/state" and .command_topic == "home/relay/led/set" and .payload_on == "1" and .payload_off == "0" and .default_entity_id == "switch.relay_led"' "$d"
check_json "switch: device relay" '.device.identifiers == ["coapbridge_itest_relay"] and .device.via_device == "coapbridge_itest"' "$d"
check_json "switch: relay's availability" ".availability[1].topic == \"$B/relay/availability\"" "$d"
d=$(doc "$T_DOOR")
check_json "binary_sensor: class and payloads" '.device_class == "door" and .payload_on == "open" and .payload_off == "closed" and .state_topic == "home/kitchen/door"' "$d"
d=$(doc "$T_LAMP")
check_json "light: brightness keys" '.brightness_command_topic == "home/relay/lamp/bri/set" and .brightness_state_topic == "home/relay/lamp/bri" and .brightness_scale == 100 and .command_topic == "home/relay/lamp/set" and .name == "Lamp"' "$d"
d=$(doc "$T_SP")
check_json "number: min/max/step, category, name defaults to object_id" '.min == 5 and .max == 30 and .step == 0.5 and .entity_category == "config" and .name == "setpoint"' "$d"
d=$(doc "$T_BTN")
check_json "button: command topic, class" '.command_topic == "home/kitchen/identify" and .device_class == "identify" and (has("state_topic") | not)' "$d"

# The gateway as a device with diagnostic entities.
d=$(doc "$T_CONN")
check_json "gateway connection: connectivity on the bridge state" ".device_class == \"connectivity\" and .state_topic == \"$B/bridge/state\" and .payload_on == \"online\" and .payload_off == \"offline\" and .entity_category == \"diagnostic\" and (has(\"availability\") | not)" "$d"
check_json "gateway device block" ".device.identifiers == [\"coapbridge_itest\"] and .device.sw_version == \"$VERSION\" and .device.manufacturer == \"coapbridge\" and (.device | has(\"via_device\") | not)" "$d"
d=$(doc "$T_UP")
check_json "gateway messages up: stats JSON and template" ".state_topic == \"$B/bridge/stats\" and .value_template == \"{{ value_json.messages_up }}\" and .state_class == \"total_increasing\" and .entity_category == \"diagnostic\"" "$d"
for k in messages_down queue devices_seen devices_online; do
	check_true "gateway entity $k announced" mqtt_wait_topic disc "$P/sensor/coapbridge_itest/$k/config" 1 1
done

# Retained: a late subscriber gets every config.
retained_configs() {
	mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t "$P/+/+/+/config" --retained-only \
		-W 2 -F '%r %t' 2>/dev/null | sort
}
dump=$(retained_configs)
for t in "$T_TEMP" "$T_DOOR" "$T_LED" "$T_LAMP" "$T_SP" "$T_BTN" "$T_CONN" "$T_UP"; do
	check_true "retained: $t" grep -qxF "1 $t" <<<"$dump"
done

# -- stale entities at start-up ---------------------------------------
check_true "stale entity of this gateway deleted (empty retained)" \
	wait_until 10 retained_is "$T_STALE" ""
check_true "the deletion was an empty message on the config topic" \
	wait_lines "$WORK/sub-disc.raw" "^M\\|$(re_escape "$T_STALE") \$" 1 5
check_eq "another system's config is left alone" '{"unique_id":"z2m_0x1234_x"}' \
	"$(mqtt_retained "$P/sensor/other/x/config")"
check_eq "another gateway's config is left alone" '{"unique_id":"coapbridge:itest2:a:b"}' \
	"$(mqtt_retained "$P/sensor/itest2_a/b/config")"
check_eq "the retained status did not re-announce" 1 "$(mqtt_payloads disc "$T_LED" | wc -l)"

# -- stats -------------------------------------------------------------
stats_there() { [ -n "$(mqtt_retained "$B/bridge/stats")" ]; }
wait_until 10 stats_there
check_json "stats: every figure a number" '(.messages_up|type) == "number" and (.messages_down|type) == "number" and (.queue|type) == "number" and (.devices_seen|type) == "number" and (.devices_online|type) == "number"' \
	"$(mqtt_retained "$B/bridge/stats")"

# -- availability, CBOR -> JSON and SenML split -----------------------
check_eq "kitchen starts offline" offline "$(mqtt_retained "$B/kitchen/availability")"
# {"t": 21.5} as CBOR (content-format 60), 21.5 as a half float f94d60
check_answer "CBOR reading: 2.04" "ACK 2.04" "$(gw_req -m POST -p sensors/temp -c 60 -E a16174f94d60)"
check_true "CBOR reading published as JSON" mqtt_wait_topic state home/kitchen/temp 1 5
check_json "the JSON reading" '.t == 21.5' "$(mqtt_payloads state home/kitchen/temp | tail -n 1)"
check_eq "retained as the route says" '{"t":21.5}' "$(mqtt_retained home/kitchen/temp)"
check_true "kitchen online after its reading" \
	wait_lines "$WORK/sub-state.raw" "^M\\|$B/kitchen/availability online\$" 1 5
check_answer "malformed CBOR: 4.00" "ACK 4.00" "$(gw_req -m POST -p sensors/temp -c 60 -E a16174)"
check_answer "SenML JSON pack: 2.04" "ACK 2.04" \
	"$(gw_req -m POST -p pack -c 110 -e '[{"bn":"n1/","n":"temp","u":"Cel","v":21.5},{"n":"open","vb":true}]')"
check_true "SenML record 1 on its topic" mqtt_wait_topic state home/kitchen/n1/temp 1 5
check_true "SenML record 2 on its topic" mqtt_wait_topic state home/kitchen/n1/open 1 5
check_eq "SenML number as text" 21.5 "$(mqtt_payloads state home/kitchen/n1/temp)"
check_eq "SenML boolean as text" true "$(mqtt_payloads state home/kitchen/n1/open)"
check_answer "a SenML record with a wildcard name: 4.00" "ACK 4.00" \
	"$(gw_req -m POST -p pack -c 110 -e '[{"n":"a","v":1},{"n":"b+","v":2}]')"
check_eq "...and none of its records published" "" "$(mqtt_payloads state home/kitchen/a)"
# No more requests from the kitchen: within its availability_timeout (2 s)
# plus a tick it must go offline, and stay so (retained).
check_true "kitchen offline after availability_timeout (2 s)" \
	wait_until 10 retained_is "$B/kitchen/availability" offline
check_true "...announced live too" \
	wait_lines "$WORK/sub-state.raw" "^M\\|$B/kitchen/availability offline\$" 2 5

# -- end to end: switch command -> CoAP PUT -> state back ---------------
mqtt_pub -q 1 -t home/relay/led/set -m 1
check_true "relay got PUT led 1" wait_lines "$WORK/relay.log" '^PUT led pl=1$' 1 5
check_true "state 1 back on the state topic" \
	wait_lines "$WORK/sub-state.raw" '^M\|home/relay/led/state 1$' 1 5
mqtt_pub -q 1 -t home/relay/led/set -m 0
check_true "relay got PUT led 0" wait_lines "$WORK/relay.log" '^PUT led pl=0$' 1 5
check_true "state 0 back on the state topic" \
	wait_lines "$WORK/sub-state.raw" '^M\|home/relay/led/state 0$' 1 5
check_true "relay online: its answer is a sign of life" \
	wait_lines "$WORK/sub-state.raw" "^M\\|$B/relay/availability online\$" 1 5

# -- Home Assistant's birth re-announces everything ----------------------
mqtt_pub -q 1 -t "$P/status" -m online
check_true "re-announced on $P/status online" mqtt_wait_topic disc "$T_LED" 2 5
check_true "gateway entities too" mqtt_wait_topic disc "$T_CONN" 2 5

# -- reload: removed -> deleted, changed -> re-announced, same -> untouched
n_temp=$(mqtt_payloads disc "$T_TEMP" | wc -l)
# A subscriber of its own sees the reload's announcements and then a
# reading sent after them: the gateway publishes in order, so whatever the
# reload announced has arrived once the reading has.
SUB_FMT='%t %p' mqtt_sub order 1000 60 -q 1 -t "$P/+/+/+/config" -t 'home/kitchen/n2/#'
write_config "Kitchen temperature" no
kill -HUP "$GW_PID"
check_true "reload: removed entity deleted" \
	wait_lines "$WORK/sub-disc.raw" "^M\\|$(re_escape "$T_DOOR") \$" 1 10
check_eq "reload: its retained config is gone" "" "$(mqtt_retained "$T_DOOR")"
check_true "reload: changed entity re-announced" mqtt_wait_topic disc "$T_TEMP" $((n_temp + 1)) 5
check_json "reload: with its new name" '.name == "Kitchen temperature"' "$(doc "$T_TEMP")"
check_json "reload: retained with its new name" '.name == "Kitchen temperature"' "$(mqtt_retained "$T_TEMP")"
check_true "reload: changed entity re-announced (late subscriber)" mqtt_wait_topic order "$T_TEMP" 2 5
check_answer "a reading after the reload: 2.04" "ACK 2.04" \
	"$(gw_req -m POST -p pack -c 110 -e '[{"n":"n2/mark","v":1}]')"
check_true "the reading arrived" mqtt_wait_topic order home/kitchen/n2/mark 1 5
# The late subscriber got each retained config once; the reload added only
# the changed one and the deletion.
check_eq "reload: unchanged entity not re-announced" 1 "$(mqtt_payloads order "$T_LED" | wc -l)"
check_eq "reload: unchanged gateway entity not re-announced" 1 "$(mqtt_payloads order "$T_CONN" | wc -l)"

stop_gateway
check_eq "clean stop" 0 "$GW_STATUS"
check_eq "configs stay retained across a stop" 1 \
	"$(mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t "$T_LED" --retained-only -W 1 -F '%r' 2>/dev/null)"

# -- stale entities announced by this very gateway in its previous run ----
# (same MQTT client id: with MQTT v5 the scan subscribes with No Local,
# which must not hide the broker's retained copies of our own configs)
write_config "Kitchen temperature" yes
start_gateway "$WORK/gw.conf"
check_true "run 2: door announced again" wait_until 10 retained_is_not_empty "$T_DOOR"
stop_gateway
write_config "Kitchen temperature" no
start_gateway "$WORK/gw.conf"
check_true "run 3: the door it announced in run 2 is deleted at start-up" \
	wait_until 10 retained_is "$T_DOOR" ""
check_true "run 3: the others stay" retained_is_not_empty "$T_LED"
stop_gateway

# -- disabled since the last run: its entities and stats go at start-up --
sed -i 's/^  enabled = true;/  enabled = false;/' "$WORK/gw.conf"
start_gateway "$WORK/gw.conf"
check_true "run 4 (disabled): the LED it announced before is deleted" \
	wait_until 10 retained_is "$T_LED" ""
check_true "run 4: the gateway's own entities too" wait_until 5 retained_is "$T_CONN" ""
check_true "run 4: the retained stats too" wait_until 5 retained_is "$B/bridge/stats" ""
check_eq "run 4: another system's config is still left alone" '{"unique_id":"z2m_0x1234_x"}' \
	"$(mqtt_retained "$P/sensor/other/x/config")"
stop_gateway
finish
