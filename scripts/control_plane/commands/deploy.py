"""deploy [--new-database] (scripts/deploy.sh with scripts/postgres-node.sh): the PostgreSQL node label,
an nginx from before the socket holder unpublished, the secrets, HTTPS if asked, `docker stack deploy`,
every service on the image this deploy asks for, then wait until the stack converged healthy (non-zero on
a rollback, a pause or a timeout).

--new-database: no node carries the partscat.postgres label and this is not a first deploy; label this node
anyway, and let PostgreSQL start here with whatever this node's volume holds (nothing: an empty database).
"""

from __future__ import annotations

import os
import secrets
import shutil
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from scripts.control_plane.commands.task_report import stack_task_report
from scripts.control_plane.context import Context
from scripts.control_plane.decisions import colours, edge, postgres_node
from scripts.control_plane.decisions import secrets as stack_secrets
from scripts.control_plane.decisions.convergence import SERVICE_IMAGE_VARIABLES, image_plan
from scripts.control_plane.decisions.images import IMAGE_VARIABLES
from scripts.control_plane.decisions.postgres_node import Keep, Label
from scripts.control_plane.records import EventKind, Node, SwarmInfo
from scripts.control_plane.runbook import Failure
from scripts.control_plane.waits import Watch, wait_stack_converged

USAGE = "usage: deploy.sh [--new-database]"
RANDOM_ALPHABET = string.ascii_letters + string.digits
# stack.images.yml sets every service's image from the *_IMAGE variables below, over stack.yml's REGISTRY/TAG.
COMPOSE_FILES = ("stack.yml", "stack.images.yml")
EDGE_NODE_LABEL = "partscat.edge"


def arguments_parse(args: Sequence[str]) -> bool:
    """Whether --new-database was given; anything else is a usage error."""
    new_database = False
    for arg in args:
        if arg != "--new-database":
            raise Failure(USAGE)
        new_database = True
    return new_database


def run(ctx: Context, args: Sequence[str]) -> None:
    deploy(ctx, new_database=arguments_parse(args))


def random_value() -> str:
    """40 random alphanumerics: strong, and safe inside a postgres:// URL without escaping."""
    return "".join(secrets.choice(RANDOM_ALPHABET) for _ in range(40))


def deploy(ctx: Context, *, new_database: bool) -> None:
    info = ctx.require_docker()
    images = ctx.images()
    ctx.verdict.details["new_database"] = new_database
    if ctx.settings.registry:
        with ctx.timer.phase("registry"):
            registry_check(ctx, images)
    # The label first: creating the secrets would make a first deploy look like a later one.
    nodes = ctx.docker.nodes(ctx.docker.node_ids())
    with ctx.timer.phase("postgres_node"):
        postgres_node_ensure(ctx, info, nodes, new_database=new_database)
    with ctx.timer.phase("edge_nodes"):
        edge_nodes_ensure(ctx, info, nodes)
    with ctx.timer.phase("edge_ports"):
        published_edge_ports_release(ctx)
    with ctx.timer.phase("secrets"):
        secrets_ensure(ctx)
    with ctx.timer.phase("tls"):
        tls = tls_ensure(ctx)
    variables = {
        **images,
        **colour_variables(ctx, images),
        **tls.variables,
        # stack.yml names its secrets ${STACK_NAME}_*; the database and its roles (postgres-roles.sql).
        "STACK_NAME": ctx.stack,
        # stack.yml's own image names; stack.images.yml overrides each of them (images built here need no registry).
        "REGISTRY": ctx.settings.registry or "local",
        "TAG": ctx.settings.tag or "see-stack.images.yml",
        "HTTP_PORT": str(ctx.settings.http_port),
        **stack_secrets.DATABASE_VARIABLES,
    }
    ctx.log(f"deploying stack {ctx.stack}: {' '.join(f'{name}={images[name]}' for name in IMAGE_VARIABLES)}")
    if ctx.dry_run:
        shown = {name: value for name, value in variables.items() if name not in images}
        ctx.log(f"dry run: stack.yml's variables: {' '.join(f'{name}={value}' for name, value in shown.items())}")
    since = int(ctx.clock.time())
    watch = Watch(ctx)
    watch.start()
    with ctx.timer.phase("stack_deploy"):
        # After colour_variables read the blue-green state from the nginx service's labels.
        replicated_nginx_remove(ctx)
        ctx.docker.stack_deploy(
            ctx.stack,
            tls.compose_files,
            env={**ctx.environ, **variables},
            cwd=ctx.settings.repo_root,
            from_registry=bool(ctx.settings.registry),
        )
        ctx.events.emit(EventKind.STACK_DEPLOYED, compose_files=" ".join(tls.compose_files))
    with ctx.timer.phase("images"):
        images_enforce(ctx, variables)
    if ctx.dry_run:
        ctx.log(f"dry run: not waiting for the services of {ctx.stack} to converge")
        ctx.verdict.outcome = "dry_run"
        return
    with ctx.timer.phase("converge"):
        problem = wait_stack_converged(ctx, since=since, timeout=ctx.settings.deploy_timeout, watch=watch)
    if problem is not None:
        ctx.log(problem)
        stack_task_report(ctx)
        ctx.verdict.outcome = "update_failed" if problem.startswith("update failed") else "timed_out"
        raise Failure(problem, logged=True)
    ctx.log(f"all services of {ctx.stack} converged and healthy")
    ctx.events.emit(EventKind.STACK_CONVERGED)
    ctx.verdict.outcome = "converged"


