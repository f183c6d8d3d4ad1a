#!/usr/bin/env bash
# MQTT over TLS (the mqtt.tls group) against a real mosquitto with TLS
# listeners, with a throwaway CA and certificates made here by openssl:
# server authentication with ca_file (uplink and downlink, a TLS
# subscriber), a wrong CA (no connection, the reason logged, retries, the
# reading held in the queue), mutual TLS (require_certificate: with
# cert_file/key_file accepted, without refused), a certificate that does
# not name the host, and the config checks of the tls group's files.
. "$(dirname "$0")/lib.sh"

command -v openssl >/dev/null || die "openssl missing (apt install openssl)"

# ---- certificates ------------------------------------------------------------

PKI=$WORK/pki
mkdir -p "$PKI"
# A config of our own, so the system's openssl.cnf adds nothing.
cat >"$PKI/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
[dn]
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
authorityKeyIdentifier = keyid
[othername]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:other.invalid
authorityKeyIdentifier = keyid
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
EOF

# new_ca NAME: a self-signed CA, $PKI/NAME.pem and NAME.key (P-256: fast).
new_ca() {
	openssl req -x509 -config "$PKI/openssl.cnf" -extensions ca \
		-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$PKI/$1.key" -out "$PKI/$1.pem" -days 2 -subj "/CN=itest $1" \
		>>"$PKI/log" 2>&1 || die "openssl: CA $1: $(cat "$PKI/log")"
}

# new_cert NAME CA SERIAL EXTENSIONS: a key and a certificate signed by CA.
new_cert() {
	openssl req -new -config "$PKI/openssl.cnf" \
		-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$PKI/$1.key" -out "$PKI/$1.csr" -subj "/CN=itest $1" \
		>>"$PKI/log" 2>&1 || die "openssl: request $1: $(cat "$PKI/log")"
	openssl x509 -req -in "$PKI/$1.csr" -CA "$PKI/$2.pem" -CAkey "$PKI/$2.key" \
		-set_serial "$3" -days 2 -extfile "$PKI/openssl.cnf" -extensions "$4" \
		-out "$PKI/$1.pem" >>"$PKI/log" 2>&1 || die "openssl: certificate $1: $(cat "$PKI/log")"
}

new_ca ca
new_ca ca2 # trusted by nobody: the wrong CA
new_cert server ca 1 server
new_cert othername ca 2 othername
new_cert client ca 3 client
openssl verify -CAfile "$PKI/ca.pem" "$PKI/server.pem" "$PKI/othername.pem" \
	"$PKI/client.pem" >/dev/null 2>&1 || die "generated certificates do not verify"

# ---- the broker: a plain listener for the lib.sh helpers, three TLS ones ----

TLS_PORT=$(free_port)   # server certificate for 127.0.0.1/localhost
MTLS_PORT=$(free_port)  # the same, and a client certificate is required
OTHER_PORT=$(free_port) # a certificate that names only other.invalid
BROKER_EXTRA="listener $TLS_PORT 127.0.0.1
cafile $PKI/ca.pem
certfile $PKI/server.pem
keyfile $PKI/server.key
listener $MTLS_PORT 127.0.0.1
cafile $PKI/ca.pem
certfile $PKI/server.pem
keyfile $PKI/server.key
require_certificate true
listener $OTHER_PORT 127.0.0.1
cafile $PKI/ca.pem
certfile $PKI/othername.pem
keyfile $PKI/othername.key"
start_broker

TLS_ARGS=(-p "$TLS_PORT" --cafile "$PKI/ca.pem")
MTLS_ARGS=(-p "$MTLS_PORT" --cafile "$PKI/ca.pem" --cert "$PKI/client.pem" --key "$PKI/client.key")

_tls_accepts() {
	mosquitto_pub -h 127.0.0.1 "${TLS_ARGS[@]}" -t itest/probe -n -q 0 >/dev/null 2>&1 &&
		mosquitto_pub -h 127.0.0.1 "${MTLS_ARGS[@]}" -t itest/probe -n -q 0 >/dev/null 2>&1
}
wait_until 5 _tls_accepts || die "mosquitto did not accept TLS on $TLS_PORT/$MTLS_PORT"
# The listeners really are TLS: a plain client gets nowhere.
check_true "the TLS listener refuses plain MQTT" \
	bash -c "! mosquitto_pub -h 127.0.0.1 -p $TLS_PORT -t itest/probe -n 2>/dev/null"

# ---- the gateway ---------------------------------------------------------------

