#!/usr/bin/env bash
# Installs the Debian packages cavra needs, only those that are missing.
#   scripts/deps.sh run    build and run the service
#   scripts/deps.sh test   everything the test suite needs as well
set -euo pipefail

group=${1:-run}

run_pkgs=(build-essential cmake pkg-config libsqlite3-dev libpq-dev libjson-c-dev
	libmicrohttpd-dev libssl-dev libcurl4-openssl-dev libyaml-dev ca-certificates)
test_pkgs=(clang-format libcmocka-dev sqlite3 postgresql-15 postgresql-client-15
	python3 python3-pytest python3-requests curl)

case "$group" in
run) want=("${run_pkgs[@]}") ;;
test) want=("${run_pkgs[@]}" "${test_pkgs[@]}") ;;
*)
	echo "usage: scripts/deps.sh run|test" >&2
	exit 2
	;;
esac

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps: run as root (or install these packages first)" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
