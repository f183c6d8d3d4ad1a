#!/usr/bin/env bash
# coapbridge-client's command line: usage errors, --help, bad URIs (each
# with its exit status and message), then percent-decoding, content
# formats, Reset and timeout against ucoap_testserver on loopback.
: "${COAPBRIDGE_CLIENT:?}" "${TOOLS_DIR:?}" "${FREEPORT:?}"

. "$(dirname "$0")/peer.sh"

expect_usage_on_stderr() {
	grep -q '^usage: coapbridge-client get|put|post|delete' "$tmp/err" || fail "no usage on stderr"
	[[ ! -s $tmp/out ]] || fail "stdout not empty on a usage error"
}

# wait_ready FILE PID: until the server printed "ready" (or died).
wait_ready() {
	for _ in $(seq 200); do
		grep -qx ready "$1" 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || { echo "server died: $(cat "$1")" >&2; exit 1; }
		sleep 0.02
	done
	echo "server not ready" >&2
	exit 1
}

# --- help and usage errors (no network) ---
run 0 --help
grep -q '^usage: coapbridge-client get|put|post|delete' "$tmp/out" || fail "--help: no usage on stdout"
grep -q '^Exit status: 0 for a 2.xx answer' "$tmp/out" || fail "--help: exit statuses not documented"
[[ ! -s $tmp/err ]] || fail "--help wrote to stderr"
run 0 -h
grep -q '^usage: ' "$tmp/out" || fail "-h: no usage on stdout"

run 2
expect_err_line "coapbridge-client: a method and a URI are needed"
expect_usage_on_stderr
run 2 get
expect_err_line "coapbridge-client: a method and a URI are needed"
run 2 get coap://127.0.0.1/a extra
expect_err_line "coapbridge-client: too many arguments"
run 2 fetch coap://127.0.0.1/a
expect_err_line "coapbridge-client: unknown method 'fetch'"
expect_usage_on_stderr
run 2 --bogus get coap://127.0.0.1/a
expect_err_line "coapbridge-client: unknown option '--bogus'"
expect_usage_on_stderr
run 2 get -c foo coap://127.0.0.1/a
expect_err_line "coapbridge-client: bad content format 'foo'"
run 2 get --content-format 65536 coap://127.0.0.1/a
expect_err_line "coapbridge-client: bad content format '65536'"
run 2 get --timeout 0 coap://127.0.0.1/a
expect_err_line "coapbridge-client: bad timeout '0' (seconds, > 0, at most 86400)"
run 2 get -t 1s coap://127.0.0.1/a
expect_err_line "coapbridge-client: bad timeout '1s' (seconds, > 0, at most 86400)"
run 2 get -p
expect_err_line "coapbridge-client: option '-p' needs a value"
run 2 get coap://127.0.0.1/a --timeout
expect_err_line "coapbridge-client: option '--timeout' needs a value"
run 2 -x get coap://127.0.0.1/a
expect_err_line "coapbridge-client: unknown option '-x'"
# ETags and tokens are hex digit pairs only: a sign or a blank that
# strtoul would take must not turn a typo into another value. (Should one
# pass, it goes to a free port and times out fast, never to 5683.)
nobody="coap://127.0.0.1:$("$FREEPORT")/a"
for v in -1 +1 ' 1' 0x-1 0x+1 1g; do
	run 2 get -t 0.2 --if-match "$v" "$nobody"
	expect_err_line "coapbridge-client: bad ETag '$v' (1-8 bytes in hex)"
	expect_usage_on_stderr
	run 2 get -t 0.2 --etag "$v" "$nobody"
	expect_err_line "coapbridge-client: bad ETag '$v' (1-8 bytes in hex)"
	run 2 get -t 0.2 --token "$v" "$nobody"
	expect_err_line "coapbridge-client: bad token '$v' (0-8 bytes in hex)"
done
# --count and --get-after: decimal 1..1000000, digits only ("-1" would
# otherwise wrap to 4294967295).
for v in -1 +1 ' 1' 0 1000001 2x; do
	run 2 observe -t 0.2 --count "$v" "$nobody"
	expect_err_line "coapbridge-client: bad count '$v' (1 to 1000000)"
	run 2 observe -t 0.2 --get-after "$v" "$nobody"
	expect_err_line "coapbridge-client: bad --get-after '$v' (1 to 1000000)"
done

