"""Bad input never gets a 5xx: a walk over every route of the real app, as an admin.

The routes come from ``create_app(...).routes``, so a route added later is walked too.
For each route the walk sends what its declared inputs must refuse (malformed and
mistyped JSON, unknown fields, NUL, lone surrogates, oversized strings and bodies, bad
ids in the path, bad query values, wrong methods) and checks that every answer is a 4xx
in the JSON error shape. Everything is sent to one app per backend, and the store must
be exactly as it was afterwards: bad input changes nothing.
"""

from __future__ import annotations

import json
import re
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from pydantic import BaseModel
from starlette.routing import Route

from charter.identity.agents import RiskTier
from charter.identity.credentials import PrincipalKind
from charter.server.routes.decisions import FAST_ROUTE
from charter.service import SYSTEM, Services
from charter.settings import Settings
from charter.storage.ports import AuditQuery
from charter.wire import AgentIn, AgentPatch, HumanIn, HumanPatch, LifecycleIn, TokenIn
from charter.wire_secrets import LeakIn, ScanIn
from charter.wire_webhooks import WebhookIn
from tests.helpers import Admin, HttpResponse

LIMIT = Settings().max_body_bytes
SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
# Served by FastAPI itself, take no input, and are not Charter's API.
DOC_ROUTES = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

# A body each input model accepts; the walk breaks one part of it at a time, so a bad
# value that slipped through validation would travel all the way to the store.
BASELINES: dict[type[BaseModel], dict[str, Any]] = {
    AgentIn: {
        "id": "fresh-bot",
        "owner": "user:walker",
        "purpose": "walk the API",
        "risk_tier": "low",
        "display_name": "Fresh",
        "labels": {"team": "walk"},
        "recertify_by": "2027-01-01T00:00:00Z",
    },
    AgentPatch: {
        "display_name": "Walker bot",
        "owner": "user:walker",
        "purpose": "walk the API",
        "risk_tier": "high",
        "labels": {"team": "walk"},
        "recertify_by": "2027-01-01T00:00:00Z",
    },
    HumanIn: {
        "id": "user:fresh",
        "email": "fresh@example.com",
        "display_name": "Fresh",
        "groups": ["walkers"],
        "roles": ["auditor"],
    },
    HumanPatch: {
        "email": "walker2@example.com",
        "display_name": "Walker",
        "groups": ["walkers"],
        "roles": ["auditor"],
        "active": True,
    },
    LifecycleIn: {"reason": "walk"},
    LeakIn: {"value": "walk-leaked-Secret-42", "note": "walk", "ticket": "INC-1", "source": "walk"},
    ScanIn: {"content": "nothing to see", "redact": True},
    TokenIn: {"ttl_seconds": 60, "description": "walk"},
    WebhookIn: {
        "url": "https://hooks.example.com/walk",
        "events": ["agent.suspended"],
        "description": "walk",
    },
}

MALFORMED_JSON: list[tuple[str, bytes]] = [
    ("truncated", b'{"id": '),
    ("empty object member", b'{"id":}'),
    ("single quotes", b"{'id': 'x'}"),
    ("trailing comma", b'{"reason": "x",}'),
    ("trailing garbage", b'{"reason": "x"} and more'),
    ("not utf-8", b"\xff\xfe\xfd"),
    ("bare word", b"hello"),
    ("unclosed deep nesting", b"[" * 100_000),
    ("deep nesting", b"[" * 100_000 + b"]" * 100_000),
    ("huge number", b'{"ttl_seconds": ' + b"9" * 5000 + b"}"),
]
WRONG_TOP_LEVEL: list[tuple[str, Any]] = [
    ("list", []),
    ("list of objects", [{}]),
    ("number", 12345),
    ("string", "a string"),
    ("boolean", True),
]
# One value of each JSON type, to send where the schema wants another type.
JSON_TYPE_SAMPLES: dict[str, Any] = {
    "string": "a string",
    "integer": 12345,
    "number": 1.5,
    "boolean": True,
    "array": [],
    "object": {},
    "null": None,
}
BAD_STRINGS: list[tuple[str, Any]] = [
    ("NUL", "a\x00b"),
    ("lone surrogate", "a\ud800b"),
    ("very long", "x" * 100_000),
]
BAD_DATETIMES: list[tuple[str, Any]] = [
    ("not a date", "next tuesday"),
    ("month 13", "2026-13-01T00:00:00Z"),
    ("hour 25", "2026-01-01T25:00:00Z"),
    ("overflows after UTC", "9999-12-31T23:59:59-23:59"),
    ("underflows after UTC", "0001-01-01T00:00:00+23:59"),
    ("unix seconds", 1_700_000_000),
]

