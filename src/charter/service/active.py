"""The active policy revision as this process holds it, compiled."""

from __future__ import annotations

from charter.policy.engine import Engine

__all__ = ["ActiveEngine"]


class ActiveEngine:
    """The active revision, compiled, as this process holds it: swapped whole on every
    activation made through this process, read by every decision."""

    __slots__ = ("engine", "unusable")

    def __init__(self, engine: Engine | None = None) -> None:
        self.engine = engine
        self.unusable: str | None = None
        """An active revision this process could not compile (a stored revision changed
        by hand, say): decided as no policy (``no_policy``) until another is active."""
