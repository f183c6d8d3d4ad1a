#!/usr/bin/env bash
# Conformance, server side: each test description of tds.txt that applies
# to a server, run against coapbridge-plugtest-server (the ucoap core as
# the server). The stimulus comes from libcoap's coap-client-notls where it
# can express it, else from rawcoap (tests/tools) or obspeer (a scripted
# observer/duplicating peer); the checks read the messages on the wire.
# shellcheck source=tests/conformance/lib.sh
. "$(dirname "$0")/lib.sh"
command -v coap-client-notls >/dev/null || die "coap-client-notls missing (libcoap3-bin)"

# "main" changes its observable resources every 300 ms; "fast" also
# retransmits after 100 ms (ACK_TIMEOUT), for the give-up checks.
start_plugtest main -i 300
start_plugtest fast -i 300 -a 100
P=${SRV_PORT[main]}
U=coap://127.0.0.1:$P
LC="coap-client-notls"
raw() { "$RAWCOAP" "$@" 127.0.0.1 "$P"; }
peer() { "$OBSPEER" "$@" 127.0.0.1 "$P"; }
fpeer() { "$OBSPEER" "$@" 127.0.0.1 "${SRV_PORT[fast]}"; }
ACK205="^v:1 t:ACK c:2\.05 "

# ---- RFC 7252 ----------------------------------------------------------------

td TD_COAP_CORE_01 server "$LC GET"
exchange c01 -m get "$U/test"
check "request carries a token" '^[0-9a-f]+$' "$T"
check "ACK 2.05, same MID and token, Content-Format, payload" \
	"^v:1 t:ACK c:2\.05 i:$M \{$T\} \[ .*Content-Format:text/plain.* \] :: '.+'$" "$A"
td_end

td TD_COAP_CORE_02 server "$LC DELETE"
exchange c02 -m delete "$U/test"
check "ACK 2.02, same MID and token" "^v:1 t:ACK c:2\.02 i:$M \{$T\} " "$A"
td_end

td TD_COAP_CORE_03 server "$LC PUT"
exchange c03 -m put -t 0 -e "put payload" "$U/test"
check "request has Content-Format and payload" "Content-Format:text/plain.* :: 'put payload'" "$Q"
check "ACK 2.01 or 2.04, same MID and token" "^v:1 t:ACK c:2\.0[14] i:$M \{$T\} " "$A"
td_end

td TD_COAP_CORE_04 server "$LC POST"
exchange c04 -m post -t 0 -e "post payload" "$U/test"
check "ACK 2.01 or 2.04, same MID and token" "^v:1 t:ACK c:2\.0[14] i:$M \{$T\} " "$A"
td_end

td TD_COAP_CORE_05 server "$LC -N GET"
exchange c05 -N -m get "$U/test"
check "request is NON" '^v:1 t:NON c:GET ' "$Q"
check "NON 2.05, same token, Content-Format" "^v:1 t:NON c:2\.05 i:[0-9a-f]+ \{$T\} \[ .*Content-Format:" "$A"
td_end

td TD_COAP_CORE_06 server "$LC -N DELETE"
exchange c06 -N -m delete "$U/test"
check "NON 2.02, same token" "^v:1 t:NON c:2\.02 i:[0-9a-f]+ \{$T\} " "$A"
td_end

td TD_COAP_CORE_07 server "$LC -N PUT"
exchange c07 -N -m put -t 0 -e "non put" "$U/test"
check "NON 2.01 or 2.04, same token" "^v:1 t:NON c:2\.0[14] i:[0-9a-f]+ \{$T\} " "$A"
td_end

td TD_COAP_CORE_08 server "$LC -N POST"
exchange c08 -N -m post -t 0 -e "non post" "$U/test"
check "NON 2.01 or 2.04, same token" "^v:1 t:NON c:2\.0[14] i:[0-9a-f]+ \{$T\} " "$A"
td_end

