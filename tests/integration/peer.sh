# Sourced by the scripts that test the CoAP core and its client against
# real peers (libcoap's tools, ucoap_testserver), without the gateway:
# a temporary directory, the processes to kill on exit, failure counting
# and the checks on coapbridge-client's output. lib.sh is the gateway's.
set -euo pipefail

tmp=$(mktemp -d)
pids=()
# A script with other processes to stop defines its own cleanup().
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# need TOOL...: exit with a clear message when a libcoap tool is missing.
need() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null || { echo "$t missing (apt install libcoap3-bin)" >&2; exit 1; }
	done
}

# run EXPECTED_STATUS ARGS...: run the client, keep stdout/stderr in files.
run() {
	local want=$1 got=0
	shift
	"$COAPBRIDGE_CLIENT" "$@" >"$tmp/out" 2>"$tmp/err" || got=$?
	[[ $got == "$want" ]] || fail "$*: exit $got, want $want ($(head -c 300 "$tmp/err"))"
}
expect_out() { [[ $(cat "$tmp/out") == "$1" ]] || fail "stdout '$(cat "$tmp/out")', want '$1'"; }
expect_out_re() { [[ $(cat "$tmp/out") =~ $1 ]] || fail "stdout '$(cat "$tmp/out")' does not match '$1'"; }
expect_err_line() {
	[[ $(head -n1 "$tmp/err") == "$1" ]] || fail "stderr '$(head -n1 "$tmp/err")', want '$1'"
}

# peer_finish MESSAGE: fail the test if a check failed, else say MESSAGE.
peer_finish() {
	if ((failures)); then
		echo "$failures failure(s)" >&2
		exit 1
	fi
	echo "$1"
}
