# bench/lib.sh - what the benchmark scripts share, sourced (not run) by bench/*.sh:
# messages, a free port, the Release build, a throw-away PostgreSQL 15 in a temp dir, and a
# `cavra serve` to load. Each script keeps its own measurements and its own report.
# Callers set `work` (a temp dir, chmod 711 so user postgres can keep its data under it) before
# calling pg_start, and stop what they started in their EXIT trap with pg_stop / serve_stop.

say() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() {
	say "error: $*"
	exit 1
}
as_pg() { runuser -u postgres -- "$@"; }
free_port() {
	/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
bindir=$(pg_config --bindir)

# build_release DIR [SRC]: a Release build of SRC (default: the work tree) into DIR; sets cavra.
build_release() {
	say "building the Release binary into $1"
	cmake -S "${2:-.}" -B "$1" -DCMAKE_BUILD_TYPE=Release -DCAVRA_TESTS=OFF >/dev/null ||
		die "cmake failed in $1"
	cmake --build "$1" -j2 >/dev/null || die "the build in $1 failed"
	cavra=$(cd "$1" && pwd)/cavra
}

# pg_start SETTING...: initdb and start PostgreSQL under $work/pg on a free port of 127.0.0.1
# with `-c SETTING` each; sets pgport. pgurl DB names a database on it.
pg_start() {
	pgport=$(free_port)
	mkdir -p "$work/pg"
	chown postgres "$work/pg"
	# a data directory kept from an earlier run (bench/reads.sh KEEP_DIR) is started as it is
	[ -d "$work/pg/data" ] ||
		as_pg "$bindir/initdb" -D "$work/pg/data" -A trust -U postgres >"$work/pg/initdb.log" 2>&1 ||
		die "initdb failed: $work/pg/initdb.log"
	local opts="-p $pgport -k $work/pg -c listen_addresses=127.0.0.1" s
	for s in "$@"; do opts+=" -c $s"; done
	as_pg "$bindir/pg_ctl" -D "$work/pg/data" -l "$work/pg/postgres.log" -w -o "$opts" start >/dev/null ||
		die "PostgreSQL did not start"
	say "PostgreSQL on 127.0.0.1:$pgport"
}
pg_stop() {
	[ -f "$work/pg/data/postmaster.pid" ] &&
		as_pg "$bindir/pg_ctl" -D "$work/pg/data" -m fast -w stop >/dev/null 2>&1
	return 0
}
pgurl() { echo "postgresql://postgres@127.0.0.1:$pgport/$1"; }
sql() { # backend url statement -> one row, fields separated by |
	if [ "$1" = sqlite ]; then sqlite3 -bail "$2" "$3"; else psql "$2" -XAt -v ON_ERROR_STOP=1 -c "$3"; fi
}

# pg_workdir NAME: a new temp dir in work (chmod 711, so user postgres can keep its data under
# it), removed, with the PostgreSQL pg_start ran in it and the cavra serve_start started, when
# the script exits or is interrupted. For scripts with nothing else to stop; the others keep
# their own EXIT trap.
pg_workdir() {
	work=$(mktemp -d "/tmp/cavra-bench-$1.XXXXXX")
	chmod 711 "$work"
	serve_pid=
	trap 'set +e; serve_stop; pg_stop; rm -rf "$work"' EXIT
	trap 'exit 130' INT TERM
}

# serve_start DATABASE-URL LOG [FLAG...]: cavra serve on a free port, waits for /healthz;
# sets port and serve_pid.
serve_start() {
	local url=$1 log=$2
	shift 2
	port=$(free_port)
	"$cavra" serve --database "$url" --listen "127.0.0.1:$port" "$@" >>"$log" 2>&1 &
	serve_pid=$!
	for _ in $(seq 1200); do # 60 s: a loaded machine right after a large seed is slow to start
		curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" && return 0
		kill -0 "$serve_pid" 2>/dev/null || die "cavra serve exited: $log"
		sleep 0.05
	done
	die "cavra serve did not answer /healthz"
}
serve_stop() {
	[ -n "${serve_pid:-}" ] || return 0
	kill -TERM "$serve_pid" 2>/dev/null
	wait "$serve_pid" 2>/dev/null || true
	serve_pid=
}

# fresh_db BACKEND NAME: a new empty database NAME (PostgreSQL: started on a free port for the
# large-load settings, then created; SQLite: a file in work); sets db.
fresh_db() {
	if [ "$1" = postgres ]; then
		[ "$(id -u)" = 0 ] || die "run as root: PostgreSQL is started as user postgres with runuser"
		pg_start shared_buffers=512MB max_connections=100 max_wal_size=8GB checkpoint_timeout=30min
		psql "$(pgurl postgres)" -Xq -c "CREATE DATABASE $2"
		db=$(pgurl "$2")
	else
		db=$work/$2.db
	fi
}

# settle BACKEND DATABASE: nothing left for autovacuum or a checkpoint to do, flushed, as a DBA
# would after a bulk load (PostgreSQL: VACUUM (ANALYZE) and a CHECKPOINT; SQLite: the WAL
# checkpointed into the file).
settle() {
	if [ "$1" = postgres ]; then
		psql "$2" -Xq -c 'VACUUM (ANALYZE)' -c CHECKPOINT
	else
		sqlite3 "$2" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
	fi
	sync
}

# timed_row CELLS STEP COMMAND...: runs COMMAND (a failure, a break found by verify included,
# stops the script; its output in $work/step.log) and prints a table row: CELLS (the leading
# cells, "a | b"), `cavra STEP`, the wall clock in seconds and the peak RSS in MB.
timed_row() {
	local cells=$1 step=$2 out=$work/time.out secs kb
	shift 2
	say "$cells: $step"
	/usr/bin/time -f '%e %M' -o "$out" "$@" >"$work/step.log" 2>&1 ||
		die "$cells: $step failed: $(tail -3 "$work/step.log")"
	read -r secs kb <"$out"
	echo "| $cells | \`cavra $step\` | $secs | $((kb / 1024)) |"
}

# kv KEY LINE: the value of KEY=value in a RESULT line of the wrk scripts.
kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }

