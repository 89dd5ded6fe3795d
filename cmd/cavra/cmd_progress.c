/*
 * cmd_progress.c - `--progress` and `--quiet` of the long commands (docs/operations.md,
 * "Progress"): whether progress lines go to stderr and how, and the informational lines
 * that --quiet silences.  Errors and warnings are never silenced, and stdout is never
 * touched: it carries only the result, so scripts that parse it see the same bytes either way.
 */
#include "base/base.h"
#include "cmd.h"
#include "base/log.h"
#include "base/progress.h"

#include <stdarg.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Set by cmd_progress_new for the command's one run; read by cmd_info. */
static bool quiet;

int cmd_progress_check(const struct cmd_progress *f, const char *where)
{
	if (f->progress && f->quiet)
		return cmd_usage_error("%s: --progress and --quiet contradict each other", where);
	return EXIT_OK;
}

/* The terminal's columns, 0 when unknown (the reporter then assumes 80). */
static int tty_width(void)
{
	struct winsize ws = {0};

	return ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 ? ws.ws_col : 0;
}

/*
 * A terminal gets one line redrawn in place; --progress on anything else (a pipe, a file)
 * gets plain lines, since a '\r' in a log file is noise.  Without either flag, progress
 * shows only on a terminal.
 */
struct progress *cmd_progress_new(const struct cmd_progress *f, const char *command)
{
	bool tty = isatty(STDERR_FILENO) == 1;
	struct progress_opts o = {.command = command};

	quiet = f->quiet;
	if (quiet)
		log_level_raise(LOG_WARN);
	o.mode = quiet	       ? PROGRESS_OFF
		 : tty	       ? PROGRESS_TTY
		 : f->progress ? PROGRESS_LINES
			       : PROGRESS_OFF;
	if (o.mode == PROGRESS_TTY)
		o.width = tty_width();
	return progress_new(&o);
}

void cmd_info(const char *fmt, ...)
{
	va_list ap;

	if (quiet)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
