# Offline stand-in for python:3.11-slim: Debian bookworm's CPython 3.11 with venv, nothing else.
ARG DEBIAN_BASE=debian:bookworm-slim
FROM ${DEBIAN_BASE}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
