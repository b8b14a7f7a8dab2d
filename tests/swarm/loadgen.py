"""Load that behaves like real clients, and a count of what those clients saw.

Half the clients keep one keep-alive connection and reuse it for every request (requests.Session, browsers,
Go and every connection pool do this); the other half open a new connection per request. Together they send
GETs and POSTs to both searches and the Django pages, including a POST that Nginx never retries. Nobody
retries: a connection closed without a response, a reset, a timeout or an unexpected status is a failure.

Used by the Swarm suite and by scripts/zero-downtime-report.sh (through the same tests).
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

KEEPALIVE, NEW_CONNECTION = "keep-alive", "new connection"
# Scheduling priority of the client threads (lower is more favoured); the servers keep the default 0.
CLIENT_NICE = -10
# The outage a test must be able to see: load is dense enough that requests start in every window this long.
OUTAGE_MS = 100


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    body: object | None
    expect: int


# What users send: both searches, the Django pages, and a POST that Nginx never retries (Django answers 405).
TRAFFIC: tuple[Call, ...] = (
    Call("GET", "/mark/", None, 200),
    Call("POST", "/search/part/", {"part_name": "бамп"}, 200),
    Call("POST", "/fastapi/search/part/", {"params": {"is_new_part": True}, "page": 2}, 200),
    Call("GET", "/model/", None, 200),
    Call("POST", "/mark/", {"name": "not retried"}, 405),
)


@dataclass(frozen=True)
class Outcome:
    client: int
    kind: str
    started: float
    finished: float
    call: Call
    status: int | None
    upstream: str
    error: str | None = None
    # The release that answered (X-Release: <colour>-<tag>), when it did, and the user who asked (users > 0).
    release: str = ""
    user: int = -1

    @property
    def failed(self) -> bool:
        return self.status != self.call.expect

    @property
    def latency_ms(self) -> float:
        return (self.finished - self.started) * 1000

    def describe(self) -> str:
        what = f"status {self.status}" if self.error is None else self.error
        return f"{self.kind} {self.call.method} {self.call.path} -> {what} (upstream {self.upstream or '-'})"


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@dataclass(frozen=True)
class Window:
    """Outcomes of the requests that started between two moments, and what they tell."""

    name: str
    start: float
    seconds: float
    outcomes: list[Outcome]

    def failures(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.failed]

    def by_kind(self, kind: str) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if outcome.kind == kind]

    @property
    def rate(self) -> float:
        return len(self.outcomes) / self.seconds if self.seconds > 0 else 0.0

    @property
    def max_gap_ms(self) -> float:
        """The longest stretch in which no request started: an outage shorter than this could go unseen."""
        starts = sorted(outcome.started for outcome in self.outcomes)
        return max((b - a for a, b in itertools.pairwise(starts)), default=float("inf")) * 1000

    def outage_detection_share(self, outage_ms: float = OUTAGE_MS) -> float:
        """Share of moments at which an outage of `outage_ms` starting then would have met some request.

        An outage goes unseen only if it fits inside a stretch in which no request was in flight and none
        started: the clients were idle. A stretch in which every client waits on a slow answer is not idle;
        it shows as latency (and as `max_gap_ms`), not as thin load.
        """
        if self.seconds <= 0 or not self.outcomes:
            return 0.0
        end = self.start + self.seconds
        unseen, covered_until = 0.0, self.start
        for outcome in sorted(self.outcomes, key=lambda o: o.started):
            if outcome.started > covered_until:
                unseen += max(0.0, outcome.started - covered_until - outage_ms / 1000)
            covered_until = max(covered_until, outcome.finished)
        unseen += max(0.0, end - covered_until - outage_ms / 1000)
        return 1 - unseen / self.seconds

    def latency_ms(self, share: float) -> float:
        return percentile([outcome.latency_ms for outcome in self.outcomes if not outcome.failed], share)

    def summary(self) -> str:
        failed = self.failures()
        shown = "; ".join(outcome.describe() for outcome in failed[:8])
        return (
            f"{self.name}: {len(self.outcomes)} requests in {self.seconds:.1f}s ({self.rate:.0f}/s, largest gap "
            f"{self.max_gap_ms:.0f} ms, {OUTAGE_MS} ms outage seen {self.outage_detection_share():.2%}), "
            f"{len(failed)} failed{': ' + shown if shown else ''}"
        )


class AnswerCutShort(Exception):
    """The response's headers arrived (with the task that sent them), then its body broke off."""

    def __init__(self, upstream: str, error: Exception) -> None:
        super().__init__(f"answer from {upstream or '?'} cut short: {error!r}")
        self.upstream = upstream
        self.error = error


