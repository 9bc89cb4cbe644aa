"""Inference provenance: which inferences a request says it is built on, and whether the
facts bear that out.

A request cites the ``decision_id`` of one or more allowed ``infer`` decisions in
``context.derived_from`` (an id, or a list of them). Every citation must be an inference
of the same agent, no older than the facts' ``advisory_max_age``; otherwise the request
is refused (``invalid_provenance``). Valid citations make the request
``derived_from_inference``, and their actions are ``request.inference_actions`` in CEL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from charter.inference import Advisory
from charter.policy.decision import Facts

__all__ = ["MAX_CITATIONS", "Provenance", "cited", "provenance"]

MAX_CITATIONS = 20
"""Most inferences one request may cite."""


@dataclass(frozen=True, slots=True)
class Provenance:
    """The inferences a request is built on, or why its citations are refused."""

    advisories: tuple[Advisory, ...] = ()
    problem: str | None = None


def cited(context: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The decision ids ``context.derived_from`` cites (empty when it cites none), or
    None when it is not an id or a list of at most ``MAX_CITATIONS`` ids."""
    value = context.get("derived_from")
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if (
        not isinstance(value, list)
        or len(value) > MAX_CITATIONS
        or not all(isinstance(item, str) and item for item in value)
    ):
        return None
    return tuple(dict.fromkeys(value))


def provenance(agent: str, context: Mapping[str, Any], facts: Facts, now: datetime) -> Provenance:
    """Check what ``context.derived_from`` cites against the advisories in ``facts``."""
    ids = cited(context)
    if ids is None:
        return Provenance(
            problem=f"context.derived_from must be a decision id or a list of at most "
            f"{MAX_CITATIONS} of them"
        )
    found = {advisory.decision_id: advisory for advisory in facts.advisories}
    advisories = []
    for decision_id in ids:
        advisory = found.get(decision_id)
        if advisory is None:
            return Provenance(problem=f"{decision_id} is not an allowed inference decision")
        if advisory.agent != agent:
            return Provenance(problem=f"{decision_id} is another agent's inference")
        if now - advisory.decided_at > facts.advisory_max_age:
            return Provenance(
                problem=f"{decision_id} is older than {facts.advisory_max_age} and may no "
                "longer be cited"
            )
        advisories.append(advisory)
    return Provenance(advisories=tuple(advisories))
