/*
 * progress.c - progress lines of long commands on stderr (progress.h).  The row count is an
 * atomic the workers add to; whoever crosses a multiple of 64 rows looks at the clock and, when
 * a line is due and nobody else is drawing, draws it under the mutex.  A worker never waits
 * for the terminal: a busy mutex means someone is drawing, and the worker goes on.
 */
#include "base/base.h"
#include "base/progress.h"
#include "base/timeutil.h"
#include "base/xalloc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK_EVERY_SHIFT 6 /* look at the clock every 2^6 rows */
#define RATE_TAU_US	  5000000.0
#define ITEM_MAX	  96

struct phase_done {
	const char *name;
	int64_t rows, total, us;
};

struct progress {
	enum progress_mode mode;
	const char *command;
	FILE *out;
	progress_clock_fn clock;
	void *clock_ctx;
	int64_t interval_us;
	int width;
	_Atomic int64_t done; /* rows of the current phase */
	pthread_mutex_t mu; /* everything below */
	const char *phase;
	char item[ITEM_MAX];
	int64_t total, started_us, phase_us;
	int64_t last_draw_us, sample_us, sample_done;
	double rate;
	size_t drawn; /* length of the line a TTY shows now; 0: none */
	struct phase_done phases[PROGRESS_PHASES_MAX];
	size_t nphases, more_phases;
	bool in_phase, finished;
};

static int64_t mono_clock(void *ctx)
{
	UNUSED(ctx);
	return time_mono_us();
}

static int64_t now_us(const struct progress *p)
{
	return p->clock(p->clock_ctx);
}

struct progress *progress_new(const struct progress_opts *o)
{
	struct progress *p;

	if (o->mode == PROGRESS_OFF)
		return NULL;
	p = xcalloc(1, sizeof(*p));
	p->mode = o->mode;
	p->command = o->command ? o->command : "cavra";
	p->out = o->out ? o->out : stderr;
	p->clock = o->clock ? o->clock : mono_clock;
	p->clock_ctx = o->clock_ctx;
	p->interval_us = o->interval_us > 0	   ? o->interval_us
			 : o->mode == PROGRESS_TTY ? PROGRESS_TTY_INTERVAL_US
						   : PROGRESS_LINES_INTERVAL_US;
	p->width = o->width > 1 ? o->width : 80;
	p->total = -1;
	pthread_mutex_init(&p->mu, NULL);
	p->started_us = now_us(p);
	p->last_draw_us = INT64_MIN / 2; /* the first line is due at once */
	return p;
}

void progress_free(struct progress *p)
{
	if (!p)
		return;
	pthread_mutex_destroy(&p->mu);
	free(p);
}

/* ---- drawing (p->mu held) ---- */

/* A TTY's line replaced by text (padded over what was there), or a plain line. */
static void put_line(struct progress *p, const char *text, bool last)
{
	size_t n = strlen(text);

	if (p->mode == PROGRESS_TTY) {
		fprintf(p->out, "\r%s", text);
		for (size_t i = n; i < p->drawn; i++)
			fputc(' ', p->out);
		if (last)
			fputc('\n', p->out);
		p->drawn = last ? 0 : n;
	} else {
		fprintf(p->out, "%s\n", text);
	}
	fflush(p->out);
}

static void draw(struct progress *p, int64_t now)
{
	char line[PROGRESS_LINE_MAX];
	int64_t done = atomic_load(&p->done);
	struct progress_view v = {p->command, p->phase, p->item[0] ? p->item : NULL,
				  done,	      p->total, 0};
	size_t cut = p->mode == PROGRESS_TTY ? (size_t)p->width : sizeof(line);

	if (now > p->sample_us) {
		p->rate = progress_rate(p->rate, done - p->sample_done, now - p->sample_us);
		p->sample_us = now;
		p->sample_done = done;
	}
	v.rate = p->rate;
	progress_line(&v, line, cut < sizeof(line) ? cut : sizeof(line));
	put_line(p, line, false);
	p->last_draw_us = now;
}

/* Draws when a line is due. */
static void tick_locked(struct progress *p)
{
	int64_t now;

	if (p->finished || !p->in_phase)
		return;
	now = now_us(p);
	if (now - p->last_draw_us >= p->interval_us)
		draw(p, now);
}

