#!/bin/sh
# Initialise PGDATA on first start (UTF-8, C.UTF-8 locale, password from a secret file), then run postgres.
set -eu

: "${PGDATA:=/var/lib/postgresql/data}"
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=${POSTGRES_USER}}"
: "${POSTGRES_LOCALE:=C.UTF-8}"

# A first start that died half-way leaves this marker: start over rather than run a database without its role or db.
INIT_MARKER="${PGDATA}/.partscat-init-incomplete"
if [ -e "${INIT_MARKER}" ]; then
    echo "postgres-entrypoint: a previous initialisation did not finish; wiping ${PGDATA}" >&2
    find "${PGDATA}" -mindepth 1 -delete
fi

if [ ! -s "${PGDATA}/PG_VERSION" ]; then
    pwfile="$(mktemp)"
    trap 'rm -f "${pwfile}"' EXIT
    if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
        [ -r "${POSTGRES_PASSWORD_FILE}" ] || { echo "postgres-entrypoint: cannot read ${POSTGRES_PASSWORD_FILE}" >&2; exit 1; }
        cat "${POSTGRES_PASSWORD_FILE}" >"${pwfile}"
    elif [ -n "${POSTGRES_PASSWORD:-}" ]; then
        printf '%s' "${POSTGRES_PASSWORD}" >"${pwfile}"
    else
        echo "postgres-entrypoint: set POSTGRES_PASSWORD_FILE (or POSTGRES_PASSWORD)" >&2
        exit 1
    fi
    echo "postgres-entrypoint: initialising ${PGDATA} (encoding UTF8, locale ${POSTGRES_LOCALE})" >&2
    # initdb wants an empty directory: the marker goes in once it has run.
    initdb --pgdata="${PGDATA}" --username="${POSTGRES_USER}" --pwfile="${pwfile}" \
        --encoding=UTF8 --locale="${POSTGRES_LOCALE}" \
        --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    : >"${INIT_MARKER}"
    rm -f "${pwfile}"
    # Other tasks reach Postgres over the overlay network, always with a password.
    echo "host all all all scram-sha-256" >>"${PGDATA}/pg_hba.conf"
    if [ "${POSTGRES_DB}" != "postgres" ]; then
        # A socket-only server for the set-up step, so nothing can connect before it is done.
        # (Socket connections are trusted: only processes inside this container can reach the socket.)
        pg_ctl --pgdata="${PGDATA}" --wait --silent -o "-c listen_addresses=''" start
        # Identifier quoting: double any double quote in the name.
        db_ident="$(printf '%s' "${POSTGRES_DB}" | sed 's/"/""/g')"
        psql --no-psqlrc --quiet --set ON_ERROR_STOP=1 --username="${POSTGRES_USER}" --dbname=postgres \
            --command "CREATE DATABASE \"${db_ident}\""
        pg_ctl --pgdata="${PGDATA}" --wait --silent --mode=fast stop
    fi
    rm -f "${INIT_MARKER}"
    echo "postgres-entrypoint: initialised" >&2
fi

exec postgres -D "${PGDATA}" -c listen_addresses='*' "$@"
