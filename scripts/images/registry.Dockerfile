# The cluster's image registry (scripts/cluster.sh): Debian's docker-registry, the CNCF distribution registry,
# serving HTTPS on 5443. The certificate and key are mounted at run time (never part of the image) at
# /etc/docker/registry/tls/; the blobs live on a volume.
ARG DEBIAN_BASE=debian:bookworm-slim
FROM ${DEBIAN_BASE}
# The user first, with a fixed uid the package's postinst then keeps: cluster.sh gives the mounted key to
# that uid, so the key stays mode 0600 and readable by the registry alone.
RUN groupadd --system --gid 5443 docker-registry \
    && useradd --system --uid 5443 --gid docker-registry --home-dir /var/lib/docker-registry --no-create-home \
        --shell /usr/sbin/nologin docker-registry \
    && apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends docker-registry \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /usr/share/doc/docker-registry
COPY scripts/images/registry-config.yml /etc/docker/registry/config.yml
# Numeric, so it matches the owner cluster.sh gives the key.
USER 5443:5443
VOLUME /var/lib/docker-registry
EXPOSE 5443
ENTRYPOINT ["/usr/bin/docker-registry", "serve", "/etc/docker/registry/config.yml"]
