#!/usr/bin/env bash
# Interop, block-wise transfers (RFC 7959), both roles:
# - libcoap's coap-client-notls (-b SIZE) GETs ucoap_testserver's /large and
#   PUTs a large file to its /large-update (Block1), then reads it back;
# - coapbridge-client (-b SIZE, -f FILE) against the same server and against
#   libcoap's coap-server-notls (-d: dynamic resources take large PUTs).
# Bodies are compared byte for byte.
: "${TOOLS_DIR:?}" "${FREEPORT:?}" "${COAPBRIDGE_CLIENT:?}"

. "$(dirname "$0")/peer.sh"
need coap-client-notls coap-server-notls

# The body /large serves: 30 lines of 100 bytes, "line NN " then a letter.
for i in $(seq 0 29); do
	c=$(printf "\\$(printf '%03o' $((97 + i % 26)))")
	printf 'line %02d %s\n' "$i" "$(printf "%091d" 0 | tr 0 "$c")"
done >"$tmp/large.want"
[[ $(wc -c <"$tmp/large.want") -eq 3000 ]] || { echo "bad expected body" >&2; exit 1; }
# A 6 KiB upload, text without a trailing newline.
head -c 4608 /dev/urandom | base64 -w0 >"$tmp/up.txt"

PORT=$("$FREEPORT")
"$TOOLS_DIR/ucoap_testserver" "$PORT" 127.0.0.1 >"$tmp/srv.out" 2>"$tmp/srv.err" &
pids+=($!)
for _ in $(seq 200); do
	grep -qx ready "$tmp/srv.out" && break
	sleep 0.02
done
grep -qx ready "$tmp/srv.out" || { echo "server not ready: $(cat "$tmp/srv.err")" >&2; exit 1; }
u="coap://127.0.0.1:$PORT"

# --- libcoap's client, our server ---
for size in 1024 256 16; do
	rm -f "$tmp/got"
	coap-client-notls -B 10 -b "$size" -o "$tmp/got" "$u/large" 2>"$tmp/err" ||
		fail "coap-client -b $size GET /large exited $?"
	cmp -s "$tmp/got" "$tmp/large.want" || fail "coap-client -b $size: /large body differs"
done
# Its trace: each block at the size asked for (the smaller wins, §2.4).
coap-client-notls -B 10 -v 7 -b 64 "$u/large" >"$tmp/trace" 2>&1 || fail "coap-client -v 7 exited $?"
grep -q 'Block2:46/_/64' "$tmp/trace" || fail "no last block 46 of 64 bytes in the trace"
grep -q 'Size2:3000' "$tmp/trace" || fail "no Size2 in the trace"

coap-client-notls -B 10 -m put -b 256 -f "$tmp/up.txt" "$u/large-update" 2>"$tmp/err" ||
	fail "coap-client PUT -f exited $?: $(cat "$tmp/err")"
rm -f "$tmp/got"
coap-client-notls -B 10 -o "$tmp/got" "$u/large-update" 2>"$tmp/err" || fail "GET /large-update exited $?"
cmp -s "$tmp/got" "$tmp/up.txt" || fail "coap-client: Block1 PUT did not arrive whole"

# --- our client, our server ---
"$COAPBRIDGE_CLIENT" get "$u/large" >"$tmp/out" || fail "coapbridge-client GET /large exited $?"
{ head -n1 "$tmp/out" | grep -qx '2.05 Content'; } || fail "coapbridge-client: $(head -n1 "$tmp/out")"
tail -n +2 "$tmp/out" | cmp -s - "$tmp/large.want" || fail "coapbridge-client: /large body differs"
"$COAPBRIDGE_CLIENT" -b 128 -f "$tmp/up.txt" post "$u/large-update" >"$tmp/out" ||
	fail "coapbridge-client -f POST exited $?"
"$COAPBRIDGE_CLIENT" -b 32 get "$u/large-update" >"$tmp/out" || fail "coapbridge-client -b 32 GET exited $?"
# The client adds a newline after a body without one.
tail -n +2 "$tmp/out" | head -c "$(wc -c <"$tmp/up.txt")" | cmp -s - "$tmp/up.txt" ||
	fail "coapbridge-client: Block1 POST / Block2 GET body differs"
# From standard input.
printf 'short' | "$COAPBRIDGE_CLIENT" -f - put "$u/large-update" >/dev/null || fail "-f - exited $?"
"$COAPBRIDGE_CLIENT" get "$u/large-update" >"$tmp/out" || true
[[ $(tail -n +2 "$tmp/out") == short ]] || fail "-f -: got '$(tail -n +2 "$tmp/out")'"

# --- our client, libcoap's server ---
LPORT=$("$FREEPORT")
coap-server-notls -A 127.0.0.1 -p "$LPORT" -d 4 >"$tmp/lsrv.out" 2>&1 &
pids+=($!)
lu="coap://127.0.0.1:$LPORT"
ready=""
for _ in $(seq 100); do
	if "$COAPBRIDGE_CLIENT" -t 0.2 get "$lu/" >/dev/null 2>&1; then ready=1; break; fi
done
[[ -n $ready ]] || { echo "coap-server-notls not ready: $(cat "$tmp/lsrv.out")" >&2; exit 1; }
"$COAPBRIDGE_CLIENT" -b 256 -c text -f "$tmp/up.txt" put "$lu/big" >"$tmp/out" ||
	fail "PUT to coap-server exited $?: $(cat "$tmp/out")"
head -n1 "$tmp/out" | grep -qE '^2\.0[14] ' || fail "PUT to coap-server: $(head -n1 "$tmp/out")"
for size in 1024 64; do
	"$COAPBRIDGE_CLIENT" -b "$size" get "$lu/big" >"$tmp/out" || fail "GET from coap-server -b $size exited $?"
	tail -n +2 "$tmp/out" | head -c "$(wc -c <"$tmp/up.txt")" | cmp -s - "$tmp/up.txt" ||
		fail "GET from coap-server -b $size: body differs"
done

[[ ! -s $tmp/srv.err ]] || fail "test server stderr: $(cat "$tmp/srv.err")"
peer_finish "ok"
