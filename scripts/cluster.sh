#!/usr/bin/env bash
# A three-node Docker Swarm on this one machine, for the cluster suite and for trying the stack on several nodes:
# three Docker-in-Docker node containers and an HTTPS image registry on one bridge network.
#
#   cluster.sh up                build the node and registry images, make the TLS files, start the registry and
#                                the nodes, join them into one swarm and label them; a second run changes nothing
#   cluster.sh down [--volumes]  remove the nodes, the registry, the network, the /etc/hosts block and the CA in
#                                /etc/docker/certs.d; --volumes also deletes their volumes and the TLS files
#   cluster.sh status            the containers, the swarm's nodes and the registry's answer; non-zero if one is off
#   cluster.sh env               shell lines that point docker and the control plane at the cluster:
#                                eval "$(scripts/cluster.sh env)"
#   cluster.sh edges             one 127.0.0.1:PORT per edge node: the addresses clients use
#
# Managers: one, partscat-node-1. Raft needs a majority of the managers, so three managers survive the loss of
# one, and a real cluster runs three (or five) on separate machines. Here the three "nodes" are containers on one
# machine with 2 cores: they fail together when it fails, so three managers buy no real tolerance, and they cost
# raft traffic and CPU on every change. The scenarios drain, kill and pause workers, never the manager.
#
# Labels: partscat-node-1 partscat.postgres=true (PostgreSQL and the broker's Redis) and partscat.edge=true;
# partscat-node-2 partscat.edge=true; partscat-node-3 none, a pure app worker (the one the tests drain and kill).
#
# Each node publishes its edge port 8080 on this machine's loopback, partscat-node-N as 127.0.0.1:1808N. The
# registry is registry.partscat.test:5443 everywhere: this machine resolves it to 127.0.0.1 (an /etc/hosts
# block), the nodes to its address on the bridge; every engine trusts the CA made here through certs.d.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

NODES=(1 2 3)
# The nodes labelled partscat.edge=true, and the one that also holds the data (partscat.postgres=true).
EDGE_NODES=(1 2)
DATA_NODE=1
NETWORK=partscat-cluster
# Fixed addresses: a node's swarm state (on its volume) names the manager's address, so it must survive a
# re-created container. Far from what Docker picks by itself: bridges from 172.17.0.0/16 up, and the swarm's
# overlay networks (inside the nodes) from 10.0.0.0/24 up.
SUBNET=10.231.0.0/24
GATEWAY=10.231.0.1
REGISTRY_IP=10.231.0.2
node_ip() { printf '10.231.0.%d' "$((10 + $1))"; }
REGISTRY_HOST=registry.partscat.test
REGISTRY_PORT=5443
REGISTRY_ADDRESS="${REGISTRY_HOST}:${REGISTRY_PORT}"
REGISTRY_CONTAINER=partscat-registry
REGISTRY_VOLUME=partscat-registry-data
# registry.Dockerfile's USER: the registry's key is given to it, mode 0600.
REGISTRY_UID=5443
# The stack's edge port inside each node, and the loopback port it is published on (node N: base + N).
NODE_EDGE_PORT=8080
EDGE_PORT_BASE=18080
# A directory per node, bind-mounted at /run/partscat-node: its dockerd listens there too, so this machine drives
# each node with DOCKER_HOST=unix://${SOCKET_ROOT}/node-N/docker.sock.
SOCKET_ROOT=/run/partscat-cluster
CLUSTER_DIR="${CACHE_DIR}/cluster"
TLS_DIR="${CLUSTER_DIR}/tls"
CLUSTER_IMAGES_ENV="${CLUSTER_DIR}/images.env"
CERTS_D="/etc/docker/certs.d/${REGISTRY_ADDRESS}"
HOSTS_BEGIN="# partscat-cluster begin"
HOSTS_END="# partscat-cluster end"
# A node's dockerd answers in 1-3 s; much more means it is stuck (its log says why).
DOCKERD_WAIT_SECONDS=90