COAP_PORT=$(free_port)
DEV_PORT=$(free_port)
start_device dev1 127.0.0.1 "$DEV_PORT" -e ok

# gw_conf NAME HOST PORT TLS_GROUP_BODY: $WORK/NAME.conf, a gateway on
# $COAP_PORT with the broker at HOST:PORT and mqtt.tls = { BODY }. The
# short keepalive is harmless; the reconnect backoff starts at 1 s.
gw_conf() {
	cat >"$WORK/$1.conf" <<EOF
gateway = { id = "$1"; base_topic = "$B"; default_routes = true; };
coap = { listen = [ "127.0.0.1:$COAP_PORT" ]; request_timeout_ms = 2000; };
mqtt = { host = "$2"; port = $3; qos = 1; tls = { $4 }; };
devices = ( { name = "dev1"; address = "127.0.0.1"; port = $DEV_PORT; } );
EOF
}

# Lines of the gateway's and the broker's logs written since log_mark.
MARK=0
BMARK=0
_lines() {
	if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi
}
log_mark() {
	MARK=$(_lines "$GW_LOG")
	BMARK=$(_lines "$BROKER_LOG")
}
log_since() {
	tail -n "+$((MARK + 1))" "$GW_LOG" 2>/dev/null
}
broker_log_since() {
	tail -n "+$((BMARK + 1))" "$BROKER_LOG" 2>/dev/null
}
_log_since_has() {
	[ "$(log_since | grep -cE -- "$1")" -ge "$2" ]
}
# wait_log REGEX COUNT: until the gateway's log since the mark has COUNT
# such lines.
wait_log() {
	wait_until 20 _log_since_has "$1" "$2"
}
# The broker logs every failed TLS handshake once (the gateway's own
# messages are rate-limited, so they cannot be counted).
_failed_handshakes() {
	[ "$(broker_log_since | grep -cE 'OpenSSL Error|Client connection from 127\.0\.0\.1 failed')" -ge "$1" ]
}

# tls_sub NAME COUNT ARGS...: a subscriber connected over TLS.
tls_sub() {
	local name=$1 count=$2
	shift 2
	mqtt_sub "$name" "$count" 30 "$@"
}

# refused_case DESC CONF LOG_REGEX READING BROKER_REGEX: the gateway
# started with CONF cannot get through TLS: it logs LOG_REGEX, keeps
# trying, answers the device 2.04 (held in its queue) and the reading never
# reaches a TLS subscriber; on SIGTERM it reports the undelivered message.
# The broker logged BROKER_REGEX about it.
refused_case() {
	local desc=$1 conf=$2 why=$3 reading=$4 broker_why=$5
	tls_sub "$desc" 1 "${TLS_ARGS[@]}" -q 1 -t "$B/dev1/$desc/temp"
	log_mark
	GW_NO_MQTT_WAIT=1 start_gateway "$conf"
	check_answer "$desc: the reading is accepted (queued) while TLS fails" "ACK 2.04" \
		"$(gw_req -m POST -p "$desc/temp" -e "$reading")"
	check_true "$desc: the log says why: $why" wait_log "$why" 1
	# The first attempt was before the reading; once the third has
	# failed, the second, made with the reading queued, failed too.
	check_true "$desc: the gateway keeps retrying (3 failed handshakes)" \
		wait_until 20 _failed_handshakes 3
	check_match "$desc: the broker saw why" "$broker_why" "$(broker_log_since)"
	check_eq "$desc: never connected" "" "$(log_since | grep 'mqtt: connected to')"
	check_eq "$desc: the reading did not reach the subscriber" "0" "$(mqtt_count "$desc")"
	stop_gateway
	check_match "$desc: at the stop the reading was still queued" \
		'stopping while disconnected: 1 queued message' "$(log_since)"
	mqtt_stop "$desc" >/dev/null
}

# (1) and (2): ca_file; uplink to a TLS subscriber, downlink from a TLS
# publisher to the device and its result back.
gw_conf ok 127.0.0.1 "$TLS_PORT" "ca_file = \"$PKI/ca.pem\";"
tls_sub up 2 "${TLS_ARGS[@]}" -q 1 -t "$B/dev1/room/temp" -t "$B/dev1/led/result"
log_mark
start_gateway "$WORK/ok.conf"
check_match "ca_file: connected to the TLS listener" \
	"mqtt: connected to 127\\.0\\.0\\.1:$TLS_PORT" "$(log_since)"
check_answer "ca_file: a reading is accepted" "ACK 2.04" \
	"$(gw_req -m POST -p room/temp -e 21.5)"