# /separate: the empty ACK first, the CON answer about a second later.
separate_checks() {
	local name=$1 ack resp smid
	ack=$(first "$name" "^v:1 t:ACK c:0\.00 i:$M ")
	check "empty ACK with the request's MID" "^v:1 t:ACK c:0\.00 i:$M \{\} \[ \]$" "$ack"
	check "no piggybacked answer" '^$' "$(first "$name" "^v:1 t:ACK c:[2-5]\.")"
	resp=$(first "$name" '^v:1 t:CON c:2\.05 ')
	check "CON 2.05 with the token, Content-Format, payload" \
		"^v:1 t:CON c:2\.05 i:[0-9a-f]+ \{$T\} \[ .*Content-Format:text/plain.* \] :: '.+'$" "$resp"
	smid=$(sed -E 's/.* i:([0-9a-f]+) .*/\1/' <<<"$resp")
	check_not "server-generated MID" "^$M\$" "$smid"
	check "the client's ACK of it" "^v:1 t:ACK c:0\.00 i:$smid " "$(first "$name" "^v:1 t:ACK c:0\.00 i:${smid:-x} ")"
}

td TD_COAP_CORE_09 server "$LC GET /separate"
exchange c09 -m get "$U/separate"
separate_checks c09
td_end

td TD_COAP_CORE_10 server "$LC -T GET"
exchange c10 -T tok1 -m get "$U/test"
check "request token of 1-8 bytes" '^([0-9a-f]{2}){1,8}$' "$T"
check "ACK 2.05 echoing the token" "^v:1 t:ACK c:2\.05 i:$M \{$T\} \[ .*Content-Format:.* :: '.+'$" "$A"
td_end

td TD_COAP_CORE_11 server "$LC -T GET /separate"
exchange c11 -T sep1 -m get "$U/separate"
check "request token of 1-8 bytes" '^([0-9a-f]{2}){1,8}$' "$T"
separate_checks c11
td_end

td TD_COAP_CORE_12 server "rawcoap (empty token)"
a=$(raw -i 0x1234 -p test)
check "ACK 2.05, no token, Content-Format, payload" '^ACK 2\.05 Content-Format=0 pl=.+$' "$a"
td_end

td TD_COAP_CORE_13 server "$LC GET /seg1/seg2/seg3"
exchange c13 -m get "$U/seg1/seg2/seg3"
check "three Uri-Path options" 'Uri-Path:seg1, Uri-Path:seg2, Uri-Path:seg3 ' "$Q"
check "ACK 2.05 with payload" "^v:1 t:ACK c:2\.05 i:$M \{$T\} .* :: '/seg1/seg2/seg3'$" "$A"
td_end

td TD_COAP_CORE_14 server "$LC GET /query?..."
exchange c14 -m get "$U/query?first=1&second=2&third=3"
check "three Uri-Query options" 'Uri-Query:first=1, Uri-Query:second=2, Uri-Query:third=3' "$Q"
check "ACK 2.05 with payload" "^v:1 t:ACK c:2\.05 i:$M \{$T\} .* :: '.+'$" "$A"
td_end

td TD_COAP_CORE_15 server "$LC -l 1 (request lost); obspeer -D (response lost)"
# The first datagram is "lost": libcoap retransmits it with the same MID.
: >"$WORK/main.log"
exchange c15 -l 1 -m get "$U/test"
check "ACK 2.05 to the retransmission" "^v:1 t:ACK c:2\.05 i:$M \{$T\} " "$A"
check "the server saw one GET, with that MID" "^1 $((16#${M:-0}))\$" \
	"$(grep -c ' CON GET /test ' "$WORK/main.log") $(sed -nE 's/.* CON GET \/test mid=([0-9]+) .*/\1/p' "$WORK/main.log")"
# Its answer is "lost": the same datagram again gets the same answer
# from the duplicate cache, without running the handler twice.
: >"$WORK/main.log"
mapfile -t a < <(peer -P -p test -T 15 -D 300 -w 700 | grep -v '^> ')
check_eq "two answers" 2 "${#a[@]}"
check "ACK 2.05 with payload" '^ACK 2\.05 mid=[0-9]+ tok=15 Content-Format=0 pl=.+$' "${a[0]-}"
check_eq "the same answer twice" "${a[0]-}" "${a[1]-}"
check_eq "handler ran once" 1 "$(grep -c ' /test ' "$WORK/main.log")"
td_end

