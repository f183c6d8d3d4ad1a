#!/usr/bin/env bash
# Conformance, client side: the test descriptions of tds.txt that apply to
# a client, with coapbridge-client (the ucoap core as client) as the
# client: against coapbridge-plugtest-server, whose request log (-v: type,
# method, path, message id, token, options) shows what the client
# sent, and against libcoap's coap-server-notls for the exchanges its
# resources allow (/time, /async?N, dynamic resources with -d), with its
# -v 7 message trace. The client's output shows what it displayed.
# shellcheck source=tests/conformance/lib.sh
. "$(dirname "$0")/lib.sh"
: "${COAPBRIDGE_CLIENT:?}"
command -v coap-server-notls >/dev/null || die "coap-server-notls missing (libcoap3-bin)"

start_plugtest main -i 300
P=${SRV_PORT[main]}
U=coap://127.0.0.1:$P
CL=coapbridge-client

# libcoap's server, resources creatable by PUT; its trace in libcoap.trace.
LPORT=$("$FREEPORT") || die freeport
# stdbuf: its trace must reach the file as each message goes.
stdbuf -oL -eL coap-server-notls -A 127.0.0.1 -p "$LPORT" -d 10 -v 7 >"$WORK/libcoap.raw" 2>&1 &
_PIDS+=("$!")
for _ in $(seq 100); do
	ping_ok "$LPORT" && break
	sleep 0.05
done
ping_ok "$LPORT" || die "coap-server-notls not answering on $LPORT"
LU=coap://127.0.0.1:$LPORT

# cl NAME ARGS...: run the client; OUT its stdout, RC its exit status, R
# the requests the plugtest server logged meanwhile (not the handler runs
# that build notifications), LT libcoap's trace lines meanwhile.
cl() {
	local name=$1 n0 l0
	shift
	n0=$(wc -l <"$WORK/main.log")
	l0=$(wc -l <"$WORK/libcoap.raw")
	RC=0
	"$COAPBRIDGE_CLIENT" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || RC=$?
	OUT=$(cat "$WORK/$name.out")
	R=$(tail -n +"$((n0 + 1))" "$WORK/main.log" | grep -v '(notification)$')
	LT=$(tail -n +"$((l0 + 1))" "$WORK/libcoap.raw" | grep '^v:1 ')
}

# ---- RFC 7252 ----------------------------------------------------------------

td TD_COAP_CORE_01 client "$CL get: plugtest server, coap-server-notls"
cl c01 get "$U/test"
check "CON GET /test with a token" '^127\.0\.0\.1:[0-9]+ CON GET /test mid=[0-9]+ tkl=[1-8] ' "$R"
check_eq "displays the answer" $'2.05 Content\nType: /test resource' "$OUT"
cl c01l get "$LU/time"
check "libcoap: CON GET with a token" '^v:1 t:CON c:GET i:[0-9a-f]+ \{[0-9a-f]{2,16}\} \[ .*Uri-Path:time' "$LT"
check "libcoap: displays 2.05 and the time" $'^2\\.05 Content\n.+' "$OUT"
td_end

td TD_COAP_CORE_02 client "$CL delete: plugtest server, coap-server-notls"
cl c02 delete "$U/test"
check "CON DELETE /test with a token" ' CON DELETE /test mid=[0-9]+ tkl=[1-8] ' "$R"
check_eq "displays 2.02" "2.02 Deleted" "$OUT"
cl c02l put -p x "$LU/c02"
cl c02l delete "$LU/c02"
check "libcoap: CON DELETE" '^v:1 t:CON c:DELETE .*Uri-Path:c02' "$LT"
check_eq "libcoap: displays 2.02" "2.02 Deleted" "$OUT"
td_end

td TD_COAP_CORE_03 client "$CL put -c: plugtest server, coap-server-notls"
cl c03 put -c text -p "put from client" "$U/test"
check "CON PUT /test, Content-Format, payload" ' CON PUT /test mid=[0-9]+ tkl=[1-8] tok=[0-9a-f]+ len=15 Content-Format=0' "$R"
check "displays 2.01 or 2.04" '^2\.0[14] (Created|Changed)$' "$OUT"
cl c03l put -c text -p "put from client" "$LU/c03"
check "libcoap: CON PUT with Content-Format and payload" "^v:1 t:CON c:PUT .*Content-Format:text/plain.* :: 'put from client'" "$LT"
check_eq "libcoap: displays 2.01" "2.01 Created" "$OUT"
td_end

td TD_COAP_CORE_04 client "$CL post -c"
cl c04 post -c text -p "post from client" "$U/test"
check "CON POST /test, Content-Format, payload" ' CON POST /test mid=[0-9]+ tkl=[1-8] tok=[0-9a-f]+ len=16 Content-Format=0' "$R"
check "displays 2.01" '^2\.01 Created$' "$OUT"
td_end

td TD_COAP_CORE_05 client "$CL -n get: plugtest server, coap-server-notls"
cl c05 -n get "$U/test"
check "NON GET /test with a token" ' NON GET /test mid=[0-9]+ tkl=[1-8] ' "$R"
check_eq "displays the answer" $'2.05 Content\nput from client' "$OUT"
cl c05l -n get "$LU/time"
check "libcoap: NON GET" '^v:1 t:NON c:GET ' "$LT"
check "libcoap: displays 2.05" $'^2\\.05 Content\n.+' "$OUT"
td_end

