#!/bin/sh
# Initialise PGDATA on first start, then on every start apply the roles and pg_hba.conf, then run postgres.
#
# Roles (scripts/images/postgres-roles.sql): the bootstrap superuser ($POSTGRES_USER) has no password and is
# reached only through the local socket inside this container; $POSTGRES_OWNER_ROLE owns the database and
# its schema objects (migrations); $POSTGRES_APP_ROLE may only read and write rows (the apps). Both roles and
# their passwords come from secret files and are applied on every start, so a volume created earlier gets
# them too and a new secret rotates a password. pg_hba.conf lets exactly those two roles in over the network.
set -eu

: "${PGDATA:=/var/lib/postgresql/data}"
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=postgres}"
: "${POSTGRES_LOCALE:=C.UTF-8}"
: "${POSTGRES_SOCKET_DIR:=/var/run/postgresql}"
: "${POSTGRES_ROLES_SQL:=/usr/local/share/partscat/postgres-roles.sql}"
# Superusers of volumes made by earlier versions, tried when $POSTGRES_USER does not exist (space-separated).
: "${POSTGRES_LEGACY_SUPERUSERS:=}"
# The databases the two roles may reach over the network (pg_hba.conf): the stack's only; "all" for the tests.
: "${POSTGRES_HBA_DATABASES:=${POSTGRES_DB}}"
export PGHOST="${POSTGRES_SOCKET_DIR}"

say() { echo "postgres-entrypoint: $*" >&2; }
fail() { say "ERROR: $*"; exit 1; }

# Role and database names go into pg_hba.conf as well as SQL: keep them to plain identifiers.
plain_name() {
    case "$2" in
        "" | [!a-z_]* | *[!a-z0-9_]*) fail "$1 must be a lower-case identifier ([a-z_][a-z0-9_]*), got '$2'" ;;
    esac
}

readable_secret() {
    [ -n "$2" ] || fail "$1 must name the file holding the password (a Docker secret)"
    if [ ! -r "$2" ] || [ ! -s "$2" ]; then
        fail "$1=$2 is missing, unreadable or empty"
    fi
}

plain_name POSTGRES_USER "${POSTGRES_USER}"
plain_name POSTGRES_DB "${POSTGRES_DB}"
plain_name POSTGRES_HBA_DATABASES "$(printf '%s' "${POSTGRES_HBA_DATABASES}" | tr ',' '_')"
plain_name POSTGRES_OWNER_ROLE "${POSTGRES_OWNER_ROLE:-}"
plain_name POSTGRES_APP_ROLE "${POSTGRES_APP_ROLE:-}"
[ "${POSTGRES_OWNER_ROLE}" != "${POSTGRES_APP_ROLE}" ] || fail "POSTGRES_OWNER_ROLE and POSTGRES_APP_ROLE must differ"
for role in "${POSTGRES_OWNER_ROLE}" "${POSTGRES_APP_ROLE}"; do
    [ "${role}" != "${POSTGRES_USER}" ] || fail "the superuser ${POSTGRES_USER} cannot also be the owner or app role"
done
readable_secret POSTGRES_OWNER_PASSWORD_FILE "${POSTGRES_OWNER_PASSWORD_FILE:-}"
readable_secret POSTGRES_APP_PASSWORD_FILE "${POSTGRES_APP_PASSWORD_FILE:-}"

# A first start that died half-way leaves this marker: start over rather than run a half-made cluster.
INIT_MARKER="${PGDATA}/.partscat-init-incomplete"
if [ -e "${INIT_MARKER}" ]; then
    say "a previous initialisation did not finish; wiping ${PGDATA}"
    find "${PGDATA}" -mindepth 1 -delete
fi

if [ ! -s "${PGDATA}/PG_VERSION" ]; then
    say "initialising ${PGDATA} (encoding UTF8, locale ${POSTGRES_LOCALE}, superuser ${POSTGRES_USER} without a password)"
    # initdb wants an empty directory: the marker goes in once it has run.
    initdb --pgdata="${PGDATA}" --username="${POSTGRES_USER}" --encoding=UTF8 --locale="${POSTGRES_LOCALE}" \
        --auth-local=trust --auth-host=reject >/dev/null
    : >"${INIT_MARKER}"
fi

# Written on every start, so an older volume's file is replaced too. First match wins; anything not allowed
# here is refused. The socket is trusted: only processes inside this container can reach it.
hba_write() {
    cat >"${PGDATA}/pg_hba.conf.new" <<HBA
# Written by postgres-entrypoint on every start; edits are lost.
# TYPE  DATABASE  USER  ADDRESS  METHOD
local   all   all   trust
host    ${POSTGRES_HBA_DATABASES}   ${POSTGRES_OWNER_ROLE}   all   scram-sha-256
host    ${POSTGRES_HBA_DATABASES}   ${POSTGRES_APP_ROLE}   all   scram-sha-256
# Every other role, superusers included, and every other database: refused over the network.
host    all   all   all   reject
HBA
    mv "${PGDATA}/pg_hba.conf.new" "${PGDATA}/pg_hba.conf"
}
hba_write

