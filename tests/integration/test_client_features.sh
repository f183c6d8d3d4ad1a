#!/usr/bin/env bash
# coapbridge-client's observe/discover/option flags against the plugtest
# server: usage errors for the new options, -v output, --if-match and
# --if-none-match, and an observation ended by SIGINT that still cancels
# (GET Observe 1, RFC 7641 §3.6) and exits 0. The protocol side of each
# flag is checked in tests/conformance/run_client.sh.
: "${COAPBRIDGE_CLIENT:?}" "${FREEPORT:?}" "${BUILD_DIR:?}"
PLUGTEST=$BUILD_DIR/src/plugtest/coapbridge-plugtest-server

. "$(dirname "$0")/peer.sh"

run 2 get --accept bogus coap://127.0.0.1/a
expect_err_line "coapbridge-client: bad accept format 'bogus'"
run 2 put --if-match xyz coap://127.0.0.1/a
expect_err_line "coapbridge-client: bad ETag 'xyz' (1-8 bytes in hex)"
run 2 put --if-match 0011223344556677889900 coap://127.0.0.1/a
expect_err_line "coapbridge-client: bad ETag '0011223344556677889900' (1-8 bytes in hex)"
run 2 get --count 3 coap://127.0.0.1/a
expect_err_line "coapbridge-client: --count, --seconds and --get-after are for observe"
run 2 get --get-after 1 coap://127.0.0.1/a
expect_err_line "coapbridge-client: --count, --seconds and --get-after are for observe"
run 2 observe --get-after 0 coap://127.0.0.1/a
expect_err_line "coapbridge-client: bad --get-after '0' (1 to 1000000)"
run 2 observe --count 0 coap://127.0.0.1/a
expect_err_line "coapbridge-client: bad count '0' (1 to 1000000)"
run 2 observe --seconds -1 coap://127.0.0.1/a
expect_err_line "coapbridge-client: bad seconds '-1'"
run 0 --help
grep -q '^       coapbridge-client observe ' "$tmp/out" || fail "--help: no observe line"

PORT=$("$FREEPORT")
"$PLUGTEST" -p "$PORT" -A 127.0.0.1 -i 200 -v >"$tmp/srv.log" 2>"$tmp/srv.err" &
pids+=($!)
for _ in $(seq 200); do
	grep -q '^listening on' "$tmp/srv.log" && break
	sleep 0.02
done
u=coap://127.0.0.1:$PORT

run 0 -v get "$u/validate"
expect_out $'2.05 Content\nETag: 0x00000001\nContent-Format: 0\nvalidate: first version'
run 0 put --if-match 0x00000001 -p two "$u/validate"
run 1 put --if-match 00000001 -p three "$u/validate"
expect_out "4.12 Precondition Failed"
run 0 put --if-match "" -p any "$u/validate"
expect_out "2.04 Changed"
run 0 put --if-none-match -p new "$u/create1"
expect_out "2.01 Created"
run 1 put --if-none-match -p new "$u/create1"
expect_out "4.12 Precondition Failed"
run 0 discover "$u?href=/link2"
expect_out $'2.05 Content\n</link2>;rt="Type2 Type3";if="If2";ct=0'

# SIGINT ends an open-ended observation cleanly: cancelled, exit 0.
"$COAPBRIDGE_CLIENT" observe "$u/obs" >"$tmp/obs" 2>"$tmp/obs.err" &
obs=$!
for _ in $(seq 200); do
	[[ $(grep -c '^2.05 Content$' "$tmp/obs") -ge 2 ]] && break
	sleep 0.02
done
kill -INT "$obs"
st=0
wait "$obs" || st=$?
[[ $st == 0 ]] || fail "observe after SIGINT: exit $st ($(cat "$tmp/obs.err"))"
grep -q ' CON GET /obs .* Observe=1$' "$tmp/srv.log" || fail "no GET Observe 1 after SIGINT: $(cat "$tmp/srv.log")"
[[ ! -s $tmp/obs.err ]] || fail "observe wrote to stderr: $(cat "$tmp/obs.err")"

# RFC 7959 §2.6: a notification larger than a block (/obs-large: 1300
# bytes in 1024-byte blocks) is shown once, whole, after the client fetched
# the rest with a plain GET: Block2 1/0/1024 (value 22), no Observe, and a
# token that is not the observation's (a GET on that one without Observe
# would end the registration, RFC 7641 §3.6).
run 0 observe -v --count 2 "$u/obs-large"
[[ $(grep -c '^2.05 Content$' "$tmp/out") == 2 ]] || fail "obs-large: not 2 notifications: $(cut -c1-80 "$tmp/out")"
[[ $(awk '/^tick /{print length($0)}' "$tmp/out" | tr '\n' ' ') == "1300 1300 " ]] ||
	fail "obs-large: bodies not whole: $(awk '{print length($0)": "substr($0, 1, 40)}' "$tmp/out")"
[[ $(grep -c '^Observe: ' "$tmp/out") == 2 ]] || fail "obs-large: Observe not shown twice: $(cut -c1-80 "$tmp/out")"
! grep -q '^Block2' "$tmp/out" || fail "obs-large: Block2 shown: $(cut -c1-80 "$tmp/out")"
grep -q '^Size2: 1300$' "$tmp/out" || fail "obs-large: no Size2 1300: $(cut -c1-80 "$tmp/out")"
reg=$(grep -E ' CON GET /obs-large .* Observe=0$' "$tmp/srv.log" | head -n1 | sed 's/.* tok=\([0-9a-f]*\) .*/\1/')
[[ -n $reg ]] || fail "obs-large: no registration in the server log: $(cat "$tmp/srv.log")"
follow=$(grep -E ' CON GET /obs-large .* Block2=22$' "$tmp/srv.log" || true)
[[ $(grep -c . <<<"$follow") -ge 2 ]] || fail "obs-large: not 2 follow-up GETs with Block2: $(cat "$tmp/srv.log")"
! grep -q 'Observe=' <<<"$follow" || fail "obs-large: a follow-up GET carried Observe: $follow"
! grep -q " tok=$reg " <<<"$follow" || fail "obs-large: a follow-up GET used the observation's token: $follow"

# The server stops cleanly (the sanitizer build reports leaks at exit).
kill -TERM "${pids[0]}"
wait "${pids[0]}" || fail "plugtest server exit status $?"
[[ ! -s $tmp/srv.err ]] || fail "plugtest server stderr: $(head -c 2000 "$tmp/srv.err")"

peer_finish "all client feature checks passed"
