# The edge's socket holder (nginx/socket_holder.py): binds the public port once and hands the listening
# socket to every Nginx task. Its own small image, tagged by these two files only, so that a new Nginx image
# never changes the holder's service: updating the holder is the one edge change that closes the port.
# Build from the repository root: scripts/build-images.sh.
ARG PYTHON_BASE=python:3.11-slim
FROM ${PYTHON_BASE}
# /run/edge: the Unix socket, on a volume the Nginx tasks of this node mount too (both run as www-data, uid 33).
RUN mkdir -p /run/edge && chown www-data:www-data /run/edge
COPY nginx/socket_holder.py /opt/edge/socket_holder.py
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
# hadolint ignore=DL3066 # www-data is Debian's account, the one the Nginx image runs as
USER www-data
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=3 \
    CMD ["python3", "/opt/edge/socket_holder.py", "check"]
ENTRYPOINT ["python3", "/opt/edge/socket_holder.py"]
