#!/usr/bin/env bash
# The README's demo: install what is missing, build, then run a private
# mosquitto on loopback, the gateway, a simulated CoAP temperature sensor
# (coapbridge-client posting readings) and a simulated CoAP actuator
# (libcoap's coap-server-notls on [::1]), print every MQTT message, and send
# the actuator one command from the MQTT side. Stops on Ctrl-C or after
# DEMO_SECONDS (default 60).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh

build=build-demo
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target coapbridge coapbridge-client freeport >/dev/null

work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

freeport="$build/tests/tools/freeport"
mqtt_port=$($freeport)
coap_port=$($freeport)
dev_port=$($freeport)

# A private broker: loopback only, nothing persisted.
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$mqtt_port" >"$work/mosquitto.conf"
mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do
	mosquitto_pub -h 127.0.0.1 -p "$mqtt_port" -t demo/ping -n 2>/dev/null && break
	sleep 0.1
done

# The sensor sends from 127.0.0.1, the actuator listens on [::1]: two
# devices, told apart by source address, one over IPv4 and one over IPv6.
sed -e "s/@MQTT_PORT@/$mqtt_port/; s/@COAP_PORT@/$coap_port/g; s/@DEV_PORT@/$dev_port/" \
	conf/examples/demo.conf.in >"$work/coapbridge.conf"

echo "== MQTT traffic on 127.0.0.1:$mqtt_port (mosquitto_sub -v -t '#')"
mosquitto_sub -h 127.0.0.1 -p "$mqtt_port" -v -t '#' &
pids+=($!)

coap-server-notls -A ::1 -p "$dev_port" -v 0 &
pids+=($!)

"$build/src/gw/coapbridge" -c "$work/coapbridge.conf" &
pids+=($!)
sleep 1

client="$build/src/client/coapbridge-client"
(
	t=20.0
	while :; do
		t=$(awk -v t="$t" 'BEGIN { srand(); printf "%.1f", t + (rand() - 0.5) }')
		"$client" post -p "$t" "coap://127.0.0.1:$coap_port/sensors/temperature" >/dev/null || true
		sleep 2
	done
) &
pids+=($!)

sleep 4
echo "== command: PUT 'on' to the actuator's /example_data via coapbridge/actuator/example_data/set"
mosquitto_pub -h 127.0.0.1 -p "$mqtt_port" -t coapbridge/actuator/example_data/set -m on
sleep 2
echo "== command: GET the actuator's /time via coapbridge/actuator/time/get"
mosquitto_pub -h 127.0.0.1 -p "$mqtt_port" -t coapbridge/actuator/time/get -n

sleep "${DEMO_SECONDS:-60}"