td TD_COAP_CORE_16 server "obspeer -D and -A (ACK_TIMEOUT 100 ms)"
# A lost request is retransmitted by the client: TD_COAP_CORE_15 shows
# the server's side of that.
# The empty ACK is "lost": the retransmitted request gets it again, and
# then the separate answer.
mapfile -t a < <(peer -P -p separate -T 16 -D 200 -w 1800 | grep -v '^> ')
check "empty ACK" '^ACK 0\.00 mid=[0-9]+ tok=$' "${a[0]-}"
check_eq "the same empty ACK for the duplicate" "${a[0]-}" "${a[1]-}"
check "then CON 2.05 with the token" '^CON 2\.05 mid=[0-9]+ tok=16 Content-Format=0 pl=.+$' "${a[2]-}"
check_eq "nothing more" 3 "${#a[@]}"
# The separate CON answer is "lost" (never ACKed): retransmitted with its MID.
mapfile -t a < <(fpeer -P -p separate -T 16 -A -n 3 -w 1500 | grep -v '^> ')
check "empty ACK" '^ACK 0\.00 mid=[0-9]+ tok=$' "${a[0]-}"
check "CON 2.05" '^CON 2\.05 mid=[0-9]+ tok=16 ' "${a[1]-}"
check_eq "retransmitted as it was (same MID)" "${a[1]-}" "${a[2]-}"
td_end

td TD_COAP_CORE_17 server "$LC -N GET /separate"
exchange c17 -N -m get "$U/separate"
check "no ACK" '^0$' "$(count c17 '^v:1 t:ACK ')"
check "NON 2.05, Content-Format, payload" "^v:1 t:NON c:2\.05 i:[0-9a-f]+ \{$T\} \[ .*Content-Format:text/plain.* \] :: '.+'$" "$A"
td_end

td TD_COAP_CORE_18 server "$LC POST"
exchange c18 -m post -t 0 -e "create" "$U/test"
check "2.01 with three Location-Path options" \
	"^v:1 t:ACK c:2\.01 i:$M \{$T\} \[ Location-Path:location1, Location-Path:location2, Location-Path:location3 \]" "$A"
td_end

td TD_COAP_CORE_19 server "$LC POST"
exchange c19 -m post -t 0 -e "create" "$U/location-query"
check "2.01 with two Location-Query options" \
	"^v:1 t:ACK c:2\.01 i:$M \{$T\} \[ Location-Query:first=1, Location-Query:second=2 \]" "$A"
td_end

td TD_COAP_CORE_20 server "$LC -A"
exchange c20a -A 0 "$U/multi-format"
check "Accept 0 sent" 'Accept:text/plain' "$Q"
check "2.05 text/plain" "^v:1 t:ACK c:2\.05 i:$M \{$T\} \[ Content-Format:text/plain \] :: '.+'$" "$A"
exchange c20b -A 41 "$U/multi-format"
check "2.05 application/xml" "^v:1 t:ACK c:2\.05 i:$M \{$T\} \[ Content-Format:application/xml \] :: '<.+'$" "$A"
exchange c20c -A 50 "$U/multi-format"
check "4.06 for another format" "^v:1 t:ACK c:4\.06 i:$M \{$T\} " "$A"
td_end

etag_of() { sed -nE 's/.*ETag:(0x[0-9a-f]+).*/\1/p' <<<"$1"; }
pl_of() { sed -nE "s/.* :: '(.*)'\$/\\1/p" <<<"$1"; }

