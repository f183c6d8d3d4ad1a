#!/usr/bin/env bash
# The Debian package: `dpkg-buildpackage -us -uc -b` builds
# coapbridge_<version>_<arch>.deb from a scratch copy of the source tree, the
# .deb holds exactly the expected files (and not the static core library or
# its headers), /etc/coapbridge/coapbridge.conf is a conffile, the
# maintainer scripts create the user, enable the service, restart it on
# upgrade and leave coapbridge.socket running over one, and lintian
# reports no error and no warning.
#
# Kept fast: DEB_BUILD_OPTIONS=nocheck (the suite runs the tests itself)
# and parallel=2.
set -euo pipefail
: "${SRC_DIR:?}"

if ! command -v dpkg-buildpackage >/dev/null; then
	echo "SKIP: dpkg-buildpackage not installed (package dpkg-dev; tools/deps.sh installs it)"
	exit 77
fi
for t in dh lintian; do
	command -v "$t" >/dev/null || { echo "FAIL: $t not installed (tools/deps.sh installs it)"; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
err() { echo "FAIL: $*"; fail=1; }

# The working tree as the build sees it: tracked and untracked files, without
# what .gitignore excludes (build directories, earlier package runs).
src=$tmp/coapbridge
mkdir -p "$src"
if git -C "$SRC_DIR" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$SRC_DIR" && git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
		[ -e "$f" ] && printf '%s\0' "$f"; done | tar --null -cf - -T -) |
		tar -xf - -C "$src"
else
	tar -C "$SRC_DIR" --exclude=.git --exclude='./build*' --exclude='./obj-*' \
		--exclude=./debian/.debhelper --exclude=./debian/tmp -cf - . | tar -xf - -C "$src"
fi

version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
arch=$(dpkg-architecture -q DEB_HOST_ARCH)
deb=$tmp/coapbridge_${version}_${arch}.deb

upstream=$(sed -n 's/^project(coapbridge VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
[ "${version%-*}" = "$upstream" ] ||
	err "debian/changelog version $version does not match CMakeLists.txt $upstream"

echo "building $(basename "$deb")"
if ! (cd "$src" && DEB_BUILD_OPTIONS="nocheck parallel=2" \
	dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1; then
	grep -A12 -e '^CMake Error' "$tmp/build.log" || true
	tail -n 40 "$tmp/build.log"
	echo "FAIL: dpkg-buildpackage failed (log tail above)"
	exit 1
fi
[ -f "$deb" ] || { ls "$tmp"; echo "FAIL: $deb not built"; exit 1; }

echo "== contents"
dpkg-deb -c "$deb" | tee "$tmp/contents.txt"
# Paths only, without the leading "." and directories.
awk '$1 !~ /^d/ { sub(/^\./, "", $6); print $6 }' "$tmp/contents.txt" | sort >"$tmp/files.txt"

unitdir=$(pkg-config systemd --variable=systemdsystemunitdir 2>/dev/null || echo /lib/systemd/system)
sysusersdir=$(pkg-config systemd --variable=sysusersdir 2>/dev/null || echo /usr/lib/sysusers.d)
tmpfilesdir=$(pkg-config systemd --variable=tmpfilesdir 2>/dev/null || echo /usr/lib/tmpfiles.d)
for f in /usr/sbin/coapbridge /usr/bin/coapbridge-client /usr/bin/coapbridge-plugtest-server \
	/etc/coapbridge/coapbridge.conf \
	"$unitdir/coapbridge.service" "$unitdir/coapbridge.socket" \
	"$sysusersdir/coapbridge.conf" "$tmpfilesdir/coapbridge.conf" \
	/usr/share/man/man8/coapbridge.8.gz /usr/share/man/man5/coapbridge.conf.5.gz \
	/usr/share/man/man1/coapbridge-client.1.gz /usr/share/man/man1/coapbridge-plugtest-server.1.gz \
	/usr/share/doc/coapbridge/copyright /usr/share/doc/coapbridge/changelog.Debian.gz; do
	grep -qxF "$f" "$tmp/files.txt" || err "missing from the .deb: $f"
done
if grep -E '^/usr/include/|\.a$|\.so$|\.pc$' "$tmp/files.txt"; then
	err "development files in the .deb (above): there is no -dev package"
fi

mkdir "$tmp/control"
dpkg-deb -e "$deb" "$tmp/control"
grep -qxF /etc/coapbridge/coapbridge.conf "$tmp/control/conffiles" ||
	err "/etc/coapbridge/coapbridge.conf is not a conffile"
ctl=$tmp/control/control
grep -q '^Depends:.*libc6' "$ctl" || err "Depends has no shlibs dependency"
grep -q '^Recommends:.*mosquitto' "$ctl" || err "does not recommend mosquitto"
grep -q '^Suggests:.*libcoap3-bin' "$ctl" || err "does not suggest libcoap3-bin"
grep -q 'systemd-sysusers.*coapbridge.conf' "$tmp/control/postinst" ||
	err "postinst does not create the coapbridge user"
grep -q "deb-systemd-helper enable 'coapbridge.service'" "$tmp/control/postinst" ||
	err "postinst does not enable coapbridge.service"
grep -q "deb-systemd-helper enable 'coapbridge.socket'" "$tmp/control/postinst" &&
	! grep -q "debian-installed 'coapbridge.socket'" "$tmp/control/postinst" &&
	err "postinst enables coapbridge.socket on install (it is the alternative start)"
# Nothing starts the socket after an upgrade (it is not started on install),
# so a preinst that stops it (run with "upgrade"; a prerm stop runs on
# remove only) would leave socket activation dead until reboot.
if [ -f "$tmp/control/preinst" ] &&
	grep -n "deb-systemd-invoke stop .*'coapbridge\.socket'" "$tmp/control/preinst"; then
	err "preinst stops coapbridge.socket on upgrade (above), and nothing starts it again"
fi
grep -Eq "deb-systemd-invoke (restart|\\\$_dh_action) 'coapbridge\.service'" "$tmp/control/postinst" ||
	err "postinst does not restart coapbridge.service on upgrade"

echo "== lintian"
# lintian complains about running as root on stderr; that is not a tag.
lintian --info "$deb" 2>/dev/null | tee "$tmp/lintian.txt" || true
if grep -E '^[EW]: ' "$tmp/lintian.txt"; then
	err "lintian errors or warnings (above)"
else
	echo "ok: lintian: no errors, no warnings"
fi

exit "$fail"