td TD_COAP_CORE_06 client "$CL -n delete"
cl c06 -n delete "$U/test"
check "NON DELETE /test" ' NON DELETE /test mid=[0-9]+ tkl=[1-8] ' "$R"
check_eq "displays 2.02" "2.02 Deleted" "$OUT"
td_end

td TD_COAP_CORE_07 client "$CL -n put -c"
cl c07 -n put -c text -p "non put" "$U/test"
check "NON PUT /test, Content-Format, payload" ' NON PUT /test mid=[0-9]+ tkl=[1-8] tok=[0-9a-f]+ len=7 Content-Format=0' "$R"
check "displays 2.01 or 2.04" '^2\.0[14] (Created|Changed)$' "$OUT"
td_end

td TD_COAP_CORE_08 client "$CL -n post -c"
cl c08 -n post -c text -p "non post" "$U/test"
check "NON POST /test, Content-Format, payload" ' NON POST /test mid=[0-9]+ tkl=[1-8] tok=[0-9a-f]+ len=8 Content-Format=0' "$R"
check "displays 2.01" '^2\.01 Created$' "$OUT"
td_end

td TD_COAP_CORE_09 client "$CL get /separate; coap-server-notls /async?1"
cl c09 get "$U/separate"
check "CON GET /separate" ' CON GET /separate mid=[0-9]+ tkl=[1-8] ' "$R"
check_eq "displays the separate answer" $'2.05 Content\nType: separate response' "$OUT"
cl c09l get "$LU/async?1"
check "libcoap: empty ACK, then CON 2.05" $'v:1 t:ACK c:0\\.00 i:[0-9a-f]+ \\{\\} \\[ \\]\n(.*\n)*v:1 t:CON c:2\\.05 ' "$LT"
s=$(grep -m1 '^v:1 t:CON c:2\.05 ' <<<"$LT" | sed -E 's/.* i:([0-9a-f]+) .*/\1/')
check "libcoap: the client ACKs it" "v:1 t:ACK c:0\\.00 i:${s:-none} " "$LT"
check "libcoap: displays it" $'^2\\.05 Content\n.+' "$OUT"
td_end

td TD_COAP_CORE_10 client "$CL get (its token)"
cl c10 get "$U/test"
check "a token of 1-8 bytes" ' CON GET /test mid=[0-9]+ tkl=[1-8] ' "$R"
check "displays the answer" '^2\.05 Content$' "$(head -n1 <<<"$OUT")"
td_end

td TD_COAP_CORE_11 client "$CL get /separate (its token)"
cl c11 get "$U/separate"
check "a token of 1-8 bytes" ' CON GET /separate mid=[0-9]+ tkl=[1-8] ' "$R"
check_eq "displays the separate answer" $'2.05 Content\nType: separate response' "$OUT"
td_end

td TD_COAP_CORE_12 client "$CL --token ''"
cl c12 -v --token '' get "$U/test"
check "CON GET /test with a zero-length token" ' CON GET /test mid=[0-9]+ tkl=0 tok=- ' "$R"
check "displays the answer (matched on the empty token)" $'^2\\.05 Content\nContent-Format: 0\n.+$' "$OUT"
td_end

td TD_COAP_CORE_13 client "$CL get /seg1/seg2/seg3"
cl c13 get "$U/seg1/seg2/seg3"
check "GET /seg1/seg2/seg3" ' CON GET /seg1/seg2/seg3 ' "$R"
check_eq "displays the answer" $'2.05 Content\n/seg1/seg2/seg3' "$OUT"
td_end

td TD_COAP_CORE_14 client "$CL get /query?..."
cl c14 get "$U/query?first=1&second=2&third=3"
check "three Uri-Query options" ' CON GET /query .*Uri-Query=first=1 Uri-Query=second=2 Uri-Query=third=3' "$R"
check_eq "displays the answer" $'2.05 Content\nfirst=1&second=2&third=3' "$OUT"
td_end