node_name() { printf 'partscat-node-%d' "$1"; }
node_socket() { printf 'unix://%s/node-%d/docker.sock' "${SOCKET_ROOT}" "$1"; }
edge_address() { printf '127.0.0.1:%d' "$((EDGE_PORT_BASE + $1))"; }
# docker against node N's own engine.
node_docker() { DOCKER_HOST="$(node_socket "$1")" docker "${@:2}"; }

# `eval "$(cluster.sh env)"` points DOCKER_HOST at the manager; the cluster itself lives on this machine's engine.
case "${DOCKER_HOST:-}" in
    "unix://${SOCKET_ROOT}/"*) unset DOCKER_HOST ;;
esac

# Per-step timings, like the other scripts: `step NAME COMMAND...`.
step() {
    local name="$1" started
    shift
    started="$(date +%s%N)"
    "$@"
    log "${name}: done in $(elapsed_since "${started}")"
}
elapsed_since() {
    local tenths=$((($(date +%s%N) - $1) / 100000000))
    printf '%d.%ds' "$((tenths / 10))" "$((tenths % 10))"
}

build_images() {
    bash "${REPO_ROOT}/scripts/build-images.sh" --cluster
    # shellcheck source=/dev/null # written by build-images.sh --cluster
    . "${CLUSTER_IMAGES_ENV}"
}

# The CA (kept, key mode 0600) and the registry's certificate, issued again only when it is missing, expires
# within 30 days, no longer matches the CA or its key, or lacks a name. In a subshell: it works in TLS_DIR.
make_tls() (
    command -v openssl >/dev/null 2>&1 || die "openssl is needed for the registry's certificate"
    mkdir -p "${TLS_DIR}"
    chmod 0700 "${TLS_DIR}"
    cd "${TLS_DIR}"
    umask 077
    if [ ! -s ca.key ] || [ ! -s ca.crt ]; then
        log "making the cluster's CA in ${TLS_DIR}"
        openssl req -x509 -new -newkey rsa:3072 -nodes -sha256 -days 3650 -subj "/CN=partscat cluster CA" \
            -keyout ca.key -out ca.crt 2>/dev/null \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
        rm -f registry.crt
    fi
    if ! registry_cert_valid; then
        log "issuing the registry's certificate (DNS:${REGISTRY_HOST}, IP:127.0.0.1)"
        openssl req -new -newkey rsa:2048 -nodes -subj "/CN=${REGISTRY_HOST}" \
            -keyout registry.key -out registry.csr 2>/dev/null
        openssl x509 -req -in registry.csr -CA ca.crt -CAkey ca.key -set_serial "0x$(openssl rand -hex 16)" \
            -days 825 -sha256 -out registry.crt 2>/dev/null -extfile <(printf '%s\n' \
                "subjectAltName=DNS:${REGISTRY_HOST},IP:127.0.0.1" \
                "basicConstraints=critical,CA:FALSE" \
                "keyUsage=critical,digitalSignature,keyEncipherment" \
                "extendedKeyUsage=serverAuth")
        rm -f registry.csr
    fi
    chmod 0600 ca.key registry.key
    chmod 0644 ca.crt registry.crt
    chown "${REGISTRY_UID}:${REGISTRY_UID}" registry.key
)

registry_cert_valid() {
    [ -s registry.crt ] && [ -s registry.key ] || return 1
    openssl verify -CAfile ca.crt registry.crt >/dev/null 2>&1 || return 1
    openssl x509 -in registry.crt -noout -checkend $((30 * 24 * 3600)) >/dev/null || return 1
    [ "$(openssl x509 -in registry.crt -noout -pubkey)" = "$(openssl pkey -in registry.key -pubout)" ] || return 1
    local names
    names="$(openssl x509 -in registry.crt -noout -ext subjectAltName)"
    [[ "${names}" == *"DNS:${REGISTRY_HOST}"* && "${names}" == *"IP Address:127.0.0.1"* ]]
}

# A short fingerprint of a file, put in a container's spec: a new certificate re-creates the containers using it.
fingerprint() { sha256sum <"$1" | cut -c1-12; }

