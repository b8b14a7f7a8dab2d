# Redis from Debian: the Celery broker and result backend, append-only file on a volume.
ARG DEBIAN_BASE=debian:bookworm-slim
FROM ${DEBIAN_BASE}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb \
    && mkdir -p /data && chown redis:redis /data
USER redis
WORKDIR /data
VOLUME /data
EXPOSE 6379
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
    CMD redis-cli -h 127.0.0.1 ping | grep -q PONG
# Only the overlay network reaches it, so protected mode (loopback only without a password) is off.
CMD ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no", "--dir", "/data", "--appendonly", "yes", "--save", ""]
