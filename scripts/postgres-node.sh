# Which node PostgreSQL (and Redis) run on: the partscat.postgres node label, decided by deploy.sh.
# Sourced by deploy.sh (not run directly); the decision itself is a pure function, tested without a swarm
# (tests/scripts/test_postgres_node.py).
# shellcheck shell=bash

POSTGRES_NODE_LABEL="partscat.postgres"

# postgres_node_decision LABELLED_NODES STACK_SERVICES VOLUME_HERE DB_SECRETS NEW_DATABASE
#   LABELLED_NODES  node ids carrying the label, space-separated (empty: none)
#   STACK_SERVICES  1 if the stack has services, else 0
#   VOLUME_HERE     1 if the <stack>_pgdata volume exists on this node, else 0
#   DB_SECRETS      1 if the stack's database secrets exist in the swarm (a deploy ran before), else 0
#   NEW_DATABASE    1 if the operator passed --new-database, else 0
# Prints one line: "keep NODE", "label first-deploy", "label new-database", or "refuse REASON".
# Data lives in a node-local volume, so without the label Postgres must never be started on another node
# silently: it would start empty there. Only an unmistakable first deploy (no stack, no volume here, no
# database secrets anywhere in the swarm) or an explicit --new-database labels this node.
postgres_node_decision() {
    local labelled="$1" stack_services="$2" volume_here="$3" db_secrets="$4" new_database="$5"
    local -a nodes
    read -r -a nodes <<<"${labelled}"
    if [ "${#nodes[@]}" -gt 1 ]; then
        echo "refuse several nodes carry ${POSTGRES_NODE_LABEL}=true (${nodes[*]}); remove it from all but the one holding the data"
        return 0
    fi
    if [ "${#nodes[@]}" -eq 1 ]; then
        echo "keep ${nodes[0]}"
        return 0
    fi
    if [ "${new_database}" = 1 ]; then
        echo "label new-database"
        return 0
    fi
    local evidence=()
    [ "${stack_services}" = 1 ] && evidence+=("the stack has services")
    [ "${volume_here}" = 1 ] && evidence+=("a pgdata volume exists on this node")
    [ "${db_secrets}" = 1 ] && evidence+=("its database secrets exist, so a deploy ran before")
    if [ "${#evidence[@]}" -eq 0 ]; then
        echo "label first-deploy"
        return 0
    fi
    local joined
    joined="$(printf '%s; ' "${evidence[@]}")"
    echo "refuse no node carries ${POSTGRES_NODE_LABEL}=true, but this is not a first deploy (${joined%; })"
}

# ensure_postgres_node_label NEW_DATABASE: gather the facts from Docker, decide, and label this node or stop.
ensure_postgres_node_label() {
    local new_database="$1" node labelled="" stack_services=0 volume_here=0 db_secrets=0 secret decision this_node
    for node in $(docker node ls -q); do
        if [ "$(docker node inspect "${node}" --format "{{index .Spec.Labels \"${POSTGRES_NODE_LABEL}\"}}")" = "true" ]; then
            labelled+="${node} "
        fi
    done
    if [ -n "$(docker service ls -q --filter "label=com.docker.stack.namespace=${STACK_NAME}")" ]; then
        stack_services=1
    fi
    if docker volume inspect "${STACK_NAME}_pgdata" >/dev/null 2>&1; then
        volume_here=1
    fi
    # The secrets of this version and of the versions before the role split.
    for secret in db_owner_password db_app_password db_password; do
        if docker secret inspect "${STACK_NAME}_${secret}" >/dev/null 2>&1; then
            db_secrets=1
        fi
    done
    decision="$(postgres_node_decision "${labelled}" "${stack_services}" "${volume_here}" "${db_secrets}" "${new_database}")"
    this_node="$(docker info --format '{{.Swarm.NodeID}}')"
    case "${decision}" in
        keep\ *)
            node="${decision#keep }"
            log "node ${node} holds the ${POSTGRES_NODE_LABEL} label ($(docker node inspect "${node}" --format '{{.Description.Hostname}}, {{.Status.State}}'))"
            ;;
        "label first-deploy")
            log "first deploy (no stack, no ${STACK_NAME}_pgdata volume, no database secrets): PostgreSQL goes to this node"
            run docker node update --label-add "${POSTGRES_NODE_LABEL}=true" "${this_node}" >/dev/null
            ;;
        "label new-database")
            if [ "${volume_here}" = 1 ]; then
                log "--new-database: PostgreSQL goes to this node and uses the ${STACK_NAME}_pgdata volume already here"
            else
                log "--new-database: PostgreSQL goes to this node and starts with an EMPTY database"
            fi
            run docker node update --label-add "${POSTGRES_NODE_LABEL}=true" "${this_node}" >/dev/null
            ;;
        "refuse no node"*)
            log "${decision#refuse }: the node that held the database may be gone."
            log "If it is back (or its volume moved to another node), label that node and deploy again:"
            log "    docker node update --label-add ${POSTGRES_NODE_LABEL}=true NODE"
            die "refusing to start PostgreSQL on this node with an empty database; deploy.sh --new-database does exactly that"
            ;;
        refuse\ *) die "${decision#refuse }" ;;
        *) die "unexpected decision: ${decision}" ;;
    esac
}
