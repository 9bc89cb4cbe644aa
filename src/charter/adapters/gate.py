"""``Gate``: what every adapter asks Charter, and how it reads the answers.

An adapter needs three answers about a tool call: may it run (``decide``), and once a
human was asked, what became of the approval (``approval``). Both fail closed: an error
of any kind (an unreachable server, a revoked token, an answer that is not a decision,
a rule that cannot be applied to the arguments) becomes a deny with the reason, never
an exception that a framework might swallow and run the tool anyway.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import ValidationError

from charter.adapters.rules import ToolRule, rule_for
from charter.codes import ErrorCode
from charter.errors import CharterError
from charter.sdk.arguments import refuse
from charter.sdk.client import AsyncClient, Client
from charter.wire import DecisionOut
from charter.wire_approvals import ApprovalOut, ApprovalTicket

__all__ = ["CONSOLE_APPROVALS", "Gate", "Settled", "Verdict"]

CONSOLE_APPROVALS = "/ui/approvals/"
"""Where the web console shows one approval, under the server's URL."""

Effect = Literal["allow", "deny", "pending"]
_PENDING = {"approval_required": "approval", "step_up_required": "step_up"}


@dataclass(frozen=True, slots=True)
class Verdict:
    """Charter's answer about one tool call, as an adapter acts on it.

    ``effect`` is ``allow`` (run the tool), ``deny`` (never run it; ``message`` says
    why, for the model) or ``pending`` (a human must approve first: ``approval_id``,
    ``kind`` ``approval`` or ``step_up``, ``link`` to the console page).
    """

    tool: str
    effect: Effect
    code: str
    message: str
    decision_id: str | None = None
    approval_id: str | None = None
    kind: str | None = None
    expires_at: datetime | None = None
    link: str | None = None

    @property
    def allowed(self) -> bool:
        """True only for ``allow``."""
        return self.effect == "allow"

    def payload(self) -> dict[str, Any]:
        """What a pending call shows the human or client that resumes it (JSON)."""
        return {
            "charter": self.code,
            "tool": self.tool,
            "approval_id": self.approval_id,
            "kind": self.kind,
            "expires_at": None if self.expires_at is None else self.expires_at.isoformat(),
            "console": self.link,
            "message": self.message,
            "decision_id": self.decision_id,
        }


@dataclass(frozen=True, slots=True)
class Settled:
    """What became of an approval: ``approved``, ``pending``, ``denied``, ``expired``,
    ``cancelled``, or ``unknown`` when Charter could not say (``message`` says why)."""

    approval_id: str
    status: str
    message: str

    @property
    def approved(self) -> bool:
        """True only when Charter says the approval was granted."""
        return self.status == "approved"


def _deny(tool: str, code: str, message: str, decision_id: str | None = None) -> Verdict:
    return Verdict(tool, "deny", code, message, decision_id)


def _failed(tool: str, error: Exception) -> Verdict:
    code = error.code if isinstance(error, CharterError) else ErrorCode.CHARTER_ERROR
    return _deny(tool, code, f"Charter could not decide {tool}, so it is denied: {error}")


