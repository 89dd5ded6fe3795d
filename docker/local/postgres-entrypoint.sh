#!/bin/bash
# The entrypoint of docker/local/postgres.Dockerfile: on an empty data directory, initdb with
# POSTGRES_PASSWORD for the postgres superuser, then each /docker-entrypoint-initdb.d/*.sql
# (psql, stopping at the first error) and *.sh on a server that listens on its socket only;
# then the command, `postgres ...` listening on every address.
set -euo pipefail

init() {
	local pwfile f
	if [ -z "${POSTGRES_PASSWORD:-}" ]; then
		echo "postgres-entrypoint: POSTGRES_PASSWORD is not set" >&2
		exit 1
	fi
	pwfile=$(mktemp)
	printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
	initdb -D "$PGDATA" -U postgres --pwfile="$pwfile" -E UTF8 --locale=C.UTF-8 \
		--auth-local=trust --auth-host=scram-sha-256 >/dev/null
	rm -f "$pwfile"
	echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
	pg_ctl -D "$PGDATA" -w -o "-c listen_addresses='' -c unix_socket_directories=/tmp" start >/dev/null
	for f in /docker-entrypoint-initdb.d/*; do
		case "$f" in
		*.sql) echo "postgres-entrypoint: running $f"
			psql -X -q -v ON_ERROR_STOP=1 -U postgres -d postgres -f "$f" ;;
		*.sh) echo "postgres-entrypoint: running $f"
			# shellcheck disable=SC1090
			. "$f" ;;
		esac
	done
	pg_ctl -D "$PGDATA" -w -m fast stop >/dev/null
	echo "postgres-entrypoint: initialised $PGDATA"
}

if [ "${1:-}" = postgres ]; then
	[ -s "$PGDATA/PG_VERSION" ] || init
	shift
	exec postgres -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories=/tmp "$@"
fi
exec "$@"
