#!/usr/bin/env bash
# Sets everything up and runs every test:
#   1. formatting (clang-format, the repository's .clang-format) of cmd/ and internal/
#   1a. the include graph: no #include in internal/<mod> reaches a module that is not below it
#       (scripts/check-includes.py, which states the module order)
#   1b. clang-tidy (scripts/tidy.sh, the repository's .clang-tidy, every finding an error) over
#       cmd/ and internal/, with the compile commands of build/, configured just before
#   2. a -Werror build under AddressSanitizer + UndefinedBehaviorSanitizer (build/)
#   2a. a Release build with -Werror (build-release/): what run.sh and the image ship, and
#       where -O2 finds warnings a Debug build does not
#   2b. the deployment checks (tests/deploy): helm lint and template of helm/cavra with the real
#       helm, docker-compose config of docker/docker-compose.yml, the Dockerfile (seconds)
#   2c. the containers (docker/ci.sh): docker/build.sh builds the images, docker/smoke.sh runs
#       the compose stack and its test-runner (docker or podman; skipped, saying so, where
#       neither can run one). It runs in the background beside steps 3 to 5, since it waits on
#       Debian's mirror and dpkg more than on the CPU; its output is printed after step 5.
#       CAVRA_CONTAINER_TESTS=0 skips it.
#   3. the cmocka unit tests (ctest -L unit)
#   4. the integration suite (ctest -L integration: pytest with /usr/bin/python3) against
#      a real SQLite file and a real PostgreSQL 15 that the suite starts and stops itself
#   5. short libFuzzer runs of the token and JWK set parsers, of the backup manifest,
#      dump line and canonical JSON parsers, and of the decision request's evaluation
#      (clang, build-fuzz/)
# Exits non-zero when any step fails. Runs from any directory.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

steps=()
t_all=$SECONDS
current=""
containers_pid=""
containers_log=""

step() { # step NAME: start timing a step
	current=$1
	t_step=$SECONDS
	echo
	echo "== $1"
}

done_step() {
	steps+=("ok    $current ($((SECONDS - t_step))s)")
	current=""
}

summary() {
	local rc=$? t_fail=$((SECONDS - ${t_step:-$SECONDS}))
	# a step that never finished is a failure whatever $? says (a run stopped with its
	# process group can get here with 0)
	[ "$rc" -ne 0 ] || [ -z "$current" ] || rc=1
	containers_stop
	echo
	echo "== summary"
	local s
	for s in "${steps[@]}"; do
		echo "  $s"
	done
	if [ -n "$current" ]; then
		echo "  FAIL  $current (${t_fail}s)"
	fi
	if [ "$rc" -eq 0 ]; then
		echo "all tests passed in $((SECONDS - t_all))s"
	else
		echo "FAILED (exit $rc) after $((SECONDS - t_all))s"
	fi
	exit "$rc"
}
# containers_wait: the end of step 2c, its output and its result.
containers_wait() {
	local rc=0
	[ -n "$containers_pid" ] || return 0
	step "containers (docker/ci.sh, run in the background since step 2c)"
	t_step=$t_containers
	wait "$containers_pid" || rc=$?
	containers_pid=""
	cat "$containers_log"
	rm -f "$containers_log"
	case "$rc" in
	0) done_step ;;
	77)
		steps+=("skip  $current: no container engine")
		current=""
		;;
	*) return "$rc" ;;
	esac
}

# containers_stop: another step failed while step 2c runs; stop it (smoke.sh still tears its
# stack down) and show how far it got.
containers_stop() {
	[ -n "$containers_pid" ] || return 0
	echo
	echo "== containers: stopping the background run (another step failed)"
	kill -TERM "$containers_pid" 2>/dev/null || true
	wait "$containers_pid" 2>/dev/null || true
	tail -40 "$containers_log"
	rm -f "$containers_log"
	steps+=("stop  containers (stopped after $((SECONDS - t_containers))s)")
	containers_pid=""
}
trap summary EXIT
# stopped (CI cancelled, ^C): the summary says so and the run exits non-zero
trap 'exit 143' TERM
trap 'exit 130' INT

step "dependencies (scripts/deps.sh test)"
bash scripts/deps.sh test
done_step

step "clang-format"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	mapfile -t sources < <(git ls-files --cached --others --exclude-standard -- \
		'cmd/*.c' 'cmd/*.h' 'internal/*.c' 'internal/*.h' | sort -u)
