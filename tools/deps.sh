#!/usr/bin/env bash
# Install the Debian 12 packages that building, testing and the demo need,
# and nothing when they are all there already (so it works offline too).
set -euo pipefail

pkgs=(build-essential cmake pkg-config clang
      libmosquitto-dev libconfig-dev libsystemd-dev libcjson-dev libcbor-dev check
      mosquitto mosquitto-clients libcoap3-bin jq iproute2 openssl
      debhelper devscripts lintian systemd)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "deps: installing ${missing[*]}"
$sudo apt-get update -qq
# mosquitto's package starts a system broker on port 1883; ours never use it.
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
