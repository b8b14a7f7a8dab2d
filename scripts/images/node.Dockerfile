# A Swarm node for scripts/cluster.sh: a container running its own dockerd (Docker-in-Docker), Debian's docker.io.
# Run it as cluster.sh does (capabilities, not --privileged; ../shared/PLATFORM.md, "Docker-in-Docker nodes"),
# with /var/lib/docker on a named volume: overlay2 cannot stack on the container's own overlay root.
ARG DEBIAN_BASE=debian:bookworm-slim
FROM ${DEBIAN_BASE}
# iproute2 and procps to look inside a node (ip, ss, ps); ca-certificates for registries with public certificates.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        docker.io iproute2 procps ca-certificates \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
COPY scripts/images/node-entrypoint.sh /usr/local/bin/node-entrypoint
VOLUME /var/lib/docker
ENTRYPOINT ["/usr/local/bin/node-entrypoint"]