td TD_COAP_CORE_21 server "$LC -O 4 (ETag)"
exchange c21a "$U/validate"
e1=$(etag_of "$A") p1=$(pl_of "$A")
check "2.05 with an ETag and payload" "^v:1 t:ACK c:2\.05 i:$M \{$T\} \[ ETag:0x[0-9a-f]+, .* :: '.+'$" "$A"
exchange c21b -O "4,${e1:-0x00}" "$U/validate"
check "2.03 Valid with the same ETag, no payload" "^v:1 t:ACK c:2\.03 i:$M \{$T\} \[ ETag:${e1:-none} \]$" "$A"
exchange c21c -m put -t 0 -e "validate: version from CORE_21 $RANDOM" "$U/validate"
check "update: 2.04" "^v:1 t:ACK c:2\.04 " "$A"
exchange c21d -O "4,${e1:-0x00}" "$U/validate"
check "2.05 with another ETag" "^v:1 t:ACK c:2\.05 i:$M \{$T\} \[ ETag:0x[0-9a-f]+," "$A"
check_not "the ETag changed" "ETag:${e1:-none}," "$A"
check_not "the payload changed" "^${p1:-none}\$" "$(pl_of "$A")"
td_end

td TD_COAP_CORE_22 server "$LC -O 1 (If-Match)"
exchange c22a "$U/validate"
e1=$(etag_of "$A")
exchange c22b -m put -t 0 -O "1,${e1:-0x00}" -e "if-match update 1" "$U/validate"
check "PUT If-Match ETAG1: 2.04" "^v:1 t:ACK c:2\.04 i:$M \{$T\} " "$A"
exchange c22c "$U/validate"
e2=$(etag_of "$A")
check "2.05 with a new ETag and the payload sent" "^v:1 t:ACK c:2\.05 i:$M \{$T\} \[ ETag:0x[0-9a-f]+, .* :: 'if-match update 1'$" "$A"
check_not "ETAG2 differs from ETAG1" "^${e1:-none}\$" "$e2"
exchange c22d -m put -t 0 -e "if-match update 2" "$U/validate"
check "another PUT: 2.04" "^v:1 t:ACK c:2\.04 " "$A"
exchange c22e -m put -t 0 -O "1,${e2:-0x00}" -e "if-match update 3" "$U/validate"
check "PUT If-Match ETAG2: 4.12" "^v:1 t:ACK c:4\.12 i:$M \{$T\} " "$A"
exchange c22f "$U/validate"
check "not updated" "'if-match update 2'\$" "$A"
td_end

td TD_COAP_CORE_23 server "$LC -O 5 (If-None-Match)"
exchange c23a -m put -t 0 -O 5, -e "created once" "$U/create1"
check "If-None-Match sent" 'If-None-Match:' "$Q"
check "first PUT: 2.01" "^v:1 t:ACK c:2\.01 i:$M \{$T\} " "$A"
exchange c23b -m put -t 0 -O 5, -e "created twice" "$U/create1"
check "second PUT: 4.12" "^v:1 t:ACK c:4\.12 i:$M \{$T\} " "$A"
exchange c23c "$U/create1"
check "the first body stays" "'created once'\$" "$A"
exchange c23d -m delete "$U/create1"
td_end

td TD_COAP_CORE_31 server "rawcoap (empty CON)"
a=$(raw -x -i 0x7c31 -m EMPTY)
check_eq "4-byte RST, same MID" 70007c31 "$a"
td_end

# ---- RFC 7641 ------------------------------------------------------------------

# obs_checks NAME TYPE: the registration's answer and the notifications in
# trace NAME (from lc -s): same token, same Content-Format, increasing
# Observe, TYPE (CON or NON) notifications, each CON one ACKed.
obs_checks() {
	local name=$1 type=$2 n prev=-1 o ok=1 line nmid
	check "registration carries Observe 0" 'Observe:0' "$Q"
	check "answer 2.05 with Observe, Content-Format, the token" \
		"^v:1 t:(ACK|NON) c:2\.05 i:[0-9a-f]+ \{$T\} \[ Observe:[0-9]+, Content-Format:text/plain \] :: '.+'$" "$A"
	n=$(count "$name" "^v:1 t:$type c:2\.05 i:[0-9a-f]+ \{$T\} \[ Observe:[0-9]+, Content-Format:text/plain \]")
	check "two or more $type notifications" '^([2-9]|[1-9][0-9]+)$' "$n"
	while read -r o; do
		[ "$o" -gt "$prev" ] || ok=0
		prev=$o
	done < <(grep -E "^v:1 t:(ACK|$type) c:2\.05 .*\{$T\}" "$WORK/$name.trace" | sed -nE 's/.*Observe:([0-9]+).*/\1/p')
	check_eq "Observe numbers increase" 1 "$ok"
	if [ "$type" = CON ]; then
		while read -r line; do
			nmid=$(sed -E 's/.* i:([0-9a-f]+) .*/\1/' <<<"$line")
			[ "$(count "$name" "^v:1 t:ACK c:0\.00 i:$nmid ")" -ge 1 ] ||
				TD_FAILS+=("notification $nmid not ACKed")
		done < <(grep -E "^v:1 t:CON c:2\.05 " "$WORK/$name.trace")
	fi
}