class Gate:
    """Asks Charter about tool calls through one client.

    ``tools`` maps a tool's name to its ``ToolRule``; every other tool follows
    ``default`` (``do`` the tool's name on ``tools/<name>``). ``agent`` is for an
    enforcer's token (an agent's token decides for itself). ``console_url`` is the
    server's URL as humans reach it, for the approval links (the client's by default).
    """

    def __init__(
        self,
        client: Client | AsyncClient,
        *,
        tools: Mapping[str, ToolRule] | None = None,
        default: ToolRule | None = None,
        agent: str | None = None,
        console_url: str | None = None,
    ) -> None:
        if not isinstance(client, Client | AsyncClient):
            raise refuse("a Charter adapter asks through a charter.Client or AsyncClient")
        self.client = client
        self.rules = dict(tools or {})
        self.default = default or ToolRule()
        self.agent = agent
        self.console_url = (console_url or client.url).rstrip("/")

    # -- decisions ------------------------------------------------------------------

    def decide(self, tool: str, arguments: Mapping[str, Any]) -> Verdict:
        """Charter's verdict on calling ``tool`` with ``arguments`` (blocking)."""
        client = self.client
        if not isinstance(client, Client):
            return _deny(tool, ErrorCode.INVALID_GUARD, "a blocking run needs a charter.Client")
        try:
            out = client.decide(**self._ask(tool, arguments))
        except Exception as error:  # fail closed: whatever went wrong is a deny
            return _failed(tool, error)
        return self._read(tool, out)

    async def adecide(self, tool: str, arguments: Mapping[str, Any]) -> Verdict:
        """Charter's verdict on calling ``tool`` with ``arguments`` (awaited; a blocking
        ``Client`` is run in a worker thread)."""
        client = self.client
        try:
            asked = self._ask(tool, arguments)
            if isinstance(client, AsyncClient):
                out = await client.decide(**asked)
            else:
                out = await asyncio.to_thread(lambda: client.decide(**asked))
        except Exception as error:  # fail closed
            return _failed(tool, error)
        return self._read(tool, out)

    def _ask(self, tool: str, arguments: Mapping[str, Any]) -> dict[str, Any]:
        asked = rule_for(tool, self.rules, self.default).request(tool, arguments)
        return {**asked, "agent": self.agent}

    def _read(self, tool: str, out: DecisionOut) -> Verdict:
        message = out.message or f"{tool}: {out.decision} ({out.code})"
        if out.decision == "allow":
            return Verdict(tool, "allow", out.code, message, out.decision_id)
        if out.decision == "deny":
            return _deny(tool, out.code, f"Charter denied {tool}: {message}", out.decision_id)
        kind = _PENDING.get(out.decision)
        if kind is None:
            return _deny(
                tool, ErrorCode.INVALID_RESPONSE, f"Charter answered {out.decision!r}: denied"
            )
        try:
            ticket = None if out.approval is None else ApprovalTicket.model_validate(out.approval)
        except ValidationError:
            ticket = None
        if ticket is None:
            return _deny(
                tool, out.code, f"{tool} needs {kind} but Charter opened none", out.decision_id
            )
        return Verdict(
            tool,
            "pending",
            out.decision,
            f"{tool} needs a human's {kind.replace('_', '-')} first: {message}",
            out.decision_id,
            ticket.id,
            ticket.kind or kind,
            ticket.expires_at,
            f"{self.console_url}{CONSOLE_APPROVALS}{ticket.id}",
        )

    # -- approvals ------------------------------------------------------------------

    def approval(self, approval_id: str, *, wait: float = 0.0) -> Settled:
        """What became of ``approval_id``, as Charter says, after waiting up to ``wait``
        seconds for a human to decide it (blocking)."""
        client = self.client
        if not isinstance(client, Client):
            return Settled(approval_id, "unknown", "a blocking run needs a charter.Client")
        try:
            if wait > 0:
                return _settled(client.wait_for_approval(approval_id, timeout=wait))
            return _settled(client.get_approval(approval_id))
        except Exception as error:  # fail closed: not approved
            return Settled(approval_id, "unknown", f"Charter could not say: {error}")

    async def aapproval(self, approval_id: str, *, wait: float = 0.0) -> Settled:
        """What became of ``approval_id``, as Charter says, after waiting up to ``wait``
        seconds for a human to decide it (awaited)."""
        client = self.client
        try:
            if isinstance(client, AsyncClient):
                if wait > 0:
                    return _settled(await client.wait_for_approval(approval_id, timeout=wait))
                return _settled(await client.get_approval(approval_id))
            if wait > 0:
                return _settled(
                    await asyncio.to_thread(client.wait_for_approval, approval_id, timeout=wait)
                )
            return _settled(await asyncio.to_thread(client.get_approval, approval_id))
        except Exception as error:  # fail closed
            return Settled(approval_id, "unknown", f"Charter could not say: {error}")


def _settled(approval: ApprovalOut) -> Settled:
    by = f" by {approval.closed_by}" if approval.closed_by else ""
    why = f": {approval.closed_reason}" if approval.closed_reason else ""
    return Settled(
        approval.id, approval.status, f"approval {approval.id} is {approval.status}{by}{why}"
    )