# Path ids that no path parameter accepts: traversal, case, unicode, NUL, a lone
# surrogate (as the bytes a careless client would send), oversized.
BAD_PATH_IDS: list[tuple[str, str]] = [
    ("dot dot", ".."),
    ("traversal", "../"),
    ("deep traversal", "../../etc/passwd"),
    ("uppercase", "UPPER-BOT"),
    ("space", "has space"),
    ("unicode", "bøt-ünïcode"),
    ("emoji", "bot-\U0001f916"),
    ("NUL", "ab\x00cd"),
    ("control", "ab\x1bcd"),
    ("one char", "a"),
    ("leading dash", "-bot"),
    ("bare prefix", "user:"),
    ("bare token prefix", "tok_"),
    ("10 KB", "a" * 10_240),
    ("10 KB human", "user:" + "a" * 10_240),
]
RAW_BAD_PATH_IDS: list[tuple[str, str]] = [
    ("lone surrogate bytes", "%ED%A0%80"),
    ("invalid utf-8", "%FF%FE"),
    ("encoded NUL", "%00"),
]

BAD_STR_QUERY: list[tuple[str, str]] = [
    ("NUL", "a\x00b"),
    ("control", "\x1b[31m"),
    ("newline", "a\nb"),
    ("10 KB", "x" * 10_240),
]
BAD_QUERY_BY_NAME: dict[str, list[tuple[str, str]]] = {
    "limit": [("zero", "0"), ("negative", "-1"), ("10**30", str(10**30))],
    "cursor": [
        ("not base64", "!!!"),
        ("percent signs", "%%%"),
        ("invalid utf-8 inside", "__4"),
        ("NUL inside", "AA"),
        ("empty", ""),
    ],
}
BAD_INT_QUERY: list[tuple[str, str]] = [
    ("word", "abc"),
    ("fraction", "1.5"),
    ("empty", ""),
    ("NUL", "\x00"),
    ("huge", "9" * 400),
]
BAD_DATETIME_QUERY: list[tuple[str, str]] = [
    ("word", "yesterday"),
    ("month 13", "2026-13-45T00:00:00Z"),
    ("hour 25", "2026-01-01T25:00:00Z"),
    ("overflows after UTC", "9999-12-31T23:59:59-23:59"),
    ("underflows after UTC", "0001-01-01T00:00:00+23:59"),
    ("infinite", "1e400"),
    ("10**30", str(10**30)),
    ("NUL", "\x00"),
    ("empty", ""),
]
BAD_ENUM_QUERY: list[tuple[str, str]] = [
    ("unknown", "bogus"),
    ("wrong case", "ACTIVE"),
    ("NUL", "\x00"),
]


# -- the error shape ------------------------------------------------------------------