mqtt_wait_topic up "$B/dev1/room/temp" 1 10
check_eq "ca_file: the reading reached the TLS subscriber" "21.5" \
	"$(mqtt_payloads up "$B/dev1/room/temp")"
mosquitto_pub -h 127.0.0.1 "${TLS_ARGS[@]}" -q 1 -t "$B/dev1/led/set" -m 1 ||
	_not_ok "mosquitto_pub over TLS" "failed"
check_true "ca_file: a command over TLS reached the device" wait_dev dev1 '^CON PUT led pl=1$' 1
mqtt_wait_topic up "$B/dev1/led/result" 1 10
check_json "ca_file: the device's answer came back over TLS" \
	'.code == "2.04" and .payload == "ok"' "$(mqtt_payloads up "$B/dev1/led/result")"
stop_gateway
check_eq "ca_file: clean stop" "0" "$GW_STATUS"
mqtt_stop up >/dev/null

# (3) A CA that did not sign the broker's certificate.
gw_conf wrongca 127.0.0.1 "$TLS_PORT" "ca_file = \"$PKI/ca2.pem\";"
refused_case wrongca "$WORK/wrongca.conf" 'certificate verify failed' w1 'alert unknown ca'

# (4) Mutual TLS: with the client certificate accepted...
gw_conf mtls 127.0.0.1 "$MTLS_PORT" "ca_file = \"$PKI/ca.pem\"; cert_file = \"$PKI/client.pem\"; key_file = \"$PKI/client.key\";"
tls_sub mtls 1 "${MTLS_ARGS[@]}" -q 1 -t "$B/dev1/mtls/temp"
log_mark
start_gateway "$WORK/mtls.conf"
check_match "client certificate: connected to the listener that requires one" \
	"mqtt: connected to 127\\.0\\.0\\.1:$MTLS_PORT" "$(log_since)"
check_answer "client certificate: a reading is accepted" "ACK 2.04" \
	"$(gw_req -m POST -p mtls/temp -e m1)"
mqtt_wait_topic mtls "$B/dev1/mtls/temp" 1 10
check_eq "client certificate: the reading was delivered" "m1" \
	"$(mqtt_payloads mtls "$B/dev1/mtls/temp")"
stop_gateway
mqtt_stop mtls >/dev/null
# ...and without it refused by the broker.
gw_conf nocert 127.0.0.1 "$MTLS_PORT" "ca_file = \"$PKI/ca.pem\";"
# With TLS 1.3 the client learns of the refusal only after its side of the
# handshake is done and CONNECT is on its way: the broker's alert
# ("certificate required") is read, or the reset that follows the alert
# comes first and libmosquitto sees only a "Protocol error".
refused_case nocert "$WORK/nocert.conf" 'certificate required|Protocol error' n1 \
	'peer did not return a certificate'

# (5) The broker's certificate is valid but names other.invalid only.
gw_conf othername 127.0.0.1 "$OTHER_PORT" "ca_file = \"$PKI/ca.pem\";"
refused_case othername "$WORK/othername.conf" 'host name verification failed' o1 \
	'alert internal error'

# delivered_case DESC CONF PORT READING: the gateway started with CONF
# connects to PORT and a reading reaches a TLS subscriber.
delivered_case() {
	local desc=$1 conf=$2 port=$3 reading=$4
	tls_sub "$desc" 1 "${TLS_ARGS[@]}" -q 1 -t "$B/dev1/$desc/temp"
	log_mark
	start_gateway "$conf"
	check_match "$desc: connected" "mqtt: connected to 127\\.0\\.0\\.1:$port" "$(log_since)"
	check_answer "$desc: a reading is accepted" "ACK 2.04" \
		"$(gw_req -m POST -p "$desc/temp" -e "$reading")"
	mqtt_wait_topic "$desc" "$B/dev1/$desc/temp" 1 10
	check_eq "$desc: the reading was delivered" "$reading" \
		"$(mqtt_payloads "$desc" "$B/dev1/$desc/temp")"
	stop_gateway
	mqtt_stop "$desc" >/dev/null
}

# ...unless the config says insecure: the chain is still verified, only
# the name is not.
gw_conf insecure 127.0.0.1 "$OTHER_PORT" "ca_file = \"$PKI/ca.pem\"; insecure = true;"
delivered_case insecure "$WORK/insecure.conf" "$OTHER_PORT" i1
gw_conf insecurewrongca 127.0.0.1 "$OTHER_PORT" "ca_file = \"$PKI/ca2.pem\"; insecure = true;"
refused_case insecurewrongca "$WORK/insecurewrongca.conf" 'certificate verify failed' x1 'alert unknown ca'

