"""``/v1/policies``: apply, diff, simulate, read and roll back policy revisions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from charter.durations import parse_duration
from charter.server.deps import Caller, Wired
from charter.wire.policies import (
    PolicyActivated,
    PolicyActive,
    PolicyApplied,
    PolicyDiff,
    PolicyFiles,
    PolicyRevisionOut,
    PolicySimulate,
    PolicySimulation,
)

__all__ = ["router"]

router = APIRouter(prefix="/v1/policies", tags=["policies"])

RevisionPath = Annotated[str, Path(pattern=r"^rev_[0-9a-f]{16}$")]


@router.post("", status_code=201)
def apply_policy(services: Wired, caller: Caller, body: PolicyFiles) -> PolicyApplied:
    """Validate and activate a policy; an invalid one is refused whole (422, diagnostics)."""
    applied = services.policies.apply(caller, body.files)
    # Review outcomes the new revision makes permanent are done from now on.
    services.review_sweep.settle()
    return PolicyApplied(
        revision=applied.revision,
        previous=applied.previous,
        created=applied.created,
        activated=applied.activated,
        warnings=[warning.to_json() for warning in applied.warnings],
        agents_registered=list(applied.agents_registered),
        agents_updated=list(applied.agents_updated),
    )


@router.post("/diff")
def diff_policy(services: Wired, caller: Caller, body: PolicyFiles) -> PolicyDiff:
    """What applying these files would change against the active revision."""
    return PolicyDiff.model_validate(services.policies.diff(caller, body.files))


@router.post("/simulate")
def simulate_policy(services: Wired, caller: Caller, body: PolicySimulate) -> PolicySimulation:
    """Replay the decisions recorded in a window against these files: the flips by kind
    and rule, and the decisions that could not be replayed, with why."""
    found = services.simulation.simulate(
        caller, body.files, since=parse_duration(body.since), agent=body.agent
    )
    return PolicySimulation.model_validate(found)


@router.get("/active")
def active_policy(services: Wired, caller: Caller) -> PolicyActive | None:
    """The active revision with its files, or null when no policy was applied."""
    found = services.policies.active(caller)
    if found is None:
        return None
    active, revision = found
    return PolicyActive(
        revision=active.revision,
        activated_at=active.activated_at.isoformat(),
        activated_by=active.activated_by,
        summary=dict(revision.summary),
        files=dict(revision.files),
    )


@router.get("/revisions")
def list_revisions(
    services: Wired,
    caller: Caller,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[PolicyRevisionOut]:
    """Stored revisions, newest first (without their files)."""
    return [
        PolicyRevisionOut(
            id=revision.id,
            created_at=revision.created_at.isoformat(),
            created_by=revision.created_by,
            summary=dict(revision.summary),
        )
        for revision in services.policies.revisions(caller, limit=limit)
    ]


@router.post("/revisions/{revision}/activate")
def activate_revision(services: Wired, caller: Caller, revision: RevisionPath) -> PolicyActivated:
    """Roll back (or forward) to a stored revision."""
    active = services.policies.rollback(caller, revision)
    services.review_sweep.settle()
    return PolicyActivated(
        revision=active.revision,
        activated_at=active.activated_at.isoformat(),
        activated_by=active.activated_by,
    )