ensure_network() {
    local subnet
    if subnet="$(docker network inspect "${NETWORK}" --format '{{range .IPAM.Config}}{{.Subnet}}{{end}}' 2>/dev/null)"; then
        [ "${subnet}" = "${SUBNET}" ] ||
            die "network ${NETWORK} exists with subnet ${subnet}, not ${SUBNET}; run scripts/cluster.sh down first"
        log "network ${NETWORK} already exists"
    else
        run docker network create --driver bridge --subnet "${SUBNET}" --gateway "${GATEWAY}" \
            --label partscat.cluster=network "${NETWORK}" >/dev/null
    fi
}

# ensure_container NAME DOCKER-RUN-ARGS...: run it, or start it when it exists stopped (after a reboot), or
# unpause it. The arguments' hash is a label: a container made from other arguments (a new image, certificate or
# mount) is re-created, its named volume kept.
ensure_container() {
    local name="$1" spec state
    shift
    spec="$(printf '%s\0' "$@" | sha256sum | cut -c1-16)"
    if state="$(docker inspect "${name}" \
        --format '{{index .Config.Labels "partscat.cluster.spec"}} {{.State.Status}}' 2>/dev/null)"; then
        if [ "${state%% *}" = "${spec}" ]; then
            case "${state#* }" in
                running) log "${name} already running" ;;
                paused) run docker unpause "${name}" >/dev/null ;;
                *) run docker start "${name}" >/dev/null ;;
            esac
            return 0
        fi
        log "${name} was made from other arguments (image, certificate or mounts changed): re-creating it, volume kept"
        # Stopped first, as in `down`: a node's dockerd then stops its containers and leaves its volume clean.
        run docker stop -t 30 "${name}" >/dev/null || true
        run docker rm --force "${name}" >/dev/null
    fi
    run docker run --detach --name "${name}" --label "partscat.cluster.spec=${spec}" "$@" >/dev/null
}

start_registry() {
    ensure_container "${REGISTRY_CONTAINER}" \
        --hostname "${REGISTRY_HOST}" --network "${NETWORK}" --ip "${REGISTRY_IP}" \
        --publish "127.0.0.1:${REGISTRY_PORT}:${REGISTRY_PORT}" \
        --volume "${REGISTRY_VOLUME}:/var/lib/docker-registry" \
        --mount "type=bind,source=${TLS_DIR}/registry.crt,target=/etc/docker/registry/tls/server.crt,readonly" \
        --mount "type=bind,source=${TLS_DIR}/registry.key,target=/etc/docker/registry/tls/server.key,readonly" \
        --label "partscat.cluster.certificate=$(fingerprint "${TLS_DIR}/registry.crt")" \
        --cap-drop ALL --security-opt no-new-privileges --restart no \
        "${REGISTRY_IMAGE}"
    local deadline=$((SECONDS + 30))
    until curl -fsS -o /dev/null --max-time 5 --cacert "${TLS_DIR}/ca.crt" \
        --resolve "${REGISTRY_ADDRESS}:127.0.0.1" "https://${REGISTRY_ADDRESS}/v2/" 2>/dev/null; do
        if [ "${SECONDS}" -ge "${deadline}" ]; then
            docker logs --tail 20 "${REGISTRY_CONTAINER}" >&2 || true
            die "the registry did not answer on https://${REGISTRY_ADDRESS}/v2/ within 30s"
        fi
        sleep 0.5
    done
}

# This machine resolves the registry's name to its loopback port and trusts the CA for it. Docker reads
# /etc/docker/certs.d at every pull and push: no daemon restart.
trust_registry() {
    local block
    block="$(printf '%s\n127.0.0.1 %s\n%s' "${HOSTS_BEGIN}" "${REGISTRY_HOST}" "${HOSTS_END}")"
    if [ "$(sed -n "/^${HOSTS_BEGIN}\$/,/^${HOSTS_END}\$/p" /etc/hosts)" = "${block}" ]; then
        log "/etc/hosts already names ${REGISTRY_HOST}"
    else
        log "adding ${REGISTRY_HOST} to /etc/hosts (between '${HOSTS_BEGIN}' and '${HOSTS_END}')"
        replace_hosts "${block}"
    fi
    if cmp -s "${TLS_DIR}/ca.crt" "${CERTS_D}/ca.crt"; then
        log "${CERTS_D}/ca.crt already in place"
    else
        run install -D -m 0644 "${TLS_DIR}/ca.crt" "${CERTS_D}/ca.crt"
    fi
}

