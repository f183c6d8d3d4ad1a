#!/usr/bin/env bash
# Turn the conformance results into docs/conformance.md.
#
#   gendoc.sh RESULTS...          print the document
#   gendoc.sh --check RESULTS...  compare it with $SRC_DIR/docs/conformance.md
#                                 (exit 1 and show the difference when stale)
#
# RESULTS are the files run_server.sh and run_client.sh write
# (<build>/tests/conformance/results-{server,client}.txt), one line per
# description and side: "ID|SIDE|pass or fail|HOW|first failed check".
# tds.txt, next to this script, gives the rows, their order and wording.
# To update the committed table after a run:
#   tests/conformance/gendoc.sh build/tests/conformance/results-*.txt >docs/conformance.md
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
check=
if [ "${1:-}" = --check ]; then
	check=1
	shift
fi
[ $# -ge 1 ] || { echo "usage: gendoc.sh [--check] RESULTS..." >&2; exit 2; }
for f in "$@"; do
	[ -r "$f" ] || { echo "gendoc.sh: $f: no results (did the conformance runs run?)" >&2; exit 1; }
done

generate() {
	cat <<'EOF'
# Conformance: the ETSI CoAP plugtest test descriptions

Generated from the results of the `conformance/*` ctest tests by
`tests/conformance/gendoc.sh`; do not edit. Each applicable test
description (TD) of the ETSI CoAP plugtests (the CoAP#4 set,
[cabo/td-coap4](https://github.com/cabo/td-coap4)) runs twice:

- **server**: against `coapbridge-plugtest-server` (the ucoap core as
  server), the stimulus from libcoap's `coap-client-notls` (`$LC` below)
  where it can express it, else from `rawcoap` (tests/tools) or `obspeer`
  (tests/conformance: a scripted observer and duplicating peer); the checks
  read the messages on the wire (type, code, message id, token, options,
  payload).
- **client**: `coapbridge-client` (the ucoap core as client) against the
  plugtest server, whose request log shows what the client sent, and
  against libcoap's `coap-server-notls` where that serves the resource.

A result is `pass` when every check of the description passed, `FAIL` with
the first check that did not, `n/a` when the description does not apply,
`-` when that side is not tested. Objectives marked `?` are descriptions
we could not read in full.

| TD | objective | checks | server | client | how tested |
| --- | --- | --- | --- | --- | --- |
EOF
	awk -F'|' '
	function cell(id, side,    r) {
		r = res[id, side]
		if (r == "") return "-"
		return r
	}
	{
		id = $1; side = $2
		if ($3 == "pass") r = "pass"
		else {
			why = $5
			sub(/: (got|expected) .*/, "", why)
			r = "FAIL: " why
		}
		res[id, side] = r
		how[id, side] = $4
	}
	END {
		while ((getline line < tds) > 0) {
			if (line ~ /^#/ || line == "") continue
			n = split(line, f, "|")
			id = f[1]; scope = f[4]
			# Markdown would take "</link1>" for an HTML tag.
			gsub(/</, "\\&lt;", f[3]); gsub(/>/, "\\&gt;", f[3])
			if (scope ~ /^n\/a/) {
				printf "| %s | %s | %s | n/a | n/a | %s |\n", id, f[2], f[3], substr(scope, 6)
				na++
				continue
			}
			h = how[id, "server"]
			if (how[id, "client"] != "") h = h (h != "" ? "; " : "") "client: " how[id, "client"]
			s = cell(id, "server"); c = cell(id, "client")
			printf "| %s | %s | %s | %s | %s | %s |\n", id, f[2], f[3], s, c, h
			if (s == "pass") sp++; else if (s != "-") sf++
			if (c == "pass") cp++; else if (c != "-") cf++
		}
		printf "\nServer side: %d passed, %d failed. Client side: %d passed, %d failed. Not applicable: %d.\n", sp, sf, cp, cf, na
	}' tds="$here/tds.txt" "$@"
}

if [ -z "$check" ]; then
	generate "$@"
	exit 0
fi
: "${SRC_DIR:?SRC_DIR must name the source tree}"
if diff -u "$SRC_DIR/docs/conformance.md" <(generate "$@"); then
	echo "docs/conformance.md is up to date"
else
	echo "docs/conformance.md differs from this run's results (above). If the change is"
	echo "right, regenerate it: tests/conformance/gendoc.sh $* >docs/conformance.md"
	exit 1
fi
