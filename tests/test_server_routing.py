"""Routers skipped by their paths' common start find the same route as the full scan.

The app is built twice over one store: as served (``skip_foreign_routers``) and with
every router asked in turn, as FastAPI does on its own. Every route's path (its
parameters filled in), with every method, and paths near them (a trailing slash, another
case, a longer segment, nothing at all) get the same answer from both: status, error
code and redirect.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from starlette.routing import Match

from charter.server import app as app_module
from charter.server.app import create_app
from charter.server.routing import skip_foreign_routers
from charter.service import Services
from charter.storage.sql import open_store

_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _templates(app: FastAPI) -> list[str]:
    """Every route path of the app, included routers' routes with their prefixes."""
    found: list[str] = []
    for route in app.router.routes:
        router = getattr(route, "original_router", None)
        included = getattr(getattr(route, "include_context", None), "prefix", "")
        if router is not None:
            found += [included + inner.path for inner in router.routes if hasattr(inner, "path")]
        elif hasattr(route, "path"):
            found.append(route.path)
    return sorted(set(found))


def _near(template: str) -> Iterator[str]:
    path = re.sub(r"\{[^}]*\}", "x1", template)
    yield path
    yield path + "/"
    yield path.rstrip("/") + "x"
    yield path.upper()
    yield path + "/extra"
    yield "/" + path.lstrip("/").split("/", 1)[0]


@pytest.fixture
def both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, TestClient]]:
    store = open_store(f"sqlite:///{tmp_path / 'charter.db'}")
    services = Services.build(store)
    guarded = create_app(services)
    monkeypatch.setattr(app_module, "skip_foreign_routers", lambda routes: 0)
    scanned = create_app(services)
    with (
        TestClient(guarded, raise_server_exceptions=False, follow_redirects=False) as one,
        TestClient(scanned, raise_server_exceptions=False, follow_redirects=False) as other,
    ):
        yield one, other
    store.close()


def _answer(client: TestClient, method: str, path: str) -> tuple[int, str, str]:
    response = client.request(method, path, headers={"Authorization": "Bearer not-a-token"})
    code = ""
    json_body = response.headers.get("content-type", "").startswith("application/json")
    if json_body and response.content:  # a HEAD answer has the headers, not the body
        body = response.json()
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            code = str(body["error"].get("code"))
    return response.status_code, code, response.headers.get("location", "")


def test_every_path_finds_the_route_the_full_scan_finds(
    both: tuple[TestClient, TestClient],
) -> None:
    guarded, scanned = both
    templates = _templates(guarded.app)  # type: ignore[arg-type]
    assert len(templates) > 80
    paths = sorted({path for template in templates for path in _near(template)})
    paths += ["/", "/v1", "/v1/", "/ui", "/ui/", "/nope", "/v1/decisions/", "//v1/agents"]
    found = 0
    for path in paths:
        for method in _METHODS:
            answer = _answer(guarded, method, path)
            assert answer == _answer(scanned, method, path), (method, path)
            found += answer[0] != 404
    assert found > 200  # most of them reach a route (401, 405, a redirect...)


def test_a_router_is_skipped_only_for_paths_outside_its_start(
    both: tuple[TestClient, TestClient],
) -> None:
    guarded, _ = both
    entries = [
        route
        for route in guarded.app.router.routes  # type: ignore[attr-defined]
        if hasattr(route, "original_router")
    ]
    agents = next(
        route
        for route in entries
        if any(inner.path == "/v1/agents" for inner in route.original_router.routes)
    )
    base = {"type": "http", "method": "GET", "root_path": "", "headers": []}
    outside = agents.matches({**base, "path": "/v1/humans"})
    inside = agents.matches({**base, "path": "/v1/agents/x1"})
    assert outside == (Match.NONE, {})
    assert inside[0] is Match.FULL
    assert "matches" in vars(agents)  # this entry's own guard, not the class's scan


def test_routers_without_a_common_start_are_left_alone() -> None:
    router = APIRouter()
    router.add_api_route("/a", lambda: {}, methods=["GET"])
    router.add_api_route("/b", lambda: {}, methods=["GET"])
    app = FastAPI()
    app.include_router(router)
    assert skip_foreign_routers(app.router.routes) == 0
    entry = next(route for route in app.router.routes if hasattr(route, "original_router"))
    assert "matches" not in vars(entry)


def test_a_route_added_to_a_router_later_is_still_found() -> None:
    router = APIRouter()
    router.add_api_route("/v1/things/a", lambda: {"a": True}, methods=["GET"])
    router.add_api_route("/v1/things/b", lambda: {"b": True}, methods=["GET"])
    app = FastAPI()
    app.include_router(router)
    assert skip_foreign_routers(app.router.routes) == 1
    client = TestClient(app)
    assert client.get("/v2/late").status_code == 404
    # Outside the start its routes shared: the router is asked for every path again.
    router.add_api_route("/v2/late", lambda: {"late": True}, methods=["GET"])
    assert client.get("/v2/late").json() == {"late": True}
    assert client.get("/v1/things/a").json() == {"a": True}  # the rest as before
    assert client.get("/v1/other").status_code == 404


def test_a_route_swapped_for_another_outside_the_start_is_found() -> None:
    router = APIRouter()
    router.add_api_route("/v1/things/a", lambda: {"a": True}, methods=["GET"])
    router.add_api_route("/v1/things/b", lambda: {"b": True}, methods=["GET"])
    app = FastAPI()
    app.include_router(router)
    skip_foreign_routers(app.router.routes)
    client = TestClient(app)
    assert client.get("/v1/things/b").status_code == 200
    # As many routes as before, but one of them outside the start they shared.
    del router.routes[1]
    router.add_api_route("/v2/late", lambda: {"late": True}, methods=["GET"])
    assert client.get("/v2/late").json() == {"late": True}
    assert client.get("/v1/things/b").status_code == 404


@pytest.mark.parametrize("root_path", ["", "/api"])
def test_a_root_path_finds_the_same_routes(root_path: str) -> None:
    def built(guard: bool) -> TestClient:
        router = APIRouter(prefix="/v1/things")
        router.add_api_route("", lambda: {"all": True}, methods=["GET"])
        router.add_api_route("/{thing}", lambda thing: {"one": thing}, methods=["GET"])
        app = FastAPI()
        app.include_router(router)
        if guard:
            assert skip_foreign_routers(app.router.routes) == 1
        return TestClient(app, root_path=root_path, follow_redirects=False)

    guarded, scanned = built(True), built(False)
    for path in ("/v1/things", "/v1/things/", "/v1/things/x", "/api/v1/things/x", "/v1/x"):
        for method in ("GET", "HEAD", "OPTIONS"):
            one, other = guarded.request(method, path), scanned.request(method, path)
            assert (one.status_code, one.content) == (other.status_code, other.content), path
