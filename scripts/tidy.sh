#!/usr/bin/env bash
# Runs clang-tidy (the repository's .clang-tidy, every finding an error) over the .c files of
# cmd/ and internal/, two at a time, with the compile commands of a configured build:
#   scripts/tidy.sh [BUILD_DIR]     (default build/, which scripts/test.sh configures)
# The unit tests (*_test.c) and fuzzers (fuzz_*.c) are left out: they are single-threaded,
# run under ASan/UBSan, and shell out and read the environment on purpose (system, getenv),
# and leaving them out keeps the step near half its time on 2 cores.
# Headers are checked through the files that include them (HeaderFilterRegex).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build=${1:-build}
if [ ! -f "$build/compile_commands.json" ]; then
	echo "tidy: no $build/compile_commands.json (configure the build first)" >&2
	exit 2
fi
mapfile -t files < <(find cmd internal -name '*.c' ! -name '*_test.c' ! -name 'fuzz_*.c' | sort)
# -n1: one file per clang-tidy, so the two jobs stay busy until the end
printf '%s\n' "${files[@]}" | xargs -P2 -n1 clang-tidy -p "$build" --quiet 2>/dev/null
echo "clang-tidy: ${#files[@]} files, no findings"
