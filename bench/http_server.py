"""The server `bench/http.py` measures: `charter serve`'s stack plus one bench-only route.

Run: `python -m bench.http_server --data-dir DIR --port PORT` (with `CHARTER_DATABASE_URL`
for PostgreSQL). It wires the store, the services and the app exactly as `charter serve`
does (src/charter/cli/main.py) and serves them through the same `charter.server.app.serve`,
after adding bench-only routes: `POST /bench/empty`, an async route that reads no body,
checks no token and answers a constant, so the gap between it and `POST /v1/decisions` is
what deciding, authenticating and recording cost on this stack; `POST /bench/empty-sync`,
the same as a plain function, which FastAPI runs on its thread pool as it does the
decision route; and `GET /bench/commits`, the group committer's counts. Product routes
are left as they are; `GET /v1/whoami` (token checked, nothing else) is the
authenticated baseline. `--no-group-commit` gives decisions one transaction each, as
before service/commits.py; `--no-reviews` leaves out what access reviews add to every
decision (noting the permissions it used, applying review outcomes in force), to measure
what they cost. `--workers N` serves with N processes, as `charter serve --workers N`
does: each builds the same app (with the bench routes) from the environment through
`app_from_environment`; `GET /bench/commits` then counts the one worker that answers it.
"""

from __future__ import annotations

import argparse
import logging
import os
from dataclasses import replace
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from charter.server.app import create_app, serve
from charter.service import DecisionService, Services
from charter.service import decisions as decision_module
from charter.service.commits import GroupCommitter
from charter.service.review_outcomes import ReviewOutcomes
from charter.settings import Settings
from charter.storage import Store
from charter.storage.keyfile import load_signing_key
from charter.storage.sql import open_store

BARE_PATH = "/bench/bare"
EMPTY_FIRST_PATH = "/bench/empty-first"
EMPTY_PATH = "/bench/empty"
EMPTY_SYNC_PATH = "/bench/empty-sync"
COMMITS_PATH = "/bench/commits"
_EMPTY_BODY = b'{"ok":true}'


def build(settings: Settings, *, group_commit: bool = True, reviews: bool = True) -> FastAPI:
    """The product app over the store in ``settings``, plus the empty routes.

    Without ``group_commit``, decisions go back to one transaction each (the code before
    service/commits.py), for the before-and-after rows. Without ``reviews``, decisions
    note no usage and apply no review outcomes, as before access reviews.
    """
    if not reviews:
        # Bench-only: this process never serves the product.
        decision_module.note_usage = lambda *args, **kwargs: None  # type: ignore[attr-defined]
    store = open_store(settings.store_url)
    committer = GroupCommitter(store, deciding=True) if group_commit else None
    services = wired(store, settings, committer, reviews=reviews)
    application = create_app(services, settings, server_process=True)

    @application.get(COMMITS_PATH, include_in_schema=False)
    async def commits() -> dict[str, int]:
        if committer is None:
            return {"transactions": 0, "works": 0}
        return {"transactions": committer.transactions, "works": committer.committed}

    @application.post(EMPTY_PATH, include_in_schema=False)
    async def empty() -> Response:
        return Response(_EMPTY_BODY, media_type="application/json")

    # The same, second in the route table (after the fast decision route): the difference
    # is what finding a route among the app's costs.
    @application.post(EMPTY_FIRST_PATH, include_in_schema=False)
    async def empty_first() -> Response:
        return Response(_EMPTY_BODY, media_type="application/json")

    routes = application.router.routes
    routes.insert(1, routes.pop())  # after the fast decision route

    # The same, as a plain function: FastAPI runs it on the thread pool, as it does the
    # decision route and each of its dependencies.
    @application.post(EMPTY_SYNC_PATH, include_in_schema=False)
    def empty_sync() -> Response:
        return Response(_EMPTY_BODY, media_type="application/json")

    # Outside all of Charter's layers (request ids, metrics, access lines, body checks,
    # the framework): what uvicorn alone costs a request.
    layers = application.build_middleware_stack

    def with_bare() -> ASGIApp:
        return _Bare(layers())

    application.build_middleware_stack = with_bare  # type: ignore[method-assign]
    return application


def wired(
    store: Store, settings: Settings, committer: GroupCommitter | None, *, reviews: bool = True
) -> Services:
    """``Services.build`` over ``store``, its decisions with ``committer`` (which the caller
    can read the counts of), or with none: one transaction per decision."""
    services = Services.build(
        store, settings=settings, signing_key=load_signing_key(settings.signing_key)
    )
    decisions = DecisionService(
        store,
        services.clock,
        services.policies.compiled,
        services.tokens,
        services.secrets,
        follow_activation=services.policies.hold_active,
        committer=committer,
        advisory_max_age=settings.inference_max_age,
        outcomes=ReviewOutcomes() if reviews else None,
        replay_retention=settings.replay_retention,
    )
    return replace(services, decisions=decisions)


class _Bare:
    """Answers ``POST /bench/bare`` at once; hands every other request to the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != BARE_PATH:
            await self.app(scope, receive, send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(_EMPTY_BODY)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": _EMPTY_BODY})


_OPTIONS = "CHARTER_BENCH_SERVER_OPTIONS"
FACTORY = "bench.http_server:app_from_environment"


def app_from_environment() -> FastAPI:
    """What each worker process serves with ``--workers``: ``build`` over the settings and
    options ``main`` left in the environment."""
    group_commit, reviews = os.environ[_OPTIONS].split(",")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    return build(
        Settings.from_env(os.environ), group_commit=group_commit == "1", reviews=reviews == "1"
    )


def main() -> None:
    """Parse the command line and serve until stopped."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--no-group-commit", action="store_true")
    parser.add_argument("--no-reviews", action="store_true")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    settings = Settings.from_env(os.environ, data_dir=args.data_dir, port=args.port)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if args.workers > 1:
        os.environ["CHARTER_DATA_DIR"] = str(args.data_dir.resolve())
        os.environ["CHARTER_PORT"] = str(args.port)
        os.environ[_OPTIONS] = f"{int(not args.no_group_commit)},{int(not args.no_reviews)}"
        serve(FACTORY, settings, workers=args.workers)
        return
    serve(
        build(settings, group_commit=not args.no_group_commit, reviews=not args.no_reviews),
        settings,
    )


if __name__ == "__main__":
    main()
