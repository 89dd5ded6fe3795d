#!/usr/bin/env bash
# docker/smoke.sh - runs docker/docker-compose.yml for real: brings the stack up (PostgreSQL,
# the one-shot migrate, the OpenID provider, cavra in oidc mode), waits until cavra is healthy,
# runs the test-runner (docker/smoke.py against the stack's cavra with tokens from the stack's
# provider, then integration tests against the stack's PostgreSQL), and tears everything down,
# volumes included, whether that passed or not. docs/deployment.md has the details.
#
#   bash docker/smoke.sh        # from anywhere; exit 0 when the stack and the tests pass
#   bash docker/smoke.sh --images-only
#                               # only finds or builds the postgres and idp images (below), so
#                               # that docker/ci.sh can build them beside docker/build.sh
#
# CAVRA_SMOKE_TESTS   the test-runner's pytest arguments (default below: the storage tests on
#                     PostgreSQL, the least-privilege roles, the OpenID provider's own check)
# CAVRA_POSTGRES_IMAGE, CAVRA_NODE_IMAGE
#                     the images of the postgres and idp services (the compose file's defaults
#                     are the official postgres:15-bookworm and node:20-bookworm-slim); when
#                     unset and the official one can be neither found nor pulled, a stand-in is
#                     built from Debian's packages (docker/local/) and used
#
# The images cavra:dev and cavra-test:dev come from docker/build.sh, run first when either is
# missing. Compose is `docker compose` where present, else docker-compose (with podman: against
# the Docker-compatible API of a `podman system service` started here), else podman-compose.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=docker/engine.sh
source docker/engine.sh

suite=${CAVRA_SMOKE_TESTS:-"-k postgres tests/integration/test_stores.py tests/integration/test_least_privilege.py tests/integration/test_idp_smoke.py"}
project=cavra-smoke-$$
work=$(mktemp -d)
compose=()
health_pid=""
service_pid=""
t_all=$SECONDS

log() { echo "smoke.sh: $*"; }

# The services of the stack that the test-runner does not start itself.
stack=(postgres migrate idp cavra)

