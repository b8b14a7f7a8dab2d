#!/usr/bin/env bash
# Build every image of the stack, tagged by git commit, from public bases or (no registry) a debootstrap base.
#
#   build-images.sh                              build them; their references go to .cache/images.env
#   build-images.sh --push REGISTRY [--tag TAG]  build them, then tag each as REGISTRY/partscat/<name>:TAG and
#                                                push it (TAG: the short commit); one "REFERENCE DIGEST" line each
#   build-images.sh --cluster                    only scripts/cluster.sh's node and registry images; their
#                                                references go to .cache/cluster/images.env
set -euo pipefail
. "$(dirname "$0")/lib.sh"

usage() { sed -n '4,8s/^# \{0,1\}//p' "$0" >&2; exit 64; }

PUSH_REGISTRY=""
PUSH_TAG=""
CLUSTER_ONLY=0
while [ "$#" -gt 0 ]; do
    case "$1" in
        --push) [ -n "${2:-}" ] || die "--push needs a registry (host[:port], as in an image name)"
            PUSH_REGISTRY="$2"; shift 2 ;;
        --tag) [ -n "${2:-}" ] || die "--tag needs a tag"
            PUSH_TAG="$2"; shift 2 ;;
        --cluster) CLUSTER_ONLY=1; shift ;;
        -h | --help) usage ;;
        *) log "unknown argument: $1"; usage ;;
    esac
