#!/usr/bin/env bash
# Create an admin account (a Django superuser) on the running stack, inside a healthy task of the live django colour.
#   scripts/admin-user.sh                      asks for name, e-mail and password (createsuperuser)
#   scripts/admin-user.sh NAME [EMAIL]         asks for the password only; NAME already there: changes nothing
#   printf '%s' "$PASSWORD" | scripts/admin-user.sh NAME [EMAIL]    without a terminal: the password from stdin
# The password goes through the terminal or stdin, never argv or the environment, so `ps` and `docker inspect`
# never show it. Both ways run the project's createsuperuser (app/catalog/management/commands/createsuperuser.py),
# which refuses a password that fails AUTH_PASSWORD_VALIDATORS, with no bypass.
# The apps' database role may write auth_user (tests/test_least_privilege.py), as the admin does.
# The logic is the control plane's (scripts/control_plane/, `python3 scripts/stackctl.py --help`), which prints
# every docker command it runs; add --dry-run (change nothing) or --json FILE (a verdict): admin-user.sh --dry-run ...
set -euo pipefail
exec python3 "$(dirname "$0")/stackctl.py" admin-user "$@"
