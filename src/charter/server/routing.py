"""Finding a request's route without asking every router.

FastAPI keeps each included router as one entry of the app's route table and, for every
request, asks each entry in turn whether one of its routes matches; asking costs
microseconds per route even when the path cannot be one of them, and the app has some
150 routes: a request for the last of them spent about 0.35 ms of CPU finding it, more
than uvicorn's whole handling of a request (``docs/benchmarks.md``). The routes of most
routers share a literal start (``/v1/agents``), so ``skip_foreign_routers`` has each such
entry answer "no match" at once for a path that does not start with it, and ask its
routes otherwise: the same route is found, in the same order, as before.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from starlette.routing import BaseRoute, Match
from starlette.types import Scope

__all__ = ["skip_foreign_routers"]

_Matcher = Callable[[Scope], tuple[Match, Scope]]


def skip_foreign_routers(routes: list[BaseRoute]) -> int:
    """Guard each included router in ``routes`` with its routes' common prefix; how many
    were guarded.

    An entry is an included router when it holds an ``original_router`` (FastAPI's own
    shape for ``include_router``). Its prefix is the longest literal start every one of
    its routes' paths shares (the prefix it was included with, then its paths up to the
    first parameter); a router whose routes share no more than ``/``, and entries of any
    other shape, are left as they are.
    """
    guarded = 0
    for route in routes:
        prefix = _prefix_of(route)
        if prefix is not None:
            # An instance attribute: this entry's matches() only; the class is untouched.
            route.matches = _guarded(route, prefix, route.matches)  # type: ignore[method-assign,assignment]
            guarded += 1
    return guarded


def _prefix_of(route: BaseRoute) -> str | None:
    """The literal start every path of this included router's routes has, if any."""
    router = getattr(route, "original_router", None)
    included: object = getattr(getattr(route, "include_context", None), "prefix", "")
    found: list[object] = [getattr(inner, "path", None) for inner in getattr(router, "routes", ())]
    paths = [path for path in found if isinstance(path, str) and path.startswith("/")]
    if not paths or len(paths) != len(found) or not isinstance(included, str):
        return None
    # Character by character, as routes match; a parameter matches any text, so the
    # literal start ends before the first one.
    whole = [included + path for path in paths]
    prefix = os.path.commonprefix(whole).split("{", 1)[0]  # noqa: RUF071
    return prefix if len(prefix) > 1 else None


def _version(router: object) -> tuple[int, object]:
    """What tells that ``router``'s routes changed: their number and FastAPI's own count
    of changes (its routers bump it on every route added, as FastAPI's own route cache
    relies on), so a route removed and another added is seen too."""
    return len(getattr(router, "routes", ())), getattr(router, "_routes_version", None)


def _guarded(route: BaseRoute, prefix: str, matches: _Matcher) -> _Matcher:
    # A route added to the router later may not share the prefix: then it is worked out
    # again (or the router asked for every path, if its routes share none).
    inner = getattr(route, "original_router", None)
    known: list[Any] = [_version(inner), prefix]

    def guarded(scope: Scope) -> tuple[Match, Scope]:
        version = _version(inner)
        if version != known[0]:
            known[:] = [version, _prefix_of(route)]
        start: str | None = known[1]
        if start is None:
            return matches(scope)
        # Routes match the path with the app's root path taken off, when it starts with
        # it: neither that nor the whole path may start with the prefix.
        path: str = scope["path"]
        root: str = scope.get("root_path", "")
        if path.startswith(start) or (root and path[len(root) :].startswith(start)):
            return matches(scope)
        return Match.NONE, {}

    return guarded
