"""The active policy revision as this process holds it, compiled."""

from __future__ import annotations

from charter.policy.engine import Engine

__all__ = ["ActiveEngine"]


class ActiveEngine:
    """The active revision, compiled, as this process holds it: swapped whole on every
    activation made through this process, read by every decision."""

    __slots__ = ("engine",)

    def __init__(self, engine: Engine | None = None) -> None:
        self.engine = engine
