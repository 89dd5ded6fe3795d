#!/usr/bin/env bash
# docker/engine.sh - picks the container engine that docker/build.sh and docker/smoke.sh
# drive: docker when its daemon answers, else podman. Podman runs with
# docker/podman/containers.conf unless CONTAINERS_CONF names another file. CAVRA_ENGINE=docker
# or CAVRA_ENGINE=podman forces one.
#
#   source docker/engine.sh && engine_detect   # sets ENGINE; otherwise says why on stderr
#   bash docker/engine.sh                      # prints the engine; exit 1 and the reason
#                                              # when none can run containers here

# Podman's names for the short names the Dockerfile and the compose file use.
engine_ref() { # engine_ref NAME[:TAG] -> what to give the engine
	local ref=$1
	if [ "$ENGINE" = podman ] && [[ "$ref" != */* ]]; then
		case "$ref" in
		debian:* | postgres:* | node:*) ref=docker.io/library/$ref ;;
		*) ref=localhost/$ref ;;
		esac
	fi
	printf '%s\n' "$ref"
}

engine_has_image() { # engine_has_image REF
	"$ENGINE" image inspect "$(engine_ref "$1")" >/dev/null 2>&1
}

engine_detect() {
	local want=${CAVRA_ENGINE:-} conf
	conf="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/podman/containers.conf"
	ENGINE=""
	if [ -z "$want" ] || [ "$want" = docker ]; then
		if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
			ENGINE=docker
			return 0
		fi
		[ "$want" = docker ] && { echo "engine: docker: no daemon answers" >&2; return 1; }
	fi
	if ! command -v podman >/dev/null; then
		echo "engine: neither a docker daemon nor podman here" >&2
		return 1
	fi
	if [ -z "${CONTAINERS_CONF:-}" ]; then
		export CONTAINERS_CONF="$conf"
		if ! command -v runc >/dev/null; then
			echo "engine: podman: $conf selects runc, which is not installed" >&2
			return 1
		fi
	fi
	if ! podman info >/dev/null 2>&1; then
		echo "engine: podman cannot run here: $(podman info 2>&1 | tail -1)" >&2
		return 1
	fi
	ENGINE=podman
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	engine_detect
	echo "$ENGINE"
fi
