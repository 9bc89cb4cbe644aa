"""The app as each of ``charter serve --workers N``'s processes builds it for itself.

uvicorn starts worker processes from an import string, so every worker builds its own
store, services and app from the environment (``CHARTER_*``, which ``charter serve``
fills in from its options before starting them): ``app_from_environment`` is that
factory. Workers share nothing but the store and the listening socket: each has its own
connection pool, group commit and background loops, and the store is what keeps them
consistent, as it does for several servers on one PostgreSQL database:

- every decision takes the audit log's head lock and reads the active revision, the
  leaked-secret registry and the caller's token inside its own transaction, so none is
  decided by a state older than the store's (SQLite's write lock is shared by the
  processes of one machine, as PostgreSQL's row lock is by servers);
- checkpoint signing, approval expiry, the review clock and replay purges each run in a
  write transaction under that lock and do nothing a second time (a checkpoint is
  signed only if the log grew since the last one);
- webhook deliveries are claimed in a write transaction that moves their next attempt
  to the end of a lease, so one worker sends each attempt.

What stays per process: the failed-authentication budget and the long-poll waiters
(an approval voted on through another worker is seen by the next poll).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI

from charter.server.app import create_app
from charter.server.logs import configure_logs
from charter.service import Services
from charter.settings import Settings, read_env
from charter.settings_file import read_config_file
from charter.storage.keyfile import key_finder, load_signing_key
from charter.storage.sql import open_store
from charter.storage.sql.bounds import StoreBounds

__all__ = ["FACTORY", "app_from_environment"]

FACTORY = "charter.server.workers:app_from_environment"
"""The import string uvicorn gives each worker process."""


def app_from_environment() -> FastAPI:
    """The app over the store ``CHARTER_*`` names, closed when the app shuts down."""
    # As `charter serve` reads them: the configuration file, then the environment.
    config = os.environ.get("CHARTER_CONFIG")
    layers = [read_config_file(Path(config))] if config else []
    settings = Settings.layered(*layers, read_env(os.environ))
    key = load_signing_key(settings.signing_key)
    store = open_store(
        settings.store_url,
        bounds=StoreBounds.of(settings.store_timeout),
        audit_shard=settings.audit_shard,
    )
    # After opening the store, as `charter serve` does: migrations' chatter stays quiet.
    configure_logs(settings.log_format)
    services = Services.build(store, settings=settings, signing_key=key)
    services.audit.find_keys_with(key_finder(settings.signing_key, key))
    application = create_app(services, settings, server_process=True)
    serving = application.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            async with serving(app):
                yield
        finally:
            store.close()

    application.router.lifespan_context = lifespan
    return application