# (6) ca_path: a directory of CA certificates under their hash names.
mkdir -p "$PKI/cadir"
cp "$PKI/ca.pem" "$PKI/cadir/"
openssl rehash "$PKI/cadir" 2>>"$PKI/log" || die "openssl rehash: $(cat "$PKI/log")"
gw_conf capath 127.0.0.1 "$TLS_PORT" "ca_path = \"$PKI/cadir\";"
delivered_case capath "$WORK/capath.conf" "$TLS_PORT" p1

# (7) Neither ca_file nor ca_path: the system's store, which OpenSSL takes
# from SSL_CERT_FILE when that is set.
gw_conf system 127.0.0.1 "$TLS_PORT" ""
GW_LAUNCH=(env "SSL_CERT_FILE=$PKI/ca.pem")
delivered_case system "$WORK/system.conf" "$TLS_PORT" s1
# ...and it is TLS: the plain listener gets no connection from it.
gw_conf systemplain 127.0.0.1 "$MQTT_PORT" ""
log_mark
GW_NO_MQTT_WAIT=1 start_gateway "$WORK/systemplain.conf"
check_true "tls = {} to a plain listener: the handshake fails" \
	wait_log 'could not connect|lost|OpenSSL|TLS' 1
check_eq "tls = {} to a plain listener: never connected" "" "$(log_since | grep 'mqtt: connected to')"
stop_gateway
GW_LAUNCH=()

# (8) version and ciphers reach OpenSSL.
gw_conf v13 127.0.0.1 "$TLS_PORT" "ca_file = \"$PKI/ca.pem\"; version = \"tlsv1.3\";"
delivered_case v13 "$WORK/v13.conf" "$TLS_PORT" v1
gw_conf badciphers 127.0.0.1 "$TLS_PORT" "ca_file = \"$PKI/ca.pem\"; version = \"tlsv1.2\"; ciphers = \"NO-SUCH-CIPHER\";"
log_mark
GW_NO_MQTT_WAIT=1 start_gateway "$WORK/badciphers.conf"
check_true "ciphers: an unknown cipher list is logged" wait_log 'TLS ciphers' 1
check_eq "ciphers: an unknown cipher list: never connected" "" "$(log_since | grep 'mqtt: connected to')"
stop_gateway

# ---- config checks of the tls group ----------------------------------------------

# conf_problem DESC TLS_GROUP_BODY REGEX: -t refuses the config, saying REGEX.
conf_problem() {
	local out rc
	gw_conf bad 127.0.0.1 "$TLS_PORT" "$2"
	out=$("$COAPBRIDGE" -t -c "$WORK/bad.conf" 2>&1)
	rc=$?
	check_eq "config: $1: -t exits 1" "1" "$rc"
	check_match "config: $1: the problem is named" "$3" "$out"
}
conf_problem "ca_file is a directory" "ca_file = \"$PKI\";" "bad\\.conf:[0-9]+: .*not a regular file"
conf_problem "ca_path is a file" "ca_path = \"$PKI/ca.pem\";" "bad\\.conf:[0-9]+: .*not a directory"
conf_problem "ca_file missing" "ca_file = \"$PKI/nope.pem\";" "bad\\.conf:[0-9]+: .*cannot read"
conf_problem "cert_file without key_file" \
	"ca_file = \"$PKI/ca.pem\"; cert_file = \"$PKI/client.pem\";" "cert_file needs key_file"
conf_problem "cert_file without a CA" \
	"cert_file = \"$PKI/client.pem\"; key_file = \"$PKI/client.key\";" "cert_file needs ca_file or ca_path"
conf_problem "an unknown version" "ca_file = \"$PKI/ca.pem\"; version = \"tlsv1.1\";" "bad\\.conf:[0-9]+: "
conf_problem "an unknown key" "ca_file = \"$PKI/ca.pem\"; cafile = \"x\";" "bad\\.conf:[0-9]+: .*cafile"
gw_conf good 127.0.0.1 "$TLS_PORT" "ca_file = \"$PKI/ca.pem\"; cert_file = \"$PKI/client.pem\"; key_file = \"$PKI/client.key\";"
check_eq "config: ca_file, cert_file and key_file pass -t" "$WORK/good.conf: ok" \
	"$("$COAPBRIDGE" -t -c "$WORK/good.conf" 2>&1)"

finish