td TD_COAP_OBS_01 server "$LC -s (CON notifications)"
exchange o01 -s 1 -m get "$U/obs"
obs_checks o01 CON
td_end

td TD_COAP_OBS_02 server "$LC -N -s (NON notifications)"
exchange o02 -N -s 1 -m get "$U/obs-non"
obs_checks o02 NON
td_end

td TD_COAP_OBS_04 server "obspeer; server restarted, same token again"
a=$(peer -T 04 -n 2 -w 1500)
check "registered: ACK 2.05 Observe" '^ACK 2\.05 mid=[0-9]+ tok=04 Observe=[0-9]+ Content-Format=0 ' "$(sed -n 2p <<<"$a")"
stop_plugtest main
WANT_PORT=$P start_plugtest main -i 300
a=$(peer -T 04 -n 2 -w 1500 -C 1)
check "the server forgot us and takes the same token again" '^ACK 2\.05 mid=[0-9]+ tok=04 Observe=[0-9]+ ' "$(sed -n 2p <<<"$a")"
check "then notifies on it" '^CON 2\.05 mid=[0-9]+ tok=04 Observe=[0-9]+ ' "$(grep -v '^> ' <<<"$a" | sed -n 2p)"
td_end

td TD_COAP_OBS_05 server "obspeer -A (never ACKs; ACK_TIMEOUT 100 ms)"
# Also the record for TD_COAP_OBS_11 below: the same exchange.
a=$(fpeer -T 05 -A -w 1500)
obs11=$a
notes=$(grep -E '^CON 2\.05 mid=[0-9]+ tok=05 Observe=' <<<"$a")
check "retransmitted (5 CON or more)" '^([5-9]|[1-9][0-9]+)$' "$(grep -c . <<<"$notes")"
obs=$(sed -nE 's/.*Observe=([0-9]+).*/\1/p' <<<"$notes")
check_eq "Observe never decreases" "$obs" "$(sort -n <<<"$obs")"
check "retransmissions carry newer states" '^([2-9]|[1-9][0-9]+)$' "$(sort -u <<<"$obs" | grep -c .)"
# At ACK_TIMEOUT 100 ms the give-up (MAX_RETRANSMIT 4) comes within about
# 5 s; the resource changes every 300 ms, so obspeer's 1.5 s of silence
# means the observer is gone.
check "then it gave up (1 + 4 retransmissions)" '^5$' "$(grep -c . <<<"$notes")"
td_end

td TD_COAP_OBS_06 server "obspeer -R (RST to a notification)"
a=$(peer -T 06 -R 2 -w 1000)
check "a CON notification answered with RST" '> RST 0\.00 ' "$a"
check "nothing after the RST" '^> RST 0\.00 mid=[0-9]+ tok=$' "$(tail -n1 <<<"$a")"
td_end

# obs_end_checks CODE: the trace of $WORK/obsend.out (obspeer) after a
# change that ends the observation with CODE.
obs_end() {
	local code=$1
	shift
	"$OBSPEER" -T 0e -w 1000 127.0.0.1 "$P" >"$WORK/obsend.out" &
	local pid=$!
	sleep 0.5
	"$@" >/dev/null
	wait "$pid"
	a=$(grep -v '^> ' "$WORK/obsend.out")
	check "CON $code with the token, without Observe" "^CON $code mid=[0-9]+ tok=0e( Content-Format=[0-9]+)?( pl=.*)?\$" "$(tail -n1 <<<"$a")"
	check "observed before that" '^ACK 2\.05 mid=[0-9]+ tok=0e Observe=' "$(head -n1 <<<"$a")"
}