# replace_hosts BLOCK: /etc/hosts without the cluster's block, then BLOCK (when not empty). Written in place,
# not renamed over: /etc/hosts is often a bind mount (a container's), which a rename would break.
replace_hosts() {
    local content
    content="$(sed "/^${HOSTS_BEGIN}\$/,/^${HOSTS_END}\$/d" /etc/hosts)"
    [ -z "$1" ] || content+=$'\n'"$1"
    printf '%s\n' "${content}" >/etc/hosts
}

start_nodes() {
    local n
    for n in "${NODES[@]}"; do
        mkdir -p "${SOCKET_ROOT}/node-${n}"
        # The capabilities and options that work here (--privileged does not: ../shared/PLATFORM.md,
        # "Docker-in-Docker nodes"); a private cgroup namespace, so the entrypoint's cgroup mounts are the node's.
        # No restart policy (nor on the registry): a node the tests kill stays lost until they, or `up`, bring
        # it back.
        ensure_container "$(node_name "${n}")" \
            --hostname "$(node_name "${n}")" --network "${NETWORK}" --ip "$(node_ip "${n}")" \
            --cap-add ALL --cap-drop SYS_RESOURCE \
            --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
            --security-opt systempaths=unconfined --cgroupns private \
            --add-host "${REGISTRY_HOST}:${REGISTRY_IP}" \
            --mount "type=bind,source=${TLS_DIR}/ca.crt,target=${CERTS_D}/ca.crt,readonly" \
            --label "partscat.cluster.ca=$(fingerprint "${TLS_DIR}/ca.crt")" \
            --volume "$(node_name "${n}")-docker:/var/lib/docker" \
            --volume "${SOCKET_ROOT}/node-${n}:/run/partscat-node" \
            --publish "$(edge_address "${n}"):${NODE_EDGE_PORT}" \
            --restart no \
            "${NODE_IMAGE}"
    done
}

wait_for_dockerd() {
    local n name deadline
    for n in "${NODES[@]}"; do
        name="$(node_name "${n}")"
        deadline=$((SECONDS + DOCKERD_WAIT_SECONDS))
        until node_docker "${n}" version --format '{{.Server.Version}}' >/dev/null 2>&1; do
            if [ "$(docker inspect "${name}" --format '{{.State.Running}}')" != true ] || [ "${SECONDS}" -ge "${deadline}" ]; then
                docker logs --tail 30 "${name}" >&2 || true
                die "dockerd in ${name} did not answer on $(node_socket "${n}") (its log is above)"
            fi
            sleep 0.5
        done
    done
}

swarm_state() { node_docker "$1" info --format '{{.Swarm.LocalNodeState}}'; }

form_swarm() {
    local manager="${NODES[0]}" state n token
    state="$(swarm_state "${manager}")"
    case "${state}" in
        inactive)
            run node_docker "${manager}" swarm init --advertise-addr "$(node_ip "${manager}")" >/dev/null ;;
        active)
            [ "$(node_docker "${manager}" info --format '{{.Swarm.ControlAvailable}}')" = true ] ||
                die "$(node_name "${manager}") is in a swarm but not its manager; scripts/cluster.sh down --volumes starts afresh"
            log "$(node_name "${manager}") already manages the swarm" ;;
        *) die "$(node_name "${manager}")'s swarm state is ${state}; scripts/cluster.sh down --volumes starts afresh" ;;
    esac
    token="$(node_docker "${manager}" swarm join-token -q worker)"
    for n in "${NODES[@]:1}"; do
        if worker_joined "${n}"; then
            log "$(node_name "${n}") already in the swarm"
            continue
        fi
        # Left over from another swarm (its manager's volume deleted): leave it, then join this one.
        [ "$(swarm_state "${n}")" = inactive ] || run node_docker "${n}" swarm leave --force >/dev/null
        # Not through `run`: the token is a secret, and logs are kept.
        log "+ docker swarm join --token <worker token> --advertise-addr $(node_ip "${n}") $(node_ip "${manager}"):2377 (on $(node_name "${n}"))"
        node_docker "${n}" swarm join --token "${token}" --advertise-addr "$(node_ip "${n}")" \
            "$(node_ip "${manager}"):2377" >/dev/null
    done
    wait_for_ready_nodes
}

