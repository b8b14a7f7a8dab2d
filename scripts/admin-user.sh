#!/usr/bin/env bash
# Create an admin account (a Django superuser) on the running stack, inside a healthy task of the live django colour.
#   scripts/admin-user.sh                      asks for name, e-mail and password (createsuperuser)
#   scripts/admin-user.sh NAME [EMAIL]         asks for the password only; NAME already there: changes nothing
#   printf '%s' "$PASSWORD" | scripts/admin-user.sh NAME [EMAIL]    without a terminal: the password from stdin
# The password goes through the terminal or stdin, never argv or the environment, so `ps` and `docker inspect`
# never show it. Both ways run the project's createsuperuser (app/catalog/management/commands/createsuperuser.py),
# which refuses a password that fails AUTH_PASSWORD_VALIDATORS, with no bypass.
# The apps' database role may write auth_user (tests/test_least_privilege.py), as the admin does.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ "$#" -le 2 ] || die "usage: admin-user.sh [NAME [EMAIL]]"
name="${1:-}"
email="${2:-}"

# Run inside the task with Django set up: 0 if user $ADMIN_USERNAME exists, else 3.
USER_EXISTS='
import os, sys
from django.contrib.auth import get_user_model
sys.exit(0 if get_user_model().objects.filter(username=os.environ["ADMIN_USERNAME"]).exists() else 3)
'

require_docker
django_service="$(service_name django)"
container="$(docker ps -q --filter "label=com.docker.swarm.service.name=${django_service}" --filter health=healthy | head -n 1)"
[ -n "${container}" ] || die "no healthy ${django_service} task on this node; is the stack up (make up)?"

in_task() { docker exec -e "ADMIN_USERNAME=${name}" -e "ADMIN_EMAIL=${email}" "$@"; }

if [ -n "${name}" ]; then
    exists=0
    in_task "${container}" python manage.py shell -c "${USER_EXISTS}" || exists=$?
    case "${exists}" in
        0)
            log "admin account ${name} already exists; nothing changed (change its password in the admin, or: docker exec -it ${container} python manage.py changepassword ${name})"
            exit 0
            ;;
        3) ;;
        *) die "could not look up ${name} in ${django_service} (exit ${exists})" ;;
    esac
fi

if [ -t 0 ]; then
    args=()
    [ -z "${name}" ] || args+=(--username "${name}")
    [ -z "${email}" ] || args+=(--email "${email}")
    run docker exec -it "${container}" python manage.py createsuperuser "${args[@]}"
else
    [ -n "${name}" ] || die "without a terminal, give NAME and the password on stdin: printf '%s' \"\$PASSWORD\" | scripts/admin-user.sh NAME [EMAIL]"
    log "+ docker exec -i ${container} python manage.py createsuperuser --noinput --username ${name} --password-stdin"
    in_task -i "${container}" python manage.py createsuperuser --noinput --username "${name}" --email "${email}" \
        --password-stdin || die "admin account ${name} not created"
fi
log "admin account ready: log in at http://127.0.0.1:${HTTP_PORT}/admin/"
