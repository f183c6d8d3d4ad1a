#!/usr/bin/env bash
# Interop: coapbridge-client against libcoap's coap-server-notls on
# loopback (IPv4 and IPv6): GET, PUT/DELETE of a dynamic resource, NON,
# queries, percent-encoded paths, names, a timeout and usage errors.
: "${COAPBRIDGE_CLIENT:?}" "${FREEPORT:?}"

. "$(dirname "$0")/peer.sh"
need coap-server-notls

# start_server ADDR: a coap-server-notls bound to ADDR on a free port
# (allowing up to 10 resources created by PUT); sets $PORT once bound.
start_server() {
	PORT=$("$FREEPORT")
	coap-server-notls -A "$1" -p "$PORT" -d 10 -v 0 >"$tmp/srv-$PORT.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 200); do
		[[ -n $(ss -Huln "sport = :$PORT") ]] && return 0
		kill -0 "${pids[-1]}" 2>/dev/null || { echo "coap-server-notls died: $(cat "$tmp/srv-$PORT.log")" >&2; exit 1; }
		sleep 0.02
	done
	echo "coap-server-notls did not bind $1:$PORT" >&2
	exit 1
}


start_server 127.0.0.1
u="coap://127.0.0.1:$PORT"

# GET, CON and NON. /time answers "Mon DD HH:MM:SS"; ?ticks the seconds.
run 0 get "$u/time"
expect_out_re $'^2\.05 Content\n[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2}$'
run 0 --non get "$u/time"
expect_out_re $'^2\.05 Content\n[A-Z][a-z]{2} [ 0-9][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2}$'
run 0 get "$u/time?ticks"
expect_out_re $'^2\.05 Content\n[0-9]+$'
run 0 get "$u/"
expect_out_re $'^2\.05 Content\nThis is a test server made with libcoap'
# A name (resolved by getaddrinfo; sent as Uri-Host).
run 0 get "coap://localhost:$PORT/time?ticks"
expect_out_re $'^2\.05 Content\n[0-9]+$'

# PUT creates a resource (-d), GET reads it back, DELETE removes it.
run 0 put -c text -p 'hello there' "$u/thing"
expect_out "2.01 Created"
run 0 get "$u/thing"
expect_out $'2.05 Content\nhello there'
run 0 put -p 'changed' "$u/thing"
expect_out "2.04 Changed"
run 0 --non get "$u/thing"
expect_out $'2.05 Content\nchanged'
run 0 delete "$u/thing"
expect_out "2.02 Deleted"
# libcoap adds a diagnostic payload to errors (RFC 7252 §5.5.2).
run 1 get "$u/thing"
expect_out $'4.04 Not Found\nNot Found'
run 1 post -p x "$u/time"
expect_out $'4.05 Method Not Allowed\nMethod Not Allowed'

# The Content-Format we send is the one libcoap stores and returns.
run 0 put --content-format json -p '{"a":1}' "$u/j"
expect_out "2.01 Created"
coap-client-notls -v 6 -B 5 "$u/j" >"$tmp/trace" 2>&1
grep -q "c:2.05 .*\[ Content-Format:application/json \] :: '{\"a\":1}'" "$tmp/trace" ||
	fail "Content-Format not stored as json: $(grep '^v:1' "$tmp/trace")"

# Percent-encoded path segments are decoded (RFC 7252 §6.4 step 8):
# libcoap lists the resource "a b" re-encoded as </a%20b>.
run 0 put -p 'spaced' "$u/a%20b"
expect_out "2.01 Created"
run 0 get "$u/a%20b"
expect_out $'2.05 Content\nspaced'
run 0 get "$u/.well-known/core"
[[ $(cat "$tmp/out") == *'</a%20b>'* ]] || fail "resource 'a b' not listed: $(cat "$tmp/out")"

# IPv6: a second server on [::1].
start_server ::1
run 0 get "coap://[::1]:$PORT/time?ticks"
expect_out_re $'^2\.05 Content\n[0-9]+$'
run 0 put -p v6 "coap://[::1]:$PORT/six"
expect_out "2.01 Created"
run 0 --non get "coap://[::1]:$PORT/six"
expect_out $'2.05 Content\nv6'

# Timeout: nothing listens on a fresh free port.
DEAD=$("$FREEPORT")
run 3 get --timeout 0.5 "coap://127.0.0.1:$DEAD/time"
[[ $(cat "$tmp/err") == "coapbridge-client: timeout: no answer from 127.0.0.1:$DEAD after 0.5 s" ]] ||
	fail "timeout message: '$(cat "$tmp/err")'"
expect_out ""
run 3 --non get -t 0.5 "coap://[::1]:$DEAD/time"
[[ $(cat "$tmp/err") == "coapbridge-client: timeout: no answer from [::1]:$DEAD after 0.5 s" ]] ||
	fail "timeout message: '$(cat "$tmp/err")'"

# Usage errors never reach the network.
run 2 get
grep -q '^usage: coapbridge-client' "$tmp/err" || fail "no usage on stderr"
run 2 patch "$u/time"
[[ $(head -n1 "$tmp/err") == "coapbridge-client: unknown method 'patch'" ]] || fail "method error: $(head -n1 "$tmp/err")"
run 2 get "coaps://127.0.0.1:$PORT/time"
[[ $(head -n1 "$tmp/err") == "coapbridge-client: coaps://127.0.0.1:$PORT/time: not a coap:// URI (coaps and coap+tcp are not supported)" ]] ||
	fail "scheme error: $(head -n1 "$tmp/err")"

for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null || fail "coap-server-notls $p died"; done
peer_finish "all interop (ucoap client -> libcoap server) checks passed"