# A worker is joined when it says so and the manager knows its id. A restarted worker says "pending" while it
# reconnects: give it time.
worker_joined() {
    local n="$1" state deadline=$((SECONDS + 30))
    state="$(swarm_state "${n}")"
    while [ "${state}" = pending ] && [ "${SECONDS}" -lt "${deadline}" ]; do
        sleep 1
        state="$(swarm_state "${n}")"
    done
    [ "${state}" = active ] && manager_docker node inspect "$(node_id "${n}")" >/dev/null 2>&1
}

# Every node Ready and Active (a drain a test left behind is undone). Entries a node left behind when it joined
# again (its volume deleted: a new id under the same hostname) are removed, so each hostname names one node.
wait_for_ready_nodes() {
    local deadline=$((SECONDS + 60)) n id ids=() hostname availability
    for n in "${NODES[@]}"; do ids+=("$(node_id "${n}")"); done
    for n in "${!NODES[@]}"; do
        until [ "$(manager_docker node inspect "${ids[n]}" --format '{{.Status.State}}')" = ready ]; do
            [ "${SECONDS}" -lt "${deadline}" ] || die "$(node_name "${NODES[n]}") is not Ready in the swarm after 60s"
            sleep 1
        done
    done
    while read -r id hostname availability; do
        [[ "${hostname}" == partscat-node-* ]] || continue
        if [[ " ${ids[*]} " != *" ${id} "* ]]; then
            log "removing ${hostname}'s stale swarm entry ${id} (the node joined again as another)"
            run manager_docker node rm --force "${id}" >/dev/null
        elif [ "${availability}" != Active ]; then
            run manager_docker node update --availability active "${id}" >/dev/null
        fi
    done < <(manager_docker node ls --format '{{.ID}} {{.Hostname}} {{.Availability}}')
}

# Node N's swarm id, as it knows itself.
node_id() { node_docker "$1" info --format '{{.Swarm.NodeID}}'; }
manager_docker() { node_docker "${NODES[0]}" "$@"; }

label_nodes() {
    local n
    add_label "${DATA_NODE}" partscat.postgres
    for n in "${EDGE_NODES[@]}"; do add_label "${n}" partscat.edge; done
}

# add_label N KEY: KEY=true on node N, unless it is there already (an update would bump the node's version).
# Labels are only added: the control plane may set others.
add_label() {
    local id value
    id="$(node_id "$1")"
    value="$(manager_docker node inspect "${id}" --format "{{index .Spec.Labels \"$2\"}}")"
    if [ "${value}" = true ]; then
        log "$(node_name "$1") already labelled $2=true"
    else
        run manager_docker node update --label-add "$2=true" "${id}" >/dev/null
    fi
}

cmd_up() {
    local started
    started="$(date +%s%N)"
    require_docker
    ensure_cache_dir
    mkdir -p "${CLUSTER_DIR}"
    step "images" build_images
    step "TLS files" make_tls
    step "network" ensure_network
    step "registry" start_registry
    step "registry name and CA on this machine" trust_registry
    step "node containers" start_nodes
    step "nodes' dockerd" wait_for_dockerd
    step "swarm" form_swarm
    step "labels" label_nodes
    log "cluster up in $(elapsed_since "${started}"); eval \"\$(scripts/cluster.sh env)\" to drive it"
}

cmd_down() {
    local volumes=0 n name names=()
    case "${1:-}" in
        --volumes) volumes=1 ;;
        "") ;;
        *) die "usage: cluster.sh down [--volumes]" ;;
    esac
    for name in $(for n in "${NODES[@]}"; do node_name "${n}"; echo; done) "${REGISTRY_CONTAINER}"; do
        if docker inspect "${name}" >/dev/null 2>&1; then names+=("${name}"); fi
    done
    if [ "${#names[@]}" -gt 0 ]; then
        # Stopped first, so each dockerd stops its containers and leaves its volume clean (rm --force then kills
        # what did not stop, a paused node too).
        run docker stop -t 30 "${names[@]}" >/dev/null || true
        run docker rm --force "${names[@]}" >/dev/null
    fi
    if docker network inspect "${NETWORK}" >/dev/null 2>&1; then run docker network rm "${NETWORK}" >/dev/null; fi
    if grep -qx "${HOSTS_BEGIN}" /etc/hosts; then
        log "removing ${REGISTRY_HOST} from /etc/hosts"
        replace_hosts ""
    fi
    if [ -d "${CERTS_D}" ]; then run rm -rf "${CERTS_D}"; fi
    rm -rf "${SOCKET_ROOT}"
    if [ "${volumes}" = 1 ]; then
        for n in "${NODES[@]}"; do
            if docker volume inspect "$(node_name "${n}")-docker" >/dev/null 2>&1; then
                run docker volume rm "$(node_name "${n}")-docker" >/dev/null
            fi
        done
        if docker volume inspect "${REGISTRY_VOLUME}" >/dev/null 2>&1; then
            run docker volume rm "${REGISTRY_VOLUME}" >/dev/null
        fi
        run rm -rf "${TLS_DIR}"
    else
        log "volumes kept (the nodes' swarm state and images, the registry's images); --volumes deletes them"
    fi
}

