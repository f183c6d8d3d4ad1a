#!/usr/bin/env bash
# Interop: libcoap's coap-client-notls against ucoap_testserver, a server
# built on our core. Checks the code, type, options and payload of each
# answer as libcoap decoded them (its -v 7 trace) and what it printed.
: "${TOOLS_DIR:?}" "${FREEPORT:?}"

. "$(dirname "$0")/peer.sh"
need coap-client-notls
srv=""
cleanup() {
	[[ -n $srv ]] && kill "$srv" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$tmp"
}

PORT=$("$FREEPORT")
"$TOOLS_DIR/ucoap_testserver" "$PORT" >"$tmp/srv.out" 2>"$tmp/srv.err" &
srv=$!
for _ in $(seq 200); do
	grep -qx ready "$tmp/srv.out" && break
	kill -0 "$srv" 2>/dev/null || { echo "server died: $(cat "$tmp/srv.err")" >&2; exit 1; }
	sleep 0.02
done
grep -qx ready "$tmp/srv.out" || { echo "server not ready" >&2; exit 1; }

# coap ARGS...: run coap-client-notls with its PDU trace; $tmp/trace holds
# every message it sent and received, without message ids and tokens
# (random), $tmp/out what it printed on stdout besides the trace.
coap() {
	coap-client-notls -v 7 -B 5 "$@" >"$tmp/raw" 2>&1 || fail "coap-client-notls $* exited $?"
	sed -nE 's/^(v:1 t:[A-Z]+ c:[0-9A-Z.]+) i:[0-9a-f]+ \{[0-9a-f]*\}/\1/p' "$tmp/raw" >"$tmp/trace"
}
# answer: the last response (a code of class 2-5) libcoap received.
answer() { grep -E '^v:1 t:[A-Z]+ c:[2-5]\.' "$tmp/trace" | tail -n1; }
expect() {
	local got
	got=$(answer)
	[[ $got == "$1" ]] || fail "answer '$got', want '$1' (trace: $(cat "$tmp/trace"))"
}

u="coap://127.0.0.1:$PORT"

# GET, CON and NON. The answer to a CON is a piggybacked ACK; to a NON a
# NON (RFC 7252 §5.2.3; microCoAPy wrongly sent an ACK).
coap "$u/hello"
expect "v:1 t:ACK c:2.05 [ Content-Format:text/plain ] :: 'hello'"
coap -N "$u/hello"
expect "v:1 t:NON c:2.05 [ Content-Format:text/plain ] :: 'hello'"

# PUT / GET / POST / DELETE on a stored value with its content format.
coap -m get "$u/store"
expect "v:1 t:ACK c:4.04 [ ]"
coap -m put -t json -e '{"t":21.5}' "$u/store"
expect "v:1 t:ACK c:2.01 [ ]"
coap -m get "$u/store"
expect "v:1 t:ACK c:2.05 [ Content-Format:application/json ] :: '{\"t\":21.5}'"
coap -m put -t text -e 'again' "$u/store"
expect "v:1 t:ACK c:2.04 [ ]"
coap -N -m post -t xml -e '<x/>' "$u/store"
expect "v:1 t:NON c:2.04 [ ]"
coap -m get "$u/store"
expect "v:1 t:ACK c:2.05 [ Content-Format:application/xml ] :: '<x/>'"
coap -m delete "$u/store"
expect "v:1 t:ACK c:2.02 [ ]"
coap -N -m get "$u/store"
expect "v:1 t:NON c:4.04 [ ]"
coap -m delete "$u/hello"
expect "v:1 t:ACK c:4.05 [ ]"

# Uri-Query: libcoap sends one option per argument; the server joins them.
coap "$u/query?a=1&b=two&c"
expect "v:1 t:ACK c:2.05 [ Content-Format:text/plain ] :: 'a=1&b=two&c'"
coap -N -m post "$u/query?only"
expect "v:1 t:NON c:2.05 [ Content-Format:text/plain ] :: 'only'"

# Content-Format echoed back, by number and by payload.
coap -m post -t 60 -e 'abc' "$u/cf"
expect "v:1 t:ACK c:2.05 [ Content-Format:text/plain ] :: '60'"
coap -m put -t json -e '[1,2]' "$u/echo"
expect "v:1 t:ACK c:2.05 [ Content-Format:application/json ] :: '[1,2]'"
coap -m put -e 'plain' "$u/cf"
expect "v:1 t:ACK c:2.05 [ Content-Format:text/plain ] :: 'none'"

# An unrecognised critical option (odd number, RFC 7252 §5.4.1) gets 4.02
# piggybacked for a CON; a NON is rejected, silently (§4.3); an unknown
# elective one (even) is ignored.
coap -O 65001,x "$u/hello"
expect "v:1 t:ACK c:4.02 [ ]"
coap -B 1 -N -O 65001,x "$u/hello"
if grep -qE '^v:1 t:[A-Z]+ c:[2-5]\.' "$tmp/trace"; then
	fail "NON with 65001 answered (trace: $(cat "$tmp/trace"))"
fi
coap -O 65000,x "$u/hello"
expect "v:1 t:ACK c:2.05 [ Content-Format:text/plain ] :: 'hello'"

# Unknown resource: 4.04 from the core.
coap "$u/no/such/thing"
expect "v:1 t:ACK c:4.04 [ ]"

# Separate response (RFC 7252 §5.2.2): an empty ACK first, then the answer
# as a CON, which libcoap acknowledges. For a NON: one NON answer.
coap "$u/separate"
want=$'v:1 t:CON c:GET [ Uri-Port:'"$PORT"$', Uri-Path:separate ]\nv:1 t:ACK c:0.00 [ ]\nv:1 t:CON c:2.05 [ Content-Format:text/plain ] :: \'separate\'\nv:1 t:ACK c:0.00 [ ]'
[[ $(cat "$tmp/trace") == "$want" ]] || fail "separate exchange: $(cat "$tmp/trace")"
coap -N "$u/separate"
expect "v:1 t:NON c:2.05 [ Content-Format:text/plain ] :: 'separate'"
! grep -q 't:ACK' "$tmp/trace" || fail "an ACK in a NON exchange: $(cat "$tmp/trace")"

# What coap-client-notls prints on stdout: the payload.
coap-client-notls -B 5 "$u/hello" >"$tmp/out" 2>"$tmp/err" || fail "coap-client-notls exit $?"
[[ $(cat "$tmp/out") == hello ]] || fail "stdout '$(cat "$tmp/out")', want 'hello'"

# IPv6: the server's socket is dual-stack.
coap "coap://[::1]:$PORT/hello"
expect "v:1 t:ACK c:2.05 [ Content-Format:text/plain ] :: 'hello'"
coap -N -m put -e 'v6' "coap://[::1]:$PORT/echo"
expect "v:1 t:NON c:2.05 [ ] :: 'v6'"

# A clean stop: exit 0 on SIGTERM, nothing on stderr (a sanitizer report
# in the ASan build would land there).
kill "$srv"
rc=0
wait "$srv" || rc=$?
srv=""
[[ $rc == 0 ]] || fail "server exited $rc after SIGTERM"
[[ ! -s $tmp/srv.err ]] || fail "server stderr: $(head -c 2000 "$tmp/srv.err")"
peer_finish "all interop (libcoap client -> ucoap server) checks passed"
