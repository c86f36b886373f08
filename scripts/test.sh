#!/usr/bin/env bash
# Builds Sluice and runs every test, from a fresh clone: installs the Debian
# packages it needs, builds warning-free (-Werror) and runs the unit tests,
# then builds with AddressSanitizer + UndefinedBehaviorSanitizer and runs the
# whole suite (unit and integration: real PostgreSQL, mock Kafka cluster,
# the real sluice binary) under them.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jobs=$(nproc)

bash "$root/scripts/install-deps.sh"

echo "== build (-Werror) and unit tests"
cmake -S "$root" -B "$root/build-test" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_FLAGS=-Werror -DSLUICE_BUILD_TESTS=ON >/dev/null
cmake --build "$root/build-test" -j"$jobs"
ctest --test-dir "$root/build-test" -L unit --output-on-failure -j"$jobs"

echo "== AddressSanitizer + UndefinedBehaviorSanitizer: every test"
cmake -S "$root" -B "$root/build-asan" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS=-Werror \
    -DSLUICE_ASAN=ON -DSLUICE_UBSAN=ON -DSLUICE_BUILD_TESTS=ON >/dev/null
cmake --build "$root/build-asan" -j"$jobs"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$root/build-asan" --output-on-failure