def postgres_node_ensure(ctx: Context, info: SwarmInfo, swarm_nodes: Sequence[Node], *, new_database: bool) -> None:
    """Gather the facts from Docker, decide (decisions/postgres_node.py), and label this node or stop."""
    label = postgres_node.POSTGRES_NODE_LABEL
    nodes = {node.id: node for node in swarm_nodes}
    labelled = [node.id for node in nodes.values() if node.labels.get(label) == "true"]
    volume_here = ctx.docker.volume(f"{ctx.stack}_pgdata") is not None
    decision = postgres_node.postgres_node_decision(
        labelled=labelled,
        stack_has_services=bool(ctx.docker.stack_service_rows(ctx.stack)),
        volume_here=volume_here,
        database_secrets=stack_secrets.database_secrets_exist(ctx.stack, ctx.docker.secret_names()),
        new_database=new_database,
    )
    if isinstance(decision, Keep):
        node = nodes.get(decision.node)
        where = f"{node.hostname}, {node.state}" if node is not None else "?"
        ctx.log(f"node {decision.node} holds the {label} label ({where})")
    elif isinstance(decision, Label):
        ctx.log(postgres_node.label_message(decision, stack=ctx.stack, volume_here=volume_here))
        ctx.docker.node_label_add(info.node_id, f"{label}=true")
    else:
        lines, reason = postgres_node.refusal_lines(decision)
        for line in lines:
            ctx.log(line)
        ctx.verdict.outcome = "refused"
        raise Failure(reason)
    ctx.verdict.details["postgres_node"] = type(decision).__name__.lower()


def registry_check(ctx: Context, images: Mapping[str, str]) -> None:
    """Every image of the release, pulled by the manager before the swarm is asked for anything: a registry that
    is down, or a tag never pushed, stops the deploy here and nothing that runs is touched."""
    problems = [problem for image in dict.fromkeys(images.values()) if (problem := ctx.image_problem(image))]
    if problems:
        ctx.verdict.outcome = "refused"
        for problem in problems:
            ctx.log(problem)
        raise Failure(f"{len(problems)} image(s) of the release cannot be pulled; nothing was changed")
    ctx.log(f"the registry {ctx.settings.registry} gives every image of {ctx.settings.tag}")


