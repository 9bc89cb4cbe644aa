"""CPU per request that request ids, metrics and access lines add (docs/operations.md).

Two measurements, each with and without the ``Observe`` layer, interleaved in rounds so
a busy shared machine affects both alike:

- ``layer``: the layer alone around an ASGI app that answers at once, called directly;
- ``healthz``: ``GET /healthz`` through the whole app over httpx's ASGI transport.

Run: ``PYTHONPATH=src python -m bench.observability [--requests N] [--rounds R]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

import charter.server.app as app_module
from charter.server.logs import install_json_logs
from charter.server.metrics import Metrics
from charter.server.observe import Observe
from charter.service import Services
from charter.settings import Settings
from charter.storage.sql import open_store

Message = dict[str, Any]


async def _answer(scope: Any, receive: Any, send: Callable[[Message], Awaitable[None]]) -> None:
    scope["route"] = None
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


async def _receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _send(message: Message) -> None:
    return None


def _scope() -> dict[str, Any]:
    return {
        "type": "http",
        "method": "GET",
        "path": "/healthz",
        "headers": [(b"host", b"testserver"), (b"user-agent", b"bench")],
    }


async def _layer(requests: int, observed: bool, *, json_lines: bool = False) -> float:
    app: Any = Observe(_answer, Metrics(), access_log=json_lines) if observed else _answer
    with open(os.devnull, "w") as devnull:
        restore = install_json_logs(devnull) if json_lines else None
        try:
            start = time.process_time()
            for _ in range(requests):
                await app(_scope(), _receive, _send)
            return (time.process_time() - start) / requests
        finally:
            if restore is not None:
                restore()


async def _healthz(client: httpx.AsyncClient, requests: int) -> float:
    start = time.process_time()
    for _ in range(requests):
        answer = await client.get("/healthz")
        if answer.status_code != 200:
            raise RuntimeError(answer.text)
    return (time.process_time() - start) / requests


def _app(services: Services, observed: bool) -> Any:
    if observed:
        return app_module.create_app(services, Settings())
    # The same app without the layer: create_app with the installation skipped.
    real = vars(app_module)["install_observability"]
    setattr(app_module, "install_observability", lambda *args, **kwargs: None)  # noqa: B010
    try:
        return app_module.create_app(services, Settings())
    finally:
        setattr(app_module, "install_observability", real)  # noqa: B010


async def main(requests: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = open_store(f"sqlite:///{Path(folder) / 'charter.db'}")
        services = Services.build(store)
        clients = {
            observed: httpx.AsyncClient(
                transport=httpx.ASGITransport(app=_app(services, observed)),
                base_url="http://testserver",
            )
            for observed in (False, True)
        }
        results: dict[str, list[float]] = {}
        for client in clients.values():
            await _healthz(client, 200)  # warm up
        for _ in range(rounds):
            for observed in (False, True):
                label = "with" if observed else "without"
                results.setdefault(f"layer {label}", []).append(
                    await _layer(requests * 5, observed)
                )
                results.setdefault(f"healthz {label}", []).append(
                    await _healthz(clients[observed], requests)
                )
            results.setdefault("layer json logs", []).append(
                await _layer(requests * 5, True, json_lines=True)
            )
        for client in clients.values():
            await client.aclose()
        store.close()
    for name, values in results.items():
        print(f"{name:16} median {statistics.median(values) * 1e6:7.2f} µs CPU/request")
    for kind in ("layer", "healthz"):
        added = statistics.median(results[f"{kind} with"]) - statistics.median(
            results[f"{kind} without"]
        )
        print(f"{kind:16} added  {added * 1e6:7.2f} µs CPU/request")
    json_added = statistics.median(results["layer json logs"]) - statistics.median(
        results["layer without"]
    )
    print(f"{'layer json logs':16} added  {json_added * 1e6:7.2f} µs CPU/request")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.requests, arguments.rounds))
