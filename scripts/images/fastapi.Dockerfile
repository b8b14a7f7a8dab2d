# FastAPI search image (gunicorn + uvicorn workers). Build: scripts/build-images.sh.
# Wheels come from the host-built wheelhouse (.cache/wheelhouse) and the project's own wheel from
# .cache/project-wheel (both made by build-images.sh), so the build needs no PyPI access.
ARG PYTHON_BASE=python:3.11-slim

FROM ${PYTHON_BASE} AS venv
COPY .cache/wheelhouse /wheels
COPY .cache/project-wheel /project
COPY requirements/fastapi.txt /tmp/requirements.txt
# The lock first, every file checked against its hash; then the project's wheel, which no lock can hash,
# with --no-deps so it cannot pull in anything the lock does not name.
RUN python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check --no-index --find-links /wheels \
        --require-hashes -r /tmp/requirements.txt \
    && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check --no-index --no-deps /project/*.whl \
    && /opt/venv/bin/pip uninstall -y --disable-pip-version-check pip setuptools \
    && find /opt/venv -name '__pycache__' -prune -exec rm -rf {} +

FROM ${PYTHON_BASE}
# fastapi_search, search_contract and service_common are installed in /opt/venv (the project's wheel); /srv holds the probes.
ENV PATH=/opt/venv/bin:${PATH} \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DRAIN_MARKER=/tmp/draining \
    DRAIN_SECONDS=5
# Non-root user with a writable home (gunicorn keeps its control socket in ~/.gunicorn).
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --create-home --home-dir /home/app --shell /usr/sbin/nologin app
COPY --from=venv /opt/venv /opt/venv
COPY healthcheck/ /srv/healthcheck/
COPY scripts/images/app-entrypoint.sh /usr/local/bin/app-entrypoint
WORKDIR /srv
# The X-Release header's tag (search_contract/release.py): build-images.sh passes the image's own tag; a build
# without it says dev. Last, so a new tag rebuilds no layer above.
ARG PARTSCAT_RELEASE_TAG=dev
ENV PARTSCAT_RELEASE_TAG=${PARTSCAT_RELEASE_TAG}
USER 10001:10001
EXPOSE 8001
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "/srv/healthcheck/http_probe.py", "http://127.0.0.1:8001/livez", "--host", "localhost"]
ENTRYPOINT ["/usr/local/bin/app-entrypoint"]
# The gunicorn config as a module (python:): it is installed in /opt/venv, not a file under /srv.
CMD ["gunicorn", "--config", "python:fastapi_search.gunicorn", "fastapi_search.main:app"]