@dataclass
class LoadGenerator:
    """`clients` threads sending TRAFFIC through Nginx until stopped; every outcome is kept. With `edges`
    (host, port) pairs, client N goes through edge N modulo their number: clients that spread themselves over
    several edge nodes, as the cluster suite's do."""

    host: str
    port: int
    clients: int = 8
    edges: tuple[tuple[str, int], ...] = ()
    traffic: tuple[Call, ...] = TRAFFIC
    timeout: float = 30.0
    # Users of a canary release: with users > 0, every request carries the cookie partscat_user=user-<u>
    # (nginx/lua/edge.lua hashes it into the share); client n takes users n, n + clients, ... in turn, so a share
    # of a few percent still meets someone. Outcome.user says whose request it was.
    users: int = 0
    outcomes: list[Outcome] = field(default_factory=list)
    marks: dict[str, float] = field(default_factory=dict)
    # Wall clock minus monotonic clock, read as the load is made: a mark or an outcome's time plus this is epoch
    # seconds, the clock of the control plane's event log (the timelines, tests/swarm/timeline.py).
    epoch_offset: float = field(default_factory=lambda: time.time() - time.monotonic())
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _send(self, connection: http.client.HTTPConnection, call: Call, close: bool, user: int) -> tuple[int, str, str]:
        """(status, upstream task, release); raises AnswerCutShort when the body breaks off after the headers came."""
        headers = {"Connection": "close"} if close else {}
        if user >= 0:
            headers["Cookie"] = f"partscat_user=user-{user}"
        body = None
        if call.body is not None:
            body = json.dumps(call.body).encode()
            headers["Content-Type"] = "application/json"
        connection.request(call.method, call.path, body=body, headers=headers)
        response = connection.getresponse()
        upstream = (response.getheader("X-Upstream-Addr") or "").split(",")[-1].strip()
        try:
            response.read()
        except (OSError, http.client.HTTPException) as error:
            raise AnswerCutShort(upstream, error) from error
        return response.status, upstream, response.getheader("X-Release") or ""

    def _run(self, client: int) -> None:
        keepalive = client % 2 == 0
        kind = KEEPALIVE if keepalive else NEW_CONNECTION
        host, port = self.edges[client % len(self.edges)] if self.edges else (self.host, self.port)
        shared = http.client.HTTPConnection(host, port, timeout=self.timeout)
        index = client
        while not self._stop.is_set():
            call = self.traffic[index % len(self.traffic)]
            user = (client + self.clients * index) % self.users if self.users else -1
            index += 1
            connection = shared if keepalive else http.client.HTTPConnection(host, port, timeout=self.timeout)
            started = time.monotonic()
            try:
                status, upstream, release = self._send(connection, call, close=not keepalive, user=user)
                outcome = Outcome(
                    client, kind, started, time.monotonic(), call, status, upstream, release=release, user=user
                )
            except AnswerCutShort as cut:
                # The task died while its answer was on the way: Nginx had passed the headers on, so it could
                # not move the request elsewhere. Which task it was is known from those headers.
                connection.close()
                error_name = type(cut.error).__name__
                outcome = Outcome(
                    client, kind, started, time.monotonic(), call, None, cut.upstream, error_name, user=user
                )
            except (OSError, http.client.HTTPException) as error:
                # Closed without a response, reset, refused, timed out: the user saw an error. No retry.
                connection.close()
                outcome = Outcome(
                    client, kind, started, time.monotonic(), call, None, "", type(error).__name__, user=user
                )
            if not keepalive:
                connection.close()
            with self._lock:
                self.outcomes.append(outcome)
            if outcome.error is not None:
                # Refused connections come back at once: do not spin while the edge is away.
                self._stop.wait(0.01)
        shared.close()

    def __enter__(self) -> LoadGenerator:
        self.marks["start"] = time.monotonic()
        # The clients must not be what stalls: on 2 cores, tasks booting beside them starved this process for
        # 0.7 s once. Threads inherit the creating thread's nice value; raising priority needs root (CI is).
        previous: int | None = os.getpriority(os.PRIO_PROCESS, 0)
        try:
            os.setpriority(os.PRIO_PROCESS, 0, CLIENT_NICE)
        except PermissionError:
            previous = None
        for client in range(self.clients):
            thread = threading.Thread(target=self._run, args=(client,), daemon=True, name=f"load-{client}")
            thread.start()
            self._threads.append(thread)
        if previous is not None:
            os.setpriority(os.PRIO_PROCESS, 0, previous)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.timeout + 5)
        self.marks["end"] = time.monotonic()

    def mark(self, name: str) -> float:
        self.marks[name] = now = time.monotonic()
        return now

    def window(self, name: str, start: str, end: str) -> Window:
        """Requests that started between two marks."""
        low, high = self.marks[start], self.marks.get(end, time.monotonic())
        with self._lock:
            chosen = [outcome for outcome in self.outcomes if low <= outcome.started < high]
        return Window(name, low, high - low, chosen)

    def everything(self) -> Window:
        return self.window("whole run", "start", "end")

    def failures(self) -> list[Outcome]:
        return self.everything().failures()


