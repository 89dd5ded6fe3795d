# A stand-in for the official postgres:15-bookworm image, made from Debian 12's packages for
# machines no registry serves (docker/smoke.sh builds it as cavra-postgres:15 when
# postgres:15-bookworm cannot be pulled). It keeps the parts of the official image's interface
# that docker/docker-compose.yml uses: POSTGRES_PASSWORD, scripts in
# /docker-entrypoint-initdb.d run once on an empty data directory, `postgres -c ...` as the
# command, the data in /var/lib/postgresql/data, pg_isready on PATH. Nothing else.
FROM debian:bookworm-slim
# Debian's package would make a cluster of its own at install: not wanted here.
RUN mkdir -p /etc/postgresql-common/createcluster.d \
	&& echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.d/50-none.conf \
	&& apt-get update \
	&& apt-get install -y --no-install-recommends postgresql-15 \
	&& rm -rf /var/lib/apt/lists/* \
	&& install -d -o postgres -g postgres -m 0700 /var/lib/postgresql/data \
	&& install -d -o postgres -g postgres -m 0755 /docker-entrypoint-initdb.d
COPY docker/local/postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data PGHOST=/tmp
USER postgres
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