free_port() {
	/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# use_image VAR OFFICIAL STANDIN DOCKERFILE: VAR names the image the compose file runs.
use_image() {
	local var=$1 official=$2 standin=$3 file=$4 t=$SECONDS
	if [ -n "${!var:-}" ]; then
		log "$var=${!var} (given)"
		return 0
	fi
	if engine_has_image "$official" ||
		"$ENGINE" pull -q "$(engine_ref "$official")" >/dev/null 2>&1; then
		log "$official: the official image"
		return 0
	fi
	log "$official cannot be pulled: building the stand-in $standin from $file"
	local args=(build -f "$file" -t "$(engine_ref "$standin")")
	[ "$ENGINE" = docker ] || args+=(--format docker --network host --pull=never --layers)
	"$ENGINE" "${args[@]}" . >"$work/build-$standin.log" 2>&1 ||
		{ tail -30 "$work/build-$standin.log"; return 1; }
	export "$var=$(engine_ref "$standin")"
	log "$var=${!var} ($((SECONDS - t))s)"
}

# Podman's API socket for docker-compose, owned by this run.
start_podman_service() {
	local sock=$work/podman.sock i
	podman system service --time=0 "unix://$sock" >"$work/podman-service.log" 2>&1 &
	service_pid=$!
	for i in $(seq 1 100); do
		[ -S "$sock" ] && break
		sleep 0.1
	done
	[ -S "$sock" ] || { cat "$work/podman-service.log"; return 1; }
	export DOCKER_HOST=unix://$sock
}

pick_compose() {
	if [ "$ENGINE" = docker ] && docker compose version >/dev/null 2>&1; then
		compose=(docker compose)
	elif command -v docker-compose >/dev/null; then
		[ "$ENGINE" = docker ] || start_podman_service
		compose=(docker-compose)
	elif command -v podman-compose >/dev/null; then
		compose=(podman-compose)
	else
		log "no compose: install docker-compose (bash scripts/deps.sh test)" >&2
		return 1
	fi
	compose+=(-p "$project" -f docker/docker-compose.yml)
	log "compose: ${compose[*]}"
}

# Podman runs health checks from systemd timers; without systemd nothing runs them, and a
# depends_on condition service_healthy would wait forever. This loop runs them instead.
drive_health_checks() {
	[ "$ENGINE" = podman ] || return 0
	(
		while true; do
			for c in $(podman ps -q --filter "label=com.docker.compose.project=$project"); do
				podman healthcheck run "$c" >/dev/null 2>&1 || true
			done
			sleep 2
		done
	) &
	health_pid=$!
}

health_of() { # health_of SERVICE
	local id
	id=$("${compose[@]}" ps -q "$1" 2>/dev/null | head -1)
	[ -n "$id" ] || { echo missing; return 0; }
	"$ENGINE" inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' \
		"$id" 2>/dev/null || echo missing
}

wait_healthy() { # wait_healthy SERVICE SECONDS
	local deadline=$((SECONDS + $2)) h
	while true; do
		h=$(health_of "$1")
		[ "$h" = healthy ] && return 0
		if [ $SECONDS -ge $deadline ]; then
			log "$1 is not healthy after $2 s (health: $h)" >&2
			return 1
		fi
		sleep 2
	done
}

# What compose could not take down, by the label compose puts on everything of the project,
# with the engine's own commands: a TERM sent to the whole process group (stopping a CI run)
# also stops podman's API service and docker-compose, and compose then reaches nothing.
remove_by_label() {
	local f="label=com.docker.compose.project=$project" ids
	log "compose down failed: removing the project's containers, networks and volumes by label"
	ids=$("$ENGINE" ps -aq --filter "$f" 2>/dev/null)
	# shellcheck disable=SC2086 # one id a word
	[ -z "$ids" ] || "$ENGINE" rm -f $ids >/dev/null
	ids=$("$ENGINE" network ls -q --filter "$f" 2>/dev/null)
	# shellcheck disable=SC2086
	[ -z "$ids" ] || "$ENGINE" network rm $ids >/dev/null
	ids=$("$ENGINE" volume ls -q --filter "$f" 2>/dev/null)
	# shellcheck disable=SC2086
	[ -z "$ids" ] || "$ENGINE" volume rm -f $ids >/dev/null
}

teardown() {
	local rc=$?
	set +e
	if [ ${#compose[@]} -gt 0 ]; then
		if [ "$rc" -ne 0 ]; then
			log "failed (exit $rc): the stack's last log lines"
			"${compose[@]}" logs --no-color --tail=40 "${stack[@]}" 2>&1 | tail -150
		fi
		# Twice if need be: with podman, removing the provider's container fails while
		# cavra's, which shares its network namespace, is still being removed beside it;
		# the second pass removes it, the network and the volume.
		"${compose[@]}" --profile test down -v --remove-orphans >"$work/down.log" 2>&1 ||
			"${compose[@]}" --profile test down -v --remove-orphans >>"$work/down.log" 2>&1 ||
			{ cat "$work/down.log"; remove_by_label; }
	fi
	[ -z "$health_pid" ] || kill "$health_pid" 2>/dev/null
	[ -z "$service_pid" ] || kill "$service_pid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$work"
	log "$([ "$rc" -eq 0 ] && echo passed || echo FAILED) in $((SECONDS - t_all))s"
	exit "$rc"
}

# The postgres and idp images: the official ones, else the stand-ins, which start from the
# Debian 12 base that docker/build.sh makes when no registry serves it.
service_images() {
	bash docker/build.sh --base-only
	use_image CAVRA_POSTGRES_IMAGE postgres:15-bookworm cavra-postgres:15 \
		docker/local/postgres.Dockerfile
	use_image CAVRA_NODE_IMAGE node:20-bookworm-slim cavra-node:18 docker/local/node.Dockerfile
}

main() {
	local t
	engine_detect
	log "engine: $ENGINE"
	if [ "${1:-}" = --images-only ]; then
		trap 'rm -rf "$work"' EXIT
		t=$SECONDS
		service_images
		log "images ready ($((SECONDS - t))s)"
		return 0
	fi
	trap teardown EXIT
	trap 'exit 130' INT TERM
	if ! engine_has_image cavra:dev || ! engine_has_image cavra-test:dev; then
		bash docker/build.sh
	fi
	t=$SECONDS
	service_images
	log "images ready ($((SECONDS - t))s)"
	# ports of this run only, so that runs side by side do not collide
	CAVRA_DEV_PG_PORT=$(free_port) CAVRA_DEV_HTTP_PORT=$(free_port)
	CAVRA_DEV_IDP_PORT=$(free_port)
	export CAVRA_DEV_PG_PORT CAVRA_DEV_HTTP_PORT CAVRA_DEV_IDP_PORT
	export CAVRA_TEST_ARGS=$suite
	pick_compose
	drive_health_checks
	t=$SECONDS
	"${compose[@]}" up -d --no-build "${stack[@]}"
	wait_healthy cavra 240
	log "stack up and cavra healthy ($((SECONDS - t))s); cavra on 127.0.0.1:$CAVRA_DEV_HTTP_PORT"
	t=$SECONDS
	"${compose[@]}" --profile test run --rm --no-deps -T test-runner
	log "test-runner passed ($((SECONDS - t))s)"
}

main "$@"