def shape_problem(response: HttpResponse) -> str | None:
    """Why ``response`` is not a 4xx in the JSON error shape, or None if it is."""
    if not 400 <= response.status_code < 500:
        return f"status {response.status_code}"
    if response.headers.get("content-type", "").split(";")[0] != "application/json":
        return f"content-type {response.headers.get('content-type')!r}"
    try:
        body = response.json()
    except ValueError:
        return "body is not JSON"
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or set(body) != {"error"}:
        return "body is not {'error': {...}}"
    code, message = error.get("code"), error.get("message")
    if not isinstance(code, str) or not SNAKE.fullmatch(code):
        return f"error.code {code!r} is not snake_case"
    if not isinstance(message, str) or not message:
        return "error.message is not a non-empty string"
    if "help" in error and not isinstance(error["help"], str):
        return "error.help is not a string"
    if response.status_code == 401 and "Bearer" not in response.headers.get("www-authenticate", ""):
        return "401 without WWW-Authenticate: Bearer"
    if code == "invalid_request":
        fields = error.get("fields")
        if not fields or not all(
            isinstance(f, dict) and isinstance(f.get("path"), str) and f["path"] for f in fields
        ):
            return "invalid_request without error.fields[].path"
    return None


# -- the routes -----------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """One method of one route, as the walk sees it."""

    method: str
    path: str
    route: APIRoute

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def path_params(self) -> list[str]:
        return [param.name for param in self.route.dependant.path_params]

    @property
    def body_model(self) -> type[BaseModel] | None:
        if self.route.body_field is None:
            return None
        annotation = self.route.body_field.field_info.annotation
        for candidate in (annotation, *typing.get_args(annotation)):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                return candidate
        return None

    @property
    def body_required(self) -> bool:
        return self.route.body_field is not None and self.route.body_field.field_info.is_required()


def endpoints(app: FastAPI) -> list[Endpoint]:
    """Every method of every API route of ``app``; anything else must be a docs route."""
    found: list[Endpoint] = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if str(context.path_format or getattr(route, "path", "")).startswith("/ui"):
            continue  # the console's pages: tests/test_console.py walks them
        if isinstance(route, APIRoute):
            path = context.path_format
            assert path is not None
            assert route.methods is not None
            found.extend(Endpoint(method, path, route) for method in sorted(route.methods))
        elif isinstance(route, Route) and route.name == FAST_ROUTE:
            continue  # a shortcut for well-formed bodies to the APIRoute walked here
        else:
            assert isinstance(route, Route), f"unexpected route {route!r}"
            assert route.path in DOC_ROUTES, f"route {route.path} is not walked"
    return found


# -- building bad input ---------------------------------------------------------------


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    resolved: dict[str, Any] = root["$defs"][ref.rsplit("/", 1)[-1]]
    return resolved


def _variants(schema: dict[str, Any], root: dict[str, Any]) -> list[dict[str, Any]]:
    """The alternatives a property schema allows, ``$ref`` resolved."""
    schema = _resolve(schema, root)
    if "anyOf" in schema:
        return [variant for option in schema["anyOf"] for variant in _variants(option, root)]
    return [schema]


_SHAPES = {"type", "properties", "patternProperties", "items", "enum", "const", "$ref"}