# A socket-only server for the set-up step, so nothing can connect over the network before it is done.
pg_ctl --pgdata="${PGDATA}" --wait --silent \
    -o "-c listen_addresses='' -c unix_socket_directories='${POSTGRES_SOCKET_DIR}'" start
setup_stop() { pg_ctl --pgdata="${PGDATA}" --wait --silent --mode=fast stop; }
trap 'setup_stop || true' EXIT

# The superuser to connect as: $POSTGRES_USER, or on a volume from before the role split, its bootstrap
# superuser (the login the apps used then).
superuser=""
for candidate in "${POSTGRES_USER}" ${POSTGRES_LEGACY_SUPERUSERS}; do
    if psql --no-psqlrc --quiet --username="${candidate}" --dbname=postgres --command 'SELECT 1' >/dev/null 2>&1; then
        superuser="${candidate}"
        break
    fi
done
[ -n "${superuser}" ] || fail "cannot connect as ${POSTGRES_USER} (or ${POSTGRES_LEGACY_SUPERUSERS:-no legacy superuser named}) through the socket"
bootstrap="$(psql --no-psqlrc --quiet --tuples-only --no-align --username="${superuser}" --dbname=postgres \
    --command 'SELECT rolname FROM pg_roles WHERE oid = 10')"
if [ "${bootstrap}" != "${POSTGRES_USER}" ]; then
    say "this volume's bootstrap superuser is '${bootstrap}', not '${POSTGRES_USER}': it was made before the role split"
    say "  PostgreSQL cannot take superuser away from a bootstrap superuser, so '${bootstrap}' stays one, but from now"
    say "  on it has no password and pg_hba.conf refuses it over the network (socket only, inside this container);"
    say "  its objects in ${POSTGRES_DB} now belong to ${POSTGRES_OWNER_ROLE}; the apps connect as ${POSTGRES_APP_ROLE}."
fi
if [ "${superuser}" != "${POSTGRES_USER}" ]; then
    # So that `psql -U "$POSTGRES_USER"` inside the container administers every volume alike; like every
    # superuser it has no password and only the socket.
    say "creating the superuser ${POSTGRES_USER} (socket only) for local administration"
    psql --no-psqlrc --quiet --set=ON_ERROR_STOP=1 --username="${superuser}" --dbname=postgres \
        --set=name="${POSTGRES_USER}" <<'SQL'
SELECT format('CREATE ROLE %I SUPERUSER LOGIN', :'name') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'name') \gexec
SQL
    superuser="${POSTGRES_USER}"
fi

psql --no-psqlrc --username="${superuser}" --dbname=postgres \
    --set=dbname="${POSTGRES_DB}" --set=owner_role="${POSTGRES_OWNER_ROLE}" --set=app_role="${POSTGRES_APP_ROLE}" \
    --set=owner_password_file="${POSTGRES_OWNER_PASSWORD_FILE}" --set=app_password_file="${POSTGRES_APP_PASSWORD_FILE}" \
    --file="${POSTGRES_ROLES_SQL}" >/dev/null
say "roles applied: ${POSTGRES_OWNER_ROLE} owns ${POSTGRES_DB}, ${POSTGRES_APP_ROLE} reads and writes rows"

trap - EXIT
setup_stop
rm -f "${INIT_MARKER}"

# Many short searches at once on few cores: no parallel workers and no JIT per query. At 1M parts, 8
# clients, Django's search ran at 111 searches a second with both and 156-162 without (FastAPI 202 -> 223):
# each parallel plan starts and stops background workers that compete for the cores the other sessions
# need, and JIT compiles every statement whose estimate passes jit_above_cost.
# shared_buffers: stack.yml sets 1 GB (POSTGRES_SHARED_BUFFERS), PostgreSQL's own default of 128 MB otherwise
# (the tests' servers). At a million parts the database is 1.3 GB; with 128 MB a quarter of the blocks a
# search touched came from the kernel's page cache, each a read() that gVisor's sentry serves (about 170 a
# search), and the database path of FastAPI's search took 5.3 ms against 4.3 with 1 GB (medians of three
# alternating rounds, bench-results/server-settings-1m).
# Arguments after these win.
exec postgres -D "${PGDATA}" -c listen_addresses='*' -c unix_socket_directories="${POSTGRES_SOCKET_DIR}" \
    -c max_parallel_workers_per_gather=0 -c jit=off -c shared_buffers="${POSTGRES_SHARED_BUFFERS:-128MB}" "$@"
