#!/usr/bin/env bash
# The README's test command: install what is missing, then build and run the
# whole suite twice -- gcc with -Werror, then clang with AddressSanitizer,
# UndefinedBehaviorSanitizer and the fuzz targets (run briefly).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh

jobs=$(nproc)
run() {
	local dir=$1; shift
	cmake -S . -B "$dir" -DCOAPBRIDGE_WERROR=ON "$@" >/dev/null
	cmake --build "$dir" -j"$jobs"
	ctest --test-dir "$dir" -j"$jobs" --output-on-failure
}

echo "== gcc, -Werror"
run build-test -DCMAKE_BUILD_TYPE=RelWithDebInfo

if command -v clang >/dev/null; then
	echo "== clang, ASan + UBSan + fuzzers"
	CC=clang run build-asan -DCMAKE_BUILD_TYPE=Debug -DCOAPBRIDGE_SANITIZE=ON -DCOAPBRIDGE_FUZZ=ON
else
	echo "== clang not found: sanitizer and fuzz run skipped"
fi