td TD_COAP_OBS_07 server "obspeer + rawcoap DELETE"
obs_end 4.04 raw -m DELETE -p obs
raw -m PUT -c 0 -e "tick back" -p obs >/dev/null
td_end

td TD_COAP_OBS_08 server "obspeer + rawcoap PUT (application/xml)"
obs_end 4.06 raw -m PUT -c 41 -e "<v>1</v>" -p obs
raw -m PUT -c 0 -e "tick back" -p obs >/dev/null
td_end

td TD_COAP_OBS_09 server "obspeer + rawcoap PUT (text/plain)"
"$OBSPEER" -T 09 -w 1000 -n 6 127.0.0.1 "$P" >"$WORK/o09.out" &
pid=$!
sleep 0.2
raw -m PUT -c 0 -e "value from OBS_09" -p obs >/dev/null
wait "$pid"
mapfile -t a < <(grep -v '^> ' "$WORK/o09.out")
check "registered" '^ACK 2\.05 mid=[0-9]+ tok=09 Observe=[0-9]+ Content-Format=0 pl=.+$' "${a[0]-}"
n=$(grep -m1 'pl=value from OBS_09$' "$WORK/o09.out")
check "a CON notification with the new value" '^CON 2\.05 mid=[0-9]+ tok=09 Observe=[0-9]+ Content-Format=0 pl=value from OBS_09$' "$n"
o1=$(sed -nE 's/.*Observe=([0-9]+).*/\1/p' <<<"${a[0]-}")
o2=$(sed -nE 's/.*Observe=([0-9]+).*/\1/p' <<<"$n")
check_eq "Observe increases" 1 "$(( ${o2:-0} > ${o1:-0} ))"
td_end

td TD_COAP_OBS_10 server "obspeer -G (plain GET on another token)"
peer -T 10 -G 1 -n 5 -w 1500 | grep -v '^> ' >"$WORK/o10.out"
check "the plain GET gets 2.05 without Observe" '^ACK 2\.05 mid=[0-9]+ tok=2222 Content-Format=0 pl=' "$(grep 'tok=2222' "$WORK/o10.out")"
g=$(grep -n 'tok=2222' "$WORK/o10.out" | cut -d: -f1)
check "notifications go on after it" '^CON 2\.05 mid=[0-9]+ tok=10 Observe=' "$(tail -n +"$(( ${g:-99} + 1 ))" "$WORK/o10.out" | head -n1)"
td_end

td TD_COAP_OBS_11 server "obspeer -A (unacknowledged CON; ACK_TIMEOUT 100 ms; the OBS_05 exchange)"
# While a CON notification is outstanding no second one is sent: each CON
# is a retransmission carrying the newest state (RFC 7641 §4.5.2), so
# the datagrams arrive at the retransmission times, never two at once.
check "a CON at a time: 1 + 4 retransmissions" '^5$' "$(grep -c '^CON 2\.05 mid=[0-9]* tok=05 ' <<<"$obs11")"
td_end

td TD_COAP_OBS_12 server "obspeer -C (GET Observe 1)"
a=$(peer -T 12 -C 1 -w 1000)
check "cancel sent" '> CON 0\.01 mid=[0-9]+ tok=12 Observe=1 ' "$a"
check "its answer: 2.05 without Observe, the last message" '^ACK 2\.05 mid=[0-9]+ tok=12 Content-Format=0 pl=' "$(tail -n1 <<<"$a")"
td_end

# ---- RFC 7959 --------------------------------------------------------------------

# blocks NAME SZ: the Block2 answers of trace NAME are NUM 0..n, M set
# on all but the last, every payload of SZ bytes but the last.
large_body() { coap-client-notls -B 5 -o - "$U/large" 2>/dev/null; }
LARGE=$(large_body)
[ "${#LARGE}" -gt 1024 ] || die "GET /large gave ${#LARGE} bytes"

