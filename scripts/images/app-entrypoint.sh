#!/bin/sh
# Run an app process (gunicorn, celery) with a graceful drain: on SIGTERM mark draining, wait, then pass SIGTERM on.
#
# Why: Nginx's upstream_watcher drops a task once its /healthz answers 503 (the app answers 503 while
# DRAIN_MARKER exists). Waiting DRAIN_SECONDS before stopping gunicorn lets Nginx stop sending new work
# first; gunicorn then finishes the requests it holds (its graceful_timeout) and exits.
# stack.yml's stop_grace_period must exceed DRAIN_SECONDS + gunicorn's graceful_timeout.
set -eu

DRAIN_MARKER="${DRAIN_MARKER:-/tmp/draining}"
DRAIN_SECONDS="${DRAIN_SECONDS:-5}"
export DRAIN_MARKER DRAIN_SECONDS
rm -f "${DRAIN_MARKER}"

if [ "$#" -eq 0 ]; then
    echo "app-entrypoint: no command given" >&2
    exit 64
fi

# Migrations run under a PostgreSQL advisory lock, so any number of tasks may start at once. They run as a
# child with SIGTERM passed on (this shell is PID 1, which ignores signals it does not trap): a task stopped
# while migrating cancels its statement and exits at once instead of waiting for Swarm's SIGKILL.
if [ "${RUN_MIGRATIONS:-0}" = "1" ]; then
    echo "app-entrypoint: applying migrations (advisory lock)" >&2
    python manage.py migrate_locked &
    migrate=$!
    trap 'kill -TERM "${migrate}" 2>/dev/null || true' TERM INT
    status=0
    while :; do
        if wait "${migrate}"; then status=0; else status=$?; fi
        kill -0 "${migrate}" 2>/dev/null || break
    done
    trap - TERM INT
    if [ "${status}" != 0 ]; then
        echo "app-entrypoint: migrations failed (status ${status}); not starting ${1}" >&2
        exit "${status}"
    fi
    # The jobs API's first token is the `jobs_api_token` secret, so the stack is usable at once (README,
    # "Background jobs"). Idempotent, safe when tasks start together, and a rotated secret replaces the digest.
    if [ -n "${JOBS_API_TOKEN_FILE:-}" ]; then
        python manage.py ensure_api_token deploy --token-file "${JOBS_API_TOKEN_FILE}" >&2
    fi
fi

"$@" &
child=$!
draining=0

# shellcheck disable=SC2317 # drain runs from the trap below, which shellcheck 0.9 does not follow
drain() {
    [ "${draining}" = 1 ] && return 0
    draining=1
    echo "app-entrypoint: SIGTERM: draining (${DRAIN_MARKER}) for ${DRAIN_SECONDS}s, then stopping pid ${child}" >&2
    : >"${DRAIN_MARKER}"
    sleep "${DRAIN_SECONDS}"
    kill -TERM "${child}" 2>/dev/null || true
}
trap drain TERM INT

# `wait` returns early when a trapped signal arrives; keep waiting until the child has really exited.
status=0
while :; do
    if wait "${child}"; then status=0; else status=$?; fi
    kill -0 "${child}" 2>/dev/null || break
done
echo "app-entrypoint: ${1} exited with status ${status}" >&2
exit "${status}"
