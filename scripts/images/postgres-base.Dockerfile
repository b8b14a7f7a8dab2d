# Offline stand-in for the official postgres:15-bookworm image: Debian's PostgreSQL 15 with the same paths
# (binaries on PATH, PGDATA, the socket directory) and user. postgres.Dockerfile builds the stack's image on it.
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
ENV PATH=/usr/lib/postgresql/15/bin:${PATH} \
    PGDATA=/var/lib/postgresql/data \
    LANG=C.UTF-8
VOLUME /var/lib/postgresql/data
EXPOSE 5432
