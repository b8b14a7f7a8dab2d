# Django (gunicorn) image; the Celery worker and beat run from it too. Build: scripts/build-images.sh.
# Wheels come from the host-built wheelhouse (.cache/wheelhouse) and the project's own wheel from
# .cache/project-wheel (both made by build-images.sh), so the build needs no PyPI access.
ARG PYTHON_BASE=python:3.11-slim

FROM ${PYTHON_BASE} AS venv
COPY .cache/wheelhouse /wheels
COPY .cache/project-wheel /project
COPY requirements/django.txt /tmp/requirements.txt
# The lock first, every file checked against its hash; then the project's wheel, which no lock can hash,
# with --no-deps so it cannot pull in anything the lock does not name.
RUN python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check --no-index --find-links /wheels \
        --require-hashes -r /tmp/requirements.txt \
    && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check --no-index --no-deps /project/*.whl \
    && /opt/venv/bin/pip uninstall -y --disable-pip-version-check pip setuptools \
    && find /opt/venv -name '__pycache__' -prune -exec rm -rf {} +

FROM ${PYTHON_BASE}
# The packages (config, catalog, jobs, web, search_contract, service_common) are installed in /opt/venv; /srv/app, the working
# directory, holds manage.py only, and /srv/static the admin assets (DJANGO_STATIC_ROOT, settings/base.py).
ENV PATH=/opt/venv/bin:${PATH} \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production \
    DJANGO_STATIC_ROOT=/srv/static \
    DRAIN_MARKER=/tmp/draining \
    DRAIN_SECONDS=5
# Non-root user with a writable home (gunicorn keeps its control socket in ~/.gunicorn).
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --create-home --home-dir /home/app --shell /usr/sbin/nologin app
COPY --from=venv /opt/venv /opt/venv
COPY healthcheck/ /srv/healthcheck/
COPY scripts/images/app-entrypoint.sh /usr/local/bin/app-entrypoint
COPY app/manage.py /srv/app/manage.py
WORKDIR /srv/app
# Admin assets for whitenoise, collected at build time (tasks share no disk). Local settings: no secret needed;
# DATABASE_URL is only parsed here, never connected to.
RUN DJANGO_SETTINGS_MODULE=config.settings.local DATABASE_URL=postgres://collectstatic@localhost/unused \
    python manage.py collectstatic --noinput --verbosity 0
# The X-Release header's tag (search_contract/release.py): build-images.sh passes the image's own tag; a build
# without it says dev. Last, so a new tag rebuilds no layer above. The Celery worker and beat run from this image
# too: their settings read it (a valid tag, as for the web) and they answer no HTTP.
ARG PARTSCAT_RELEASE_TAG=dev
ENV PARTSCAT_RELEASE_TAG=${PARTSCAT_RELEASE_TAG}
USER 10001:10001
EXPOSE 8000
# start-period covers migrations on a fresh database.
HEALTHCHECK --interval=5s --timeout=3s --start-period=90s --retries=3 \
    CMD ["python", "/srv/healthcheck/http_probe.py", "http://127.0.0.1:8000/livez", "--host", "localhost"]
ENTRYPOINT ["/usr/local/bin/app-entrypoint"]
# The gunicorn config as a module (python:), since config/ is no file path in the image but an installed package.
CMD ["gunicorn", "--config", "python:config.gunicorn", "config.wsgi:application"]