block2_checks() {
	local name=$1 sz=$2 i=0 n line
	# libcoap prints the last answer twice (as received, and as handed to
	# the application): one line per message id.
	grep -E '^v:1 t:ACK c:2\.05 .*Block2:' "$WORK/$name.trace" | awk '!seen[$4]++' >"$WORK/$name.blocks"
	n=$(grep -c . "$WORK/$name.blocks")
	while read -r line; do
		local more=M
		[ "$i" -eq $((n - 1)) ] && more=_
		check "block $i of $n" "Block2:$i/$more/$sz" "$line"
		i=$((i + 1))
	done <"$WORK/$name.blocks"
	check_eq "$n blocks of $sz" "$(((${#LARGE} + sz - 1) / sz))" "$n"
	check_eq "body reassembled" "$LARGE" "$(cat "$WORK/$name.out")"
}

td TD_COAP_BLOCK_01 server "$LC -b 1024"
exchange b01 -b 1024 "$U/large"
check "Block2 NUM 0 asked for" 'Block2:0/_/1024' "$Q"
block2_checks b01 1024
td_end

td TD_COAP_BLOCK_02 server "$LC (no Block2 in the first request)"
exchange b02 "$U/large"
check_not "no Block2 in the first request" 'Block2' "$Q"
block2_checks b02 1024
td_end

td TD_COAP_BLOCK_03 server "$LC -b 256 -f (PUT)"
head -c 3000 /dev/urandom | base64 -w 64 >"$WORK/b03.body"
exchange b03 -m put -b 256 -t 0 -f "$WORK/b03.body" "$U/large-update"
nb=$(( ($(stat -c %s "$WORK/b03.body") + 255) / 256 ))
check_eq "2.31 with Block1 M 1 for each block but the last" "$((nb - 1))" "$(count b03 '^v:1 t:ACK c:2\.31 .*Block1:[0-9]+/M/256')"
check "2.04 with Block1 NUM n M 0" "^v:1 t:ACK c:2\.04 .*Block1:$((nb - 1))/_/256" "$(first b03 '^v:1 t:ACK c:2\.04 ')"
lc b03g "$U/large-update"
check_eq "read back whole" "$(cat "$WORK/b03.body")" "$(cat "$WORK/b03g.out")"
td_end

td TD_COAP_BLOCK_04 server "$LC -b 128 -f (POST)"
head -c 1500 /dev/urandom | base64 -w 64 >"$WORK/b04.body"
exchange b04 -m post -b 128 -t 0 -f "$WORK/b04.body" "$U/large-create"
nb=$(( ($(stat -c %s "$WORK/b04.body") + 127) / 128 ))
check_eq "2.31 with Block1 M 1 for each block but the last" "$((nb - 1))" "$(count b04 '^v:1 t:ACK c:2\.31 .*Block1:[0-9]+/M/128')"
a=$(first b04 '^v:1 t:ACK c:2\.01 ')
check "2.01, Location-Path large-create/PS, Block1 NUM n M 0" \
	"^v:1 t:ACK c:2\.01 i:[0-9a-f]+ \{[0-9a-f]*\} \[ Location-Path:large-create, Location-Path:[^,/]+, Block1:$((nb - 1))/_/128 \]" "$a"
ps=$(sed -nE 's/.*Location-Path:large-create, Location-Path:([^,]+),.*/\1/p' <<<"$a")
lc b04g "$U/large-create/${ps:-none}"
check_eq "the created resource reads back" "$(cat "$WORK/b04.body")" "$(cat "$WORK/b04g.out")"
td_end

td TD_COAP_BLOCK_05 server "$LC -b 256 -f (POST, Block1 then Block2)"
head -c 2000 /dev/urandom | base64 -w 64 >"$WORK/b05.body"
exchange b05 -m post -b 256 -t 0 -f "$WORK/b05.body" "$U/large-post"
a=$(first b05 '^v:1 t:ACK c:2\.04 ')
check "2.04 with Block2 NUM 0 M 1" '^v:1 t:ACK c:2\.04 .*Block2:0/M/[0-9]+' "$a"
check "and Block1 NUM n M 0" 'Block1:[0-9]+/_/256' "$a"
a=$(first b05 '^v:1 t:CON c:POST .*Block2:1/')
check "further blocks asked for with Block2" '^v:1 t:CON c:POST .*Block2:1/_/[0-9]+' "$a"
check_not "without the body" " :: " "$a"
check_eq "the answer is the body in upper case" "$(tr '[:lower:]' '[:upper:]' <"$WORK/b05.body")" "$(cat "$WORK/b05.out")"
td_end

