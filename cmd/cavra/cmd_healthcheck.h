/*
 * cmd_healthcheck.h - `cavra healthcheck`: the container image's health check, and the two
 * pure steps of it that the unit tests check on their own.
 */
#ifndef CAVRA_CMD_HEALTHCHECK_H
#define CAVRA_CMD_HEALTHCHECK_H

#include "base/base.h"
#include "config/config.h"

/*
 * The address to probe for a listen setting "HOST:PORT" ("[V6]:PORT" too): a wildcard host
 * (0.0.0.0, ::, *) becomes loopback (127.0.0.1, ::1), since serve listens there as well.
 * Writes the host into host[0..host_size) and the port into port[0..port_size); false when
 * listen is not of that form or a part does not fit.
 */
bool health_target(const char *listen, char *host, size_t host_size, char *port, size_t port_size);

/*
 * The status code of the HTTP response that starts resp[0..n) ("HTTP/1.1 200 OK\r\n..."),
 * or -1 when it does not start with a complete status line.
 */
int health_status_code(const char *resp, size_t n);

/*
 * `cavra healthcheck [--ready] [--timeout SECONDS]`: GET /healthz (/readyz with --ready) on
 * the listen setting's address; exit 0 on a 200, 1 on anything else (no answer, another
 * status, the timeout), 2 on bad usage.
 */
int cmd_healthcheck(const struct config *cfg, int argc, char **argv);

#endif
