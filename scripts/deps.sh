#!/usr/bin/env bash
# Installs the Debian 12 packages cavra needs, only those that are missing.
# Idempotent: when everything is installed it changes nothing and needs no network.
#
#   scripts/deps.sh [run]   building and running the service (the default)
#   scripts/deps.sh test    everything the test suite needs as well
#
# To add a group: add a pkgs_<name> array and a line to the `case` below that lists
# the groups it is made of.
set -euo pipefail

# Building and running: compiler, CMake and the libraries the binary links.
pkgs_run=(build-essential cmake pkg-config ca-certificates
	libsqlite3-dev libpq-dev libjson-c-dev libmicrohttpd-dev libssl-dev
	libcurl4-openssl-dev libyaml-dev)

# Testing: formatter, cmocka, the sqlite3 and PostgreSQL 15 server/client the
# integration suite drives, and Debian's python3 with pytest and requests
# (tests run with /usr/bin/python3, never a python3 found earlier on PATH).
pkgs_test=(clang-format libcmocka-dev sqlite3 postgresql-15 postgresql-client-15
	python3 python3-pytest python3-requests curl)

group=${1:-run}
case "$group" in
run) groups=(run) ;;
test) groups=(run test) ;;
*)
	echo "usage: scripts/deps.sh [run|test]" >&2
	exit 2
	;;
esac

want=()
for g in "${groups[@]}"; do
	declare -n list="pkgs_$g"
	want+=("${list[@]}")
	unset -n list
done

installed() {
	dpkg -s "$1" 2>/dev/null | grep -q '^Status: install ok installed$'
}

missing=()
for p in "${want[@]}"; do
	installed "$p" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps ($group): all ${#want[@]} packages installed"
	exit 0
fi

echo "deps ($group): installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: not root; install these packages first: ${missing[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null

for p in "${missing[@]}"; do
	if ! installed "$p"; then
		echo "deps: package '$p' is still not installed" >&2
		exit 1
	fi
done