# What a ConnectionProber counts, besides "ok".
REFUSED, RESET, CLOSED, TIMED_OUT = "refused", "reset", "closed without answer", "timeout"


@dataclass
class ConnectionProber:
    """A client that opens a new TCP connection every `interval` seconds and sends one GET on it, so a moment
    in which the port refuses or drops connections is met. Counts each outcome by kind: ok, refused, reset,
    closed without answer, timeout, or the HTTP status; connection errors are kept apart from HTTP failures.
    `path` is Nginx's fixed answer: the prober tests the edge, not the apps."""

    host: str
    port: int
    path: str = "/bench/fixed"
    interval: float = 0.005
    timeout: float = 10.0
    counts: Counter[str] = field(default_factory=Counter)
    failures: list[tuple[float, str]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _once(self) -> str:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            connection.request("GET", self.path, headers={"Connection": "close"})
            response = connection.getresponse()
            response.read()
        except ConnectionRefusedError:
            return REFUSED
        except ConnectionResetError:
            return RESET
        except (http.client.RemoteDisconnected, http.client.IncompleteRead):
            return CLOSED
        except TimeoutError:
            return TIMED_OUT
        except (OSError, http.client.HTTPException) as error:
            return type(error).__name__
        finally:
            connection.close()
        return "ok" if response.status == 200 else f"http {response.status}"

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            kind = self._once()
            self.counts[kind] += 1
            if kind != "ok":
                self.failures.append((time.monotonic(), kind))

    def __enter__(self) -> ConnectionProber:
        self._thread = threading.Thread(target=self._run, daemon=True, name="prober")
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout + 5)

    def describe(self) -> str:
        return ", ".join(f"{kind} {count}" for kind, count in self.counts.most_common())


def assert_no_request_failed(load: LoadGenerator, failures: list[Outcome] | None = None) -> Window:
    """No failure (or none among `failures`), and load dense enough that a 100 ms outage would have shown."""
    during = load.window("during the change", "change", "changed")
    # A 100 ms outage at 99% of the moments of the change would have met a request in flight or starting:
    # the clients were never idle long enough to miss one.
    assert during.outage_detection_share() >= 0.99, f"load too thin to see a {OUTAGE_MS} ms outage: {during.summary()}"
    failed = load.failures() if failures is None else failures
    assert failed == [], "; ".join(outcome.describe() for outcome in failed[:10]) + f" | {during.summary()}"
    return during