# --- bad URIs: usage errors with the reason ---
bad_uri() {
	run 2 get "$1"
	expect_err_line "coapbridge-client: $1: $2"
	expect_usage_on_stderr
}
bad_uri "http://127.0.0.1/a" "not a coap:// URI (coaps and coap+tcp are not supported)"
bad_uri "coaps://127.0.0.1/a" "not a coap:// URI (coaps and coap+tcp are not supported)"
bad_uri "127.0.0.1/a" "not a coap:// URI (coaps and coap+tcp are not supported)"
bad_uri "coap:///a" "missing host"
bad_uri "coap://" "missing host"
bad_uri "coap://127.0.0.1:0/a" "bad port (1-65535)"
bad_uri "coap://127.0.0.1:65536/a" "bad port (1-65535)"
bad_uri "coap://127.0.0.1:56x/a" "bad port (1-65535)"
bad_uri "coap://[::1/a" "missing ']' after an IPv6 address"
bad_uri "coap://[::zz]/a" "bad IPv6 address"
bad_uri "coap://[::1]x/a" "junk after ']'"
bad_uri "coap://user@127.0.0.1/a" "user information is not allowed in a coap URI"
bad_uri "coap://127.0.0.1/a#frag" "a coap URI must not have a fragment ('#')"
bad_uri "coap://127.0.0.1/a%2" "bad percent-encoding"
bad_uri "coap://127.0.0.1/a%zz" "bad percent-encoding"
bad_uri "coap://127.0.0.1/a?x=%g0" "bad percent-encoding"
long=$(printf 'x%.0s' $(seq 256))
bad_uri "coap://127.0.0.1/$long" "path segment or query argument longer than 255 bytes"
many=$(printf '/s%.0s' $(seq 40))
bad_uri "coap://127.0.0.1$many" "too many path segments and query arguments"

# --- against our own server on loopback ---
PORT=$("$FREEPORT")
"$TOOLS_DIR/ucoap_testserver" "$PORT" >"$tmp/srv.out" 2>"$tmp/srv.err" &
pids+=($!)
wait_ready "$tmp/srv.out" $!
base="coap://127.0.0.1:$PORT"

run 0 get "$base/hello"
expect_out $'2.05 Content\nhello'
# Both cases and the 0x prefix are hex.
run 0 get "$base/hello" --token 0aF9 --if-match 0xA0f9
expect_out $'2.05 Content\nhello'
# Names resolve through getaddrinfo ("localhost" from /etc/hosts).
run 0 get "coap://localhost:$PORT/hello"
expect_out $'2.05 Content\nhello'
# Percent-decoding, RFC 7252 §6.4 steps 8-9: "que%72y" is the path
# "query"; "%26" is a '&' inside one argument, not a separator.
run 0 get "$base/que%72y?a=%26&b%3D=%20"
expect_out $'2.05 Content\na=&&b== '
run 0 post "$base/cf" -c json -p '{}'
expect_out $'2.05 Content\n50'
run 0 post "$base/cf" --content-format cbor
expect_out $'2.05 Content\n60'
run 0 post "$base/cf" --content-format 11050
expect_out $'2.05 Content\n11050'
run 0 put "$base/cf"
expect_out $'2.05 Content\nnone'
run 0 --non put "$base/echo" -p 'two words'
expect_out $'2.05 Content\ntwo words'
# Separate responses (RFC 7252 §5.2.2): empty ACK, then a CON; for a NON
# request a NON.
run 0 get "$base/separate"
expect_out $'2.05 Content\nseparate'
run 0 --non get "coap://[::1]:$PORT/separate"
expect_out $'2.05 Content\nseparate'
run 1 get "$base/nothing/here"
expect_out "4.04 Not Found"
run 1 put "$base/hello"
expect_out "4.05 Method Not Allowed"

# Reset: the server's --reset mode answers every CON with RST.
RPORT=$("$FREEPORT")
"$TOOLS_DIR/ucoap_testserver" --reset "$RPORT" 127.0.0.1 >"$tmp/rst.out" 2>"$tmp/rst.err" &
pids+=($!)
wait_ready "$tmp/rst.out" $!
run 4 get "coap://127.0.0.1:$RPORT/hello"
expect_err_line "coapbridge-client: reset: 127.0.0.1:$RPORT answered with RST"
expect_out ""

# Timeout: a NON to the RST server is silently ignored.
run 3 --non get --timeout 0.3 "coap://127.0.0.1:$RPORT/hello"
expect_err_line "coapbridge-client: timeout: no answer from 127.0.0.1:$RPORT after 0.3 s"

peer_finish "all client CLI checks passed"