# lossy_cl NAME LOSSY_OPTS PATH [ARGS...]: the client (ARGS, default get)
# asks for PATH through tests/tools
# lossy (LOSSY_OPTS: which datagrams it loses) to the plugtest server
# "lossy" (ACK_TIMEOUT 100 ms: its retransmissions come soon); LOG is
# lossy's log of every datagram, OUT what the client displayed.
lossy_cl() {
	local name=$1 opts=$2 path=$3 lp pid
	shift 3
	[ $# -gt 0 ] || set -- get
	lp=$("$FREEPORT") || die freeport
	# shellcheck disable=SC2086
	"$TOOLS_DIR/lossy" $opts "$lp" "${SRV_PORT[lossy]}" >"$WORK/$name.lossy" 2>&1 &
	pid=$!
	for _ in $(seq 100); do
		grep -q '^ready$' "$WORK/$name.lossy" && break
		sleep 0.05
	done
	"$COAPBRIDGE_CLIENT" "$@" "coap://127.0.0.1:$lp/$path" >"$WORK/$name.out" 2>"$WORK/$name.err"
	sleep 0.3 # the server's retransmission, if any, and our ACK of it
	kill -TERM "$pid"
	wait "$pid" 2>/dev/null
	LOG=$(grep -v '^ready$' "$WORK/$name.lossy")
	OUT=$(cat "$WORK/$name.out")
}
start_plugtest lossy -a 100 -i 300

td TD_COAP_CORE_15 client "$CL get through tests/tools/lossy (request lost; response lost)"
lossy_cl c15a "-c 1" test
m=$(sed -nE '1s/^c>s drop CON 0\.01 mid=([0-9]+) .*/\1/p' <<<"$LOG")
check "request lost, then retransmitted with the same MID" $'^c>s drop CON 0\\.01 mid='"${m:-none}"$' [^\n]*\nc>s pass CON 0\\.01 mid='"${m:-none}"$' [^\n]*\ns>c pass ACK 2\\.05 mid='"${m:-none}"' ' "$LOG"
check "displays the answer" $'^2\\.05 Content\n.+' "$OUT"
lossy_cl c15b "-s 1" test
m=$(sed -nE '1s/^c>s pass CON 0\.01 mid=([0-9]+) .*/\1/p' <<<"$LOG")
check "response lost: the request again with the same MID, the same ACK 2.05" $'^c>s pass CON 0\\.01 mid='"${m:-none}"$' [^\n]*\ns>c drop ACK 2\\.05 mid='"${m:-none}"$' [^\n]*\nc>s pass CON 0\\.01 mid='"${m:-none}"$' [^\n]*\ns>c pass ACK 2\\.05 mid='"${m:-none}"' ' "$LOG"
check_eq "displays the answer once" 1 "$(grep -c '^2\.05 Content$' <<<"$OUT")"
td_end

td TD_COAP_CORE_16 client "$CL get /separate through tests/tools/lossy (request lost; separate CON lost)"
lossy_cl c16a "-c 1" separate
m=$(sed -nE '1s/^c>s drop CON 0\.01 mid=([0-9]+) .*/\1/p' <<<"$LOG")
check "request lost, retransmitted with the same MID, empty ACK" $'^c>s drop CON 0\\.01 mid='"${m:-none}"$' [^\n]*\nc>s pass CON 0\\.01 mid='"${m:-none}"$' [^\n]*\ns>c pass ACK 0\\.00 mid='"${m:-none}"' ' "$LOG"
x=$(sed -nE 's/^s>c pass CON 2\.05 mid=([0-9]+) .*/\1/p' <<<"$LOG" | head -n1)
check "the separate CON 2.05 ACKed" "(^|"$'\n'")c>s pass ACK 0\\.00 mid=${x:-none} " "$LOG"
check_eq "displays the separate answer" $'2.05 Content\nType: separate response' "$OUT"
lossy_cl c16b "-s 2" separate
x=$(sed -nE 's/^s>c drop CON 2\.05 mid=([0-9]+) .*/\1/p' <<<"$LOG")
check "separate CON lost, retransmitted with its MID, then ACKed" $'s>c drop CON 2\\.05 mid='"${x:-none}"$' [^\n]*\ns>c pass CON 2\\.05 mid='"${x:-none}"$' [^\n]*\nc>s pass ACK 0\\.00 mid='"${x:-none}"' ' "$LOG"
check_eq "displays the separate answer once" $'2.05 Content\nType: separate response' "$OUT"
td_end
td TD_COAP_CORE_31 client "$CL ping through tests/tools/lossy"
lossy_cl c31 "" "" ping
m=$(sed -nE '1s/^c>s pass CON 0\.00 mid=([0-9]+).*/\1/p' <<<"$LOG")
check "an empty CON, answered by an RST with the same MID" $'^c>s pass CON 0\\.00 mid='"${m:-none}"$'[^\n]*\ns>c pass RST 0\\.00 mid='"${m:-none}"'( |$)' "$LOG"
check_eq "nothing else on the wire" 2 "$(grep -c . <<<"$LOG")"
check_eq "displays pong" pong "$OUT"
td_end

td TD_COAP_OBS_11 client "$CL observe --count 3 through tests/tools/lossy (a CON notification lost)"
lossy_cl o11 "-s 2" obs -v observe --count 3
x=$(sed -nE 's/^s>c drop CON 2\.05 mid=([0-9]+) .*/\1/p' <<<"$LOG")
check "a CON notification lost, retransmitted with its MID, then ACKed" $'s>c drop CON 2\\.05 mid='"${x:-none}"$' [^\n]*\ns>c pass CON 2\\.05 mid='"${x:-none}"$' [^\n]*\nc>s pass ACK 0\\.00 mid='"${x:-none}"' ' "$LOG"
check_eq "three answers displayed" 3 "$(grep -c '^2\.05 Content$' <<<"$OUT")"
obsv=$(sed -nE 's/^Observe: ([0-9]+)$/\1/p' <<<"$OUT" | tr '\n' ' ')
check "with rising Observe numbers" '^([0-9]+) ([0-9]+) ([0-9]+) $' "$obsv"
read -r v1 v2 v3 <<<"$obsv"
check_eq "rising" 1 "$(( ${v1:-0} < ${v2:-0} && ${v2:-0} < ${v3:-0} ))"
td_end
td TD_COAP_OBS_06 client "$CL observe, its cancel lost; a second $CL (the client rebooted) behind the same tests/tools/lossy port"
# The first client's GET Observe 1 is lost, so the server keeps
# notifying; the rebooted client (same address as the server sees it)
# does not know the token and answers with RST (RFC 7641 §3.6).
lp=$("$FREEPORT") || die freeport
"$TOOLS_DIR/lossy" -c 2 "$lp" "${SRV_PORT[lossy]}" >"$WORK/o06.lossy" 2>&1 &
lpid=$!
for _ in $(seq 100); do
	grep -q '^ready$' "$WORK/o06.lossy" && break
	sleep 0.05
done
"$COAPBRIDGE_CLIENT" observe --count 1 "coap://127.0.0.1:$lp/obs" >"$WORK/o06a.out" 2>&1
"$COAPBRIDGE_CLIENT" get "coap://127.0.0.1:$lp/separate" >"$WORK/o06b.out" 2>&1
n1=$(grep -c '(notification)$' "$WORK/lossy.log")
sleep 0.8 # two intervals and more: no notification to it any longer
n2=$(grep -c '(notification)$' "$WORK/lossy.log")
kill -TERM "$lpid"
wait "$lpid" 2>/dev/null
LOG=$(grep -v '^ready$' "$WORK/o06.lossy")
check "its cancel (GET Observe 1) lost" $'^c>s pass CON 0\\.01 [^\n]*\ns>c pass ACK 2\\.05 [^\n]*\nc>s drop CON 0\\.01 ' "$LOG"
x=$(sed -nE 's/^c>s pass RST 0\.00 mid=([0-9]+) .*/\1/p' <<<"$LOG" | head -n1)
check "the rebooted client answers a CON notification with RST" "(^|"$'\n'")s>c pass CON 2\\.05 mid=${x:-none} " "$LOG"
check_eq "the rebooted client's own request answered" $'2.05 Content\nType: separate response' "$(cat "$WORK/o06b.out")"
check_eq "no notification after that" "$n1" "$n2"
td_end
td TD_COAP_OBS_05 client "$CL observe, then SIGKILL (client off), behind tests/tools/lossy; plugtest server -a 20"
start_plugtest off -a 20 -i 300
lp=$("$FREEPORT") || die freeport
"$TOOLS_DIR/lossy" "$lp" "${SRV_PORT[off]}" >"$WORK/o05.lossy" 2>&1 &
lpid=$!
for _ in $(seq 100); do
	grep -q '^ready$' "$WORK/o05.lossy" && break
	sleep 0.05
done
"$COAPBRIDGE_CLIENT" observe --seconds 10 "coap://127.0.0.1:$lp/obs" >"$WORK/o05.out" 2>&1 &
cpid=$!
for _ in $(seq 100); do
	grep -q '^2\.05 Content$' "$WORK/o05.out" && break
	sleep 0.05
done
kill -KILL "$cpid"
wait "$cpid" 2>/dev/null
# The client may have ACKed a first notification before the kill landed:
# what it sent up to now is counted once lossy has logged it.
sleep 0.2
c_off=$(grep -c '^c>s ' "$WORK/o05.lossy")
# ACK_TIMEOUT 20 ms: MAX_RETRANSMIT retransmissions take under a second.
sleep 1.3
n1=$(grep -c '(notification)$' "$WORK/off.log")
sleep 0.8
n2=$(grep -c '(notification)$' "$WORK/off.log")
kill -TERM "$lpid"
wait "$lpid" 2>/dev/null
stop_plugtest off
LOG=$(grep -v '^ready$' "$WORK/o05.lossy")
check "registered, answered" $'^c>s pass CON 0\\.01 [^\n]*\ns>c pass ACK 2\\.05 ' "$LOG"
check_eq "switched off: nothing more from the client" "$c_off" "$(grep -c '^c>s ' <<<"$LOG")"
# The most copies of one CON notification (one the client ACKed before it
# was switched off went once; the next one is retransmitted).
x=$(sed -nE 's/^s>c pass CON 2\.05 mid=([0-9]+) .*/\1/p' <<<"$LOG" | sort | uniq -c | sort -rn | awk 'NR == 1 { print $1 }')
check "a CON notification retransmitted with its MID" "^[2-9]$" "${x:-0}"
check_eq "then the server gives up: no notification any longer" "$n1" "$n2"
td_end
stop_plugtest lossy

td TD_COAP_CORE_17 client "$CL -n get /separate; coap-server-notls -n /async?1"
cl c17 -n get "$U/separate"
check "NON GET /separate" ' NON GET /separate ' "$R"
check_eq "displays the NON separate answer" $'2.05 Content\nType: separate response' "$OUT"
cl c17l -n get "$LU/async?1"
# (libcoap 4.3.1 first sends an empty NON carrying the token, which RFC
# 7252 §4.1 does not allow; the client ignores it.)
check "libcoap: a NON 2.05 for the NON GET" "^v:1 t:NON c:GET .*"$'\n'"(.*"$'\n'")*v:1 t:NON c:2\\.05 " "$LT"
check_not "libcoap: no ACK" 't:ACK' "$LT"
check_eq "libcoap: displays it" $'2.05 Content\ndone' "$OUT"
td_end

td TD_COAP_CORE_18 client "$CL -v post"
cl c18 -v post -c text -p x "$U/test"
check_eq "displays the Location-Path options" \
	$'2.01 Created\nLocation-Path: location1\nLocation-Path: location2\nLocation-Path: location3' "$OUT"
td_end

td TD_COAP_CORE_19 client "$CL -v post"
cl c19 -v post -c text -p x "$U/location-query"
check_eq "displays the Location-Query options" \
	$'2.01 Created\nLocation-Query: first=1\nLocation-Query: second=2' "$OUT"
td_end

td TD_COAP_CORE_20 client "$CL -A"
cl c20a -v -A text get "$U/multi-format"
check "Accept 0 sent" ' CON GET /multi-format .*Accept=0' "$R"
check_eq "displays text/plain" $'2.05 Content\nContent-Format: 0\nmulti-format: text/plain' "$OUT"
cl c20b -v -A xml get "$U/multi-format"
check "Accept 41 sent" ' CON GET /multi-format .*Accept=41' "$R"
check_eq "displays application/xml" $'2.05 Content\nContent-Format: 41\n<multi-format>application/xml</multi-format>' "$OUT"
td_end

td TD_COAP_CORE_21 client "$CL --etag"
cl c21a -v get "$U/validate"
e1=$(sed -nE 's/^ETag: 0x([0-9a-f]+)$/\1/p' <<<"$OUT")
check "displays 2.05 with an ETag" '^[0-9a-f]{2,16}$' "$e1"
cl c21b -v --etag "${e1:-00}" get "$U/validate"
check "ETag E1 sent" " CON GET /validate .*ETag=(0x)?${e1:-none}" "$R"
check_eq "displays 2.03 with E1 and no payload" "$(printf '2.03 Valid\nETag: 0x%s' "${e1:-none}")" "$OUT"
cl c21c put -c text -p "client etag update" "$U/validate"
cl c21d -v --etag "${e1:-00}" get "$U/validate"
e2=$(sed -nE 's/^ETag: 0x([0-9a-f]+)$/\1/p' <<<"$OUT")
check "after a PUT: displays 2.05, another ETag" '^[0-9a-f]{2,16}$' "$e2"
check_not "after a PUT: not E1" "^${e1:-none}\$" "${e2:-${e1:-none}}"
check "after a PUT: displays the new payload" $'^2\\.05 Content\n(.*\n)*client etag update$' "$OUT"
td_end

td TD_COAP_CORE_22 client "$CL --if-match"
cl c22a -v get "$U/validate"
e1=$(sed -nE 's/^ETag: 0x([0-9a-f]+)$/\1/p' <<<"$OUT")
check "displays the ETag" '^[0-9a-f]{2,16}$' "$e1"
cl c22b put --if-match "${e1:-00}" -p "client if-match 1" "$U/validate"
check "If-Match ETAG1 sent" " CON PUT /validate .*If-Match=${e1:-none}" "$R"
check_eq "displays 2.04" "2.04 Changed" "$OUT"
cl c22c put --if-match "${e1:-00}" -p "client if-match 2" "$U/validate"
check_eq "a stale ETag: displays 4.12" "4.12 Precondition Failed" "$OUT"
check_eq "exit status 1 for 4.12" 1 "$RC"
td_end

td TD_COAP_CORE_23 client "$CL --if-none-match"
cl c23a put --if-none-match -p once "$U/create1"
check "If-None-Match sent" ' CON PUT /create1 .*If-None-Match=' "$R"
check_eq "displays 2.01" "2.01 Created" "$OUT"
cl c23b put --if-none-match -p twice "$U/create1"
check_eq "displays 4.12" "4.12 Precondition Failed" "$OUT"
cl c23c delete "$U/create1"
td_end

# ---- RFC 7641 ------------------------------------------------------------------

td TD_COAP_OBS_01 client "$CL observe --count 3: plugtest server, coap-server-notls"
cl o01 observe --count 3 "$U/obs"
check "CON GET with Observe 0" ' CON GET /obs mid=[0-9]+ tkl=[1-8] tok=[0-9a-f]+ len=0 Observe=0' "$R"
check_eq "three answers displayed" 3 "$(grep -c '^2\.05 Content$' <<<"$OUT")"
check "cancelled on exit (GET Observe 1)" ' CON GET /obs mid=[0-9]+ tkl=[1-8] tok=[0-9a-f]+ len=0 Observe=1$' "$R"
check_eq "exit status 0" 0 "$RC"
cl o01l observe --count 2 "$LU/time"
check "libcoap: registered" '^v:1 t:CON c:GET .*Observe:0' "$LT"
check_eq "libcoap: two notifications displayed" 2 "$(grep -c '^2\.05 Content$' <<<"$OUT")"
td_end

td TD_COAP_OBS_02 client "$CL -n observe --count 3"
cl o02 -n observe --count 3 "$U/obs-non"
check "NON GET with Observe 0" ' NON GET /obs-non mid=[0-9]+ tkl=[1-8] tok=[0-9a-f]+ len=0 Observe=0' "$R"
check_eq "three answers displayed" 3 "$(grep -c '^2\.05 Content$' <<<"$OUT")"
td_end

td TD_COAP_OBS_04 client "$CL observe; plugtest server -m 1 restarted (observers lost)"
# Max-Age 1 and no changes: the client hears nothing after the first
# answer. The server restarts on the same port, forgetting its observers;
# RFC 7641 §3.3.1: Max-Age (+ a margin) later the client asks again.
start_plugtest obs4 -m 1 -i 3600000
"$COAPBRIDGE_CLIENT" -v observe --seconds 4.5 "coap://127.0.0.1:${SRV_PORT[obs4]}/obs" >"$WORK/o04.out" 2>&1 &
pid=$!
sleep 0.7
stop_plugtest obs4
WANT_PORT=${SRV_PORT[obs4]} start_plugtest obs4b -m 1 -i 3600000
wait "$pid"
OUT=$(cat "$WORK/o04.out")
r1=$(grep -m1 ' CON GET /obs .* Observe=0' "$WORK/obs4.log" | sed -E 's/ mid=[0-9]+//')
r2=$(grep -m1 ' CON GET /obs .* Observe=0' "$WORK/obs4b.log" | sed -E 's/ mid=[0-9]+//')
check "registered (GET Observe 0)" '^127\.0\.0\.1:[0-9]+ CON GET /obs tkl=[1-8] tok=[0-9a-f]+ len=0 Observe=0$' "$r1"
check_eq "re-registered with the restarted server: same client, same token" "$r1" "$r2"
check_eq "displays both answers with Observe" 2 "$(grep -c '^Observe: ' <<<"$OUT")"
stop_plugtest obs4b
td_end

# obs_client_end NAME CHANGE...: observe /obs while CHANGE (a rawcoap
# request) ends the observation.
obs_client_end() {
	local name=$1
	shift
	"$COAPBRIDGE_CLIENT" observe --seconds 5 "$U/obs" >"$WORK/$name.out" 2>&1 &
	local pid=$!
	sleep 0.7
	"$RAWCOAP" "$@" 127.0.0.1 "$P" >/dev/null
	wait "$pid"
	RC=$?
	OUT=$(cat "$WORK/$name.out")
}

td TD_COAP_OBS_07 client "$CL observe; rawcoap DELETE"
obs_client_end o07 -m DELETE -p obs
check "displays 4.04 last, and stops" $'^2\\.05 Content\n(.*\n)*4\\.04 Not Found$' "$OUT"
check_eq "exit status 1 (not 2.xx)" 1 "$RC"
"$RAWCOAP" -m PUT -c 0 -e back -p obs 127.0.0.1 "$P" >/dev/null
td_end

td TD_COAP_OBS_08 client "$CL observe; rawcoap PUT (xml)"
obs_client_end o08 -m PUT -c 41 -e '<v/>' -p obs
check "displays 4.06 last, and stops" $'^2\\.05 Content\n(.*\n)*4\\.06 Not Acceptable$' "$OUT"
"$RAWCOAP" -m PUT -c 0 -e back -p obs 127.0.0.1 "$P" >/dev/null
td_end

td TD_COAP_OBS_09 client "$CL observe; rawcoap PUT (text)"
"$COAPBRIDGE_CLIENT" observe --seconds 1.5 "$U/obs" >"$WORK/o09.out" 2>&1 &
pid=$!
sleep 0.5
"$RAWCOAP" -m PUT -c 0 -e "client OBS_09 value" -p obs 127.0.0.1 "$P" >/dev/null
wait "$pid"
check "displays the new value" $'\nclient OBS_09 value(\n|$)' "$(cat "$WORK/o09.out")"
td_end

td TD_COAP_OBS_10 client "$CL observe --count 4 --get-after 2: plugtest server, coap-server-notls"
cl o10 -v observe --count 4 --get-after 2 "$U/obs"
a=$(grep -m1 ' CON GET /obs .* Observe=0$' <<<"$R" | sed -nE 's/.* tok=([0-9a-f]+) .*/\1/p')
plain=$(grep -E ' CON GET /obs mid=[0-9]+ tkl=[1-8] tok=[0-9a-f]+ len=0$' <<<"$R")
b=$(sed -nE 's/.* tok=([0-9a-f]+) .*/\1/p' <<<"$plain")
check "registered (GET Observe 0)" '^[0-9a-f]+$' "$a"
check_eq "one plain GET of /obs, without Observe" 1 "$(grep -c . <<<"$plain")"
check "on another token" '^[0-9a-f]+$' "$b"
check_eq "not the observation's token" 0 "$([[ ${a:-x} == "${b:-x}" ]] && echo 1 || echo 0)"
check "displays the plain GET's answer (no Observe) between notifications" \
	$'^(2\\.05 Content\nObserve: [0-9]+\n[^\n]*\ntick [0-9]+\n){2,3}get: 2\\.05 Content\nContent-Format: 0\ntick [0-9]+(\n2\\.05 Content\nObserve: [0-9]+\n[^\n]*\ntick [0-9]+){1,2}$' "$OUT"
check_eq "four notifications displayed" 4 "$(grep -c '^Observe: ' <<<"$OUT")"
after=$(awk -v t="${b:-none}" -v o="${a:-none}" 'index($0, " tok=" t " ") && !/notification/ { on = 1; next } on && index($0, " tok=" o " ") && /\(notification\)$/' "$WORK/main.log")
check "notifications on the first token after the plain GET" '\(notification\)' "$after"
check "cancelled at the end on the first token" " CON GET /obs mid=[0-9]+ tkl=[1-8] tok=${a:-none} len=0 Observe=1\$" "$R"
check_eq "exit status 0" 0 "$RC"
cl o10l observe --count 3 --get-after 1 "$LU/time"
la=$(grep -m1 '^v:1 t:CON c:GET .*Observe:0' <<<"$LT" | sed -nE 's/.*\{([0-9a-f]+)\}.*/\1/p')
lplain=$(grep '^v:1 t:CON c:GET ' <<<"$LT" | grep -v 'Observe:')
lb=$(sed -nE 's/.*\{([0-9a-f]+)\}.*/\1/p' <<<"$lplain")
check "libcoap: registered" '^[0-9a-f]+$' "$la"
check_eq "libcoap: one plain GET, without Observe" 1 "$(grep -c . <<<"$lplain")"
check_eq "libcoap: on another token" 0 "$([[ ${la:-x} == "${lb:-x}" ]] && echo 1 || echo 0)"
lafter=$(awk -v t="{${lb:-none}}" -v o="{${la:-none}}" 'index($0, t) && / c:GET / { on = 1; next } on && index($0, o) && / c:2\.05 / && /Observe:/' <<<"$LT")
check "libcoap: notifications on the first token after it" 'Observe:' "$lafter"
check_eq "libcoap: three notifications and the GET's answer displayed" $'3\n1' \
	"$(grep -c '^2\.05 Content$' <<<"$OUT"; grep -c '^get: 2\.05 Content$' <<<"$OUT")"
td_end

td TD_COAP_OBS_12 client "$CL observe --count 2 (then GET Observe 1)"
cl o12 observe --count 2 "$U/obs"
tok=$(grep ' Observe=0' <<<"$R" | sed -nE 's/.* tok=([0-9a-f]+) .*/\1/p')
check "GET Observe 1 on exit" ' CON GET /obs mid=[0-9]+ tkl=[1-8] tok=[0-9a-f]+ len=0 Observe=1$' "$R"
check_eq "on the observation's token" "${tok:-none}" "$(grep ' Observe=1$' <<<"$R" | sed -nE 's/.* tok=([0-9a-f]+) .*/\1/p')"
sleep 0.7
peer=$(grep ' Observe=1$' <<<"$R" | cut -d' ' -f1)
check_eq "no notification to it after that" "" \
	"$(awk -v p="${peer:-none}" '$1 == p && / Observe=1$/ { after = 1; next } after && $1 == p && /\(notification\)$/' "$WORK/main.log")"
td_end

# ---- RFC 7959 --------------------------------------------------------------------

LARGE=$(coap-client-notls -B 5 -o - "$U/large" 2>/dev/null)

td TD_COAP_BLOCK_01 client "$CL -b 1024 get"
cl b01 -b 1024 get "$U/large"
check "Block2 NUM 0 SZX 6 asked for" ' CON GET /large .*Block2=6$' "$(head -n1 <<<"$R")"
check_eq "blocks 0 and 1 asked for" 2 "$(grep -c ' CON GET /large ' <<<"$R")"
check_eq "displays the whole body" "$(printf '2.05 Content\n%s' "$LARGE")" "$OUT"
td_end

td TD_COAP_BLOCK_02 client "$CL get (late negotiation)"
cl b02 get "$U/large"
check_not "no Block2 in the first request" 'Block2' "$(head -n1 <<<"$R")"
check "then Block2 NUM 1" ' CON GET /large .*Block2=22$' "$(sed -n 2p <<<"$R")"
check_eq "displays the whole body" "$(printf '2.05 Content\n%s' "$LARGE")" "$OUT"
td_end

td TD_COAP_BLOCK_03 client "$CL -b 256 -f put: plugtest server, coap-server-notls"
head -c 2000 /dev/urandom | base64 -w 64 >"$WORK/b03.body"
cl b03 -b 256 put -f "$WORK/b03.body" "$U/large-update"
check_eq "displays 2.04" "2.04 Changed" "$OUT"
cl b03g get "$U/large-update"
check_eq "the server has the whole body" "$(printf '2.05 Content\n%s' "$(cat "$WORK/b03.body")")" "$OUT"
cl b03l -b 256 put -f "$WORK/b03.body" "$LU/b03"
check "libcoap: Block1 NUM 0 M 1 256" '^v:1 t:CON c:PUT .*Block1:0/M/256' "$LT"
check_eq "libcoap: displays 2.01" "2.01 Created" "$OUT"
td_end

td TD_COAP_BLOCK_04 client "$CL -v -b 128 -f post"
head -c 1000 /dev/urandom | base64 -w 64 >"$WORK/b04.body"
cl b04 -v -b 128 post -f "$WORK/b04.body" "$U/large-create"
check "displays 2.01 and Location-Path large-create/PS" $'^2\\.01 Created\nLocation-Path: large-create\nLocation-Path: [0-9]+\n' "$OUT"
ps=$(sed -nE 's/^Location-Path: ([0-9]+)$/\1/p' <<<"$OUT")
cl b04g get "$U/large-create/${ps:-none}"
check_eq "the new resource has the body" "$(printf '2.05 Content\n%s' "$(cat "$WORK/b04.body")")" "$OUT"
td_end

td TD_COAP_BLOCK_05 client "$CL -b 256 -f post (Block1 then Block2)"
head -c 2000 /dev/urandom | base64 -w 64 >"$WORK/b05.body"
cl b05 -b 256 post -f "$WORK/b05.body" "$U/large-post"
check "the handler got the whole body once" "^127\.0\.0\.1:[0-9]+ CON POST /large-post mid=[0-9]+ tkl=[1-8] tok=[0-9a-f]+ len=$(stat -c %s "$WORK/b05.body")( |\$)" "$R"
check_eq "displays the upper-case body" "$(printf '2.04 Changed\n%s' "$(tr '[:lower:]' '[:upper:]' <"$WORK/b05.body")")" "$OUT"
td_end

td TD_COAP_BLOCK_06 client "$CL -b 16 get"
cl b06 -b 16 get "$U/large"
check "Block2 NUM 0 SZX 0 asked for" ' CON GET /large .*Block2=0$' "$(head -n1 <<<"$R")"
check_eq "128 blocks asked for" 128 "$(grep -c ' CON GET /large ' <<<"$R")"
check_eq "displays the whole body" "$(printf '2.05 Content\n%s' "$LARGE")" "$OUT"
td_end

# ---- RFC 6690 -------------------------------------------------------------------

td TD_COAP_LINK_01 client "$CL discover: plugtest server, coap-server-notls"
cl l01 -v discover "$U"
check "GET /.well-known/core" ' CON GET /.well-known/core ' "$R"
check "displays the links, Content-Format 40" $'^2\\.05 Content\nContent-Format: 40\n</test>;' "$OUT"
cl l01l discover "$LU"
check "libcoap: displays its links" '</time>' "$OUT"
td_end

td TD_COAP_LINK_02 client "$CL discover ?rt=Type1"
cl l02 discover "$U?rt=Type1"
check "Uri-Query rt=Type1" ' CON GET /.well-known/core .*Uri-Query=rt=Type1' "$R"
check_eq "displays the Type1 links" $'2.05 Content\n</link1>;rt="Type1 Type2";if="If1";ct=0,</link3>;rt="Type1 Type3";if="foo";ct=0' "$OUT"
td_end

# link_td ID QUERY EXPECTED: discover with ?QUERY; the Uri-Query sent and
# the links displayed.
link_td() {
	td "$1" client "$CL discover ?$2"
	cl "$1" discover "$U?$2"
	check "Uri-Query $2" " CON GET /\\.well-known/core .*Uri-Query=${2//\*/\\*}\$" "$R"
	check_eq "displays only the matching links" "$(printf '2.05 Content\n%s' "$3")" "$OUT"
	td_end
}
L1='</link1>;rt="Type1 Type2";if="If1";ct=0'
L2='</link2>;rt="Type2 Type3";if="If2";ct=0'
L3='</link3>;rt="Type1 Type3";if="foo";ct=0'
link_td TD_COAP_LINK_03 'rt=*' '</seg1/seg2/seg3>;rt="";ct=0,</large>;rt="block";ct=0;sz=2048,</large-update>;rt="block",</large-create>;rt="block",</large-post>;rt="block";ct=0,</obs>;rt="observe";ct=0;obs,</obs-non>;rt="observe";ct=0;obs,</obs-large>;rt="observe";ct=0;sz=1300;obs,</obs-pumping>;rt="observe";ct=0;obs,'"$L1,$L2,$L3"
link_td TD_COAP_LINK_04 'rt=Type2' "$L1,$L2"
link_td TD_COAP_LINK_05 'if=If*' "$L1,$L2"
link_td TD_COAP_LINK_06 'sz=*' '</large>;rt="block";ct=0;sz=2048,</obs-large>;rt="observe";ct=0;sz=1300;obs'
link_td TD_COAP_LINK_07 'href=/link1' "$L1"
link_td TD_COAP_LINK_08 'href=/link*' "$L1,$L2,$L3"

td TD_COAP_LINK_09 client "$CL discover, get /path, get /path/sub1"
cl l09 discover "$U"
check "lists /path with ct=40" '</path>;ct=40' "$OUT"
cl l09p get "$U/path"
check_eq "displays the children" $'2.05 Content\n</path/sub1>;ct=0,</path/sub2>;ct=0,</path/sub3>;ct=0' "$OUT"
cl l09s get "$U/path/sub1"
check_eq "displays /path/sub1" $'2.05 Content\n/path/sub1' "$OUT"
td_end

stop_plugtest main
finish client
