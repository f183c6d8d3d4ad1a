#!/usr/bin/env bash
# sd_notify: run the daemon with NOTIFY_SOCKET at a datagram socket the test
# owns (tools/notify_listen) and WATCHDOG_USEC set, and check what it tells
# the service manager, in order: READY=1 once the config is loaded and the
# CoAP socket bound -- without any broker (none listens on the configured
# port) --, STATUS=, WATCHDOG=1, RELOADING=1 with MONOTONIC_USEC= and READY=1
# again on SIGHUP, STOPPING=1 on SIGTERM, then exit status 0.
. "$(dirname "$0")/lib.sh"

NOTIFY=$WORK/notify.sock
NLOG=$WORK/notify.log
COAP_PORT=$(free_port)
NO_BROKER_PORT=$(free_port) # nothing listens here: the broker stays away

cat >"$WORK/gw.conf" <<EOF
gateway = { id = "itest"; base_topic = "$B"; };
coap = { listen = [ "127.0.0.1:$COAP_PORT" ]; };
mqtt = { host = "127.0.0.1"; port = $NO_BROKER_PORT; };
devices = ( { name = "dev1"; address = "127.0.0.1"; } );
EOF

"$TOOLS_DIR/notify_listen" -t "$NOTIFY" >"$NLOG" 2>&1 &
track $!
wait_until 5 test -S "$NOTIFY" || die "notify_listen did not bind $NOTIFY"

# notified N REGEX: at least N messages matching REGEX (after the stamp).
notified() {
	[ "$(cut -d' ' -f2- "$NLOG" | grep -cE -- "$2")" -ge "$1" ]
}

# 2 s: the daemon must ping every second (half the interval).
NOTIFY_SOCKET=$NOTIFY WATCHDOG_USEC=2000000 GW_NO_MQTT_WAIT=1 \
	start_gateway "$WORK/gw.conf"

check_true "READY=1 while the broker is unreachable" wait_until 5 notified 1 '^READY=1$'
check_true "STATUS= with a summary" wait_until 5 notified 1 '^STATUS=.+'
check_true "WATCHDOG=1 pings (WATCHDOG_USEC=2000000)" wait_until 10 notified 2 '^WATCHDOG=1$'

before=$(wc -l <"$NLOG")
kill -HUP "$GW_PID"
check_true "RELOADING=1 on SIGHUP" wait_until 5 notified 1 '^RELOADING=1'
check_true "READY=1 again after the reload" wait_until 5 notified 2 '^READY=1$'
check_true "still serving CoAP after the reload" coap_ping "$COAP_HOST" "$COAP_PORT"

# MONOTONIC_USEC is CLOCK_MONOTONIC in microseconds, taken when the reload
# began: after the last message received before SIGHUP, and no later than
# its own receipt.
reload=$(grep -m1 -E '^[0-9]+ (RELOADING|MONOTONIC_USEC)=' "$NLOG" || true)
check_match "RELOADING=1 comes with MONOTONIC_USEC= in the same message" \
	'^[0-9]+ (RELOADING=1 MONOTONIC_USEC=[0-9]+|MONOTONIC_USEC=[0-9]+ RELOADING=1)$' "$reload"
if [[ $reload =~ MONOTONIC_USEC=([0-9]+) ]]; then
	mono=${BASH_REMATCH[1]}
	received=${reload%% *}
	last_before=$(sed -n "${before}p" "$NLOG" | cut -d' ' -f1)
	check_true "MONOTONIC_USEC=$mono is CLOCK_MONOTONIC at the reload ($last_before < it <= $received)" \
		test "$mono" -gt "$last_before" -a "$mono" -le "$received"
fi

stop_gateway TERM
check_eq "exit status 0 after SIGTERM" 0 "$GW_STATUS"
check_true "STOPPING=1 on SIGTERM" notified 1 '^STOPPING=1$'

# The lifecycle messages in order (STATUS= and WATCHDOG=1 may come between).
order=$(cut -d' ' -f2 "$NLOG" | grep -E '^(READY|RELOADING|STOPPING)=' | tr '\n' ' ')
check_eq "READY, RELOADING, READY, STOPPING in order" \
	"READY=1 RELOADING=1 READY=1 STOPPING=1 " "$order"

finish