need_wrk() {
	command -v wrk >/dev/null && return 0
	say "installing wrk"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null 2>&1 ||
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
}

# build_revision: a Release build of CAVRA_REV when it is set (a committed revision, exported
# into $work/src, so edits in the work tree do not reach it), else of the work tree into
# build-bench/; sets revision (what was built) and cavra (build_release).
build_revision() {
	if [ -n "${CAVRA_REV:-}" ]; then
		revision=$(git rev-parse --short "$CAVRA_REV^{commit}") || die "unknown revision $CAVRA_REV"
		mkdir -p "$work/src"
		git archive "$revision" | tar -x -C "$work/src"
		build_release "$work/build" "$work/src"
	else
		revision=$(git describe --always --dirty 2>/dev/null || echo unknown)
		build_release build-bench
	fi
}

# cpu_ticks PID...: the user + system CPU time the processes have used so far, in clock ticks
# (getconf CLK_TCK a second; a process that has ended counts 0). Fields 14 and 15 of
# /proc/PID/stat, counted after the command name, which may hold spaces.
cpu_ticks() {
	local p
	for p in "$@"; do sed 's/.*) //' "/proc/$p/stat" 2>/dev/null || true; done |
		awk '{ t += $12 + $13 } END { print t + 0 }'
}

# pg_children: the PIDs of the children of pg_start's postmaster (backends, WAL writer,
# checkpointer...); none when it is not running.
pg_children() {
	[ -f "$work/pg/data/postmaster.pid" ] || return 0
	pgrep -P "$(head -1 "$work/pg/data/postmaster.pid")" || true
}

# pg_ticks: PostgreSQL's CPU time so far, in clock ticks: its ended processes (the postmaster's
# cutime + cstime: backends that disconnected, autovacuum workers) and its live children; 0
# when it is not running.
pg_ticks() {
	local pm
	[ -f "$work/pg/data/postmaster.pid" ] || { echo 0; return 0; }
	pm=$(head -1 "$work/pg/data/postmaster.pid")
	echo $(($(sed 's/.*) //' "/proc/$pm/stat" | awk '{ print $14 + $15 }') + $(cpu_ticks $(pg_children))))
}