def bad_values(schema: dict[str, Any], root: dict[str, Any], valid: Any) -> list[tuple[str, Any]]:
    """Values the JSON schema ``schema`` refuses; ``valid`` is a value it accepts."""
    variants = _variants(schema, root)
    if any(not _SHAPES & variant.keys() for variant in variants):
        return []  # any JSON value at all (``Any``): nothing to refuse
    allowed = {variant.get("type", "object") for variant in variants}
    if "number" in allowed:
        allowed.add("integer")
    cases = [
        (f"{kind} instead of {'/'.join(sorted(allowed))}", sample)
        for kind, sample in JSON_TYPE_SAMPLES.items()
        if kind not in allowed
    ]
    for variant in variants:
        kind = variant.get("type")
        if kind == "string":
            cases += BAD_STRINGS
            if "enum" in variant:
                cases.append(("unknown enum value", "bogus-value"))
            if variant.get("format") == "date-time":
                cases += BAD_DATETIMES
        elif kind == "boolean":
            cases += [("one", 1), ("zero", 0), ("text true", "true")]
        elif kind == "integer":
            cases += [
                ("numeric text", "60"),
                ("NaN", float("nan")),
                ("Infinity", float("inf")),
                ("10**30", 10**30),
            ]
            if "minimum" in variant:
                cases.append(("below minimum", variant["minimum"] - 1))
            if "maximum" in variant:
                cases.append(("above maximum", variant["maximum"] + 1))
        elif kind == "array":
            item = valid[0] if isinstance(valid, list) and valid else None
            cases += [
                (f"item {label}", [value])
                for label, value in bad_values(variant["items"], root, item)
            ]
            cases.append(("too many items", [item] * (variant.get("maxItems", 10_000) + 1)))
        elif kind == "object" and "properties" not in variant:
            value_schema: dict[str, Any] = next(
                iter(variant.get("patternProperties", {}).values()), {}
            )
            key, value = (
                next(iter(valid.items())) if isinstance(valid, dict) and valid else ("k", "v")
            )
            cases += [
                (f"value {label}", {key: bad})
                for label, bad in bad_values(value_schema, root, value)
            ]
            cases += [(f"key {label}", {bad: value}) for label, bad in BAD_STRINGS]
            cases += [("uppercase key", {"UPPER": value})]
            many = variant.get("maxProperties", 10_000) + 1
            cases.append(("too many keys", {f"k{i}": value for i in range(many)}))
    return cases


def bad_bodies(model: type[BaseModel] | None, *, required: bool) -> list[tuple[str, bytes]]:
    """Bodies that ``model`` (the route's body) must refuse, encoded as sent."""
    bodies: list[tuple[str, Any]] = list(WRONG_TOP_LEVEL)
    if required:
        bodies.append(("null body", None))
    if model is not None:
        baseline = BASELINES.get(model, {})
        schema = model.model_json_schema()
        properties: dict[str, Any] = schema.get("properties", {})
        for unknown in ("unexpected", "status", "__proto__"):
            if unknown not in properties:
                bodies.append((f"unknown field {unknown}", {**baseline, unknown: "x"}))
        for name, prop in properties.items():
            for label, value in bad_values(prop, schema, baseline.get(name)):
                bodies.append((f"{name}: {label}", {**baseline, name: value}))
    encoded = [(label, json.dumps(body).encode()) for label, body in bodies]
    return MALFORMED_JSON + encoded


def fill(path: str, values: dict[str, str]) -> str:
    """``path`` with each ``{param}`` replaced by its (already encoded) value."""
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    return path


