"""``/v1/approvals``: the approval inbox, votes, and the agent's long-poll."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from charter.approvals.model import ApprovalStatus, Vote
from charter.identity.names import AGENT_ID_PATTERN
from charter.server.deps import Caller, Wired
from charter.wire.pagination import decode_cursor, next_cursor
from charter.wire_approvals import ApprovalOut, ApprovalPage, VoteIn

__all__ = ["MAX_WAIT_SECONDS", "router"]

router = APIRouter(prefix="/v1/approvals", tags=["approvals"])

MAX_WAIT_SECONDS = 60
_RECHECK_SECONDS = 1.0
"""How often a waiting request looks at the store too (changes made by other servers)."""

ApprovalIdPath = Annotated[str, Path(pattern=r"^apr_[a-z2-7]{16}$")]


@router.get("")
def list_approvals(
    services: Wired,
    caller: Caller,
    status: ApprovalStatus | None = None,
    agent: Annotated[str | None, Query(pattern=AGENT_ID_PATTERN, max_length=63)] = None,
    resource: Annotated[
        str | None, Query(min_length=1, max_length=1024, pattern=r"^[^\x00-\x1f\x7f]+$")
    ] = None,
    mine: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> ApprovalPage:
    """The approvals the caller may see: approvers their inbox, agents their own;
    ``resource`` only those for it, ``mine`` only those asking the caller to decide."""
    found = services.approvals.list(
        caller,
        status=status,
        agent=agent,
        resource=resource,
        mine=mine,
        after=decode_cursor(cursor),
        limit=limit,
    )
    return ApprovalPage(
        approvals=[ApprovalOut.of(approval) for approval in found],
        next_cursor=next_cursor(found, limit, lambda approval: approval.id),
    )


@router.get("/{approval_id}")
def get_approval(services: Wired, caller: Caller, approval_id: ApprovalIdPath) -> ApprovalOut:
    """One approval, with its request and every vote."""
    return ApprovalOut.of(services.approvals.get(caller, approval_id))


@router.post("/{approval_id}/approve")
def approve(
    services: Wired, caller: Caller, approval_id: ApprovalIdPath, body: VoteIn
) -> ApprovalOut:
    """Approve as one of the approver set (or confirm a step-up as its human)."""
    return ApprovalOut.of(services.approvals.vote(caller, approval_id, Vote.APPROVE, body.reason))


@router.post("/{approval_id}/deny")
def deny(services: Wired, caller: Caller, approval_id: ApprovalIdPath, body: VoteIn) -> ApprovalOut:
    """Deny: the first deny decides."""
    return ApprovalOut.of(services.approvals.vote(caller, approval_id, Vote.DENY, body.reason))


@router.get("/{approval_id}/wait")
async def wait(
    request: Request,
    services: Wired,
    caller: Caller,
    approval_id: ApprovalIdPath,
    timeout: Annotated[int, Query(ge=0, le=MAX_WAIT_SECONDS)] = 30,
) -> ApprovalOut:
    """Long-poll until the approval is decided, expired or cancelled, or ``timeout``
    seconds pass (the answer then still says ``pending``)."""
    waiters = request.app.state.waiters
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        approval = await run_in_threadpool(services.approvals.get, caller, approval_id)
        left = deadline - loop.time()
        if approval.status is not ApprovalStatus.PENDING or left <= 0:
            return ApprovalOut.of(approval)
        # Woken at once by a change made through this server; the re-check catches the
        # others (and the approval's own expiry).
        until_expiry = (approval.expires_at - services.clock()).total_seconds()
        await waiters.wait(approval_id, max(0.0, min(left, _RECHECK_SECONDS, until_expiry)))