cmd_status() {
    local failed=0 n answer
    echo "containers:"
    docker ps --all --filter "label=partscat.cluster.spec" --format 'table {{.Names}}\t{{.Status}}\t{{.Ports}}'
    for n in "${NODES[@]}"; do
        [ "$(docker inspect "$(node_name "${n}")" --format '{{.State.Status}}' 2>/dev/null)" = running ] ||
            { log "$(node_name "${n}") is not running"; failed=1; }
    done
    echo "swarm nodes (docker node ls on $(node_name "${NODES[0]}")):"
    manager_docker node ls || { log "the manager does not answer"; failed=1; }
    if answer="$(curl -fsS --max-time 5 --cacert "${TLS_DIR}/ca.crt" "https://${REGISTRY_ADDRESS}/v2/_catalog" 2>&1)"; then
        echo "registry https://${REGISTRY_ADDRESS}/ answers: ${answer}"
    else
        log "registry https://${REGISTRY_ADDRESS}/ does not answer: ${answer}"
        failed=1
    fi
    return "${failed}"
}

cmd_env() {
    local n hosts=() edges=()
    for n in "${NODES[@]}"; do hosts+=("$(node_name "${n}")=$(node_socket "${n}")"); done
    for n in "${EDGE_NODES[@]}"; do edges+=("$(edge_address "${n}")"); done
    printf 'export DOCKER_HOST=%s\n' "$(node_socket "${NODES[0]}")"
    printf 'export REGISTRY=%s\n' "${REGISTRY_ADDRESS}"
    printf 'export PARTSCAT_NODE_HOSTS=%s\n' "$(IFS=,; printf '%s' "${hosts[*]}")"
    printf 'export EDGE_ADDRESSES=%s\n' "$(IFS=,; printf '%s' "${edges[*]}")"
}

# The edge nodes as the manager knows them now (labels), each as the loopback address its node publishes.
cmd_edges() {
    local id hostname
    manager_docker node ls --quiet >/dev/null || die "the cluster's manager does not answer (scripts/cluster.sh up)"
    while read -r id; do
        hostname="$(manager_docker node inspect "${id}" \
            --format '{{.Description.Hostname}} {{index .Spec.Labels "partscat.edge"}}')"
        [ "${hostname#* }" = true ] || continue
        hostname="${hostname% *}"
        [[ "${hostname}" =~ ^partscat-node-([0-9]+)$ ]] || die "edge node ${hostname} is not one of this cluster's nodes"
        edge_address "${BASH_REMATCH[1]}"
        printf '\n'
    done < <(manager_docker node ls --quiet) | sort -u
}

case "${1:-}" in
    up) cmd_up ;;
    down) shift; cmd_down "$@" ;;
    status) cmd_status ;;
    env) cmd_env ;;
    edges) cmd_edges ;;
    *) sed -n '5,12s/^# \{0,1\}//p' "$0" >&2; exit 64 ;;
esac
