#!/usr/bin/env bash
# docker/build.sh - builds cavra's images from this checkout with docker where a daemon runs,
# else with podman (docker/engine.sh):
#
#   cavra:dev        docker/Dockerfile's runtime stage (what you deploy)
#   cavra-test:dev   its test stage, docker/docker-compose.yml's test-runner
#
#   bash docker/build.sh [--runtime-only]     # from anywhere; docs/deployment.md
#   bash docker/build.sh --base-only          # only the Debian 12 base below (docker/smoke.sh's
#                                             # stand-ins start from it too)
#
# No registry is needed. When the Debian 12 base the Dockerfile starts from (debian:bookworm,
# debian:bookworm-slim) is not in the engine and cannot be pulled, it is made here with
# mmdebstrap from Debian's mirror and imported under those names. The tarball is kept in
# CAVRA_CACHE_DIR (default ~/.cache/cavra) and the image in the engine, both keyed by the
# recipe below and the month, so later runs reuse them and a new month brings a fresh base.
# CAVRA_BASE_REFRESH=1 makes it again; CAVRA_DEBIAN_MIRROR changes the mirror.
# CAVRA_TEST_SKIP_BROWSER=1 builds cavra-test:dev without Chromium (docker/smoke.sh's default
# tests do not drive a browser; scripts/test.sh sets it).
#
# Behind a proxy that intercepts TLS: the host's extra CA certificates (the *.crt files under
# /usr/local/share/ca-certificates, or the PEM file CAVRA_SITE_CA names) reach the test stage's
# `npm ci` as the build secret site-ca, which no image keeps; the runtime image never sees
# them. With docker, HTTP_PROXY, HTTPS_PROXY and NO_PROXY (either case) are passed on when set
# (podman passes them itself).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=docker/engine.sh
source docker/engine.sh

