#!/usr/bin/env bash
# Every row of the spec's "CoAP answers the gateway gives" table (except the
# full queue: test_bridge_queue_full.sh), the loop-prevention 4.04 of the
# default layout, and that refused requests publish nothing.
. "$(dirname "$0")/lib.sh"

start_broker
COAP_PORT=$(free_port)
DEV_PORT=$(free_port)

cat >"$WORK/gw.conf" <<EOF
gateway = { id = "itest"; base_topic = "$B"; default_routes = true; };
coap = {
  listen = [ "127.0.0.1:$COAP_PORT" ];
  max_message_size = 256;
};
mqtt = { host = "127.0.0.1"; port = $MQTT_PORT; protocol = "v3.1.1"; };
devices = ( { name = "dev1"; address = "127.0.0.1"; port = $DEV_PORT; } );
routes = {
  uplink = ( { path = "act/+"; methods = [ "PUT" ]; topic = "acts/{1}"; qos = 0; } );
};
EOF

start_gateway "$WORK/gw.conf"
# Everything the gateway publishes, except its own and the devices' state.
mqtt_sub all 100 60 -t "$B/#" -t 'acts/#' -T "$B/bridge/state" -T "$B/dev1/availability"

# 2.04: published, under the default layout, CON and NON.
check_answer "CON POST published: 2.04" "ACK 2.04" "$(gw_req -m POST -T a1 -p data/x -e 1)"
check_answer "NON POST published: NON 2.04" "NON 2.04" "$(gw_req -N -m POST -T a2 -p data/non -e 2)"
check_answer "PUT allowed by an explicit route: 2.04" "ACK 2.04" "$(gw_req -m PUT -p act/a -e 3)"

# 4.05: the explicit route act/+ allows PUT only; POST must not fall
# through to the default layout (which would accept it).
check_answer "POST on a PUT-only route: 4.05" "ACK 4.05" "$(gw_req -m POST -p act/a -e no)"
check_answer "GET on a PUT-only route: 4.05" "ACK 4.05" "$(gw_req -m GET -p act/b)"

# 4.03: 127.0.0.2 is a loopback address that is not a configured device.
check_answer "unknown device, not allowed: 4.03" "ACK 4.03" \
	"$(gw_req -s 127.0.0.2 -m POST -p data/x -e no)"

# 4.00: path segments that would inject topic wildcards or break levels.
check_answer "segment with +: 4.00" "ACK 4.00" "$(gw_req -m POST -p 'data/a+b' -e no)"
check_answer "segment that is +: 4.00" "ACK 4.00" "$(gw_req -m POST -p 'data/+/x' -e no)"
check_answer "segment with #: 4.00" "ACK 4.00" "$(gw_req -m POST -p 'data/%23' -e no)"
check_answer "segment with NUL: 4.00" "ACK 4.00" "$(gw_req -m POST -p 'data/a%00b' -e no)"
check_answer "empty segment inside: 4.00" "ACK 4.00" "$(gw_req -m POST -p 'data//x' -e no)"
check_answer "empty last segment: 4.00" "ACK 4.00" "$(gw_req -m POST -p 'data/x/' -e no)"
check_answer "+ in an explicit route's segment: 4.00" "ACK 4.00" "$(gw_req -m PUT -p 'act/+' -e no)"

# 4.13 with Size1: max_message_size is 256 bytes. A datagram of exactly 256
# bytes is accepted, one byte more is refused (CON: ACK, NON: NON).
check_answer "request of exactly max_message_size: 2.04" "ACK 2.04" \
	"$(gw_req -m POST -p size/ok -z 256)"
for kind in CON NON; do
	if [ "$kind" = CON ]; then flag=; exp=ACK; else flag=-N; exp=NON; fi
	# shellcheck disable=SC2086 # $flag is empty or one word
	got=$(gw_req $flag -m POST -T 0b -p size/big -z 257)
	check_match "$kind request of max_message_size+1: $exp 4.13 with Size1" \
		"^$exp 4\.13 Size1=[0-9]+( pl=.*)?$" "$got"
	size1=$(sed -n 's/.*Size1=\([0-9]*\).*/\1/p' <<<"$got")
	check_true "$kind 4.13: 0 < Size1 <= 256 (got '$size1')" \
		test "${size1:-0}" -gt 0 -a "${size1:-0}" -le 256
