/*
 * progress.h - progress of long commands on stderr (docs/operations.md, "Progress"): the
 * phase and the item (table, file) being worked on, rows done (of the total when it is known),
 * rows per second, the time left, and one summary line when the command ends.
 *
 * A command makes one struct progress (or none: every function takes NULL and does nothing,
 * so the loops that report call it unconditionally).  The loops call progress_add per row or
 * per batch; drawing is throttled, so that costs an atomic add and, every 64 rows, a look at
 * the clock.  Every function is safe to call from several threads at once (tables dumped or
 * loaded in parallel): the row count is atomic and the rest sits under a mutex.
 *
 * The pure pieces (counts, durations, rate, time left, the line itself) are exported for the
 * unit tests; the clock and the output are injected.
 */
#ifndef CAVRA_PROGRESS_H
#define CAVRA_PROGRESS_H

#include "base/base.h"

#include <stdio.h>

enum progress_mode {
	PROGRESS_OFF = 0,
	PROGRESS_TTY, /* one line redrawn in place with '\r', at most 4 times a second */
	PROGRESS_LINES, /* plain lines, at most one every 2 s: pipes and log files */
};

#define PROGRESS_TTY_INTERVAL_US   250000
#define PROGRESS_LINES_INTERVAL_US 2000000
#define PROGRESS_PHASES_MAX	   8 /* phases the summary line names; later ones are counted */
#define PROGRESS_LINE_MAX	   256

/* Monotonic microseconds; ctx is progress_opts.clock_ctx. */
typedef int64_t (*progress_clock_fn)(void *ctx);

struct progress_opts {
	enum progress_mode mode;
	const char *command; /* the lines' prefix ("verify"); borrowed for the object's life */
	FILE *out; /* NULL: stderr */
	progress_clock_fn clock; /* NULL: time_mono_us */
	void *clock_ctx;
	int64_t interval_us; /* least time between two lines; 0: the mode's default */
	int width; /* a TTY's columns; lines are cut to width - 1; 0: 80 */
};

struct progress;

/*
 * A progress reporter, or NULL when o->mode is PROGRESS_OFF (which every function accepts).
 * Caller owns, free with progress_free.
 */
struct progress *progress_new(const struct progress_opts *o);
/* Frees p without a summary line (progress_finish writes it).  NULL-safe. */
void progress_free(struct progress *p);
/*
 * Starts a phase ("verify", "load"; static or living as long as p) of total rows (< 0:
 * unknown), ending the one before; the row count and the rate start again from zero.
 */
void progress_phase(struct progress *p, const char *phase, int64_t total);
/*
 * Names what the phase works on now (a table or a file; copied).  With several threads at
 * work, the line shows the last one named.
 */
void progress_item(struct progress *p, const char *item);
/*
 * Erases a TTY's line, so that the caller can print a line of its own on stderr (the next
 * line due draws it again); nothing to do for plain lines.
 */
void progress_clear(struct progress *p);
/* n more rows done in the current phase; draws a line when one is due. */
void progress_add(struct progress *p, int64_t n);
/*
 * Ends the last phase and writes the summary line: "<command>: done in T: <phase> N rows in t
 * (R rows/s); ..." (ok) or "<command>: failed after T: ...".  A TTY's line is replaced by it.
 * Later calls on p do nothing but progress_free.
 */
void progress_finish(struct progress *p, bool ok);

/* ---- the pure pieces ---- */

/* n with a comma every three digits ("1,234,567"). */
void progress_fmt_count(int64_t n, char *out, size_t size);
/* A duration for people: "0.4 s", "12.3 s", "2 min 05 s", "1 h 02 min". */
void progress_fmt_duration(int64_t us, char *out, size_t size);
/*
 * The rate after rows more rows in dt_us: the first sample (prev <= 0) as it is, later ones
 * folded in with a weight that grows with dt (a time constant of 5 s), so that the rate
 * follows a change of pace within seconds but one slow batch does not swing it.
 */
double progress_rate(double prev, int64_t rows, int64_t dt_us);
/* Microseconds left at rate rows/s, or -1 when that is not known (no total or no rate). */
int64_t progress_eta_us(int64_t done, int64_t total, double rate);

/* What one progress line shows. */
struct progress_view {
	const char *command, *phase, *item; /* phase and item may be NULL */
	int64_t done, total; /* total < 0: unknown */
	double rate; /* rows/s; <= 0: not known yet */
};

/*
 * "<command>: <phase> <item>: D of T rows (P%), R rows/s, about E left" into out (at most
 * size - 1 bytes, cut there); the phase is left out when it is the command, unknown parts are
 * left out.  Returns the length written.
 */
size_t progress_line(const struct progress_view *v, char *out, size_t size);

#endif