else
	mapfile -t sources < <(find cmd internal -name '*.[ch]' | sort)
fi
existing=()
for f in "${sources[@]}"; do
	[ -f "$f" ] && existing+=("$f")
done
if [ ${#existing[@]} -eq 0 ]; then
	echo "no C sources found under cmd/ and internal/" >&2
	false
fi
clang-format --dry-run -Werror "${existing[@]}"
echo "${#existing[@]} files formatted"
done_step

step "include graph (scripts/check-includes.py)"
/usr/bin/python3 scripts/check-includes.py --self-test
/usr/bin/python3 scripts/check-includes.py
done_step

# clang-tidy needs only build/compile_commands.json, which configuring writes; nothing it checks
# includes a generated file, so it runs before the build and fails faster.
step "configure build/ (-Werror, ASan+UBSan)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Debug -DCAVRA_WERROR=ON \
	-DCAVRA_SANITIZE=address,undefined -DCAVRA_TESTS=ON >/dev/null
done_step

step "clang-tidy (scripts/tidy.sh)"
bash scripts/tidy.sh build
done_step

step "build (-Werror, ASan+UBSan)"
cmake --build build -j2
done_step

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

step "release build (-O2 -Werror, build-release/)"
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DCAVRA_WERROR=ON -DCAVRA_TESTS=OFF >/dev/null
cmake --build build-release -j2
done_step

step "deployment checks (helm lint/template, docker-compose config, Dockerfile: tests/deploy)"
CAVRA_BIN="$PWD/build/cavra" /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/deploy
done_step

step "containers (docker/ci.sh: docker/build.sh, docker/smoke.sh), in the background"
if [ "${CAVRA_CONTAINER_TESTS:-1}" = 0 ]; then
	echo "skipped: CAVRA_CONTAINER_TESTS=0"
	steps+=("skip  containers: CAVRA_CONTAINER_TESTS=0")
else
	containers_log=$(mktemp)
	t_containers=$SECONDS
	bash docker/ci.sh >"$containers_log" 2>&1 </dev/null &
	containers_pid=$!
	echo "started; its output follows the fuzz step"
fi
current=""

step "unit tests (ctest -L unit)"
ctest --test-dir build -L unit --output-on-failure
done_step

step "integration tests (ctest -L integration: SQLite and PostgreSQL)"
# -V streams pytest's output (its failures and summary), so --output-on-failure would only
# repeat it; the grep drops ctest's configuration chatter.
set +e
ctest --test-dir build -L integration -V |
	grep --line-buffered -vE '^(UpdateCTestConfiguration|Constructing|Checking test|Parse Config| Add test|Updating test list|[0-9]+: Test command|[0-9]+: Working Directory|[0-9]+: Environment variables|[0-9]+:  CAVRA_)'
ctest_rc=${PIPESTATUS[0]}
set -e
[ "$ctest_rc" -eq 0 ]
done_step

step "fuzz (fuzz_jwt, fuzz_backup and fuzz_policy, ${CAVRA_FUZZ_SECONDS:-20}s each on their seeds in fuzz/)"
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DCAVRA_FUZZ=ON \
	-DCAVRA_TESTS=OFF -DCAVRA_SANITIZE=address,undefined >/dev/null
cmake --build build-fuzz -j2 --target fuzz_jwt fuzz_backup fuzz_policy
fuzz() { # binary seeds max_len
	local corpus rc
	corpus=$(mktemp -d)
	set +e
	"$1" -max_total_time="${CAVRA_FUZZ_SECONDS:-20}" -max_len="$3" -print_final_stats=1 \
		"$corpus" "$2" >"$corpus.log" 2>&1
	rc=$?
	set -e
	grep -E '^(stat::number_of_executed_units|Done)' "$corpus.log" || true
	[ "$rc" -eq 0 ] || tail -40 "$corpus.log"
	rm -rf "$corpus" "$corpus.log"
	return "$rc"
}
fuzz build-fuzz/internal/auth/fuzz_jwt fuzz/jwt 4096
fuzz build-fuzz/internal/ops/fuzz_backup fuzz/backup 16384
fuzz build-fuzz/internal/policy/fuzz_policy fuzz/policy 4096
done_step

containers_wait
