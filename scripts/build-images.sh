#!/usr/bin/env bash
# Build every image of the stack, tagged by git commit, from public bases or (no registry) a debootstrap base.
#
#   build-images.sh                              build them; their references go to .cache/images.env
#   build-images.sh --push REGISTRY [--tag TAG]  build them, then tag each as REGISTRY/partscat/<name>:TAG and
#                                                push it (TAG: the short commit); one "REFERENCE DIGEST" line each
#   build-images.sh --cluster                    only scripts/cluster.sh's node and registry images; their
#                                                references go to .cache/cluster/images.env
# The logic is the control plane's (scripts/control_plane/commands/build.py), which prints every docker command
# it runs; add --dry-run (build and push nothing) or --json FILE (a verdict): build-images.sh --dry-run ...
set -euo pipefail
exec python3 "$(dirname "$0")/stackctl.py" build "$@"
