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
- **numbers** in the context and resource attributes (what conditions read): finite. A
  ``NaN`` compares false with everything, so ``context.amount > 1000`` would let it pass.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from charter.identity.names import AGENT_ID_PATTERN, HUMAN_ID_PATTERN
from charter.policy.decision import Request

__all__ = ["ATTRIBUTE_KEY", "FIELD", "RESOURCE_ID", "non_canonical"]

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

_MAX_REMEMBERED = 4096
_canonical_actions: set[str] = set()
"""Actions already found canonical: an agent uses few, and each is checked once."""


def _action_problem(action: str) -> str | None:
    if not isinstance(action, str):
        return f"action {action!r} is not a string"
    if action in _canonical_actions:
        return None
    if _ACTION.fullmatch(action) is None:
        return (
            f"action {action!r} is not canonical: lowercase ASCII letters, digits, '_' "
            "and '-' in segments joined by single dots"
        )
    if len(_canonical_actions) < _MAX_REMEMBERED:
        _canonical_actions.add(action)
    return None


def _fields_problem(fields: tuple[str, ...]) -> str | None:
    for name in fields:
        if not isinstance(name, str) or FIELD.fullmatch(name) is None:
            return (
                f"field {name!r} is not canonical: lowercase ASCII letters, digits, '_' and "
                "'-' in segments joined by single dots"
            )
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
        f"context.on_behalf_of {value!r} is not one human id: write it exactly as "
        "registered, e.g. 'user:bob'"
    )


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


def _numbers_problem(request: Request) -> str | None:
    for name, values in (
        ("context", request.context),
        ("resource attributes", request.resource_attributes),
    ):
        if values and _non_finite(values):
            return f"the {name} hold a number that is not finite (NaN or infinity)"
    return None


def non_canonical(request: Request) -> str | None:
    """Why ``request`` is not in canonical form, or None when it is."""
    if not isinstance(request.agent, str) or _AGENT.fullmatch(request.agent) is None:
        return f"agent {request.agent!r} is not a canonical agent id"
    problem = _action_problem(request.action)
    if problem is not None:
        return problem
    if not isinstance(request.resource, str) or RESOURCE_ID.fullmatch(request.resource) is None:
        return (
            f"resource {request.resource!r} is not canonical: ASCII letters, digits and "
            "'_ . : @ = + -' in non-empty segments joined by single slashes, no '.' or '..' "
            "segment, none ending in '.'"
        )
    if request.fields:
        problem = _fields_problem(request.fields)
        if problem is not None:
            return problem
    if request.resource_attributes:
        problem = _attributes_problem(request.resource_attributes)
        if problem is not None:
            return problem
    if request.context:
        problem = _on_behalf_of_problem(request.context)
        if problem is not None:
            return problem
    return _numbers_problem(request)
