#!/usr/bin/env bash
# Socket activation: systemd-socket-activate binds a UDP socket (as
# coapbridge.socket's ListenDatagram= would), waits for the first datagram
# and execs the daemon with the socket as fd 3, LISTEN_FDS=1 and
# LISTEN_PID=<the daemon's pid>. The daemon must serve CoAP on that socket --
# including the datagram that woke it -- and must not bind its configured
# coap.listen address instead.
. "$(dirname "$0")/lib.sh"

if ! command -v systemd-socket-activate >/dev/null; then
	echo "SKIP: systemd-socket-activate not installed (package systemd; tools/deps.sh installs it)"
	exit 77
fi

COAP_PORT=$(free_port)   # the activated socket
CONF_PORT=$(free_port)   # coap.listen: must stay unbound
NO_BROKER_PORT=$(free_port)

cat >"$WORK/gw.conf" <<EOF
gateway = { id = "itest"; base_topic = "$B"; };
coap = { listen = [ "127.0.0.1:$CONF_PORT" ]; };
mqtt = { host = "127.0.0.1"; port = $NO_BROKER_PORT; };
devices = ( { name = "dev1"; address = "127.0.0.1"; } );
EOF

systemd-socket-activate --datagram -l "127.0.0.1:$COAP_PORT" \
	"$COAPBRIDGE" -c "$WORK/gw.conf" -v >>"$WORK/gateway.stdout" 2>>"$GW_LOG" &
GW_PID=$!
track "$GW_PID"
wait_lines "$GW_LOG" "Listening on 127.0.0.1:$COAP_PORT" 1 5 ||
	die "systemd-socket-activate did not listen"

# Nothing runs yet: the first ping wakes the daemon (systemd-socket-activate
# execs it in place, so LISTEN_PID is the daemon's pid), later ones get
# answered once it is up.
check_true "CoAP ping on the activated socket gets RST" \
	wait_until 10 coap_ping "$COAP_HOST" "$COAP_PORT"
check_true "the activated process is the daemon itself" \
	test "$(readlink "/proc/$GW_PID/exe")" = "$(readlink -f "$COAPBRIDGE")"
check_answer "POST over the activated socket: 2.04 (queued, no broker)" \
	"ACK 2.04" "$(gw_req -m POST -p data/x -e 21.5)"
not_pinged() { ! coap_ping "$1" "$2"; }
check_true "coap.listen ($CONF_PORT) not bound when activated" \
	not_pinged "$COAP_HOST" "$CONF_PORT"

stop_gateway TERM
check_eq "exit status 0 after SIGTERM" 0 "$GW_STATUS"

finish
