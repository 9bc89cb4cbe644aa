"""The ``charter`` command: ``init`` and ``serve`` here, the rest in sub-commands."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from charter.cli import (
    agents,
    analytics,
    approvals,
    audit,
    compliance,
    decide,
    gateway,
    humans,
    policy,
    posture,
    reviews,
    secrets,
    tokens,
    webhooks,
)
from charter.cli.common import CommandGroup, Exit, err, fail, handled, out, parsing
from charter.cli.local import ConfigFile, DatabaseUrl, DataDir, local_settings
from charter.cli.tls import SslCertfile, SslKeyfile, check_tls_files
from charter.codes import ErrorCode
from charter.errors import CharterError, InvalidInput, StoreError, Unavailable
from charter.version import __version__

if TYPE_CHECKING:
    from charter.identity.credentials import IssuedToken
    from charter.settings import Settings
    from charter.storage.sql import SqlStore

__all__ = ["app", "main"]

app = typer.Typer(
    name="charter",
    help="Charter: identity governance for AI agents.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    cls=CommandGroup,
)
agents.app.command("investigate")(analytics.investigate)
approvals.app.command("stats")(analytics.stats)
app.add_typer(agents.app, name="agents")
app.add_typer(tokens.app, name="tokens")
app.add_typer(humans.app, name="humans")
app.add_typer(audit.app, name="audit")
app.add_typer(policy.app, name="policy")
app.add_typer(approvals.app, name="approvals")
app.add_typer(approvals.grants_app, name="grants")
app.add_typer(reviews.app, name="reviews")
app.add_typer(webhooks.app, name="webhooks")
app.add_typer(secrets.app, name="secrets")
app.add_typer(gateway.app, name="gateway")
app.add_typer(compliance.app, name="compliance")
app.command("decide")(decide.decide)
app.command("posture")(posture.posture)


def _version(value: bool) -> None:
    if value:
        out.print(f"charter {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Charter: identity governance for AI agents."""


