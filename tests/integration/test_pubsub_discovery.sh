#!/usr/bin/env bash
# .well-known/core (RFC 6690) of a gateway whose devices have many long
# literal topics: the document is larger than a block and is sent
# block-wise (RFC 7959 §2), listing every link the config gives the asking
# device. dev1 has 46 topics of ~80 characters (about 5 KiB of links;
# a 4 KiB document used to make discovery answer 5.00). dev3's 250 topics
# (about 33 KiB) pass the gateway's 16 KiB document limit: discovery still
# answers 2.05 with the links that fit, each one whole, and says once
# in the log what it left out. A topic with bytes a URI path cannot hold
# (space, '?', '%', '>') is listed percent-encoded (RFC 3986 §2.1). A
# reload sizes the document anew. Each document has an ETag, the same in
# every block and changed when a reload changes the document.
. "$(dirname "$0")/lib.sh"

start_broker
COAP_PORT=$(free_port)

# "topics PREFIX N": N quoted topics PREFIX-1 .. PREFIX-N, comma-separated.
topics() {
	local i out=""
	for ((i = 1; i <= $2; i++)); do
		out+="\"$1-$i/state\","
	done
	printf '%s' "${out%,}"
}
DEV1_PREFIX=home/kitchen/sensor-with-a-fairly-long-descriptive-name-number
DEV3_PREFIX=home/garden/irrigation-valve-with-an-even-longer-descriptive-name-and-zone-number
cat >"$WORK/gw.conf" <<EOF
gateway = { id = "itest"; base_topic = "$B"; };
coap = { listen = [ "127.0.0.1:$COAP_PORT" ]; allow_unknown_devices = true; };
mqtt = { host = "127.0.0.1"; port = $MQTT_PORT; qos = 1; };
devices = (
  { name = "dev1"; address = "127.0.0.1";
    publish = [ "pub/one", "pub/#" ];
    subscribe = [ $(topics "$DEV1_PREFIX" 46), "sub/+", "odd topic?x%y>z" ]; },
  { name = "dev3"; address = "127.0.0.3";
    subscribe = [ $(topics "$DEV3_PREFIX" 250) ]; }
);
routes = {
  uplink = ( { path = "up/temp"; topic = "up/temp"; },
             { path = "up/+"; topic = "up/{1}"; } );
};
EOF

start_gateway "$WORK/gw.conf"

# The hrefs of a link-format document, one per line, in order.
hrefs() {
	tr ',' '\n' | sed -n 's/^<\([^>]*\)>.*/\1/p'
}

# ---- dev1: every link, block-wise ----
first=$(gw_req -p .well-known/core)
# Block2 14: block 0, M=1, 1024 bytes (RFC 7959 §2.2).
check_match "dev1: the first block is a 2.05 with more to come" \
	'^ACK 2\.05 ETag=[^ ]+ Content-Format=40 Block2=14 Size2=[0-9]+ pl=</ps>;rt="core\.ps",' "$first"
size2=$(sed -n 's/.* Size2=\([0-9]*\) .*/\1/p' <<<"$first")
# etag LINE: the ETag of a rawcoap answer line.
etag() {
	sed -n 's/.* ETag=\([^ ]*\) .*/\1/p' <<<"$1"
}
etag1=$(etag "$first")
check_match "dev1: the document has a 4-byte ETag" '^(0x[0-9a-f]{8}|.{4})$' "$etag1"
second=$(gw_req -p .well-known/core -O 23,1e)
check_match "dev1: block 1 is the next 1024 bytes" ' Block2=30 ' "$second"
check_eq "dev1: block 1 carries the same ETag (RFC 7959 §2.4)" "$etag1" "$(etag "$second")"
check_eq "dev1: the same document again, the same ETag" "$etag1" \
	"$(etag "$(gw_req -p .well-known/core)")"
doc=$(coap-client-notls -B 5 "$(coap_uri .well-known/core)" 2>&1)
check_eq "dev1: the whole document is Size2 bytes" "$size2" "${#doc}"
expected="/ps
/ps/pub/one"
for ((i = 1; i <= 46; i++)); do
	expected+=$'\n'"/ps/$DEV1_PREFIX-$i/state"
