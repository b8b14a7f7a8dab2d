# The stack's PostgreSQL: the official postgres:15 image (offline: postgres-base.Dockerfile) with an
# entrypoint that initialises a UTF-8 / C.UTF-8 cluster and applies the roles and pg_hba.conf on every start.
ARG POSTGRES_BASE=postgres:15-bookworm
FROM ${POSTGRES_BASE}
COPY scripts/images/postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint
COPY scripts/images/postgres-roles.sql /usr/local/share/partscat/postgres-roles.sql
# POSTGRES_USER is the bootstrap superuser (socket only, no password); the apps never log in as it.
ENV PGDATA=/var/lib/postgresql/data \
    POSTGRES_USER=postgres
# hadolint ignore=DL3066 # the official image and Debian's package create postgres with different uids
USER postgres
# SIGINT is Postgres' "fast" shutdown; SIGTERM ("smart") would wait for pooled app connections to close.
STOPSIGNAL SIGINT
# Over TCP as the app role, which pg_hba.conf admits: the probe disconnects at the password request, which
# the server does not log (a role it refuses would log a line every probe).
# hadolint ignore=DL3025 # shell form: the probe expands ${POSTGRES_APP_ROLE:-postgres} at run time
HEALTHCHECK --interval=5s --timeout=3s --start-period=60s --retries=5 \
    CMD pg_isready -q -h 127.0.0.1 -U "${POSTGRES_APP_ROLE:-postgres}" -d "${POSTGRES_DB:-postgres}"
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint"]
# The official image's CMD ("postgres") would reach the entrypoint as an argument.
CMD []
