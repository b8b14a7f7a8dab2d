#!/bin/sh
# Run Redis with a password from a secret file: the configuration is written at start to Redis's standard
# input, so the password is never on a command line (ps) nor in a file of the container. Extra arguments are
# passed on as options (they override the configuration below).
set -eu

: "${REDIS_DATA_DIR:=/data}"

fail() { echo "redis-entrypoint: ERROR: $*" >&2; exit 1; }

[ -n "${REDIS_PASSWORD_FILE:-}" ] || fail "REDIS_PASSWORD_FILE must name the file holding the password (a Docker secret)"
if [ ! -r "${REDIS_PASSWORD_FILE}" ] || [ ! -s "${REDIS_PASSWORD_FILE}" ]; then
    fail "REDIS_PASSWORD_FILE=${REDIS_PASSWORD_FILE} is missing, unreadable or empty"
fi
password="$(cat "${REDIS_PASSWORD_FILE}")"
# One line of printable characters: anything else could not be written into, or would change, the config.
case "${password}" in
    *[![:print:]]* | "") fail "the password in ${REDIS_PASSWORD_FILE} must be one line of printable characters" ;;
esac
# A double-quoted Redis config string: backslashes and double quotes escaped.
quoted="$(printf '%s' "${password}" | sed 's/[\\"]/\\&/g')"

# `-` must come first: Redis reads the configuration from stdin, then applies the arguments after it.
exec redis-server - "$@" <<CONF
# The overlay network is the only way in, and every client must authenticate.
bind 0.0.0.0
protected-mode yes
requirepass "${quoted}"
# The append-only file on the volume; no RDB snapshots.
dir ${REDIS_DATA_DIR}
appendonly yes
save ""
CONF
