# shellcheck shell=bash
#
# Shared functions of the conformance runs (run_server.sh, run_client.sh).
# Each test description (tds.txt) is one `td ID SIDE HOW` ... `td_end`
# block; its checks compare what went over the wire with what the
# description asks. td_end appends "ID|SIDE|pass or fail|HOW|first
# failure" to the run's results file, which gendoc.sh turns into
# docs/conformance.md. A failing description does not stop the run, and
# the run itself fails only on a set-up problem or a sanitizer report:
# the committed table is the expectation (conformance/doc compares).
#
# Every peer runs on loopback at a port from $FREEPORT and is killed by the
# EXIT trap.

set -uo pipefail
: "${PLUGTEST:?}" "${FREEPORT:?}" "${TOOLS_DIR:?}" "${RESULTS_DIR:?}" "${OBSPEER:?}"

RAWCOAP=$TOOLS_DIR/rawcoap
WORK=$(mktemp -d "${TMPDIR:-/tmp}/conformance.XXXXXX")
RESULTS=$WORK/results.txt
: >"$RESULTS"
_PIDS=()
declare -A SRV_PID=() SRV_PORT=()

_cleanup() {
	local rc=$? pid
	for pid in "${_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	# The ASan build: a report in a server's stderr fails the run.
	if grep -lE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$WORK"/*.err 2>/dev/null; then
		echo "SANITIZER REPORT:"
		cat "$WORK"/*.err
		rc=1
	fi
	if [ -n "${KEEP:-}" ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
	exit "$rc"
}
trap _cleanup EXIT
trap 'exit 130' INT TERM

die() {
	echo "SETUP FAILED: $*" >&2
	exit 1
}

# ping_ok PORT: an empty CON gets RST (RFC 7252 §4.3): the server is up.
ping_ok() {
	[ "$("$RAWCOAP" -w 200 -m EMPTY 127.0.0.1 "$1")" = "RST 0.00" ]
}

# start_plugtest NAME [ARGS...]: a plugtest server (-v, request log in
# $WORK/NAME.log) on a free port, SRV_PORT[NAME]; waits until it answers.
start_plugtest() {
	local name=$1 port
	shift
	port=${WANT_PORT:-$("$FREEPORT")} || die "freeport"
	"$PLUGTEST" -p "$port" -v "$@" >"$WORK/$name.log" 2>"$WORK/$name.err" &
	SRV_PID[$name]=$!
	SRV_PORT[$name]=$port
	_PIDS+=("$!")
	for _ in $(seq 100); do
		ping_ok "$port" && return 0
		sleep 0.05
	done
	die "plugtest server $name not answering on $port: $(cat "$WORK/$name.err")"
}

# stop_plugtest NAME: SIGTERM and wait (a clean stop, so ASan sees leaks).
stop_plugtest() {
	kill -TERM "${SRV_PID[$1]}" 2>/dev/null
	wait "${SRV_PID[$1]}" 2>/dev/null
	local st=$?
	[ "$st" -eq 0 ] || die "plugtest server $1 exited with $st"
}

# ---- one test description ----------------------------------------------

TD_ID=
TD_SIDE=
TD_HOW=
TD_FAILS=()

# td ID SIDE HOW: start the description ID, tested on SIDE (server or
# client) the way HOW says (a few words for the table).
td() {
	TD_ID=$1 TD_SIDE=$2 TD_HOW=$3
	TD_FAILS=()
	TD_T0=$(date +%s%N)
}

# check DESC EXTENDED_REGEX TEXT
check() {
	[[ $3 =~ $2 ]] || TD_FAILS+=("$1: got '${3:0:300}'")
}

# check_not DESC EXTENDED_REGEX TEXT
check_not() {
	[[ $3 =~ $2 ]] && TD_FAILS+=("$1: got '${3:0:300}'")
	return 0
}

# check_eq DESC EXPECTED ACTUAL
check_eq() {
	[ "$2" = "$3" ] || TD_FAILS+=("$1: expected '${2:0:200}', got '${3:0:300}'")
}

td_end() {
	local result=pass first=
	if [ "${#TD_FAILS[@]}" -ne 0 ]; then
		result=fail
		first=${TD_FAILS[0]//|/\\|}
		first=${first//$'\n'/ }
		echo "not ok - $TD_ID ($TD_SIDE)"
		printf '#   %s\n' "${TD_FAILS[@]}"
	else
		echo "ok - $TD_ID ($TD_SIDE) $((($(date +%s%N) - TD_T0) / 1000000)) ms"
	fi
	echo "$TD_ID|$TD_SIDE|$result|$TD_HOW|$first" >>"$RESULTS"
}

# finish SIDE: publish the results file for gendoc.sh.
finish() {
	mkdir -p "$RESULTS_DIR"
	cp "$RESULTS" "$RESULTS_DIR/results-$1.txt"
	echo "# $(grep -c '|pass|' "$RESULTS") passed, $(grep -c '|fail|' "$RESULTS") failed"
}

# ---- libcoap's client ------------------------------------------------------

# lc NAME ARGS...: coap-client-notls -v 7 with ARGS; the messages it printed
# ("v:1 t:CON c:GET i:1a2b {01} [ opts ] :: 'payload'") go to
# $WORK/NAME.trace, the data it received to $WORK/NAME.out.
lc() {
	local name=$1
	shift
	coap-client-notls -v 7 -B 5 -o "$WORK/$name.out" "$@" >"$WORK/$name.raw" 2>&1
	grep '^v:1 ' "$WORK/$name.raw" >"$WORK/$name.trace"
	touch "$WORK/$name.out"
}

# first NAME EXTENDED_REGEX: the first trace line matching.
first() {
	grep -m1 -E -- "$2" "$WORK/$1.trace"
}

# count NAME EXTENDED_REGEX: trace lines matching.
count() {
	grep -cE -- "$2" "$WORK/$1.trace"
}

# exchange NAME ARGS...: lc, then Q (the request), M (its message id), T
# (its token) and A (the first response: a line with code class 2-5).
exchange() {
	lc "$@"
	Q=$(first "$1" ' c:(GET|POST|PUT|DELETE|FETCH) ')
	M=$(sed -E 's/.* i:([0-9a-f]+) .*/\1/' <<<"$Q")
	T=$(sed -E 's/.*\{([0-9a-f]*)\}.*/\1/' <<<"$Q")
	A=$(first "$1" ' c:[2-5]\.[0-9]{2} ')
}

# srv_requests NAME: the requests the plugtest server NAME logged.
srv_requests() {
	cat "$WORK/$1.log"
}