def _bare(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def query_type(param: Any) -> tuple[Any, bool]:
    """The type of one value of a query parameter, and whether it may repeat."""
    annotation = _bare(param.field_info.annotation)
    if typing.get_origin(annotation) in (types.UnionType, typing.Union):
        options = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        annotation = _bare(options[0])
    if typing.get_origin(annotation) is list:
        return _bare(typing.get_args(annotation)[0]), True
    return annotation, False


def query_cases(param: Any) -> list[tuple[str, str]]:
    """Values a declared query parameter must refuse."""
    inner, _ = query_type(param)
    cases = list(BAD_QUERY_BY_NAME.get(param.name, []))
    if isinstance(inner, type) and issubclass(inner, Enum):
        cases += BAD_ENUM_QUERY
    elif inner is bool:
        cases += [("not a boolean", "maybe")]
    elif inner is int:
        cases += BAD_INT_QUERY
    elif inner is datetime:
        cases += BAD_DATETIME_QUERY
    elif inner is str:
        cases += BAD_STR_QUERY
    else:
        pytest.fail(f"no bad values known for query parameter {param.name}: {inner}")
    return cases


# -- the walk -------------------------------------------------------------------------


@dataclass
class Walk:
    """Sends bad input and keeps every answer that is not a 4xx in the error shape."""

    client: TestClient = field(repr=False)
    headers: dict[str, str] = field(repr=False)
    services: Services = field(repr=False)
    before: tuple[Any, ...] = field(repr=False)
    problems: list[str] = field(default_factory=list, repr=False)
    sent: int = 0

    def send(self, label: str, method: str, url: str, **kwargs: Any) -> HttpResponse:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        response = self.client.request(method, url, headers=headers, **kwargs)
        self.sent += 1
        problem = shape_problem(response)
        if problem is not None:
            self.problems.append(f"{label}: {problem}: {response.text[:300]}")
        return response

    def check(self) -> None:
        """Every answer was a 4xx in the error shape, and the store is as it was."""
        assert self.problems == [], "\n".join(self.problems)
        assert snapshot(self.services) == self.before, "bad input changed the store"


def snapshot(services: Services) -> tuple[Any, ...]:
    """Everything bad input must not change."""
    return (
        services.agents.list(SYSTEM, limit=1000),
        services.humans.list(SYSTEM, limit=1000),
        services.tokens.list_for(SYSTEM, PrincipalKind.AGENT, "walk-bot"),
        services.tokens.list_for(SYSTEM, PrincipalKind.HUMAN, "user:walker"),
        [r.seq for r in services.audit.query(SYSTEM, AuditQuery(limit=1000))],
        services.audit.checkpoints(SYSTEM),
        services.webhooks.list(SYSTEM, limit=1000),
    )


@pytest.fixture
def walk(api: TestClient, admin: Admin, services: Services) -> Walk:
    """An admin's walk over the app, with an agent, its owner and a token to aim at."""
    services.humans.add(SYSTEM, human_id="user:walker", email="walker@example.com")
    services.agents.register(
        SYSTEM,
        agent_id="walk-bot",
        display_name=None,
        owner="user:walker",
        purpose="be walked over",
        risk_tier=RiskTier.LOW,
    )
    services.tokens.issue_for_agent(SYSTEM, "walk-bot")
    services.webhooks.add(SYSTEM, url="https://hooks.example.com/walked")
    api.get("/v1/whoami", headers=admin.headers)  # the admin token's first use is recorded
    return Walk(api, admin.headers, services, snapshot(services))


def _valid_path_values(services: Services) -> dict[str, str]:
    token = services.tokens.list_for(SYSTEM, PrincipalKind.AGENT, "walk-bot")[0]
    webhook = services.webhooks.list(SYSTEM)[0]
    return {
        "agent_id": "walk-bot",
        "human_id": "user:walker",
        "token_id": token.id,
        "webhook_id": webhook.id,
    }


def _walk_bodies(walk: Walk, endpoint: Endpoint, url: str) -> None:
    """Malformed and mistyped bodies, unknown fields, a bad value in each field."""
    bodies = bad_bodies(endpoint.body_model, required=endpoint.body_required)
    assert len(bodies) > len(MALFORMED_JSON) + len(WRONG_TOP_LEVEL), endpoint.label
    for label, body in bodies:
        walk.send(
            f"{endpoint.label} body {label}",
            endpoint.method,
            url,
            content=body,
            headers={"content-type": "application/json"},
        )


def _walk_path(walk: Walk, endpoint: Endpoint, valid: dict[str, str]) -> None:
    """Every bad id in each path parameter in turn, the others (and the body) valid."""
    body = BASELINES.get(endpoint.body_model, {}) if endpoint.body_model else {}
    with_body = {} if endpoint.route.body_field is None else {"json": body}
    others = {name: quote(value, safe=":") for name, value in valid.items()}
    for param in endpoint.path_params:
        # Another kind of id is a bad id too: a human id where an agent id belongs.
        wrong_kind = [(f"a {name}", value) for name, value in valid.items() if name != param]
        cases = [(label, quote(value, safe="")) for label, value in BAD_PATH_IDS + wrong_kind]
        for label, value in cases + RAW_BAD_PATH_IDS:
            path = fill(endpoint.path, {**others, param: value})
            walk.send(f"{endpoint.label} {param}={label}", endpoint.method, path, **with_body)


def _walk_query(walk: Walk, endpoint: Endpoint, url: str) -> None:
    """Values each declared query parameter must refuse."""
    for param in endpoint.route.dependant.query_params:
        for label, value in query_cases(param):
            query = f"{param.name}={quote(value, safe='%')}"
            walk.send(f"{endpoint.label} ?{param.name}={label}", endpoint.method, f"{url}?{query}")
        if query_type(param)[1]:
            # A repeatable parameter is bounded too.
            query = "&".join(f"{param.name}=agent.registered" for _ in range(1000))
            walk.send(f"{endpoint.label} 1000 x ?{param.name}", endpoint.method, f"{url}?{query}")


def test_every_route_refuses_bad_input(walk: Walk, services: Services) -> None:
    app = walk.client.app
    assert isinstance(app, FastAPI)
    found = endpoints(app)
    operations = sum(len(ops) for ops in app.openapi()["paths"].values())
    assert len(found) == operations > 20, "the walk does not see every route"
    valid = _valid_path_values(services)
    for endpoint in found:
        url = fill(endpoint.path, valid)
        if endpoint.route.body_field is not None:
            _walk_bodies(walk, endpoint, url)
        _walk_path(walk, endpoint, valid)
        _walk_query(walk, endpoint, url)

    # A method a path does not serve gets 405, in the error shape too.
    served: dict[str, set[str]] = {}
    for endpoint in found:
        served.setdefault(endpoint.path, set()).add(endpoint.method)
    for path, methods in served.items():
        for method in sorted(set(METHODS) - methods):
            response = walk.send(f"{method} {path}", method, fill(path, valid))
            assert response.status_code == 405, f"{method} {path}"

    walk.check()
    assert walk.sent > 900


def test_oversized_bodies_are_refused_on_every_route(walk: Walk, services: Services) -> None:
    app = walk.client.app
    assert isinstance(app, FastAPI)
    valid = _valid_path_values(services)
    oversized = b"x" * (LIMIT + 1)

    def chunked() -> Iterator[bytes]:
        # No Content-Length: the size is only known by reading.
        for start in range(0, len(oversized), 64 * 1024):
            yield oversized[start : start + 64 * 1024]

    senders: list[tuple[str, Callable[[], Any]]] = [
        ("with Content-Length", lambda: oversized),
        ("chunked", chunked),
    ]
    for endpoint in endpoints(app):
        url = fill(endpoint.path, valid)
        for how, content in senders:
            response = walk.send(
                f"{endpoint.label} {how}",
                endpoint.method,
                url,
                content=content(),
                headers={"content-type": "application/json"},
            )
            assert response.status_code == 413, f"{endpoint.label} {how}"
            assert response.json()["error"]["code"] == "payload_too_large"
    walk.check()


def test_a_body_exactly_at_the_limit_reaches_validation(walk: Walk) -> None:
    padding = LIMIT - len(json.dumps({"reason": ""}))
    body = json.dumps({"reason": "x" * padding}).encode()
    assert len(body) == LIMIT
    response = walk.send(
        "at the limit",
        "POST",
        "/v1/agents/walk-bot/suspend",
        content=body,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"][0]["path"] == "body.reason"
    walk.check()


def test_a_declared_oversized_length_is_refused_before_reading(walk: Walk) -> None:
    # The declared length alone decides: a lie (and a non-number) is refused too.
    for declared in (str(LIMIT + 1), "10" * 20, "not-a-number"):
        response = walk.send(
            f"Content-Length {declared}",
            "POST",
            "/v1/agents",
            content=b"{}",
            headers={"content-type": "application/json", "content-length": declared},
        )
        assert response.status_code == 413
    walk.check()


def test_oversized_bodies_over_real_http(live_server: str, admin: Admin) -> None:
    oversized = b"x" * (LIMIT + 1)

    def chunked() -> Iterator[bytes]:
        for start in range(0, len(oversized), 64 * 1024):
            yield oversized[start : start + 64 * 1024]

    with httpx.Client(base_url=live_server, headers=admin.headers, timeout=10) as http:
        for content in (oversized, chunked()):
            response = http.post(
                "/v1/agents", content=content, headers={"content-type": "application/json"}
            )
            assert response.status_code == 413
            assert shape_problem(response) is None
        # The server is still serving after refusing.
        assert http.get("/v1/whoami").json()["id"] == admin.id


# -- the error shape, pinned ----------------------------------------------------------


def test_the_error_shape_is_pinned(api: TestClient, admin: Admin) -> None:
    missing = api.get("/v1/agents/no-such-bot", headers=admin.headers)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/json"
    assert missing.json() == {
        "error": {
            "code": "agent_not_found",
            "message": "no agent 'no-such-bot'",
            "request_id": missing.headers["x-request-id"],
        }
    }

    with_help = api.get("/v1/whoami")
    assert with_help.status_code == 401
    assert with_help.headers["www-authenticate"] == "Bearer"
    assert with_help.json() == {
        "error": {
            "code": "token_missing",
            "message": "no bearer token was presented",
            "help": "send 'Authorization: Bearer <token>'",
            "request_id": with_help.headers["x-request-id"],
        }
    }

    malformed = api.post(
        "/v1/agents",
        content=b'{"id": ',
        headers={**admin.headers, "content-type": "application/json"},
    )
    assert malformed.status_code == 400
    assert malformed.json()["error"]["code"] == "malformed_json"

    for response in (
        api.get("/v1/no-such-route", headers=admin.headers),
        api.put("/v1/agents", headers=admin.headers),
    ):
        assert shape_problem(response) is None
        assert response.json()["error"]["code"] in {"not_found", "method_not_allowed"}


def test_validation_errors_name_every_bad_field(api: TestClient, admin: Admin) -> None:
    response = api.post(
        "/v1/agents",
        json={
            "id": "Not An Id",
            "owner": "user:alice",
            "purpose": "a\x00b",
            "labels": {"team": "x" * 100},
            "surprise": True,
        },
        headers=admin.headers,
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    paths = sorted(f["path"] for f in error["fields"])
    assert paths == ["body.id", "body.labels.team", "body.purpose", "body.surprise"]
    assert all(isinstance(f["message"], str) and f["message"] for f in error["fields"])
    assert "body.id" in error["message"]


def test_query_and_path_errors_name_their_location(api: TestClient, admin: Admin) -> None:
    query = api.get("/v1/audit?limit=0&since=yesterday", headers=admin.headers)
    assert query.status_code == 422
    assert sorted(f["path"] for f in query.json()["error"]["fields"]) == [
        "query.limit",
        "query.since",
    ]
    path = api.get("/v1/humans/alice", headers=admin.headers)
    assert path.status_code == 422
    assert [f["path"] for f in path.json()["error"]["fields"]] == ["path.human_id"]


def test_a_bad_cursor_is_invalid_input_not_a_crash(api: TestClient, admin: Admin) -> None:
    for url in ("/v1/agents?cursor=!!!", "/v1/humans?cursor=AA", "/v1/audit?cursor=YWJj"):
        response = api.get(url, headers=admin.headers)
        assert response.status_code == 422, url
        assert response.json()["error"]["code"] == "invalid_cursor"


def test_strangers_get_401_before_validation(api: TestClient, admin: Admin) -> None:
    # Strangers learn nothing about what the API would accept.
    response = api.post("/v1/agents", json={"id": "Not An Id"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_missing"
    response = api.get("/v1/agents/NOT-AN-ID", headers={"Authorization": "Bearer nonsense"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_invalid"
    assert api.get("/v1/agents/NOT-AN-ID", headers=admin.headers).status_code == 422