done
expected+=$'\n'"/ps/odd%20topic%3Fx%25y%3Ez"
expected+=$'\n'"/up/temp"
check_eq "dev1: /ps, the literal topics in order (percent-encoded where needed), the literal route" \
	"$expected" "$(hrefs <<<"$doc")"
check_eq "dev1: each subscribe topic is observable" "46" \
	"$(tr ',' '\n' <<<"$doc" | grep -c "^</ps/$(re_escape "$DEV1_PREFIX")-[0-9]*/state>;rt=\"core.ps.data\";obs\$")"
out=$(coap-client-notls -B 5 "$(coap_uri '.well-known/core?href=/ps/pub*')" 2>&1)
check_eq "dev1: a filter still applies" '</ps/pub/one>;rt="core.ps.data"' "$out"
check_no_match "dev1: nothing left out, nothing logged" 'links left out' "$(cat "$GW_LOG")"

# ---- dev3: past the document limit, whole links left out ----
doc3=$(coap-client-notls -a 127.0.0.3 -B 5 "$(coap_uri .well-known/core)" 2>&1)
check_true "dev3: a document of at most 16384 bytes" test "${#doc3}" -le 16384
check_true "dev3: and more than 16384 - one link" test "${#doc3}" -gt $((16384 - 120))
listed=$(hrefs <<<"$doc3" | grep -c "^/ps/$(re_escape "$DEV3_PREFIX")-")
check_true "dev3: well over 100 of its 250 topics listed ($listed)" test "$listed" -gt 100
check_true "dev3: not all of them ($listed)" test "$listed" -lt 250
expected="/ps"
for ((i = 1; i <= listed; i++)); do
	expected+=$'\n'"/ps/$DEV3_PREFIX-$i/state"
done
check_eq "dev3: /ps and the first topics in order" \
	"$expected" "$(hrefs <<<"$doc3" | grep -v '^/up/temp$')"
check_eq "dev3: every link is whole" "0" \
	"$(tr ',' '\n' <<<"$doc3" | grep -vcE '^</[^>]*>(;rt="core\.ps(\.data)?")?(;obs)?$')"
coap-client-notls -a 127.0.0.3 -B 5 "$(coap_uri .well-known/core)" >/dev/null 2>&1
check_eq "dev3: what was left out is logged once" "1" \
	"$(grep -c 'well-known/core for dev3: .* links left out' "$GW_LOG")"

# ---- an unknown device: /ps and the routes ----
out=$(gw_req -s 127.0.0.2 -p .well-known/core)
check_match "an unknown device: /ps and the literal route, in one block" \
	'^ACK 2\.05 ETag=[^ ]+ Content-Format=40 pl=</ps>;rt="core\.ps",</up/temp>$' "$out"
check_true "an unknown device: its document has its own ETag" \
	test "$(etag "$out")" != "$etag1"

# ---- a reload sizes the document for the new config ----
# dev1 gets 350 short topics (about 14 KiB of links): more links than the
# old config's table holds (dev3's 251 and /ps), within the 16 KiB limit.
sed -i "s|$(topics "$DEV1_PREFIX" 46)|$(topics s 350)|" "$WORK/gw.conf"
kill -HUP "$GW_PID"
wait_until 10 grep -q 'reloaded:' "$GW_LOG" || _not_ok "SIGHUP reloads" "no 'reloaded' in the log"
doc=$(coap-client-notls -B 5 "$(coap_uri .well-known/core)" 2>&1)
check_eq "after SIGHUP: dev1's 350 topics are all listed" "350" \
	"$(hrefs <<<"$doc" | grep -c '^/ps/s-[0-9]*/state$')"
check_eq "after SIGHUP: nothing left out for dev1" "0" \
	"$(grep -c 'well-known/core for dev1' "$GW_LOG")"
etag2=$(etag "$(gw_req -p .well-known/core)")
check_true "after SIGHUP: dev1's changed document has a new ETag ($etag1, $etag2)" \
	test -n "$etag2" -a "$etag2" != "$etag1"

finish
