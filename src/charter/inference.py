"""Inferences an agent was allowed to make, kept so that later requests can cite them.

A record of the core: the evaluator reads it (``Facts.advisories``) and the store keeps
it, so it lives apart from both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["ADVISORY_MAX_AGE", "Advisory"]

ADVISORY_MAX_AGE = timedelta(hours=1)
"""How long an inference may be cited by the requests built on it, by default."""


@dataclass(frozen=True, slots=True)
class Advisory:
    """An allowed ``infer`` decision: what a later request may cite as its ground."""

    decision_id: str
    agent: str
    action: str
    decided_at: datetime
