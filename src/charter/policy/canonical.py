"""The one canonical spelling of every string a decision matches on.

Rules match names exactly, so a name with two spellings is a name with two answers: a
guard on ``vault/prod/**`` that ``vault/dev/../prod/db``, ``vault/%70rod/db`` or the same
with a fullwidth ``p`` walks around is worse than none. The evaluator therefore refuses
(``invalid_request``, never an allow) a request whose strings are not in canonical form,
instead of guessing what a downstream system would make of them:

- **action**: lowercase ASCII segments of letters, digits, ``_`` and ``-`` (not starting
  with ``-``), joined by single dots: ``crm.customer.read``;
- **resource id**: segments of ASCII letters, digits and ``_ . : @ = + -`` joined by single
  slashes; no empty segment (so no leading, trailing or doubled slash), no segment made of
  dots only (``.``, ``..``) and none ending in a dot. Percent-escapes, spaces, control,
  zero-width and non-ASCII characters (fullwidth and other compatibility forms) are
  outside that alphabet. Case is kept (ids may be case-sensitive), but every guardrail
  matches resources without regard to case: a restriction is never weaker than a grant;
- **resource attribute keys**: lowercase ASCII identifiers (``data_class``);
- **fields**: lowercase ASCII segments of letters, digits, ``_`` and ``-`` joined by dots
  (``account_status``, ``address.city``): attribute names are compared without regard to
  case in SCIM and LDAP, so the one spelling is the lowercase one;
- **principals**: the agent id as registered, and ``context.on_behalf_of``, when
  present, one human id (``user:bob``) and nothing else: not padded, not a list, not an
  object;
- **context keys** (the top level, which conditions read): NFKC-normalised, not padded,
  without control or format characters (zero-width, bidi); and none but
  ``on_behalf_of`` itself spelled like it (``On_Behalf_Of``, ``on-behalf-of``,
  ``onBehalfOf``, ...): such a key would be read by nothing and walk around every rule
  on the human the agent acts for;
- **numbers** in the context and resource attributes (what conditions read): finite. A
  ``NaN`` compares false with everything, so ``context.amount > 1000`` would let it pass.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from charter.identity.names import AGENT_ID_PATTERN, HUMAN_ID_PATTERN
from charter.policy.decision import Request

__all__ = ["ATTRIBUTE_KEY", "FIELD", "RESOURCE_ID", "learn", "non_canonical"]

_ACTION = re.compile(r"[a-z0-9_][a-z0-9_-]*(?:\.[a-z0-9_][a-z0-9_-]*)*")
_SEGMENT = r"[A-Za-z0-9_.:@=+-]*[A-Za-z0-9_:@=+-]"
RESOURCE_ID = re.compile(rf"{_SEGMENT}(?:/{_SEGMENT})*")
"""A canonical resource id (use ``fullmatch``)."""
ATTRIBUTE_KEY = re.compile(r"[a-z_][a-z0-9_]*")
"""A canonical resource attribute key (use ``fullmatch``)."""
FIELD = re.compile(r"[a-z0-9_][a-z0-9_-]*(?:\.[a-z0-9_][a-z0-9_-]*)*")
"""A canonical field name (use ``fullmatch``)."""
_AGENT = re.compile(AGENT_ID_PATTERN)
_HUMAN = re.compile(HUMAN_ID_PATTERN)

_MAX_REMEMBERED = 65_536
"""Names remembered as canonical, per kind: past that, names are checked every time."""
_canonical_agents: set[str] = set()
_canonical_actions: set[str] = set()
_canonical_resources: set[str] = set()
_canonical_fields: set[str] = set()
_canonical_context_keys: set[str] = set()
"""Names already found canonical (exact ``str`` only, so the check is a pure function of
the text): a deployment uses a bounded set of agents, actions and resources, and each is
checked by its regular expression once."""


_LONGEST_REMEMBERED = 256
"""Longer names are checked every time, so the sets stay small (a few MiB at most)."""


def _remember(names: set[str], name: str) -> None:
    if type(name) is str and len(name) <= _LONGEST_REMEMBERED and len(names) < _MAX_REMEMBERED:
        names.add(name)


def _agent_problem(agent: str) -> str | None:
    if not isinstance(agent, str) or _AGENT.fullmatch(agent) is None:
        return f"agent {agent!r} is not a canonical agent id"
    _remember(_canonical_agents, agent)
    return None


def _action_problem(action: str) -> str | None:
    if not isinstance(action, str):
        return f"action {action!r} is not a string"
    if _ACTION.fullmatch(action) is None:
        return (
            f"action {action!r} is not canonical: lowercase ASCII letters, digits, '_' "
            "and '-' in segments joined by single dots"
        )
    _remember(_canonical_actions, action)
    return None


def _resource_problem(resource: str) -> str | None:
    if not isinstance(resource, str) or RESOURCE_ID.fullmatch(resource) is None:
        return (
            f"resource {resource!r} is not canonical: ASCII letters, digits and "
            "'_ . : @ = + -' in non-empty segments joined by single slashes, no '.' or '..' "
            "segment, none ending in '.'"
        )
    _remember(_canonical_resources, resource)
    return None


def learn(agents: Iterable[str], actions: Iterable[str], resources: Iterable[str]) -> None:
    """Check names a policy uses ahead of the requests that will carry them (the compiler
    calls this): the canonical ones are remembered, so that the first request naming one
    pays no regular expression. Names that are not canonical are simply not remembered."""
    for agent in agents:
        if type(agent) is str and agent not in _canonical_agents:
            _agent_problem(agent)
    for action in actions:
        if type(action) is str and action not in _canonical_actions:
            _action_problem(action)
    for resource in resources:
        if type(resource) is str and resource not in _canonical_resources:
            _resource_problem(resource)


def _fields_problem(fields: tuple[str, ...]) -> str | None:
    for name in fields:
        if type(name) is str and name in _canonical_fields:
            continue
        if not isinstance(name, str) or FIELD.fullmatch(name) is None:
            return (
                f"field {name!r} is not canonical: lowercase ASCII letters, digits, '_' and "
                "'-' in segments joined by single dots"
            )
        _remember(_canonical_fields, name)
    return None


def _attributes_problem(attributes: Mapping[str, Any]) -> str | None:
    for key in attributes:
        if not isinstance(key, str) or ATTRIBUTE_KEY.fullmatch(key) is None:
            return (
                f"resource attribute {key!r} is not canonical: lowercase ASCII letters, "
                "digits and '_', not starting with a digit"
            )
    return None


def _on_behalf_of_problem(context: Mapping[str, Any]) -> str | None:
    if "on_behalf_of" not in context:
        return None
    value = context["on_behalf_of"]
    if isinstance(value, str) and _HUMAN.fullmatch(value) is not None:
        return None
    return (
        f"context.on_behalf_of {value!r} is not one human id: 'user:' then lowercase "
        "letters, digits, '.', '_' or '-', e.g. 'user:bob'"
    )


_ON_BEHALF_OF = "onbehalfof"
"""``on_behalf_of`` folded: lowercase, letters and digits only, look-alikes as Latin."""
_LOOK_ALIKES = str.maketrans(
    "\u043e\u03bf\u0585\u0435\u0430\u03b1\u04bb\u044c\u0501\u0444\u04cf\u0131\u0578\u0440",
    "oooeaahbdfllnp",
)
"""Cyrillic, Greek and Armenian letters drawn like the Latin ones of ``on_behalf_of``."""


def _context_keys_problem(context: Mapping[str, Any]) -> str | None:
    for key in context:
        if type(key) is str and key in _canonical_context_keys:
            continue
        if not isinstance(key, str):
            return f"context key {key!r} is not a string"
        if (
            key != key.strip()
            or not unicodedata.is_normalized("NFKC", key)
            or any(unicodedata.category(ch) in ("Cc", "Cf") for ch in key)
        ):
            return (
                f"context key {key!r} is not canonical: NFKC-normalised, not padded, "
                "without control or format characters"
            )
        folded = "".join(ch for ch in key.casefold() if ch.isalnum()).translate(_LOOK_ALIKES)
        if folded == _ON_BEHALF_OF and key != "on_behalf_of":
            return f"context key {key!r} is not canonical: the key is 'on_behalf_of'"
        _remember(_canonical_context_keys, key)
    return None


def _non_finite(value: Any) -> bool:
    """Whether ``value`` holds a NaN or an infinity, at any depth."""
    pending = [value]
    while pending:
        item = pending.pop()
        if type(item) is float:
            if not math.isfinite(item):
                return True
        elif isinstance(item, Mapping):
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return False


def _flat_finite(values: Mapping[str, Any]) -> bool:
    """True when ``values`` is a plain dict of strings, integers, booleans, None and finite
    floats: the common context, settled without walking it (else ``_non_finite`` does)."""
    if type(values) is not dict:
        return False
    for item in values.values():
        kind = type(item)
        if kind is str or kind is int or kind is bool or item is None:
            continue
        if kind is not float or not math.isfinite(item):
            return False
    return True


def _numbers_problem(request: Request) -> str | None:
    for name, values in (
        ("context", request.context),
        ("resource attributes", request.resource_attributes),
    ):
        if values and not _flat_finite(values) and _non_finite(values):
            return f"the {name} hold a number that is not finite (NaN or infinity)"
    return None


def non_canonical(request: Request) -> str | None:
    """Why ``request`` is not in canonical form, or None when it is."""
    # The names matched on, first against those found canonical before (a set lookup
    # each, for exact strings only: anything else takes the full check).
    agent, action, resource = request.agent, request.action, request.resource
    if type(agent) is not str or agent not in _canonical_agents:
        problem = _agent_problem(agent)
        if problem is not None:
            return problem
    if type(action) is not str or action not in _canonical_actions:
        problem = _action_problem(action)
        if problem is not None:
            return problem
    if type(resource) is not str or resource not in _canonical_resources:
        problem = _resource_problem(resource)
        if problem is not None:
            return problem
    if request.fields:
        problem = _fields_problem(request.fields)
        if problem is not None:
            return problem
    attributes, context = request.resource_attributes, request.context
    if attributes:
        problem = _attributes_problem(attributes)
        if problem is not None:
            return problem
    if context:
        if "on_behalf_of" in context:
            problem = _on_behalf_of_problem(context)
            if problem is not None:
                return problem
        problem = _context_keys_problem(context)
        if problem is not None:
            return problem
        if type(context) is not dict:
            return _numbers_problem(request)
        # `_flat_finite`, in line for the context every request carries.
        for item in context.values():
            kind = type(item)
            if kind is str or kind is int or kind is bool or item is None:
                continue
            if kind is not float or not math.isfinite(item):
                return _numbers_problem(request)
    if attributes and not _flat_finite(attributes):
        return _numbers_problem(request)
    return None