image=${CAVRA_IMAGE:-cavra:dev}
test_image=${CAVRA_TEST_IMAGE:-cavra-test:dev}
mirror=${CAVRA_DEBIAN_MIRROR:-http://deb.debian.org/debian}
cache=${CAVRA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cavra}

# The base: Debian's minbase with merged /usr (as Debian's own images), no manual pages,
# documentation or translations (as the -slim image), the security and updates suites. As in
# Debian's own images, dpkg does not fsync each file it unpacks (a container layer is
# committed whole or not at all) and apt deletes the packages it downloaded once installed.
# shellcheck disable=SC2016 # the hook's $1 is for mmdebstrap's shell to expand (the root)
base_args=(--variant=minbase --format=tar
	--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr
	--aptopt='Acquire::Languages "none"'
	--dpkgopt='force-unsafe-io'
	--customize-hook='echo "APT::Keep-Downloaded-Packages \"false\";" >"$1/etc/apt/apt.conf.d/50cavra-clean"'
	--dpkgopt='path-exclude=/usr/share/man/*'
	--dpkgopt='path-exclude=/usr/share/doc/*'
	--dpkgopt='path-include=/usr/share/doc/*/copyright'
	--dpkgopt='path-exclude=/usr/share/info/*'
	--dpkgopt='path-exclude=/usr/share/locale/*'
	--dpkgopt='path-include=/usr/share/locale/locale.alias')
base_sources=("deb $mirror bookworm main" "deb $mirror bookworm-updates main"
	"deb http://deb.debian.org/debian-security bookworm-security main")
base_key=$(printf '%s\n' "${base_args[@]}" "${base_sources[@]}" "$(date -u +%Y-%m)" |
	sha256sum | cut -c1-12)
base_label=org.cavra.base-key

log() { echo "build.sh: $*"; }

# site_ca FILE: writes the extra CA certificates into FILE (empty when there are none).
site_ca() {
	if [ -n "${CAVRA_SITE_CA:-}" ]; then
		cat "$CAVRA_SITE_CA" >"$1"
		return 0
	fi
	: >"$1"
	[ -d /usr/local/share/ca-certificates ] || return 0
	find /usr/local/share/ca-certificates -name '*.crt' -type f -print0 | sort -z |
		xargs -0 -r cat >>"$1"
}

# The base's key label: empty for an image that did not come from here (e.g. a pulled one).
base_key_of() {
	"$ENGINE" image inspect --format "{{ index .Config.Labels \"$base_label\" }}" \
		"$(engine_ref "$1")" 2>/dev/null | sed 's/<no value>//'
}

base_current() {
	local name key
	[ "${CAVRA_BASE_REFRESH:-0}" != 1 ] || return 1
	for name in debian:bookworm debian:bookworm-slim; do
		engine_has_image "$name" || return 1
		key=$(base_key_of "$name")
		[ -z "$key" ] || [ "$key" = "$base_key" ] || return 1
	done
}

make_tarball() { # make_tarball FILE
	if ! command -v mmdebstrap >/dev/null; then
		log "mmdebstrap is missing: bash scripts/deps.sh containers installs it" >&2
		return 1
	fi
	mkdir -p "$cache"
	log "making the Debian 12 base with mmdebstrap (a few minutes) into $1"
	# Debian's python3 for mmtarfilter (#!/usr/bin/env python3), which runs once per package:
	# a python3 shim found first on PATH (pyenv's) made the base minutes slower.
	PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		mmdebstrap --quiet "${base_args[@]}" bookworm "$1.tmp" "${base_sources[@]}"
	mv "$1.tmp" "$1"
	find "$cache" -name 'debian-bookworm-*.tar*' ! -name "${1##*/}" -delete
}

ensure_base() {
	local tar="$cache/debian-bookworm-$base_key.tar" t0=$SECONDS
	if base_current; then
		log "base: debian:bookworm and debian:bookworm-slim present"
		return 0
	fi
	# a registry first, unless an older base of ours is there (then the month changed)
	if ! engine_has_image debian:bookworm &&
		"$ENGINE" pull -q "$(engine_ref debian:bookworm)" >/dev/null 2>&1 &&
		"$ENGINE" pull -q "$(engine_ref debian:bookworm-slim)" >/dev/null 2>&1; then
		log "base: pulled debian:bookworm and debian:bookworm-slim"
		return 0
	fi
	if [ ! -s "$tar" ] || [ "${CAVRA_BASE_REFRESH:-0}" = 1 ]; then
		make_tarball "$tar"
	fi
	"$ENGINE" import --change 'CMD ["bash"]' --change "LABEL $base_label=$base_key" \
		"$tar" "$(engine_ref debian:bookworm)" >/dev/null
	"$ENGINE" tag "$(engine_ref debian:bookworm)" "$(engine_ref debian:bookworm-slim)"
	log "base: imported $tar as debian:bookworm and debian:bookworm-slim ($((SECONDS - t0))s)"
}

build() { # build TARGET TAG
	local args=(build -f docker/Dockerfile --target "$1" -t "$(engine_ref "$2")") var
	args+=(--secret "id=site-ca,src=$ca_file")
	if [ "$1" = test ] && [ "${CAVRA_TEST_SKIP_BROWSER:-0}" = 1 ]; then
		args+=(--build-arg TEST_SKIP_BROWSER=1)
	fi
	if [ "$ENGINE" = docker ]; then
		for var in HTTP_PROXY HTTPS_PROXY NO_PROXY http_proxy https_proxy no_proxy; do
			[ -z "${!var:-}" ] || args+=(--build-arg "$var")
		done
	fi
	if [ "$ENGINE" = podman ]; then
		# docker format keeps HEALTHCHECK (OCI images have none); the host's network lets
		# RUN apt-get and npm reach their mirrors on machines whose bridge has no route out;
		# the base is local, never pulled
		args+=(--format docker --network host --pull=never --layers)
	fi
	"$ENGINE" "${args[@]}" .
}

report_size() {
	local bytes
	bytes=$("$ENGINE" image inspect --format '{{.Size}}' "$(engine_ref "$image")")
	log "$image: $((bytes / 1000000)) MB ($bytes bytes)"
}

main() {
	local t0=$SECONDS t
	engine_detect
	log "engine: $ENGINE"
	ensure_base
	[ "${1:-}" != --base-only ] || return 0
	ca_file=$(mktemp)
	trap 'rm -f "$ca_file"' EXIT
	site_ca "$ca_file"
	[ ! -s "$ca_file" ] || log "extra CA certificates for npm: $(grep -c 'BEGIN CERTIFICATE' "$ca_file")"
	t=$SECONDS
	build runtime "$image"
	log "$image built ($((SECONDS - t))s)"
	report_size
	if [ "${1:-}" != --runtime-only ]; then
		t=$SECONDS
		build test "$test_image"
		log "$test_image built ($((SECONDS - t))s)"
	fi
	log "done in $((SECONDS - t0))s"
}

main "$@"