td TD_COAP_BLOCK_06 server "$LC -b 16"
exchange b06 -b 16 "$U/large"
check "Block2 NUM 0 SZX 0 asked for" 'Block2:0/_/16' "$Q"
block2_checks b06 16
td_end

# ---- RFC 6690 -------------------------------------------------------------------

# links NAME QUERY: GET /.well-known/core?QUERY; L = the hrefs, sorted.
links() {
	exchange "$1" "$U/.well-known/core${2:+?$2}"
	check "2.05 application/link-format" "^v:1 t:ACK c:2\.05 .*Content-Format:application/link-format" "$A"
	L=$(grep -oE '<[^>]*>' "$WORK/$1.out" | sort | tr '\n' ' ')
}

td TD_COAP_LINK_01 server "$LC GET /.well-known/core"
links l01
for r in /test /separate /large /obs /link1 /path /validate /multi-format; do
	check "lists $r" "<$r>" "$L"
done
check "obs flag on /obs" '</obs>;[^,]*obs(,|$)' "$(cat "$WORK/l01.out")"
check "sz on /large" '</large>;[^,]*sz=2048' "$(cat "$WORK/l01.out")"
td_end

td TD_COAP_LINK_02 server "$LC ?rt=Type1"
links l02 rt=Type1
check_eq "rt=Type1: /link1 /link3" "</link1> </link3> " "$L"
td_end

td TD_COAP_LINK_03 server "$LC ?rt=*"
links l03 'rt=*'
check "only links with rt" '^(<[^>]+> )+$' "$L"
n_rt=$(tr ',' '\n' <"$WORK/l01.out" | grep -c ';rt=')
check_eq "as many as have rt" "$n_rt" "$(wc -w <<<"$L")"
check_not "not /test (no rt)" '</test>' "$L"
td_end

td TD_COAP_LINK_04 server "$LC ?rt=Type2"
links l04 rt=Type2
check_eq "rt=Type2: /link1 /link2" "</link1> </link2> " "$L"
td_end

td TD_COAP_LINK_05 server "$LC ?if=If*"
links l05 'if=If*'
check_eq "if=If*: /link1 /link2" "</link1> </link2> " "$L"
td_end

td TD_COAP_LINK_06 server "$LC ?sz=*"
links l06 'sz=*'
check_eq "sz=*: /large /obs-large" "</large> </obs-large> " "$L"
td_end

td TD_COAP_LINK_07 server "$LC ?href=/link1"
links l07 href=/link1
check_eq "href=/link1" "</link1> " "$L"
td_end

td TD_COAP_LINK_08 server "$LC ?href=/link*"
links l08 'href=/link*'
check_eq "href=/link*" "</link1> </link2> </link3> " "$L"
td_end

td TD_COAP_LINK_09 server "$LC GET /.well-known/core, /path, /path/sub1"
links l09
check "/path with ct=40" '</path>;ct=40' "$(cat "$WORK/l09.out")"
check_not "children not in /.well-known/core" '/path/sub' "$L"
exchange l09p "$U/path"
check "2.05 link-format" "^v:1 t:ACK c:2\.05 .*Content-Format:application/link-format" "$A"
check_eq "the children" "</path/sub1> </path/sub2> </path/sub3> " "$(grep -oE '<[^>]*>' "$WORK/l09p.out" | sort | tr '\n' ' ')"
exchange l09s "$U/path/sub1"
check "GET /path/sub1 names it" "^v:1 t:ACK c:2\.05 .* :: '/path/sub1'$" "$A"
td_end

stop_plugtest main
stop_plugtest fast
finish server
