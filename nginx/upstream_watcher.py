"""Run Nginx and keep its upstream peers equal to the healthy Swarm tasks behind each app service.

Every POLL_SECONDS the watcher
  1. resolves `tasks.<service>` (Swarm DNS lists one address per task; dnsrr endpoint mode),
  2. probes each address's health URL (a task answers 503 while it drains, see scripts/images/app-entrypoint.sh),
  3. pushes the peers in rotation to Nginx's local control server (POST /edge/peers, lua/edge_control.lua), which
     swaps them in a shared dictionary: no reload, so no client or upstream keep-alive connection is closed.
The push is also the watcher's heartbeat: /nginx-healthz (the Swarm health check) fails when it stops.

A task enters rotation only after its health URL answered 2xx, so DNS listing a task before it is ready
does no harm; it leaves rotation as soon as DNS drops it, its health URL answers non-2xx, its port refuses,
or (to ride out a busy moment) after TIMEOUTS_TO_DROP health probes in a row time out. A DNS failure
keeps the current peers. A poll that fails for any reason is logged and the next one goes on.

Reloads are for real configuration changes only: `upstream_watcher.py apply-config < nginx.conf` tests the
new file, asks the running workers to close each client connection after its next response (drain), waits
DRAIN_SECONDS, then reloads (scripts/edge-config.sh runs it in every Nginx task). SIGTERM drains the same way
before Nginx's graceful stop.

Blue-green: each app runs as <app>-blue and <app>-green; the watcher keeps the peers of all four and Nginx
sends users to the live colour. At start the watcher tells Nginx the live colour from LIVE_COLOUR (stack.yml
fills it from the nginx service's label when the task is created); `upstream_watcher.py live green` switches a
running Nginx at once (scripts/bluegreen.sh does both).

The public listeners: with EDGE_SOCKET_PATH, Nginx does not bind the public port itself. The socket holder
(socket_holder.py, a service of its own) holds the listening sockets for every Nginx task; the watcher takes
copies over that Unix socket at start, passes them to Nginx as in Nginx's binary upgrade (NGINX="fd;fd;"), and
writes the `listen` lines into RUNTIME_DIR/listen/ from the addresses it received, so they match exactly (an
inherited socket is used only for a listen line of the same address). So an Nginx update is start-first:
old and new tasks accept from one kernel queue and no connection is refused. Without EDGE_SOCKET_PATH Nginx
listens on 8080 itself. Before Nginx starts, the watcher probes every task once and writes what it found and
the live colour into RUNTIME_DIR/edge-seed.txt, which Nginx's master loads into the shared dictionary before
any worker accepts (lua/edge_control.lua seed): a new task never answers its first requests without peers.
`upstream_watcher.py health` (the Swarm health check) asks /nginx-healthz on the internal preview listener and,
with a holder, checks that Nginx's master and every accepting worker hold the holder's sockets.

HTTPS: with TLS_CERT_PATH and TLS_KEY_PATH (a PEM certificate chain and its key, Swarm secrets in stack.tls.yml)
the watcher writes the TLS listener into RUNTIME_DIR/tls/ before it starts Nginx; nginx.conf includes that
directory in its main server, so HTTPS serves the same routes. Without them the directory is left empty.

Configuration: the environment, read once at start by watcher_settings.py (its docstring lists each variable).

The watcher's modules, beside this file in the image (/opt/nginx/) and in the checkout (nginx/):
  watcher_settings.py   the settings from the environment, typed, refused at start when malformed
  watcher_decisions.py  no I/O: the rotation, the peers body, the seed, the listen lines, the socket checks
  watcher_poll.py       one poll: DNS, the health probes, the push, the state file (the Watcher)
  watcher_control.py    the client of Nginx's control server, and the drain before an action
  watcher_listeners.py  the socket holder's listeners taken at start, the listen and TLS include files
  watcher_nginx.py      the Nginx process: config test, start, reload (apply-config), the health check
  watcher_log.py        the log line
This file is the entry (the image's ENTRYPOINT and HEALTHCHECK): start and watch (run), and the CLI (main).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence

from watcher_control import control_request, drain_then
from watcher_decisions import TLS_PORT, seed_text
from watcher_listeners import handover_start, listeners_prepare
from watcher_log import log
from watcher_nginx import RUNNING_CONF, apply_config, health, nginx_config_test, nginx_start
from watcher_poll import Watcher
from watcher_settings import RUNTIME_DIR, SettingsError, WatcherSettings, canary_body, settings_load

IMAGE_CONF = os.environ.get("NGINX_CONF", "/etc/nginx/nginx.conf")
# Loaded by nginx.conf's init_by_lua (lua/edge_control.lua seed) before any worker accepts.
SEED_PATH = os.path.join(RUNTIME_DIR, "edge-seed.txt")


def file_write_atomic(path: str, text: str) -> None:
    temporary = path + ".new"
    with open(temporary, "w", encoding="utf-8") as new_file:
        new_file.write(text)
    os.replace(temporary, path)


def release_state_push(settings: WatcherSettings) -> None:
    """The live colour, then the canary share, to the Nginx just started (the seed had them too; a reload
    since would keep what the dictionary holds). Its control server opens within milliseconds."""
    for _ in range(50):
        try:
            control_request("POST", "/edge/live", settings.live_colour)
            break
        except (OSError, RuntimeError):
            time.sleep(0.1)
    else:
        log("could not set the live colour at start; Nginx defaults to blue")
    try:
        control_request("POST", "/edge/canary", settings.canary)
    except (OSError, RuntimeError) as error:
        log(f"could not set the canary share at start ({error}); the seed's stands")


def run(settings: WatcherSettings) -> int:
    os.makedirs(RUNTIME_DIR, exist_ok=True)
    shutil.copyfile(IMAGE_CONF, RUNNING_CONF)
    try:
        listeners = listeners_prepare(settings)
    except RuntimeError as error:
        log(str(error))
        return 1
    valid, output = nginx_config_test(RUNNING_CONF)
    if not valid:
        log(f"nginx -t rejected {IMAGE_CONF}: {output}")
        return 1
    # The first poll before Nginx starts: its workers accept knowing the peers and the live colour.
    watcher = Watcher(
        settings,
        push=lambda body: file_write_atomic(SEED_PATH, seed_text(settings.live_colour, body, settings.canary)),
    )
    watcher.poll_guarded()
    watcher.push = lambda body: control_request("POST", "/edge/peers", body)
    nginx = nginx_start(listeners)
    own_handover = handover_start(settings, listeners)
    # The live colour goes first, before peers.
    release_state_push(settings)
    log(f"nginx started (pid {nginx.pid}); watching {', '.join(s.dns_name for s in watcher.states.values())}")
    https = f"on :{TLS_PORT} ({settings.tls.cert_path})" if settings.tls else "off"
    log(f"HTTPS {https}; X-Upstream-Addr headers {'on (debug)' if settings.debug_headers else 'off'}")

    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        log(f"signal {signal.Signals(signum).name}: draining, then stopping nginx gracefully")
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    healthy_polls = True
    while not stop.is_set():
        if nginx.poll() is not None:
            log(f"nginx exited with status {nginx.returncode}")
            watcher.close()
            return nginx.returncode or 1
        ok = watcher.poll_guarded()
        if ok and not healthy_polls:
            log("polls succeed again")
        healthy_polls = ok
        stop.wait(settings.poll_seconds)

    # SIGQUIT = graceful shutdown: Nginx stops accepting, finishes open requests, then exits.
    drain_then(lambda: nginx.send_signal(signal.SIGQUIT), settings.drain_seconds)
    try:
        nginx.wait(timeout=settings.nginx_stop_seconds)
    except subprocess.TimeoutExpired:
        log("nginx did not stop in time; terminating it")
        nginx.terminate()
        nginx.wait()
    watcher.close()
    if own_handover:
        with contextlib.suppress(OSError):
            os.unlink(own_handover)
    return 0


def control_print(method: str, path: str, body: Callable[[], str] | None = None) -> int:
    """One control request, its answer on stdout; a refusal (or a BODY that cannot be made) on stderr, exit 1."""
    try:
        print(control_request(method, path, body() if body else None).strip())
    except (SettingsError, RuntimeError) as error:
        print(f"upstream_watcher: {error}", file=sys.stderr)
        return 1
    return 0


def live_switch(colour: str) -> int:
    """Switch the running Nginx to `colour`, which Nginx refuses while an app of it has no task in rotation."""
    return control_print("POST", "/edge/live?require_peers=1", lambda: colour)


def canary_set(args: Sequence[str]) -> int:
    """Set the running Nginx's canary share and allowlist: `canary PERCENT [VALUE ...]`."""
    return control_print("POST", "/edge/canary", lambda: canary_body(args[0], args[1:]))


def main(argv: list[str]) -> int:
    try:
        settings = settings_load(os.environ)
    except SettingsError as error:
        print(f"upstream_watcher: {error}", file=sys.stderr)
        return 64
    commands: dict[tuple[str, ...], Callable[[], int]] = {
        ("apply-config",): lambda: apply_config(sys.stdin.read(), settings),
        ("state",): lambda: control_print("GET", "/edge/state"),
        ("health",): lambda: health(settings),
        ("live", "blue"): lambda: live_switch("blue"),
        ("live", "green"): lambda: live_switch("green"),
        # The edge's figures per colour and route (lua/edge_metrics.lua), as JSON: what the canary reads.
        ("metrics",): lambda: control_print("GET", "/edge/metrics"),
    }
    command = commands.get(tuple(argv[1:]))
    if command is not None:
        return command()
    if argv[1:2] == ["canary"] and len(argv) > 2:
        return canary_set(argv[2:])
    if len(argv) > 1:
        usage = (
            "usage: upstream_watcher.py [apply-config < nginx.conf | state | health | live blue|green"
            " | canary PERCENT [VALUE ...] | metrics]"
        )
        print(usage, file=sys.stderr)
        return 64
    return run(settings)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
