#!/usr/bin/env bash
# Sets everything up and runs every test: formatting, a -Werror build under
# ASan+UBSan, the cmocka unit tests, and the integration tests against a
# real SQLite file and a real PostgreSQL 15 that the suite starts itself.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh test

echo "== clang-format"
mapfile -t sources < <(git ls-files --cached --others --exclude-standard -- 'cmd/*.[ch]' 'internal/*.[ch]')
clang-format --dry-run -Werror "${sources[@]}"

echo "== build (-Werror, ASan+UBSan)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Debug -DCAVRA_WERROR=ON \
	-DCAVRA_SANITIZE=address,undefined -DCAVRA_TESTS=ON >/dev/null
cmake --build build -j"$(nproc)"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

echo "== unit tests"
ctest --test-dir build -L unit --output-on-failure

echo "== integration tests (SQLite and PostgreSQL)"
ctest --test-dir build -L integration --output-on-failure -V | grep -vE "^[0-9]+: Test command|^UpdateCTestConfiguration|^Constructing|^Checking test|^Parse Config|^ Add test|^Updating test list"
