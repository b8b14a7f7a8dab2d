#!/usr/bin/env bash
# Blue-green releases of django and fastapi: deploy the idle colour beside the live one, check it through Nginx, switch, roll back, finish.
#
# Usage: bluegreen.sh deploy [IMAGE_TAG] | switch | rollback | finish | status | canary | share
#   (canary and share: docs/releases.md, "Canary releases")
#   deploy [TAG]  start the idle colour of both apps at the live colour's replica count, on partscat/<app>:TAG
#                 (default: the images scripts/build-images.sh built last), wait until every task is healthy and
#                 in Nginx's rotation, smoke-check it through Nginx's preview listener (inside the Nginx
#                 containers only; no user request reaches it), then check that the live colour still passes
#                 the same checks after the new release's migrations. Records it as the candidate.
#   switch        every new request goes to the candidate colour; requests in flight finish on the old one,
#                 which stays up, warm.
#   rollback      every new request goes back to the other colour (within a second, while it is still up).
#   finish        scale the colour that is not live to 0.
#   status        live colour and since when, the candidate, and per colour: images, healthy tasks, peers.
# Every subcommand is idempotent and exits non-zero when it did not get there. The state is kept as labels
# of the nginx service (partscat.live-colour, partscat.live-since, partscat.candidate-colour), so any manager
# can run this script. Switching tells every Nginx task on this node; with several edge nodes run switch
# and rollback on each (DOCKER_HOST=ssh://node): a task created later reads the label.
# The logic is the control plane's (scripts/control_plane/, `python3 scripts/stackctl.py --help`), which prints
# every docker command it runs; add --dry-run (change nothing) or --json FILE (a verdict): bluegreen.sh --dry-run ...
set -euo pipefail
exec python3 "$(dirname "$0")/stackctl.py" bluegreen "$@"