static void end_phase(struct progress *p, int64_t now)
{
	struct phase_done *d;

	if (!p->in_phase)
		return;
	p->in_phase = false;
	if (p->nphases == PROGRESS_PHASES_MAX) {
		p->more_phases++;
		return;
	}
	d = &p->phases[p->nphases++];
	d->name = p->phase;
	d->rows = atomic_load(&p->done);
	d->total = p->total;
	d->us = now - p->phase_us;
}

/* ---- what the workers call ---- */

void progress_phase(struct progress *p, const char *phase, int64_t total)
{
	int64_t now;

	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	now = now_us(p);
	end_phase(p, now);
	if (!p->finished) {
		p->phase = phase;
		p->item[0] = '\0';
		p->total = total;
		p->phase_us = p->sample_us = now;
		p->sample_done = 0;
		p->rate = 0;
		atomic_store(&p->done, 0);
		p->in_phase = true;
		draw(p,
		     now); /* every phase shows its first line, however soon it follows the last */
	}
	pthread_mutex_unlock(&p->mu);
}

void progress_item(struct progress *p, const char *item)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	snprintf(p->item, sizeof(p->item), "%s", item ? item : "");
	tick_locked(p);
	pthread_mutex_unlock(&p->mu);
}

void progress_clear(struct progress *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	if (p->mode == PROGRESS_TTY && p->drawn) {
		fputc('\r', p->out);
		for (size_t i = 0; i < p->drawn; i++)
			fputc(' ', p->out);
		fputc('\r', p->out);
		fflush(p->out);
		p->drawn = 0;
	}
	pthread_mutex_unlock(&p->mu);
}

void progress_add(struct progress *p, int64_t n)
{
	int64_t before;

	if (!p || n <= 0)
		return;
	before = atomic_fetch_add_explicit(&p->done, n, memory_order_relaxed);
	if (before >> CHECK_EVERY_SHIFT == (before + n) >> CHECK_EVERY_SHIFT)
		return;
	/* someone else is drawing: this worker does not wait for the terminal */
	if (pthread_mutex_trylock(&p->mu) != 0)
		return;
	tick_locked(p);
	pthread_mutex_unlock(&p->mu);
}

/* ---- the summary ---- */

/* "; <phase> N rows in T (R rows/s)" appended at out + *len. */
static void summary_phase(const struct progress *p, const struct phase_done *d, char *out,
			  size_t size, size_t *len)
{
	char rows[32], total[32], took[32];
	bool named = d->name && strcmp(d->name, p->command) != 0;
	int n;

	progress_fmt_count(d->rows, rows, sizeof(rows));
	progress_fmt_count(d->total, total, sizeof(total));
	progress_fmt_duration(d->us, took, sizeof(took));
	if (*len >= size)
		return;
	if (d->rows == 0 && d->total < 0)
		n = snprintf(out + *len, size - *len, "%s%s%sin %s", *len ? "; " : "",
			     named ? d->name : "", named ? " " : "", took);
	else
		n = snprintf(out + *len, size - *len, "%s%s%s%s%s%s rows in %s", *len ? "; " : "",
			     named ? d->name : "", named ? " " : "", rows,
			     d->total >= 0 && d->total != d->rows ? " of " : "",
			     d->total >= 0 && d->total != d->rows ? total : "", took);
	if (n > 0)
		*len += (size_t)n;
	if (d->rows > 0 && d->us > 0 && *len < size) {
		progress_fmt_count((int64_t)((double)d->rows * 1e6 / (double)d->us), rows,
				   sizeof(rows));
		n = snprintf(out + *len, size - *len, " (%s rows/s)", rows);
		if (n > 0)
			*len += (size_t)n;
	}
}

void progress_finish(struct progress *p, bool ok)
{
	char body[PROGRESS_LINE_MAX * 2] = "", line[sizeof(body) + 160], took[32];
	size_t len = 0;
	int64_t now;

	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	if (!p->finished) {
		now = now_us(p);
		end_phase(p, now);
		p->finished = true;
		for (size_t i = 0; i < p->nphases; i++)
			summary_phase(p, &p->phases[i], body, sizeof(body), &len);
		if (p->more_phases && len < sizeof(body))
			snprintf(body + len, sizeof(body) - len, "; %zu more phases",
				 p->more_phases);
		progress_fmt_duration(now - p->started_us, took, sizeof(took));
		snprintf(line, sizeof(line), "%s: %s %s%s%s", p->command,
			 ok ? "done in" : "failed after", took, body[0] ? ": " : "", body);
		put_line(p, line, true);
	}
	pthread_mutex_unlock(&p->mu);
}

