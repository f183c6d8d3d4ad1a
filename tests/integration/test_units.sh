#!/usr/bin/env bash
# The systemd units: `systemd-analyze verify` accepts both without a single
# complaint, the service's hardening scores an exposure of at most 1.5
# (`systemd-analyze security --offline=true --threshold=15`), and the install
# rules put units, sysusers/tmpfiles entries, config and man pages where the
# units expect them.
#
# No systemd as PID 1 is needed: verify and security --offline only read
# unit files. verify does insist that ExecStart= names an executable and
# (with MANPATH) that Documentation= man pages exist, so it runs on a copy
# whose ExecStart points at the built daemon, with our man pages on MANPATH;
# everything else in the unit is checked as shipped.
set -euo pipefail
: "${SRC_DIR:?}" "${BUILD_DIR:?}" "${COAPBRIDGE:?}"

if ! command -v systemd-analyze >/dev/null; then
	echo "SKIP: systemd-analyze not installed (package systemd; tools/deps.sh installs it)"
	exit 77
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
err() { echo "FAIL: $*"; fail=1; }

units=$SRC_DIR/systemd

# --- verify -------------------------------------------------------------------
mkdir -p "$tmp/units" "$tmp/man/man1" "$tmp/man/man5" "$tmp/man/man8"
grep -q '^ExecStart=/usr/sbin/coapbridge ' "$units/coapbridge.service" ||
	err "coapbridge.service: ExecStart does not run /usr/sbin/coapbridge"
sed "s|^ExecStart=/usr/sbin/coapbridge |ExecStart=$COAPBRIDGE |" \
	"$units/coapbridge.service" >"$tmp/units/coapbridge.service"
cp "$units/coapbridge.socket" "$tmp/units/"
cp "$SRC_DIR/man/coapbridge-client.1" "$tmp/man/man1/"
cp "$SRC_DIR/man/coapbridge.conf.5" "$tmp/man/man5/"
cp "$SRC_DIR/man/coapbridge.8" "$tmp/man/man8/"

# verify exits 0 on warnings such as an unknown key (it ignores the line),
# so any output at all is a failure.
if ! (cd "$tmp" && MANPATH=$tmp/man systemd-analyze verify \
	units/coapbridge.service units/coapbridge.socket) >"$tmp/verify.out" 2>&1; then
	err "systemd-analyze verify failed"
fi
if [ -s "$tmp/verify.out" ]; then
	cat "$tmp/verify.out"
	err "systemd-analyze verify complained (above)"
else
	echo "ok: systemd-analyze verify coapbridge.service coapbridge.socket"
fi

# --- security -----------------------------------------------------------------
# --threshold=15 fails above an exposure of 1.5 (the scale is 0..10, x10).
if ! (cd "$tmp" && systemd-analyze security --offline=true --threshold=15 \
	"$units/coapbridge.service") >"$tmp/security.out" 2>&1; then
	grep -v '^✓' "$tmp/security.out" || true
	err "systemd-analyze security: exposure above 1.5"
else
	echo "ok: $(grep 'Overall exposure' "$tmp/security.out")"
fi

# --- the unit and its files agree ---------------------------------------------
grep -q '^Type=notify$' "$units/coapbridge.service" || err "service is not Type=notify"
grep -q '^WatchdogSec=' "$units/coapbridge.service" || err "service has no WatchdogSec="
grep -q '^ListenDatagram=5683$' "$units/coapbridge.socket" || err "socket is not ListenDatagram=5683"
user=$(sed -n 's/^User=//p' "$units/coapbridge.service")
awk -v u="$user" '$1 == "u" && $2 == u { found = 1 } END { exit !found }' \
	"$units/coapbridge.sysusers" || err "sysusers file does not create User=$user"

# --- install rules ------------------------------------------------------------
# Install this build tree into a scratch root (DESTDIR) and check that the
# installed service runs the installed binary with the installed config,
# whatever the build's prefix.
if ! DESTDIR=$tmp/root cmake --install "$BUILD_DIR" >"$tmp/install.out" 2>&1; then
	cat "$tmp/install.out"
	err "cmake --install failed"
else
	svc=$(find "$tmp/root" -path '*/systemd/system/coapbridge.service')
	[ -n "$svc" ] && [ -f "$(dirname "$svc")/coapbridge.socket" ] ||
		err "units not installed"
	unitdir=$(pkg-config systemd --variable=systemdsystemunitdir 2>/dev/null || true)
	[ -z "$unitdir" ] || [ -f "$tmp/root$unitdir/coapbridge.service" ] ||
		err "coapbridge.service not in pkg-config's systemdsystemunitdir $unitdir"
	if [ -n "$svc" ]; then
		read -r exe _ conf <<<"$(sed -n 's/^ExecStart=//p' "$svc")"
		[ -x "$tmp/root$exe" ] || err "installed ExecStart $exe is not installed"
		[ -f "$tmp/root$conf" ] || err "installed ExecStart config $conf is not installed"
		confdir=$(dirname "$conf")
		grep -q "^d $confdir 0750 root $user " "$tmp"/root/*/lib/tmpfiles.d/coapbridge.conf \
			"$tmp"/root/*/*/lib/tmpfiles.d/coapbridge.conf 2>/dev/null ||
			err "tmpfiles entry does not protect $confdir"
	fi
	for f in sysusers.d/coapbridge.conf man/man8/coapbridge.8 \
		man/man5/coapbridge.conf.5 man/man1/coapbridge-client.1; do
		[ -n "$(find "$tmp/root" -path "*/$f")" ] || err "$f not installed"
	done
	[ "$fail" -ne 0 ] || echo "ok: install rules ($(find "$tmp/root" -type f | wc -l) files)"
fi

exit "$fail"
