# The stack's Redis (Celery's broker and result backend): the official redis:7 image (offline:
# redis-base.Dockerfile) with an entrypoint that requires the password from REDIS_PASSWORD_FILE.
ARG REDIS_BASE=redis:7-bookworm
FROM ${REDIS_BASE}
COPY scripts/images/redis-entrypoint.sh /usr/local/bin/redis-entrypoint
# hadolint ignore=DL3066 # the official image and Debian's package create redis with different uids
USER redis
WORKDIR /data
# The probe authenticates (REDISCLI_AUTH, never -a on a command line); an unauthenticated PING gets NOAUTH.
# hadolint ignore=DL3025 # shell form: the probe reads the password file and pipes to grep
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
    CMD REDISCLI_AUTH="$(cat "${REDIS_PASSWORD_FILE}")" redis-cli -h 127.0.0.1 ping | grep -q PONG
ENTRYPOINT ["/usr/local/bin/redis-entrypoint"]
# The official image's CMD ("redis-server") would reach the entrypoint as an argument.
CMD []
