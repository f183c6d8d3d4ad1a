#!/usr/bin/env bash
# The README's test command: install what is missing, then build and run the
# whole suite twice -- gcc with -Werror, then clang with AddressSanitizer,
# UndefinedBehaviorSanitizer and the fuzz targets (run briefly).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh

jobs=$(nproc)
run() {
	local dir=$1 ctest_args=$2; shift 2
	cmake -S . -B "$dir" -DCOAPBRIDGE_WERROR=ON "$@" >/dev/null
	cmake --build "$dir" -j"$jobs"
	# shellcheck disable=SC2086 # ctest_args is a list of words
	ctest --test-dir "$dir" -j"$jobs" --output-on-failure $ctest_args
}

echo "== gcc, -Werror"
run build-test "" -DCMAKE_BUILD_TYPE=RelWithDebInfo

if command -v clang >/dev/null; then
	# The package and unit-file checks do not depend on how the code was
	# compiled; they ran above.
	echo "== clang, ASan + UBSan + fuzzers"
	CC=clang run build-asan "-LE package" -DCMAKE_BUILD_TYPE=Debug -DCOAPBRIDGE_SANITIZE=ON -DCOAPBRIDGE_FUZZ=ON
else
	echo "== clang not found: sanitizer and fuzz run skipped"
fi
