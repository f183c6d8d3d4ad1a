#!/usr/bin/env bash
# Interop for Observe (RFC 7641), both roles: libcoap's coap-client-notls
# observing /obs on ucoap_testserver (our server role), and our client role
# (tools/ucoap_observe) observing ucoap_testserver's /obs and libcoap's
# coap-server-notls /time (observable, changes every second).
: "${TOOLS_DIR:?}" "${FREEPORT:?}"

. "$(dirname "$0")/peer.sh"
need coap-client-notls coap-server-notls
srv="" lsrv=""
cleanup() {
	[[ -n $srv ]] && kill "$srv" 2>/dev/null || true
	[[ -n $lsrv ]] && kill "$lsrv" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$tmp"
}

# increasing FILE: the numbers in FILE (one per line) strictly increase.
increasing() { awk 'NR > 1 && $1 <= prev { bad = 1 } { prev = $1 } END { exit bad }' "$1"; }

PORT=$("$FREEPORT")
"$TOOLS_DIR/ucoap_testserver" "$PORT" 127.0.0.1 >"$tmp/srv.out" 2>"$tmp/srv.err" &
srv=$!
for _ in $(seq 200); do
	grep -qx ready "$tmp/srv.out" && break
	kill -0 "$srv" 2>/dev/null || { echo "server died: $(cat "$tmp/srv.err")" >&2; exit 1; }
	sleep 0.02
done
grep -qx ready "$tmp/srv.out" || { echo "server not ready" >&2; exit 1; }

# 1. libcoap observes our /obs for 3 s: the registration's answer and one
# notification per 500 ms change, each "obs N" with N increasing, and
# the Observe option on each (its -v 7 trace).
coap-client-notls -v 7 -s 3 "coap://127.0.0.1:$PORT/obs" >"$tmp/c1" 2>&1 || fail "coap-client-notls -s exited $?"
grep -oE "obs [0-9]+'" "$tmp/c1" | tr -d "'" | awk '{ print $2 }' >"$tmp/c1.n" || true
n=$(wc -l <"$tmp/c1.n")
((n >= 5)) || fail "coap-client saw $n notifications of /obs in 3 s, want >= 5: $(cat "$tmp/c1")"
increasing "$tmp/c1.n" || fail "notifications out of order: $(tr '\n' ' ' <"$tmp/c1.n")"
grep -qE 't:NON c:2\.05 .*Observe:' "$tmp/c1" || fail "no NON notification with Observe: $(cat "$tmp/c1")"
grep -qE 't:CON c:2\.05 .*Observe:' "$tmp/c1" || fail "no CON notification with Observe: $(cat "$tmp/c1")"

# 2. Our client observes our /obs: 4 notifications, increasing, then a
# clean cancel (exit 0).
"$TOOLS_DIR/ucoap_observe" "127.0.0.1:$PORT" obs 4 10 >"$tmp/c2" || fail "ucoap_observe /obs exited $?"
[[ $(wc -l <"$tmp/c2") -eq 4 ]] || fail "ucoap_observe /obs printed: $(cat "$tmp/c2")"
awk '{ print $3 }' "$tmp/c2" >"$tmp/c2.n"
increasing "$tmp/c2.n" || fail "our client's /obs states out of order: $(cat "$tmp/c2")"
awk '{ print $1 }' "$tmp/c2" >"$tmp/c2.seq"
increasing "$tmp/c2.seq" || fail "Observe numbers out of order: $(cat "$tmp/c2")"

# 3. The PUT trigger: a change notified at once to a libcoap observer.
coap-client-notls -s 2 "coap://127.0.0.1:$PORT/obs" >"$tmp/c3" 2>&1 &
obs=$!
sleep 0.5
coap-client-notls -m put -e 1000 "coap://127.0.0.1:$PORT/obs" >/dev/null 2>&1 || fail "PUT /obs failed"
wait "$obs" || fail "coap-client-notls -s 2 exited $?"
grep -q "obs 100[0-9]" "$tmp/c3" || fail "PUT's state not notified: $(cat "$tmp/c3")"

# 4. Our client observes libcoap's /time.
LPORT=$("$FREEPORT")
coap-server-notls -A 127.0.0.1 -p "$LPORT" >"$tmp/lsrv.out" 2>&1 &
lsrv=$!
for _ in $(seq 100); do
	coap-client-notls -B 1 "coap://127.0.0.1:$LPORT/time" >/dev/null 2>&1 && break
	sleep 0.05
done
"$TOOLS_DIR/ucoap_observe" "127.0.0.1:$LPORT" time 3 15 >"$tmp/c4" || fail "ucoap_observe /time exited $?: $(cat "$tmp/c4")"
[[ $(wc -l <"$tmp/c4") -eq 3 ]] || fail "ucoap_observe /time printed: $(cat "$tmp/c4")"
awk '{ print $1 }' "$tmp/c4" >"$tmp/c4.seq"
increasing "$tmp/c4.seq" || fail "libcoap's Observe numbers out of order: $(cat "$tmp/c4")"

kill "$srv"
wait "$srv" || fail "ucoap_testserver exited $?"
srv=""
[[ -s $tmp/srv.err ]] && fail "server stderr: $(cat "$tmp/srv.err")"
((failures == 0)) || exit 1
echo "observe interop: ok"