/* ---- the pure pieces ---- */

void progress_fmt_count(int64_t n, char *out, size_t size)
{
	char digits[24], grouped[32];
	size_t nd, k = 0;
	uint64_t u = n < 0 ? (uint64_t)0 - (uint64_t)n : (uint64_t)n;

	snprintf(digits, sizeof(digits), "%llu", (unsigned long long)u);
	nd = strlen(digits);
	if (n < 0)
		grouped[k++] = '-';
	for (size_t i = 0; i < nd; i++) {
		if (i > 0 && (nd - i) % 3 == 0)
			grouped[k++] = ',';
		grouped[k++] = digits[i];
	}
	grouped[k] = '\0';
	snprintf(out, size, "%s", grouped);
}

void progress_fmt_duration(int64_t us, char *out, size_t size)
{
	int64_t s = us < 0 ? 0 : us / 1000000;

	if (us < 60000000)
		snprintf(out, size, "%.1f s", us < 0 ? 0.0 : (double)us / 1e6);
	else if (s < 3600)
		snprintf(out, size, "%lld min %02lld s", (long long)(s / 60), (long long)(s % 60));
	else
		snprintf(out, size, "%lld h %02lld min", (long long)(s / 3600),
			 (long long)(s / 60 % 60));
}

double progress_rate(double prev, int64_t rows, int64_t dt_us)
{
	double inst, w;

	if (dt_us <= 0)
		return prev;
	inst = (double)rows * 1e6 / (double)dt_us;
	if (prev <= 0)
		return inst;
	w = (double)dt_us / ((double)dt_us + RATE_TAU_US);
	return prev + w * (inst - prev);
}

int64_t progress_eta_us(int64_t done, int64_t total, double rate)
{
	if (total < 0 || rate <= 0)
		return -1;
	if (done >= total)
		return 0;
	return (int64_t)((double)(total - done) / rate * 1e6);
}

/* Appends text to out (of size) at *len, cutting it at the end. */
static void add(char *out, size_t size, size_t *len, const char *text)
{
	int n;

	if (*len + 1 >= size)
		return;
	n = snprintf(out + *len, size - *len, "%s", text);
	*len = n < 0 ? *len : *len + (size_t)n >= size ? size - 1 : *len + (size_t)n;
}

/* " D of T rows (P%)" or " D rows". */
static void add_counts(const struct progress_view *v, char *out, size_t size, size_t *len)
{
	char done[32], total[32], pct[16];

	progress_fmt_count(v->done, done, sizeof(done));
	add(out, size, len, " ");
	add(out, size, len, done);
	if (v->total >= 0) {
		progress_fmt_count(v->total, total, sizeof(total));
		snprintf(pct, sizeof(pct), " (%d%%)",
			 v->total > 0 ? (int)(v->done >= v->total ? 100 : v->done * 100 / v->total)
				      : 100);
		add(out, size, len, " of ");
		add(out, size, len, total);
		add(out, size, len, " rows");
		add(out, size, len, pct);
	} else {
		add(out, size, len, " rows");
	}
}

size_t progress_line(const struct progress_view *v, char *out, size_t size)
{
	char rate[32], left[32];
	size_t len = 0;
	int64_t eta = progress_eta_us(v->done, v->total, v->rate);

	if (size == 0)
		return 0;
	out[0] = '\0';
	add(out, size, &len, v->command);
	add(out, size, &len, ":");
	if (v->phase && strcmp(v->phase, v->command) != 0) {
		add(out, size, &len, " ");
		add(out, size, &len, v->phase);
	}
	if (v->item) {
		add(out, size, &len, " ");
		add(out, size, &len, v->item);
	}
	if ((v->phase && strcmp(v->phase, v->command) != 0) || v->item)
		add(out, size, &len, ":");
	add_counts(v, out, size, &len);
	if (v->rate > 0) {
		progress_fmt_count((int64_t)(v->rate + 0.5), rate, sizeof(rate));
		add(out, size, &len, ", ");
		add(out, size, &len, rate);
		add(out, size, &len, " rows/s");
	}
	if (eta >= 0) {
		progress_fmt_duration(eta, left, sizeof(left));
		add(out, size, &len, ", about ");
		add(out, size, &len, left);
		add(out, size, &len, " left");
	}
	return len;
}