@app.command()
def init(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    config: ConfigFile = None,
    demo: Annotated[bool, typer.Option("--demo", help="Also add demo humans and agents.")] = False,
    policy: Annotated[
        Path | None,
        typer.Option(
            help="Also apply this policy directory as the first revision.", show_default=False
        ),
    ] = None,
    admin_token_file: Annotated[
        Path | None,
        typer.Option(
            help="Also write the admin token to this file (mode 0600).", show_default=False
        ),
    ] = None,
    if_missing: Annotated[
        bool,
        typer.Option(
            "--if-missing", help="Do nothing (exit 0) if the store is already initialised."
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Create the store, the audit signing key and the first admin (its token is shown once)."""
    with handled():
        settings = local_settings(data_dir, database_url, config=config)
        if _already_initialised(settings, if_missing=if_missing, token_file=admin_token_file):
            return
        issued, revision = _create_store(settings, demo=demo, policy=policy)
        if admin_token_file is not None:
            _write_token_file(admin_token_file, issued.token)
    if as_json:
        _print_init_json(settings, issued, revision)
    else:
        _print_init_text(settings, issued, policy, revision, admin_token_file)


def _already_initialised(settings: Settings, *, if_missing: bool, token_file: Path | None) -> bool:
    """True to stop quietly (``--if-missing`` on an initialised store), saying where the
    admin token is; an error to stop loudly; False to go on."""
    if not settings.signing_key.exists():
        return False
    if if_missing:
        err.print(f"Charter is already initialised in {settings.data_dir}", markup=False)
        if token_file is not None and token_file.exists():
            err.print(f"The admin token from its first run is in {token_file}", markup=False)
        err.print(
            f"Lost it? 'charter admin-token --data-dir {settings.data_dir}' issues a new one",
            markup=False,
        )
        return True
    raise StoreError(
        f"Charter is already initialised ({settings.signing_key} exists)",
        code=ErrorCode.ALREADY_INITIALISED,
        help="use that store, or pick another --data-dir",
    )


def _create_store(
    settings: Settings, *, demo: bool, policy: Path | None
) -> tuple[IssuedToken, str | None]:
    """The signing key, the first admin, the demo data and the first policy revision: the
    admin's token and that revision (None without ``policy``)."""
    # The store and server stacks load only for the commands that use them: the
    # client commands stay quick to start.
    from charter.service import Services
    from charter.service.bootstrap import create_first_admin, seed_demo
    from charter.storage.keyfile import create_signing_key
    from charter.storage.sql import open_store

    if policy is not None:
        from charter.policy import Engine

        Engine.from_directory(policy)  # refuse a broken policy before creating anything
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    store = open_store(settings.store_url)
    try:
        services = Services.build(store, settings=settings)
        with store.read() as unit:
            if unit.humans.list(limit=1):
                raise StoreError(
                    "this database already has Charter data but no signing key was found",
                    code=ErrorCode.ALREADY_INITIALISED,
                    help="point CHARTER_SIGNING_KEY at its key",
                )
        key = create_signing_key(settings.signing_key)
        services = Services.build(store, settings=settings, signing_key=key)
        issued = create_first_admin(services)
        if demo:
            seed_demo(services)
        revision = None
        if policy is not None:
            from charter.policy.loader import read_files
            from charter.service import SYSTEM

            revision = services.policies.apply(SYSTEM, read_files(policy)).revision
        services.audit.checkpoint()
    finally:
        store.close()
    return issued, revision


def _write_token_file(path: Path, token: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")


def _print_init_json(settings: Settings, issued: IssuedToken, revision: str | None) -> None:
    body = {
        "admin_token": issued.token,
        "admin": "user:admin",
        "expires_at": issued.credential.expires_at.isoformat(timespec="seconds"),
        "data_dir": str(settings.data_dir),
        "policy_revision": revision,
    }
    sys.stdout.write(json.dumps(body) + "\n")


def _print_init_text(
    settings: Settings,
    issued: IssuedToken,
    policy: Path | None,
    revision: str | None,
    admin_token_file: Path | None,
) -> None:
    from sqlalchemy import make_url

    expires = issued.credential.expires_at.isoformat(timespec="seconds")
    shown_url = make_url(settings.store_url).render_as_string(hide_password=True)
    out.print(f"Charter initialised in {settings.data_dir} (store: {shown_url})", markup=False)
    out.print(
        f"Audit signing key: {settings.signing_key} (public key: {settings.public_key})",
        markup=False,
    )
    out.print(f"Admin token for user:admin, shown only now (expires {expires}):", markup=False)
    out.print(f"  {issued.token}", markup=False)
    if policy is not None:
        out.print(f"Policy {policy} applied as revision {revision}", markup=False)
    if admin_token_file is not None:
        out.print(
            f"(also saved to {admin_token_file}, mode 0600, for this local setup)", markup=False
        )


@app.command()
def serve(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    host: Annotated[
        str | None,
        typer.Option(
            envvar="CHARTER_HOST",
            show_default=False,
            help="Interface to listen on (default: 127.0.0.1).",
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            envvar="CHARTER_PORT", show_default=False, help="Port to listen on (default: 8080)."
        ),
    ] = None,
    config: ConfigFile = None,
    ssl_certfile: SslCertfile = None,
    ssl_keyfile: SslKeyfile = None,
    audit_shard: Annotated[
        str | None,
        typer.Option(
            "--audit-shard",
            envvar="CHARTER_AUDIT_SHARD",
            show_default=False,
            help="Append this server's audit records to their own shard of the log, so "
            "servers sharing one PostgreSQL database do not take turns (default: the "
            "one log; see docs/scaling.md).",
        ),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            envvar="CHARTER_WORKERS",
            min=1,
            max=64,
            help="Server processes sharing the port and the store, each with its own "
            "connections, group commit and background loops.",
        ),
    ] = 1,
) -> None:
    """Run the Charter server."""
    from charter.server.app import create_app, serve
    from charter.server.logs import configure_logs, operator_line
    from charter.service import Services
    from charter.settings import audit_shard_name
    from charter.storage.keyfile import key_finder, load_signing_key

    with handled():
        settings = local_settings(
            data_dir,
            database_url,
            config=config,
            host=host,
            port=port,
            ssl_certfile=ssl_certfile,
            ssl_keyfile=ssl_keyfile,
            audit_shard=None if audit_shard is None else audit_shard_name(audit_shard),
        )
    with _said(settings.log_format):
        check_tls_files(settings)
        key = load_signing_key(settings.signing_key)
        _refuse_a_stale_core()
    _refuse_a_busy_port(settings)
    with _said(settings.log_format):
        store = _open_retrying(settings)
    # After opening the store: migrations' chatter stays quiet.
    configure_logs(settings.log_format)
    if workers > 1:
        _serve_workers(settings, store, workers, config)
        return
    services = Services.build(store, settings=settings, signing_key=key)
    services.audit.find_keys_with(key_finder(settings.signing_key, key))
    application = create_app(services, settings, server_process=True)
    scheme = "https" if settings.ssl_certfile else "http"
    operator_line(
        f"Charter {__version__} serving on {scheme}://{settings.host}:{settings.port} "
        f"(store: {store.backend}); web console: {scheme}://{settings.host}:{settings.port}/ui",
        log_format=settings.log_format,
    )
    try:
        serve(application, settings)
    finally:
        store.close()


def _serve_workers(settings: Settings, store: SqlStore, workers: int, config: Path | None) -> None:
    """Serve with ``workers`` processes, each building its own app from the environment
    (charter.server.workers): the store is reachable (it was just opened), so say so and
    hand over."""
    from charter.server.app import serve
    from charter.server.logs import operator_line
    from charter.server.workers import FACTORY

    backend = store.backend
    store.close()
    # What the command line said, for the workers to read as the environment.
    os.environ["CHARTER_DATA_DIR"] = str(settings.data_dir.resolve())
    os.environ["CHARTER_DATABASE_URL"] = settings.store_url
    os.environ["CHARTER_SIGNING_KEY"] = str(settings.signing_key.resolve())
    os.environ["CHARTER_HOST"] = settings.host
    os.environ["CHARTER_PORT"] = str(settings.port)
    if config is not None:
        os.environ["CHARTER_CONFIG"] = str(config.resolve())
    if settings.audit_shard:
        # Every worker appends to this server's shard, taking turns on it as one server.
        os.environ["CHARTER_AUDIT_SHARD"] = settings.audit_shard
    scheme = "https" if settings.ssl_certfile else "http"
    operator_line(
        f"Charter {__version__} serving on {scheme}://{settings.host}:{settings.port} with "
        f"{workers} worker processes (store: {backend}); web console: "
        f"{scheme}://{settings.host}:{settings.port}/ui",
        log_format=settings.log_format,
    )
    serve(FACTORY, settings, workers=workers)


def _refuse_a_stale_core() -> None:
    """A compiled evaluator older than its source would decide by code no longer there
    (a fix pulled but not built): refused, with what to run."""
    from charter.policy.core import stale_modules

    stale = stale_modules()
    if stale:
        raise InvalidInput(
            f"the compiled core is older than its source ({', '.join(stale)}): the "
            "server would decide with code that is no longer there",
            code=ErrorCode.STALE_CORE,
            help="rebuild it: make (or pip install -e .), or delete the .so files beside "
            "those modules to run the pure-Python ones",
        )


@contextlib.contextmanager
def _said(log_format: str) -> Iterator[None]:
    """As ``handled``, the error written as an operator line (JSON in JSON mode)."""
    from charter.server.logs import operator_line

    try:
        yield
    except CharterError as error:
        if log_format != "json":
            raise fail(error) from None
        hint = f"; hint: {error.help}" if error.help else ""
        operator_line(
            f"charter serve: {error.message} [{error.code}]{hint}",
            log_format=log_format,
            level=logging.ERROR,
        )
        raise typer.Exit(Exit.ERROR) from None


def _refuse_a_busy_port(settings: Settings) -> None:
    """Exit 1 with one line if the settings' host and port cannot be listened on (another
    server has them), before anything says it is serving."""
    import socket

    from charter.server.logs import operator_line

    host, port = settings.host, settings.port
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror:
        return  # the server names what is wrong with the host
    with socket.socket(family, kind, proto) as probe:
        # As the server's own socket does: a port left in TIME_WAIT is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            operator_line(
                f"charter serve: cannot listen on {host}:{port} ({error.strerror}): is "
                "another server using that port? Stop it, or choose another port: --port "
                "or CHARTER_PORT (make run PORT=...)",
                log_format=settings.log_format,
                level=logging.ERROR,
            )
            raise typer.Exit(Exit.ERROR) from None


def _open_retrying(settings: Settings) -> SqlStore:
    """Open the store, retrying for ``CHARTER_STORE_CONNECT_RETRY`` while it cannot be
    reached: one line when it first fails, one more when giving up (exit 1)."""
    from charter.server.logs import operator_line
    from charter.storage.sql import open_store
    from charter.storage.sql.bounds import StoreBounds

    bounds = StoreBounds.of(settings.store_timeout)
    retry = settings.store_connect_retry.total_seconds()
    deadline = time.monotonic() + retry
    told = False
    while True:
        try:
            return open_store(settings.store_url, bounds=bounds, audit_shard=settings.audit_shard)
        except Unavailable as error:
            reason = _reason(error)
            if time.monotonic() >= deadline:
                operator_line(
                    f"charter serve: gave up, the store could not be reached within "
                    f"{retry:g}s ({reason}) [store_unavailable]",
                    log_format=settings.log_format,
                    level=logging.ERROR,
                )
                raise typer.Exit(Exit.ERROR) from None
            if not told:
                operator_line(
                    f"charter serve: the store cannot be reached ({reason}); "
                    f"retrying for up to {retry:g}s",
                    log_format=settings.log_format,
                    level=logging.WARNING,
                )
                told = True
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))


