# PostgreSQL 15 from Debian, initialised with the C.UTF-8 locale so lower('БАМПЕР') = 'бампер'.
# Same env contract as the official image: POSTGRES_USER, POSTGRES_DB, POSTGRES_PASSWORD(_FILE), PGDATA.
ARG DEBIAN_BASE=debian:bookworm-slim
FROM ${DEBIAN_BASE}
# Do not let the package create (and size the image with) a default cluster: the entrypoint runs initdb.
RUN mkdir -p /etc/postgresql-common \
    && echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.conf \
    && apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql-15 \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \
    && mkdir -p /var/lib/postgresql/data /var/run/postgresql \
    && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql \
    && chmod 700 /var/lib/postgresql/data
COPY scripts/images/postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint
ENV PATH=/usr/lib/postgresql/15/bin:${PATH} \
    PGDATA=/var/lib/postgresql/data \
    LANG=C.UTF-8 \
    POSTGRES_USER=postgres
USER postgres
VOLUME /var/lib/postgresql/data
EXPOSE 5432
# SIGINT is Postgres' "fast" shutdown; SIGTERM ("smart") would wait for pooled app connections to close.
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s --timeout=3s --start-period=60s --retries=5 \
    CMD pg_isready -q -h 127.0.0.1 -U "${POSTGRES_USER}" -d "${POSTGRES_DB:-${POSTGRES_USER}}"
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint"]