done
[ -n "${PUSH_REGISTRY}" ] || [ -z "${PUSH_TAG}" ] || die "--tag goes with --push REGISTRY"
[ "${CLUSTER_ONLY}" = 0 ] || [ -z "${PUSH_REGISTRY}" ] || die "--cluster builds the cluster's own images; they are not pushed"
case "${PUSH_REGISTRY}" in */ | *://* | *" "*) die "REGISTRY is a host[:port], as in an image name (got ${PUSH_REGISTRY})" ;; esac
if [ -n "${PUSH_REGISTRY}" ]; then
    PUSH_TAG="${PUSH_TAG:-$(git -C "${REPO_ROOT}" rev-parse --short HEAD)}"
    # Docker's tag grammar.
    [[ "${PUSH_TAG}" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || die "not a valid image tag: ${PUSH_TAG}"
fi

# scripts/cluster.sh env points DOCKER_HOST at the cluster's manager. No node builds: images are built by this
# machine's engine and reach the nodes through the registry.
case "${DOCKER_HOST:-}" in
    unix:///run/partscat-cluster/*)
        log "DOCKER_HOST names a cluster node (${DOCKER_HOST}): building with this machine's engine instead"
        unset DOCKER_HOST ;;
esac

# Which bases to use: auto (probe the registry), registry, or offline.
BASE_MODE="${PARTSCAT_BASE_MODE:-auto}"
# The offline base's Debian mirrors: DEBIAN_MIRROR and DEBIAN_SECURITY_MIRROR, else the ones this machine's apt
# uses (scripts/apt_mirror.py), so a site with its own mirror or proxy works unchanged. Read only when needed.
OFFLINE_DEBIAN_BASE="partscat/debian-base:bookworm-minbase"
# With a registry, PostgreSQL and Redis are the official images, pinned by major version.
OFFICIAL_POSTGRES_IMAGE="${OFFICIAL_POSTGRES_IMAGE:-postgres:15-bookworm}"
OFFICIAL_REDIS_IMAGE="${OFFICIAL_REDIS_IMAGE:-redis:7-bookworm}"
WHEELHOUSE="${CACHE_DIR}/wheelhouse"
# The project's own wheel (pyproject.toml), built here with the locked backend of requirements/build.txt.
PROJECT_WHEEL_DIR="${CACHE_DIR}/project-wheel"
BUILD_VENV="${CACHE_DIR}/build-venv"
# The images' Python: CPython 3.11 on glibc x86_64 (python:3.11-slim and Debian bookworm's python3 both qualify).
WHEEL_PLATFORM_ARGS=(--platform manylinux_2_36_x86_64 --platform manylinux_2_28_x86_64
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64
    --implementation cp --python-version 3.11 --abi cp311)

require_docker
ensure_cache_dir
cd "${REPO_ROOT}"

registry_answers() {
    log "probing the registry (docker pull debian:bookworm-slim, 20s timeout)"
    timeout 20 docker pull -q debian:bookworm-slim >/dev/null 2>&1
}

# Fail before building when the registry to push to does not answer: HTTPS with the CA this engine trusts for
# it (/etc/docker/certs.d/REGISTRY/ca.crt, as scripts/cluster.sh installs), else plain HTTP (a lab registry in
# the engine's insecure-registries). A 401 answers too: the registry wants a `docker login` first.
push_registry_answers() {
    local registry="$1" ca="/etc/docker/certs.d/$1/ca.crt" https_error http_error
    local ca_args=()
    [ -f "${ca}" ] && ca_args=(--cacert "${ca}")
    command -v curl >/dev/null 2>&1 || die "curl is needed to check the registry ${registry}"
    if https_error="$(curl -fsS -o /dev/null --max-time 10 "${ca_args[@]}" "https://${registry}/v2/" 2>&1)" ||
        [[ "${https_error}" == *"error: 401"* ]]; then
        return 0
    fi
    if http_error="$(curl -fsS -o /dev/null --max-time 10 "http://${registry}/v2/" 2>&1)" ||
        [[ "${http_error}" == *"error: 401"* ]]; then
        log "${registry} answers over plain HTTP only: the engine must list it in insecure-registries"
        return 0
    fi
    die "registry ${registry} does not answer (https: ${https_error}; http: ${http_error}); is it running (scripts/cluster.sh status)?"
}

# Tag each image of the stack as REGISTRY/partscat/<name>:TAG (<name>: POSTGRES_IMAGE is postgres,
# EDGE_SOCKET_IMAGE edge-socket, ...) and push it; one "REFERENCE DIGEST" line each on stdout. The data services'
# images also go out under the tag stack.yml names them by (postgres:15, redis:7; POSTGRES_TAG, REDIS_TAG): a
# release's TAG must not restart PostgreSQL and Redis (stop-first) unless their image really changed.
declare -A DATA_TAGS=([POSTGRES_IMAGE]=15 [REDIS_IMAGE]=7)
push_images() {
    local registry="$1" tag="$2" variable name target
    for variable in POSTGRES_IMAGE REDIS_IMAGE NGINX_IMAGE EDGE_SOCKET_IMAGE DJANGO_IMAGE FASTAPI_IMAGE; do
        name="${variable%_IMAGE}"
        name="${name,,}"
        name="${name//_/-}"
        case "${!variable}" in
            *-dirty-*) log "WARNING: ${!variable} holds uncommitted changes; pushing it as ${name}:${tag}" ;;
        esac
        for target in "${registry}/partscat/${name}:${tag}" \
            ${DATA_TAGS[${variable}]:+"${registry}/partscat/${name}:${DATA_TAGS[${variable}]}"}; do
            push_image "${!variable}" "${target}"
        done
    done
}

push_image() {
    local source="$1" target="$2" output digest started=${SECONDS}
    docker tag "${source}" "${target}"
    # In order: the later images share the base layers the earlier ones pushed, and skip them.
    if ! output="$(docker push "${target}" 2>&1)"; then
        printf '%s\n' "${output}" >&2
        die "pushing ${target} failed"
    fi
    digest="$(sed -n 's/.*digest: \(sha256:[0-9a-f]*\).*/\1/p' <<<"${output}" | tail -n 1)"
    log "pushed ${target} (${source}) in $((SECONDS - started))s"
    printf '%s %s\n' "${target}" "${digest}"
}

# The mirror for a suite's main component: the variable named $1 when set, else this machine's apt sources.
debian_mirror() {
    local variable="$1" suite="$2"
    if [ -n "${!variable:-}" ]; then
        printf '%s\n' "${!variable}"
        return 0
    fi
    python3 "${REPO_ROOT}/scripts/apt_mirror.py" "${suite}" \
        || die "no Debian mirror for ${suite} in this machine's apt sources: set ${variable} to the URL of your Debian mirror"
}

# A minimal Debian bookworm root file system imported as an image; built once, kept as long as the tag exists.
build_offline_debian_base() {
    if docker image inspect "${OFFLINE_DEBIAN_BASE}" >/dev/null 2>&1; then
        log "offline base ${OFFLINE_DEBIAN_BASE} already exists"
        return 0
    fi
    command -v debootstrap >/dev/null 2>&1 || {
        run apt-get update
        DEBIAN_FRONTEND=noninteractive run apt-get install -y debootstrap
    }
    local mirror security_mirror rootfs started=${SECONDS}
    mirror="$(debian_mirror DEBIAN_MIRROR bookworm)"
    security_mirror="$(debian_mirror DEBIAN_SECURITY_MIRROR bookworm-security)"
    log "Debian mirrors: ${mirror}, ${security_mirror}"
    rootfs="$(mktemp -d /var/tmp/partscat-rootfs.XXXXXX)"
    trap 'rm -rf "${rootfs}"' RETURN
    run debootstrap --variant=minbase bookworm "${rootfs}" "${mirror}" >/dev/null
    cat >"${rootfs}/etc/apt/sources.list" <<SOURCES
deb ${mirror} bookworm main
deb ${mirror} bookworm-updates main
deb ${security_mirror} bookworm-security main
SOURCES
    # Same apt habits as debian:bookworm-slim: no recommends, no docs, no cached .debs.
    printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"${rootfs}/etc/apt/apt.conf.d/90partscat-no-recommends"
    printf 'path-exclude /usr/share/doc/*\npath-exclude /usr/share/man/*\npath-exclude /usr/share/locale/*\npath-include /usr/share/locale/locale.alias\n' \
        >"${rootfs}/etc/dpkg/dpkg.cfg.d/90partscat-nodoc"
    rm -rf "${rootfs}"/var/cache/apt/archives/*.deb "${rootfs}"/var/lib/apt/lists/* "${rootfs}"/usr/share/doc/* "${rootfs}"/usr/share/man/*
    log "importing ${rootfs} as ${OFFLINE_DEBIAN_BASE}"
    tar -C "${rootfs}" -c . | docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["bash"]' - "${OFFLINE_DEBIAN_BASE}" >/dev/null
    log "offline base built in $((SECONDS - started))s"
}

# Host-side wheelhouse for the images' Python, keyed by the images' lock files; images install from it with
# --no-index --require-hashes. pip download checks every wheel against the lock's hashes too.
build_wheelhouse() {
    local stamp_file="${WHEELHOUSE}/.requirements.sha256" want
    want="$( (cat requirements/django.txt requirements/fastapi.txt; echo "${WHEEL_PLATFORM_ARGS[*]}") | sha256sum | cut -d' ' -f1)"
    if [ -f "${stamp_file}" ] && [ "$(cat "${stamp_file}")" = "${want}" ]; then
        log "wheelhouse up to date (${WHEELHOUSE})"
        return 0
    fi
    local started=${SECONDS} req
    mkdir -p "${WHEELHOUSE}"
    for req in requirements/django.txt requirements/fastapi.txt; do
        # The sed drops noise from local pip configs that list missing find-links folders.
        run python3 -m pip download --quiet --disable-pip-version-check --only-binary=:all: \
            --require-hashes "${WHEEL_PLATFORM_ARGS[@]}" -d "${WHEELHOUSE}" -r "${req}" 2>&1 | sed -e '/is ignored: it is neither/d' >&2
    done
    echo "${want}" >"${stamp_file}"
    log "wheelhouse built in $((SECONDS - started))s ($(find "${WHEELHOUSE}" -name '*.whl' | wc -l) wheels)"
}

# The project's wheel (pure Python, so the host's platform does not matter), built afresh on every run from the
# working tree; the images install it with --no-deps after the lock. The build venv holds only the locked
# build backend, so a deploy host needs neither the dev venv nor an unpinned download of setuptools.
build_project_wheel() {
    local stamp_file="${BUILD_VENV}/.build-requirements.sha256" want
    want="$(sha256sum <requirements/build.txt | cut -d' ' -f1)"
    if [ ! -x "${BUILD_VENV}/bin/pip" ] || [ "$(cat "${stamp_file}" 2>/dev/null)" != "${want}" ]; then
        rm -rf "${BUILD_VENV}"
        run python3 -m venv "${BUILD_VENV}"
        run "${BUILD_VENV}/bin/pip" install --quiet --disable-pip-version-check --require-hashes \
            -r requirements/build.txt
        echo "${want}" >"${stamp_file}"
    fi
    # From a copy of the sources: setuptools keeps a build/ folder, and a stale one would put files deleted
    # since (an old migration) back into the wheel. The copy also leaves the working tree untouched.
    local source
    source="$(mktemp -d /var/tmp/partscat-project.XXXXXX)"
    # Reset by the trap itself: a RETURN trap stays set after the function, and would fire again (with
    # `source` unbound) when a file is sourced later.
    trap 'rm -rf "${source}"; trap - RETURN' RETURN
    tar -c --exclude='__pycache__' --exclude='*.pyc' --exclude='app/staticfiles' \
        pyproject.toml app search_contract service_common fastapi_search | tar -x -C "${source}"
    rm -rf "${PROJECT_WHEEL_DIR}"
    mkdir -p "${PROJECT_WHEEL_DIR}"
    run "${BUILD_VENV}/bin/pip" wheel --quiet --disable-pip-version-check --no-deps --no-build-isolation \
        -w "${PROJECT_WHEEL_DIR}" "${source}"
}

# Tag = short sha of the last commit touching the image's inputs; "-dirty-<content hash>" when they differ from it.
image_tag() {
    local sha dirty
    sha="$(git log -1 --format=%h -- "$@" 2>/dev/null || true)"
    [ -n "${sha}" ] || sha="0000000"
    dirty="$(git status --porcelain --untracked-files=all -- "$@" 2>/dev/null || echo unknown)"
    if [ -n "${dirty}" ]; then
        printf '%s-dirty-%s' "${sha}" "$(content_hash "$@")"
    else
        printf '%s' "${sha}"
    fi
}

content_hash() {
    # Hash paths and contents of the tracked and untracked (not ignored) files, independent of mtimes.
    git ls-files -z --cached --others --exclude-standard -- "$@" | sort -z | while IFS= read -r -d '' f; do
        [ -f "${f}" ] && printf '%s %s\n' "$(sha256sum <"${f}" | cut -d' ' -f1)" "${f}"
    done | sha256sum | cut -c1-10
}

# build_image NAME DOCKERFILE "BUILD ARGS" INPUT... ; sets IMAGE_REF; builds from a tar of only the inputs.
build_image() {
    local name="$1" dockerfile="$2" build_args="$3" tag ref started=${SECONDS}
    shift 3
    tag="$(image_tag "${dockerfile}" "$@")"
    ref="partscat/${name}:${tag}"
    IMAGE_REF="${ref}"
    if docker image inspect "${ref}" >/dev/null 2>&1; then
        log "${ref} already built"
        return 0
    fi
    local inputs=() input
    case "${name}" in
        # The apps name their release in X-Release: the tag this image is built as (Docker's tag grammar, no spaces).
        django | fastapi)
            inputs=(.cache/wheelhouse .cache/project-wheel)
            build_args="${build_args} --build-arg PARTSCAT_RELEASE_TAG=${tag}" ;;
    esac
    # The Dockerfile goes in once: tar would store a second copy as a hard link the daemon cannot resolve.
    case " $* " in *" $(dirname "${dockerfile}") "*) ;; *) inputs+=("${dockerfile}") ;; esac
    for input in "$@"; do inputs+=("${input}"); done
    log "building ${ref}"
    # The sed drops the legacy builder's deprecation banner (no buildx plugin here); real errors still show.
    # shellcheck disable=SC2086
    {
        tar -c --exclude='__pycache__' --exclude='*.pyc' --exclude='.pytest_cache' --exclude='.mypy_cache' \
            "${inputs[@]}" |
            docker build --quiet -f "${dockerfile}" ${build_args} \
                --label "org.opencontainers.image.revision=${tag}" \
                --label "org.opencontainers.image.source=partscat" \
                -t "${ref}" - >/dev/null
    } 2>&1 | sed -e '/DEPRECATED: The legacy builder/d' -e '/Install the buildx component/d' \
        -e '/docs.docker.com\/go\/buildx/d' -e '/^$/d' >&2
    log "built ${ref} in $((SECONDS - started))s"
}

[ -z "${PUSH_REGISTRY}" ] || push_registry_answers "${PUSH_REGISTRY}"

case "${BASE_MODE}" in
    auto) if registry_answers; then BASE_MODE=registry; else BASE_MODE=offline; fi ;;
    registry | offline) ;;
    *) die "PARTSCAT_BASE_MODE must be auto, registry or offline (got ${BASE_MODE})" ;;
esac
log "base mode: ${BASE_MODE}"

if [ "${BASE_MODE}" = registry ]; then
    run docker pull -q debian:bookworm-slim >/dev/null
    DEBIAN_BASE="debian:bookworm-slim"
else
    build_offline_debian_base
    DEBIAN_BASE="${OFFLINE_DEBIAN_BASE}"
fi

# The cluster's own images (scripts/cluster.sh) need only the Debian base.
if [ "${CLUSTER_ONLY}" = 1 ]; then
    build_image node scripts/images/node.Dockerfile "--build-arg DEBIAN_BASE=${DEBIAN_BASE}" \
        scripts/images/node-entrypoint.sh
    NODE_IMAGE="${IMAGE_REF}"
    build_image registry scripts/images/registry.Dockerfile "--build-arg DEBIAN_BASE=${DEBIAN_BASE}" \
        scripts/images/registry-config.yml
    REGISTRY_IMAGE="${IMAGE_REF}"
    mkdir -p "${CACHE_DIR}/cluster"
    printf '# Written by scripts/build-images.sh --cluster; read by scripts/cluster.sh.\nNODE_IMAGE=%s\nREGISTRY_IMAGE=%s\n' \
        "${NODE_IMAGE}" "${REGISTRY_IMAGE}" >"${CACHE_DIR}/cluster/images.env.tmp"
    mv "${CACHE_DIR}/cluster/images.env.tmp" "${CACHE_DIR}/cluster/images.env"
    exit 0
fi

if [ "${BASE_MODE}" = registry ]; then
    run docker pull -q python:3.11-slim >/dev/null
    PYTHON_BASE="python:3.11-slim"
else
    build_image python-base scripts/images/python-base.Dockerfile "--build-arg DEBIAN_BASE=${DEBIAN_BASE}"
    PYTHON_BASE="${IMAGE_REF}"
fi

build_wheelhouse
build_project_wheel

# PostgreSQL and Redis: the official images, or offline stand-ins with the same paths and users, plus the
# entrypoints that apply the roles (PostgreSQL) and require the password (Redis) on every start.
if [ "${BASE_MODE}" = registry ]; then
    POSTGRES_BASE="${OFFICIAL_POSTGRES_IMAGE}"
    REDIS_BASE="${OFFICIAL_REDIS_IMAGE}"
    run docker pull -q "${POSTGRES_BASE}" >/dev/null
    run docker pull -q "${REDIS_BASE}" >/dev/null
else
    build_image postgres-base scripts/images/postgres-base.Dockerfile "--build-arg DEBIAN_BASE=${DEBIAN_BASE}"
    POSTGRES_BASE="${IMAGE_REF}"
    build_image redis-base scripts/images/redis-base.Dockerfile "--build-arg DEBIAN_BASE=${DEBIAN_BASE}"
    REDIS_BASE="${IMAGE_REF}"
fi
build_image postgres scripts/images/postgres.Dockerfile "--build-arg POSTGRES_BASE=${POSTGRES_BASE}" \
    scripts/images/postgres-entrypoint.sh scripts/images/postgres-roles.sql
POSTGRES_IMAGE="${IMAGE_REF}"
build_image redis scripts/images/redis.Dockerfile "--build-arg REDIS_BASE=${REDIS_BASE}" \
    scripts/images/redis-entrypoint.sh
REDIS_IMAGE="${IMAGE_REF}"
# Nginx is always built here (from debian:bookworm-slim with a registry): it carries the upstream watcher.
build_image nginx nginx/Dockerfile "--build-arg DEBIAN_BASE=${DEBIAN_BASE}" nginx healthcheck
NGINX_IMAGE="${IMAGE_REF}"
# Tagged by its own two files only: a new Nginx image leaves the holder's service, and the port, untouched.
build_image edge-socket nginx/socket_holder.Dockerfile "--build-arg PYTHON_BASE=${PYTHON_BASE}" nginx/socket_holder.py
EDGE_SOCKET_IMAGE="${IMAGE_REF}"

for dir in app fastapi_search search_contract service_common; do
    # shellcheck disable=SC2015 # die is meant whenever either test fails
    [ -d "${dir}" ] && [ -n "$(ls -A "${dir}")" ] || die "${dir}/ is missing or empty; the app images need it"
done
# The tag follows the sources of the packages an image runs (its wheel holds the others too, unused there).
build_image django scripts/images/django.Dockerfile "--build-arg PYTHON_BASE=${PYTHON_BASE}" \
    scripts/images/app-entrypoint.sh healthcheck requirements/django.txt \
    pyproject.toml app search_contract service_common
DJANGO_IMAGE="${IMAGE_REF}"
build_image fastapi scripts/images/fastapi.Dockerfile "--build-arg PYTHON_BASE=${PYTHON_BASE}" \
    scripts/images/app-entrypoint.sh healthcheck requirements/fastapi.txt pyproject.toml fastapi_search search_contract service_common
FASTAPI_IMAGE="${IMAGE_REF}"

cat >"${IMAGES_ENV}.tmp" <<ENV
# Written by scripts/build-images.sh; read by scripts/deploy.sh for stack.yml.
POSTGRES_IMAGE=${POSTGRES_IMAGE}
REDIS_IMAGE=${REDIS_IMAGE}
NGINX_IMAGE=${NGINX_IMAGE}
EDGE_SOCKET_IMAGE=${EDGE_SOCKET_IMAGE}
DJANGO_IMAGE=${DJANGO_IMAGE}
FASTAPI_IMAGE=${FASTAPI_IMAGE}
ENV
mv "${IMAGES_ENV}.tmp" "${IMAGES_ENV}"
log "image references written to ${IMAGES_ENV}:"
grep -v '^#' "${IMAGES_ENV}" >&2

[ -z "${PUSH_REGISTRY}" ] || push_images "${PUSH_REGISTRY}" "${PUSH_TAG}"