def _reason(error: Unavailable) -> str:
    """The first line of what the driver said, without the URL's password."""
    cause = error.__cause__
    text = str(getattr(cause, "orig", None) or cause or error.message)
    return " ".join(text.split())[:300]


def main() -> None:
    """Entry point of the ``charter`` command."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(Exit.ERROR)
    except ModuleNotFoundError as missing:
        # The SDK-only install (pip install charter) has no server packages: the commands
        # that open a store or serve say what to install instead of a traceback.
        if (missing.name or "").partition(".")[0] not in _SERVER_PACKAGES:
            raise
        err.print(
            f"charter: this command needs the server's packages ({missing.name} is not "
            "installed): pip install 'charter[server]'",
            markup=False,
        )
        sys.exit(Exit.ERROR)


_SERVER_PACKAGES = frozenset(
    {"fastapi", "starlette", "uvicorn", "sqlalchemy", "alembic", "psycopg"}
)


@app.command("admin-token")
def admin_token(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    config: ConfigFile = None,
    human: Annotated[str, typer.Option(help="The admin to issue a token to.")] = "user:admin",
    ttl: Annotated[
        str | None, typer.Option(help="Lifetime such as 8h or 30d.", show_default=False)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Break glass: issue an admin a new token directly on the store (shown once, audited).

    For when every admin token has expired or been lost. It needs what only an operator
    has: the store itself and the audit signing key (mode 0600).
    """
    from charter.durations import parse_duration
    from charter.identity.humans import HumanRole
    from charter.service import Services
    from charter.service.access import BREAK_GLASS
    from charter.storage.keyfile import load_signing_key
    from charter.storage.sql import open_existing_store

    with parsing():
        lifetime = parse_duration(ttl) if ttl else None
    with handled():
        settings = local_settings(data_dir, database_url, config=config)
        key = load_signing_key(settings.signing_key)
        store = open_existing_store(settings.store_url)
        try:
            services = Services.build(store, settings=settings, signing_key=key)
            with store.read() as unit:
                target = unit.humans.get(human)
            if target is None or HumanRole.ADMIN not in target.roles:
                raise StoreError(
                    f"{human} is not an admin of this store",
                    code=ErrorCode.NOT_AN_ADMIN,
                    help="name an existing human with the admin role: --human user:...",
                )
            issued = services.tokens.issue_for_human(
                BREAK_GLASS, human, ttl=lifetime, description="break-glass: charter admin-token"
            )
        finally:
            store.close()
    expires = issued.credential.expires_at.isoformat(timespec="seconds")
    if as_json:
        sys.stdout.write(
            json.dumps({"token": issued.token, "human": human, "expires_at": expires}) + "\n"
        )
        return
    err.print(f"New token for {human}, shown only now (expires {expires}):", markup=False)
    out.print(issued.token, markup=False)
