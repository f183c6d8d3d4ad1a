#!/usr/bin/env bash
# Large uplink payloads travel block-wise (RFC 7959 Block1): a 4 KiB JSON
# posted by libcoap's client in 64-byte blocks arrives as ONE MQTT message
# equal to the file, under the default layout and over ps/, CON and NON;
# a body above the gateway's limit is refused with 4.13 and never
# published in part.
. "$(dirname "$0")/lib.sh"

start_broker
COAP_PORT=$(free_port)

cat >"$WORK/gw.conf" <<EOF
gateway = { id = "itest"; base_topic = "$B"; };
coap = { listen = [ "127.0.0.1:$COAP_PORT" ]; };
mqtt = { host = "127.0.0.1"; port = $MQTT_PORT; };
devices = ( { name = "dev1"; address = "127.0.0.1"; publish = [ "cfg/#" ]; } );
EOF

# A 4 KiB JSON document (exactly 4096 bytes, no newline) whose content
# differs at every offset, so a block out of place would show.
{
	printf '{"device":"dev1","data":"'
	seq -w 0 9999 | tr -d '\n' | head -c 4069
	printf '"}'
} >"$WORK/4k.json"
[ "$(wc -c <"$WORK/4k.json")" -eq 4096 ] || die "4k.json is $(wc -c <"$WORK/4k.json") bytes"
jq -e . "$WORK/4k.json" >/dev/null || die "4k.json is not JSON"
# 20000 bytes: above the gateway's body limit.
head -c 20000 /dev/zero | tr '\0' y >"$WORK/big.bin"

start_gateway "$WORK/gw.conf"
SUB_FMT='%t %l' mqtt_sub all 100 60 -t "$B/dev1/#" -t 'cfg/#' -T "$B/dev1/availability"
# Each message's payload, to compare byte for byte; mqtt_sub returns once
# the subscription is in place, so the first message cannot slip past.
SUB_FMT='%p' mqtt_sub payloads 3 60 -t "$B/dev1/config" -t 'cfg/#'

out=$(coap-client-notls -B 10 -b 64 -m post -f "$WORK/4k.json" "$(coap_uri config)" 2>&1)
check_eq "CON POST of 4 KiB in 64-byte blocks: no error printed" "" "$out"
out=$(coap-client-notls -B 10 -b 256 -N -m put -f "$WORK/4k.json" "$(coap_uri ps/cfg/whole)" 2>&1)
check_eq "NON PUT of 4 KiB to ps/ in 256-byte blocks: no error printed" "" "$out"
out=$(coap-client-notls -B 10 -b 1024 -m post -f "$WORK/4k.json" "$(coap_uri config)" 2>&1)
check_eq "CON POST of 4 KiB in 1024-byte blocks: no error printed" "" "$out"
out=$(coap-client-notls -B 10 -b 1024 -m post -f "$WORK/big.bin" "$(coap_uri toobig)" 2>&1)
check_match "a 20000-byte body: 4.13" '4\.13' "$out"

wait_lines "$WORK/sub-all.raw" '^M\|' 3 10
check_eq "three whole messages, nothing published in part" \
	"$B/dev1/config 4096
cfg/whole 4096
$B/dev1/config 4096" "$(mqtt_stop all)"
expected=$(cat "$WORK/4k.json" "$WORK/4k.json" "$WORK/4k.json")
check_true "each message is the file, byte for byte" \
	test "$expected" = "$(mqtt_wait payloads | tr -d '\n')"

finish