def edge_nodes_ensure(ctx: Context, info: SwarmInfo, nodes: Sequence[Node]) -> None:
    """Nginx and the socket holder run on the nodes labelled partscat.edge=true; with none labelled (one node,
    or a first deploy), this node becomes the edge. A cluster labels its edge nodes itself (cluster.sh)."""
    edges = sorted(node.hostname for node in nodes if node.labels.get(EDGE_NODE_LABEL) == "true")
    if edges:
        ctx.log(f"edge node(s): {', '.join(edges)}")
        return
    ctx.log(f"no node carries {EDGE_NODE_LABEL}=true: this node becomes the edge")
    ctx.docker.node_label_add(info.node_id, f"{EDGE_NODE_LABEL}=true")


def replicated_nginx_remove(ctx: Context) -> None:
    """Nginx became global (one per edge node), and Swarm cannot change a service's mode: a stack from before
    loses its nginx service once, and the deploy makes it again. The socket holder keeps the port meanwhile, so
    connections wait in its queue for the new Nginx instead of being refused."""
    nginx = ctx.docker.service(ctx.settings.nginx_service)
    if nginx is None or nginx.replicas is None:
        return
    ctx.log("nginx is a replicated service (a stack from before the cluster): removing it once to make it global")
    ctx.docker.service_remove(ctx.settings.nginx_service)


def published_edge_ports_release(ctx: Context) -> None:
    nginx = ctx.settings.nginx_service
    ports = edge.published_ports_to_release(ctx.docker.service(nginx))
    if not ports:
        return
    listed = " ".join(str(port) for port in ports)
    ctx.log(
        f"nginx publishes port(s) {listed} itself (a stack from before the socket holder): "
        "unpublishing them for the holder"
    )
    for port in ports:
        ctx.docker.service_publish_rm(nginx, port)


def secret_create(ctx: Context, name: str, *, value: str | None = None, file: Path | None = None) -> None:
    if ctx.docker.secret_create(name, stack=ctx.stack, value=value, file=file):
        if not ctx.dry_run:
            ctx.log(f"created secret {name}" + (f" from {file}" if file is not None else ""))
        return
    # A concurrent deploy may have created it a moment ago; anything else is an error.
    if not ctx.docker.secret_exists(name):
        raise Failure(f"could not create secret {name}")
    ctx.log(f"secret {name} was created concurrently")


def secrets_ensure(ctx: Context) -> None:
    """Create the stack's missing secrets from random values (decisions/secrets.py); a half-made pair stops
    the deploy before anything is created."""
    plan = stack_secrets.secret_plan(ctx.stack, ctx.docker.secret_names())
    if plan.refusal is not None:
        ctx.verdict.outcome = "refused"
        raise Failure(plan.refusal)
    for pair, present in plan.pairs:
        if present:
            ctx.log(f"secrets {pair.password_secret}, {pair.url_secret} exist")
            continue
        # PostgreSQL applies the passwords on every start, so a volume older than its secrets is fine.
        password = random_value()
        secret_create(ctx, pair.password_secret, value=password)
        secret_create(ctx, pair.url_secret, value=stack_secrets.database_url(pair.role, password))
    for name, present in plan.random:
        if present:
            ctx.log(f"secret {name} exists")
        else:
            secret_create(ctx, name, value=random_value() + random_value())


@dataclass(frozen=True)
class Tls:
    compose_files: list[str]
    variables: dict[str, str]


def tls_pair_check(ctx: Context, cert: str, key: str, cert_path: Path, key_path: Path) -> None:
    """Refuse a pair Nginx would refuse, before the deploy replaces a running Nginx task by one that cannot start."""
    if shutil.which("openssl") is None:
        ctx.log("openssl not found: not checking that TLS_KEY_FILE is the key of TLS_CERT_FILE")
        return
    cert_public = ctx.programs(["openssl", "x509", "-noout", "-pubkey", "-in", str(cert_path)])
    if cert_public.returncode != 0:
        raise Failure(f"TLS_CERT_FILE {cert} is not a PEM certificate")
    # An empty passphrase: a key that needs one fails here instead of prompting (Nginx could not read it either).
    key_public = ctx.programs(["openssl", "pkey", "-pubout", "-passin", "pass:", "-in", str(key_path)])
    if key_public.returncode != 0:
        raise Failure(f"TLS_KEY_FILE {key} is not an unencrypted PEM private key")
    problem = edge.tls_pair_problem(cert, key, cert_public=cert_public.stdout, key_public=key_public.stdout)
    if problem is not None:
        raise Failure(problem)


