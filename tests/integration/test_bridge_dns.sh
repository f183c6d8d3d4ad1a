#!/usr/bin/env bash
# The broker's name is looked up off the event loop: with a DNS server
# that never answers, the gateway answers CoAP at once (so the systemd
# watchdog would be pinged too), logs the failed lookup when the resolver
# gives up, and goes on retrying; it stops cleanly with a lookup in
# flight. The gateway runs in a private mount namespace with its own
# /etc/resolv.conf, naming a silent server on a loopback address.
. "$(dirname "$0")/lib.sh"

NS=127.83.0.53
if ! unshare -m true 2>/dev/null; then
	echo "ok 1 # SKIP unshare -m is not allowed here (needs root)"
	exit 0
fi
"$TOOLS_DIR/silentudp" "$NS" 53 >"$WORK/dns.out" 2>&1 &
track $!
if ! wait_lines "$WORK/dns.out" '^ready$' 1 5; then
	echo "ok 1 # SKIP cannot bind $NS:53: $(cat "$WORK/dns.out")"
	exit 0
fi
# One try of 3 s: glibc's defaults would take 10 s.
printf 'nameserver %s\noptions timeout:3 attempts:1\n' "$NS" >"$WORK/resolv.conf"

COAP_PORT=$(free_port)
cat >"$WORK/gw.conf" <<CONF
gateway = { id = "itest"; base_topic = "$B"; };
coap = { listen = [ "127.0.0.1:$COAP_PORT" ]; };
mqtt = { host = "broker.example"; port = 1883; };
devices = ( { name = "dev1"; address = "127.0.0.1"; } );
CONF
# shellcheck disable=SC2016 # $1 is the inner shell's
GW_LAUNCH=(unshare -m sh -c 'mount --bind "$1" /etc/resolv.conf && shift && exec "$@"' sh "$WORK/resolv.conf")
GW_NO_MQTT_WAIT=1 start_gateway "$WORK/gw.conf"
# A lookup that blocked the loop would have ended (and been logged) before
# the first CoAP answer could go out.
check_eq "CoAP answered while the lookup is still running" "" \
	"$(grep -E 'broker\.example.*(cannot look|could not connect|Lookup)' "$GW_LOG")"
check_answer "a reading meanwhile: 2.04, it waits in the queue" "ACK 2.04" \
	"$(gw_req -m POST -p r -e 1)"
check_true "the failed lookup is logged when the resolver gives up" \
	wait_lines "$GW_LOG" 'mqtt: cannot look broker\.example up: .*; retrying in' 1 15
check_true "still answering CoAP" coap_ping "$COAP_HOST" "$COAP_PORT"
stop_gateway TERM
check_eq "a clean stop, with or without a lookup in flight" 0 "$GW_STATUS"
finish
