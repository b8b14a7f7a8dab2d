#!/bin/bash
# Entrypoint of the cluster's node image: make the cgroup hierarchies writable, then run dockerd under tini.
# Extra arguments are passed on to dockerd.
set -euo pipefail

fail() { echo "node-entrypoint: ERROR: $*" >&2; exit 1; }

# The host uses cgroup v1, and a container without --privileged gets each hierarchy mounted read-only: the
# inner containers would fail with "mkdir /sys/fs/cgroup/cpuset/docker: read-only file system". With the
# node's own cgroup namespace (--cgroupns private) and CAP_SYS_ADMIN, mounting a hierarchy again read-write
# only exposes the node's own subtree. A remount (-o remount,rw) is refused here; umount and mount work.
while read -r _ dir fstype options _; do
    [ "${fstype}" = cgroup ] || continue
    case "${options}" in ro,*) ;; *) continue ;; esac
    umount "${dir}" || fail "cannot unmount ${dir} (is the node missing CAP_SYS_ADMIN?)"
    mount -t cgroup -o "rw,${options#ro,}" cgroup "${dir}" || fail "cannot mount ${dir} read-write"
done < <(grep ' /sys/fs/cgroup/' /proc/self/mounts)

# A node stopped and started again keeps its writable layer: dockerd and containerd refuse to start over a
# pid file naming a process of the previous run (the same pid may be alive now in this fresh namespace).
rm -rf /var/run/docker.pid /var/run/docker

mkdir -p /run/partscat-node /var/log
# dockerd's log: in the node (docker exec NODE tail /var/log/dockerd.log) and on stdout (docker logs NODE).
exec > >(tee -a /var/log/dockerd.log) 2>&1
echo "node-entrypoint: starting dockerd on $(hostname) at $(date -u +%FT%TZ)"
# tini as PID 1 reaps the orphans of containerd's shims and passes docker stop's SIGTERM on to dockerd.
# The second socket is in a directory the host bind-mounts, so the host drives this node with DOCKER_HOST. Its
# group is root's: the node's "docker" gid means another group on the host.
exec tini -- dockerd \
    --host unix:///var/run/docker.sock \
    --host unix:///run/partscat-node/docker.sock \
    --group root \
    --data-root /var/lib/docker \
    "$@"