def tls_ensure(ctx: Context) -> Tls:
    """HTTPS is optional: TLS_CERT_FILE and TLS_KEY_FILE become secrets named by the certificate's hash and
    stack.tls.yml adds the listener; without them the certificate the nginx service has is kept;
    TLS_DISABLE=1 removes the listener. A stack that never had a certificate gets stack.yml alone."""
    plain = Tls(list(COMPOSE_FILES), {})
    settings = ctx.settings
    if settings.tls_disable:
        ctx.log("TLS_DISABLE=1: plain HTTP only")
        return plain
    cert, key = settings.tls_cert_file, settings.tls_key_file
    if not cert and not key:
        kept = edge.tls_secrets_in_use(ctx.docker.service(settings.nginx_service))
        if kept is None:
            return plain
        ctx.log(f"HTTPS: keeping the certificate the nginx service uses ({kept[0]})")
    else:
        problem = edge.tls_files_problem(cert, key)
        if problem is not None:
            raise Failure(problem)
        # Relative to the checkout, as deploy.sh read them after its cd.
        cert_path, key_path = (settings.repo_root / cert, settings.repo_root / key)
        for given, path in ((cert, cert_path), (key, key_path)):
            if not path.is_file() or not os.access(path, os.R_OK):
                raise Failure(f"{given} (TLS_CERT_FILE or TLS_KEY_FILE) is not a readable file")
        tls_pair_check(ctx, cert, key, cert_path, key_path)
        kept = edge.tls_secret_names(ctx.stack, cert_path.read_bytes())
        for name, path in zip(kept, (cert_path, key_path), strict=True):
            if not ctx.docker.secret_exists(name):
                secret_create(ctx, name, file=path)
        ctx.log(f"HTTPS: certificate {cert} as {kept[0]}")
    ctx.verdict.details["tls_cert_secret"] = kept[0]
    return Tls([*COMPOSE_FILES, "stack.tls.yml"], {"TLS_CERT_SECRET": kept[0], "TLS_KEY_SECRET": kept[1]})


def colour_variables(ctx: Context, images: Mapping[str, str]) -> dict[str, str]:
    """The blue-green state read from the swarm, so a re-deploy disturbs no release in progress: the live
    colour takes the images just built, the idle colour keeps its image and replicas."""
    state = ctx.release_state()
    idle_names = [colours.app_service(ctx.stack, app, state.idle) for app in colours.APPS]
    variables = colours.deploy_colour_variables(
        stack=ctx.stack,
        state=state,
        built=images,
        configured_replicas=ctx.settings.app_replicas,
        idle_services=ctx.docker.services(idle_names),
    )
    idle = state.idle.upper()
    ctx.log(
        f"live colour {state.live}; idle colour {state.idle} keeps "
        f"{variables[f'DJANGO_{idle}_REPLICAS']} + {variables[f'FASTAPI_{idle}_REPLICAS']} replicas"
    )
    ctx.verdict.details.update({"live_colour": state.live, "candidate_colour": state.candidate})
    return variables


def images_enforce(ctx: Context, variables: Mapping[str, str]) -> None:
    """Put every service on the image this deploy asked for (a rolling update where one differs)."""
    names = [f"{ctx.stack}_{name}" for name, _variable in SERVICE_IMAGE_VARIABLES]
    plan = image_plan(ctx.stack, variables, ctx.docker.services(names))
    if plan.missing:
        if not ctx.dry_run:
            raise Failure(f"no service {', '.join(plan.missing)} after docker stack deploy")
        ctx.log(f"dry run: docker stack deploy would create {', '.join(plan.missing)}")
    for service, image in plan.updates:
        ctx.docker.service_image_set(service, image)
