"""Policy simulation: replaying recorded decisions against a candidate policy.

Pure: the service (``charter.service.simulation``) reads the stored requests and audit
records and hands them here. ``history`` rebuilds what the agent held when a decision was
made; ``flips`` says how a replayed decision differs from the recorded one; ``report``
groups the differences by kind and by the rule that caused them.
"""

from charter.simulation.flips import FLIP_KINDS, Flip, FlipKind, cause_of, flip_of
from charter.simulation.history import agent_at, approval_used, grants_at
from charter.simulation.report import NotReplayed, SimulationReport, Skip

__all__ = [
    "FLIP_KINDS",
    "Flip",
    "FlipKind",
    "NotReplayed",
    "SimulationReport",
    "Skip",
    "agent_at",
    "approval_used",
    "cause_of",
    "flip_of",
    "grants_at",
]
