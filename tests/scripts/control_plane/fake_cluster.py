"""The lab cluster in memory: this machine's engine (containers, a network, volumes) and each node's own engine
(`docker --host unix://.../node-N/docker.sock`: its dockerd, its swarm state, the manager's node table), answering
the adapter in the docker CLI's JSON shapes; and this machine's other programs (build-images.sh --cluster,
openssl, curl, install, rm) acting on a temporary directory. Both record every call."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from scripts.control_plane.cli import main
from scripts.control_plane.commands import cluster as cluster_command
from scripts.control_plane.commands.cluster import ClusterPaths
from scripts.control_plane.docker import Completed, Output
from tests.scripts.control_plane.fake_swarm import FakeClock, Run

Json = dict[str, Any]
TOKEN = "SWMTKN-1-secret-worker-token"  # noqa: S105 (a made-up join token)
NODE_IMAGE = "partscat/node:abc1234"
REGISTRY_IMAGE = "partscat/registry:abc1234"
SOCKET = re.compile(r"^unix://.*/node-([0-9]+)/docker\.sock$")


def _ok(obj: object = None, text: str = "") -> Completed:
    return Completed(0, json.dumps(obj) + "\n" if obj is not None else text, "")


def _fail(message: str, stdout: str = "") -> Completed:
    return Completed(1, stdout, f"Error: {message}\n")


@dataclass
class Engine:
    """One node's dockerd: its swarm membership survives a re-created container (it lives on the volume)."""

    state: str = "inactive"
    node_id: str = ""
    manager: bool = False
    # False: the container runs but its dockerd never answers.
    answers: bool = True


