#!/usr/bin/env bash
# docker/ci.sh - scripts/test.sh's step "containers": builds the images and runs the compose
# stack for real (docker/build.sh, docker/smoke.sh), with docker where a daemon answers, else
# with podman, which `scripts/deps.sh containers` installs when it is missing.
#
#   bash docker/ci.sh       # exit 0 passed; 77 skipped (neither docker nor podman can run
#                           # containers here: the line it prints says why); else failed
#
# docker/build.sh and the stand-ins of docker/smoke.sh (docker/local/) are built side by side,
# once the Debian 12 base they all start from is there (on a machine without it, the stand-ins
# failed at once: "debian:bookworm-slim: image not known"): both wait on Debian's mirror and
# on dpkg more than on the CPU. cavra-test:dev is built
# without Chromium (CAVRA_TEST_SKIP_BROWSER=1, unless set otherwise): smoke.sh's tests do not
# drive a browser. A TERM or INT stops the running script and waits for it, so that
# smoke.sh still tears its stack down.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

children=()

log() { echo "ci.sh: $*"; }

stop() {
	trap - TERM INT
	log "stopping"
	[ ${#children[@]} -eq 0 ] || kill -TERM "${children[@]}" 2>/dev/null || true
	wait
	exit 143
}

# together CMD1 -- CMD2: runs both in the background (so that a TERM reaches this script at
# once) and fails when either fails, after both have ended.
together() {
	local a=() rc=0 pid
	while [ "$1" != -- ]; do
		a+=("$1")
		shift
	done
	shift
	"${a[@]}" &
	children=($!)
	"$@" &
	children+=($!)
	for pid in "${children[@]}"; do
		wait "$pid" || rc=$?
	done
	children=()
	return "$rc"
}

main() {
	local t0=$SECONDS why
	trap stop TERM INT
	bash scripts/deps.sh containers ||
		log "scripts/deps.sh containers failed; trying the engines that are here"
	if ! why=$(bash docker/engine.sh 2>&1); then
		echo "skipped: neither docker nor podman can run containers here: $why"
		exit 77
	fi
	export CAVRA_TEST_SKIP_BROWSER=${CAVRA_TEST_SKIP_BROWSER:-1}
	# the base first: both builds start from it, and neither may make it beside the other
	bash docker/build.sh --base-only
	together bash docker/build.sh -- bash docker/smoke.sh --images-only
	log "images built ($((SECONDS - t0))s)"
	bash docker/smoke.sh &
	children=($!)
	wait "${children[0]}"
	children=()
	log "passed in $((SECONDS - t0))s"
}

main "$@"