done
check_match "much larger datagram (4000 bytes): 4.13 with Size1" \
	'^ACK 4\.13 Size1=[0-9]+( pl=.*)?$' "$(gw_req -m POST -p size/huge -z 4000)"

# 4.02: an unrecognised critical option (odd number, RFC 7252 §5.4.1); an
# unrecognised elective one (even) is ignored.
check_answer "unknown critical option 9: 4.02" "ACK 4.02" "$(gw_req -m POST -p data/crit -O 9,01 -e no)"
check_answer "unknown critical option 65001: 4.02" "ACK 4.02" \
	"$(gw_req -m POST -p data/crit -O 65001, -e no)"
check_answer "NON with unknown critical option: rejected, no answer (§4.3)" "none" \
	"$(REQ_WAIT_MS=500 gw_req -N -m POST -T 0c -p data/crit -O 9,01 -e no)"
check_answer "unknown elective option 10: ignored, 2.04" "ACK 2.04" \
	"$(gw_req -m POST -p data/elective -O 10,01 -e 4)"

# Loop prevention: under the default layout a path ending in a command or
# result segment would publish onto a topic the gateway itself consumes.
for last in set get post result availability; do
	check_answer "uplink path ending in /$last: 4.04" "ACK 4.04" \
		"$(gw_req -m POST -p "data/$last" -e no)"
done
check_answer "uplink path that is just 'set': 4.04" "ACK 4.04" "$(gw_req -m PUT -p set -e no)"
check_answer "'set' not last: 2.04" "ACK 2.04" "$(gw_req -m POST -p data/set/x -e 5)"
check_answer "last segment 'settings': 2.04" "ACK 2.04" "$(gw_req -m POST -p data/settings -e 6)"

# CoAP ping: an empty CON gets RST with its message id.
check_eq "empty CON (ping): RST" "RST 0.00" "$(gw_raw 40001234)"

# Malformed datagrams whose header can be read: a CON gets RST (rawcoap
# flags a message id mismatch), the same as a NON gets nothing.
declare -A malformed=(
	[tkl9]=49021234010203040506070809
	[tkl15]=4f021234
	[delta_nibble15]=40021234b161f162
	[length_nibble15]=40021234bf61
	[marker_no_payload]=40021234b161ff
	[truncated_option]=40021234b56162
	[truncated_ext_delta]=40021234d1
	[truncated_token]=44021234aabb
)
for name in "${!malformed[@]}"; do
	check_eq "malformed CON ($name): RST" "RST 0.00" "$(gw_raw "${malformed[$name]}")"
done

# Silence cases run side by side: each waits for an answer that must not come.
declare -A silent=(
	[version2_con]=80021234b161ff31
	[version0_con]=00021234b161ff31
	[version3_ping]=c0001234
	[short_header]=4002
	[one_byte]=40
)
for name in "${!malformed[@]}"; do
	silent[non_$name]=5${malformed[$name]:1}
done
pids=()
for name in "${!silent[@]}"; do
	"$RAWCOAP" -w 700 "$COAP_HOST" "$COAP_PORT" "${silent[$name]}" >"$WORK/silent-$name" &
	pids+=($!)
done
wait "${pids[@]}"
for name in "${!silent[@]}"; do
	check_eq "silently dropped: $name" "none" "$(cat "$WORK/silent-$name")"
done
check_eq "still alive after the malformed datagrams" "RST 0.00" "$(gw_raw 40004321)"

# Exactly the accepted requests were published, in order.
pad=$(printf 'x%.0s' $(seq 243)) # 256 - 4 header - 5 "size" - 3 "ok" - 1 marker
expected="$B/dev1/data/x 1
$B/dev1/data/non 2
acts/a 3
$B/dev1/size/ok $pad
$B/dev1/data/elective 4
$B/dev1/data/set/x 5
$B/dev1/data/settings 6"
# data/settings was the last accepted request: anything published by
# mistake for an earlier refused one would show up before it.
wait_lines "$WORK/sub-all.raw" "^M\\|$B/dev1/data/settings 6\$" 1 5
check_eq "published exactly the accepted requests, in order" "$expected" "$(mqtt_stop all)"

finish