@dataclass
class FakeCluster:
    host_up: bool = True
    containers: dict[str, Json] = field(default_factory=dict)
    networks: dict[str, list[str]] = field(default_factory=dict)
    volumes: set[str] = field(default_factory=set)
    engines: dict[int, Engine] = field(default_factory=lambda: {n: Engine() for n in (1, 2, 3)})
    # The manager's node table: id -> hostname, state, availability, labels.
    table: dict[str, Json] = field(default_factory=dict)
    calls: list[tuple[str, ...]] = field(default_factory=list)
    envs: list[Mapping[str, str] | None] = field(default_factory=list)
    timeouts: list[float | None] = field(default_factory=list)
    ids: int = 0

    def __call__(
        self,
        argv: Sequence[str],
        *,
        stdin_text: str | None = None,
        stdin_path: Path | None = None,
        output: Output = Output.CAPTURE,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Completed:
        assert argv[0] == "docker", argv
        self.calls.append(tuple(argv))
        self.envs.append(env)
        self.timeouts.append(timeout)
        args = list(argv[1:])
        if args[0] == "--host":
            match = SOCKET.match(args[1])
            assert match, args
            return self._node(int(match.group(1)), args[2:])
        if not self.host_up:
            return _fail("Cannot connect to the Docker daemon")
        return self._host(args)

    # --- what a test looks at ---

    def changes(self) -> list[str]:
        reads = ("inspect", "ls", "ps", "logs", "version", "info", "join-token")
        return [" ".join(call[1:]) for call in self.calls if not any(word in call for word in reads)]

    def running(self, name: str) -> bool:
        return self.containers.get(name, {}).get("State") == "running"

    def labels_of(self, n: int) -> dict[str, str]:
        return dict(self.table[self.engines[n].node_id]["labels"])

    def new_id(self, prefix: str) -> str:
        self.ids += 1
        return f"{prefix}{self.ids}"

    # --- this machine's engine ---

    def _host(self, args: list[str]) -> Completed:  # noqa: PLR0911, PLR0912 (one branch a command)
        verb = args[0]
        if verb == "info":
            return _ok({"NodeID": "here", "LocalNodeState": "active", "ControlAvailable": True})
        if args[:2] == ["container", "inspect"]:
            found = [self._inspect(name) for name in args[2:] if name in self.containers]
            return Completed(0 if len(found) == len(args) - 2 else 1, json.dumps(found), "")
        if args[:2] == ["network", "inspect"]:
            if args[2] not in self.networks:
                return _fail(f"network {args[2]} not found", "[]")
            subnets = [{"Subnet": subnet} for subnet in self.networks[args[2]]]
            return _ok([{"Name": args[2], "Id": "net1", "Driver": "bridge", "IPAM": {"Config": subnets}}])
        if args[:2] == ["network", "create"]:
            self.networks[args[-1]] = [args[args.index("--subnet") + 1]]
            return _ok(text="net1\n")
        if args[:2] == ["network", "rm"]:
            del self.networks[args[2]]
            return _ok(text="")
        if args[:2] == ["volume", "inspect"]:
            return _ok([{"Name": args[2], "Driver": "local"}]) if args[2] in self.volumes else _fail("no such volume")
        if args[:2] == ["volume", "rm"]:
            self.volumes.discard(args[2])
            if args[2].startswith("partscat-node-"):
                self.engines[int(args[2].split("-")[2])] = Engine()
            return _ok(text="")
        if verb == "run":
            return self._run(args[1:])
        if verb in ("start", "unpause"):
            self.containers[args[1]]["State"] = "running"
            return _ok(text=f"{args[1]}\n")
        if verb == "stop":
            for name in args[3:]:
                self.containers[name]["State"] = "exited"
            return _ok(text="")
        if verb == "rm":
            for name in args[2:]:
                del self.containers[name]
            return _ok(text="")
        if verb == "ps":
            rows = [
                {"Names": name, "Status": "Up 1 minute" if c["State"] == "running" else "Exited (255)", "Ports": ""}
                for name, c in self.containers.items()
            ]
            return _ok(text="".join(json.dumps(row) + "\n" for row in rows))
        if verb == "logs":
            return Completed(0, f"{args[-1]}: last words\n", "")
        raise AssertionError(f"unexpected docker {args}")

    def _inspect(self, name: str) -> Json:
        container = self.containers[name]
        return {
            "Id": f"id-{name}",
            "Name": f"/{name}",
            "State": {"Status": container["State"]},
            "Config": {"Image": container["Image"], "Labels": container["Labels"]},
        }

    def _run(self, args: list[str]) -> Completed:
        assert args[0] == "--detach" and args[1] == "--name", args
        name = args[2]
        assert name not in self.containers, f"{name} exists"
        labels = dict(args[index + 1].split("=", 1) for index, arg in enumerate(args) if arg == "--label")
        volumes = [args[index + 1].split(":")[0] for index, arg in enumerate(args) if arg == "--volume"]
        self.volumes.update(volume for volume in volumes if not volume.startswith("/"))
        self.containers[name] = {"State": "running", "Image": args[-1], "Labels": labels, "Args": args[3:]}
        return _ok(text=f"id-{name}\n")

    # --- a node's own engine ---

    def _node(self, n: int, args: list[str]) -> Completed:  # noqa: PLR0911 (one branch a command)
        engine = self.engines[n]
        if not self.running(f"partscat-node-{n}") or not engine.answers:
            return _fail(f"Cannot connect to the Docker daemon at node-{n}")
        if args[0] == "version":
            return _ok({"Version": "20.10.24+dfsg1"})
        if args[0] == "info":
            control = engine.manager and engine.state == "active"
            return _ok({"NodeID": engine.node_id, "LocalNodeState": engine.state, "ControlAvailable": control})
        if args[:2] == ["swarm", "init"]:
            engine.state, engine.manager, engine.node_id = "active", True, self.new_id("mgr")
            self.table[engine.node_id] = {"hostname": f"partscat-node-{n}", "availability": "active", "labels": {}}
            return _ok(text="Swarm initialized\n")
        if args[:2] == ["swarm", "join-token"]:
            assert args[2:] == ["--quiet", "worker"], args
            return _ok(text=f"{TOKEN}\n") if engine.manager else _fail("This node is not a swarm manager.")
        if args[:2] == ["swarm", "join"]:
            assert args[args.index("--token") + 1] == TOKEN
            assert args[-1] == "10.231.0.11:2377"
            engine.state, engine.node_id = "active", self.new_id("w")
            self.table[engine.node_id] = {"hostname": f"partscat-node-{n}", "availability": "active", "labels": {}}
            return _ok(text="This node joined a swarm as a worker.\n")
        if args[:2] == ["swarm", "leave"]:
            engine.state, engine.node_id, engine.manager = "inactive", "", False
            return _ok(text="Node left the swarm.\n")
        assert engine.manager, f"not a manager: {args}"
        return self._manager(args)

    def _manager(self, args: list[str]) -> Completed:
        if args[:2] == ["node", "inspect"]:
            found = [self._node_json(node_id) for node_id in args[2:] if node_id in self.table]
            return Completed(0 if len(found) == len(args) - 2 else 1, json.dumps(found), "")
        if args[:2] == ["node", "ls"]:
            rows = [
                {"ID": node_id, "Hostname": row["hostname"], "Status": "Ready", "Availability": "Active"}
                for node_id, row in self.table.items()
            ]
            return _ok(text="".join(json.dumps(row) + "\n" for row in rows))
        if args[:2] == ["node", "rm"]:
            del self.table[args[-1]]
            return _ok(text="")
        if args[:3] == ["node", "update", "--availability"]:
            self.table[args[-1]]["availability"] = args[3]
            return _ok(text="")
        if args[:3] == ["node", "update", "--label-add"]:
            key, value = args[3].split("=", 1)
            self.table[args[-1]]["labels"][key] = value
            return _ok(text="")
        raise AssertionError(f"unexpected docker (manager) {args}")

    def _node_json(self, node_id: str) -> Json:
        row = self.table[node_id]
        return {
            "ID": node_id,
            "Spec": {"Labels": dict(row["labels"]), "Availability": row["availability"]},
            "Description": {"Hostname": row["hostname"]},
            "Status": {"State": row.get("state", "ready")},
        }

    # --- arrangements ---

    def stale_node(self, hostname: str, availability: str = "active") -> str:
        node_id = self.new_id("old")
        self.table[node_id] = {"hostname": hostname, "availability": availability, "labels": {}, "state": "down"}
        return node_id


@dataclass
class FakeHost:
    """This machine's programs: build-images.sh --cluster writes images.env; openssl writes and judges files;
    curl asks the registry (up when its container runs); install and rm act on the files."""

    cluster: FakeCluster
    cluster_dir: Path
    calls: list[tuple[str, ...]] = field(default_factory=list)
    stdin: list[str | None] = field(default_factory=list)
    # What openssl says of the registry's certificate.
    verifies: bool = True
    names: str = "X509v3 Subject Alternative Name:\n    DNS:registry.partscat.test, IP Address:127.0.0.1\n"
    build_code: int = 0
    issued: int = 0

    def __call__(
        self,
        argv: Sequence[str],
        *,
        stdin_text: str | None = None,
        stdin_path: Path | None = None,
        output: Output = Output.CAPTURE,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Completed:
        args = list(argv)
        self.calls.append(tuple(args))
        self.stdin.append(stdin_text)
        if args[0] == "bash":
            assert args[1].endswith("scripts/build-images.sh") and args[2:] == ["--cluster"], args
            if self.build_code == 0:
                self.cluster_dir.mkdir(parents=True, exist_ok=True)
                text = f"# Written by build-images.sh\nNODE_IMAGE={NODE_IMAGE}\nREGISTRY_IMAGE={REGISTRY_IMAGE}\n"
                (self.cluster_dir / "images.env").write_text(text)
            return Completed(self.build_code)
        if args[0] == "openssl":
            return self._openssl(args[1:])
        if args[0] == "curl":
            return Completed(0, '{"repositories":[]}', "") if self.cluster.running("partscat-registry") else (
                Completed(7, "", "curl: (7) Failed to connect to registry.partscat.test port 5443")
            )  # fmt: skip
        if args[0] == "install":
            Path(args[-1]).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(args[-2], args[-1])
            return Completed(0)
        if args[:2] == ["rm", "-rf"]:
            path = Path(args[2])
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
            return Completed(0)
        raise AssertionError(f"unexpected program {args}")

    def _openssl(self, args: list[str]) -> Completed:  # noqa: PLR0911 (one branch a command)
        def value(flag: str) -> Path:
            return Path(args[args.index(flag) + 1])

        if args[:2] == ["req", "-x509"]:
            value("-keyout").write_text("ca key\n")
            value("-out").write_text("ca certificate\n")
            return Completed(0)
        if args[:2] == ["req", "-new"]:
            value("-keyout").write_text("registry key\n")
            value("-out").write_text("csr\n")
            return Completed(0)
        if args[:2] == ["x509", "-req"]:
            self.issued += 1
            value("-out").write_text(f"registry certificate {self.issued}\n")
            return Completed(0)
        if args[0] == "verify":
            return Completed(0 if self.verifies else 2, "registry.crt: OK\n" if self.verifies else "", "")
        if "-checkend" in args:
            return Completed(0, "Certificate will not expire\n")
        if "-pubkey" in args or args[0] == "pkey":
            return Completed(0, "-----BEGIN PUBLIC KEY-----\nsame\n")
        if "-ext" in args:
            return Completed(0, self.names)
        raise AssertionError(f"unexpected openssl {args}")


@dataclass
class Lab:
    """A cluster in memory, this machine's programs, and where the cluster's files go (under tmp_path)."""

    docker: FakeCluster
    host: FakeHost
    paths: ClusterPaths
    root: Path
    chowned: list[tuple[str, int, int]]

    def run(self, *args: str, environ: Mapping[str, str] | None = None, clock: FakeClock | None = None) -> Run:
        err, out = io.StringIO(), io.StringIO()
        code = main(
            ["cluster", *args],
            environ={"STACK_NAME": "partscat", **(environ or {})},
            repo_root=self.root,
            runner=self.docker,
            programs=self.host,
            clock=clock or FakeClock(),
            err=err,
            out=out,
        )
        return Run(code, err.getvalue(), out.getvalue())

    def hosts(self) -> str:
        return self.paths.hosts_file.read_text()


def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Lab:
    root = tmp_path / "repo"
    (root / ".cache").mkdir(parents=True)
    paths = ClusterPaths(
        cluster_dir=root / ".cache" / "cluster",
        hosts_file=tmp_path / "hosts",
        certs_d=tmp_path / "certs.d" / "registry.partscat.test:5443",
        socket_root=tmp_path / "run",
    )
    paths.hosts_file.write_text("127.0.0.1\tlocalhost\n")
    docker = FakeCluster()
    chowned: list[tuple[str, int, int]] = []
    monkeypatch.setattr(cluster_command, "default_paths", lambda _ctx: paths)
    monkeypatch.setattr(os, "chown", lambda path, uid, gid: chowned.append((str(path), uid, gid)))
    return Lab(docker, FakeHost(docker, paths.cluster_dir), paths, root, chowned)
