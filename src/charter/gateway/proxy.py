"""The gateway's decisions: which tools an agent sees, and what happens to each call.

Every ``tools/call`` is decided by Charter (``POST /v1/decisions``, with the enforcer
token, for the client's agent) before the upstream hears of it, with the call's
arguments as ``input`` so that the server's secrets guard scans them. Only ``allow``
reaches the upstream; a deny, an approval still pending, a resource argument that
would leave its segment, an unknown tool, or a Charter or upstream that cannot be
reached each come back as a tool result with ``isError: true`` that says why, so that
the model can adapt. What the upstream answers is screened before the client sees it:
fields the decision redacted are dropped, registered leaks are masked.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

import anyio
import mcp_types as types

from charter.codes import ErrorCode
from charter.errors import CharterError, InvalidInput, Unavailable
from charter.gateway.config import GatewayConfig, Screening, ToolRule
from charter.gateway.upstream import Upstreams
from charter.policy.canonical import RESOURCE_ID
from charter.sdk.client import AsyncClient
from charter.wire import DecisionOut
from charter.wire_approvals import ApprovalOut

__all__ = ["APPROVAL_KEY", "Channel", "Exposed", "Gateway", "Result", "Via"]

log = logging.getLogger("charter.gateway")

APPROVAL_KEY = "charter-approval"
"""The key of the approval's URL elicitation in an ``input_required`` result."""

META = "charter/"
"""The prefix of the gateway's keys in a result's ``_meta``."""

_PENDING = frozenset({"approval_required", "step_up_required"})
_SETTLED = {
    "denied": "approval_denied",
    "expired": "approval_expired",
    "cancelled": "approval_cancelled",
}
_ACTION = re.compile(r"[a-z0-9_][a-z0-9_-]*(?:\.[a-z0-9_][a-z0-9_-]*)*")

Result = types.CallToolResult | types.InputRequiredResult


class Via(Enum):
    """How the client can be shown an approval's link."""

    INPUT_REQUIRED = "input_required"
    """The 2026-07-28 multi-round-trip result: the client elicits, then calls again."""
    ELICITATION = "elicitation"
    """A URL-mode ``elicitation/create`` request, sent during the call (2025-11-25)."""
    NONE = "none"
    """Neither: the result says where to approve, and the same call is made again."""


@dataclass(frozen=True, slots=True)
class Channel:
    """What the client of one call can do about an approval."""

    via: Via
    answer: str | None = None
    """For ``INPUT_REQUIRED``: the user's action on the link, when this call is the retry
    that carries it (``accept``, ``decline``, ``cancel``); None on the first call."""
    elicit: Callable[[str, str, str], Awaitable[str]] | None = None
    """For ``ELICITATION``: show (message, url, id), answer the user's action."""


@dataclass(frozen=True, slots=True)
class Exposed:
    """One upstream tool as the gateway shows it."""

    name: str
    upstream: str
    tool: types.Tool
    rule: ToolRule
    action: str


@dataclass(frozen=True, slots=True)
class _Ask:
    """One call's decision request."""

    capability: str
    action: str
    resource: str
    fields: tuple[str, ...]
    context: dict[str, Any]
    input: Any


class Gateway:
    """The decisions and the screening, over one Charter client and the upstreams."""

    def __init__(self, config: GatewayConfig, charter: AsyncClient, upstreams: Upstreams) -> None:
        self.config, self.charter, self.upstreams = config, charter, upstreams
        self._exposed: dict[str, Exposed] = {}
        self._down: list[str] = []

    # -- the catalogue ----------------------------------------------------------------

    async def catalogue(self) -> dict[str, Exposed]:
        """Every upstream tool a rule covers, by the name the client sees; upstreams
        that are down are left out, and so are tools no rule names."""
        found: dict[str, Exposed] = {}
        down = []
        for name, connected in self.upstreams.connected.items():
            upstream = connected.upstream
            try:
                tools = await self.upstreams.list_tools(name)
            except CharterError as error:
                log.warning("%s", error.message)
                down.append(name)
                continue
            for tool in tools:
                rule = upstream.rule_for(tool.name)
                if rule is None:
                    continue
                action = rule.action or f"mcp.{name}.{tool.name}"
                if not _canonical_action(action) or (
                    rule.resource is None and RESOURCE_ID.fullmatch(tool.name) is None
                ):
                    log.warning(
                        "tool %r of %s is hidden: its name does not make a canonical action "
                        "or resource; give its rule an action and a resource",
                        tool.name,
                        name,
                    )
                    continue
                shown = upstream.prefix + tool.name
                if shown in found:
                    log.warning("tool %r of %s is hidden: the name is taken", tool.name, name)
                    continue
                found[shown] = Exposed(shown, name, tool, rule, action)
        self._exposed, self._down = found, down
        return found

    async def tools_for(self, agent: str) -> list[types.Tool]:
        """The tools ``agent`` could ever be allowed to call (Charter's reach query);
        ``CharterError`` when Charter cannot be asked."""
        catalogue = await self.catalogue()
        if not catalogue:
            return []
        exposed = list(catalogue.values())
        try:
            with anyio.fail_after(self.config.charter.timeout * 2):
                reach = await self.charter.reach(
                    [(item.rule.capability, item.action) for item in exposed], agent=agent
                )
        except TimeoutError:
            raise Unavailable("Charter did not answer in time", code=ErrorCode.TIMEOUT) from None
        return [
            item.tool.model_copy(update={"name": item.name})
            for item, answer in zip(exposed, reach.actions, strict=True)
            if answer.possible
        ]

    # -- one call ---------------------------------------------------------------------

    async def call(
        self, agent: str, name: str, arguments: Mapping[str, Any], channel: Channel
    ) -> Result:
        """Decide one ``tools/call`` and, when allowed, make it and screen its result."""
        exposed = self._exposed.get(name)
        if exposed is None:
            try:
                exposed = (await self.catalogue()).get(name)
            except Exception:
                exposed = None
        if exposed is None and self._down:
            return refusal(
                ErrorCode.UPSTREAM_UNAVAILABLE,
                f"no tool {name!r} is available now: upstream(s) {', '.join(self._down)} "
                "cannot be reached",
            )
        if exposed is None:
            return refusal(ErrorCode.UNKNOWN_TOOL, f"there is no tool {name!r} behind this gateway")
        try:
            ask = self._ask(exposed, arguments)
        except InvalidInput as error:
            return refusal(error.code, error.message, help=error.help)
        try:
            decided = await self._decide(agent, ask)
            if decided.decision in _PENDING:
                outcome = await self._approval(agent, ask, decided, channel)
                if not isinstance(outcome, DecisionOut):
                    return outcome
                decided = outcome
        except CharterError as error:
            return _unreachable(error)
        except TimeoutError:
            return _unreachable(Unavailable("no answer in time", code=ErrorCode.TIMEOUT))
        if decided.decision != "allow":
            return denied(decided)
        try:
            answer = await self.upstreams.call_tool(
                exposed.upstream, exposed.tool.name, dict(arguments)
            )
        except CharterError as error:
            return refusal(error.code, error.message, decided, help=error.help)
        try:
            return await self._screen(answer, decided)
        except TimeoutError:
            return refusal(
                ErrorCode.TIMEOUT,
                "the result could not be screened in time, so it is withheld",
                decided,
            )
        except CharterError as error:
            return refusal(
                error.code,
                f"the result could not be screened, so it is withheld: {error.message}",
                decided,
            )

    def _ask(self, exposed: Exposed, arguments: Mapping[str, Any]) -> _Ask:
        rule = exposed.rule
        resource = (
            rule.resource.render(arguments)
            if rule.resource is not None
            else f"mcp/{exposed.upstream}/{exposed.tool.name}"
        )
        if rule.input is None:
            given: Any = dict(arguments)
        else:
            given = {key: arguments[key] for key in rule.input if key in arguments}
        return _Ask(
            rule.capability.value,
            exposed.action,
            resource,
            rule.fields,
            {
                **rule.context,
                "gateway": "mcp",
                "mcp_server": exposed.upstream,
                "mcp_tool": exposed.tool.name,
            },
            given or None,
        )

    async def _decide(self, agent: str, ask: _Ask) -> DecisionOut:
        with anyio.fail_after(self.config.charter.timeout * 2):
            return await self.charter.decide(
                ask.capability,
                ask.action,
                resource=ask.resource,
                agent=agent,
                fields=ask.fields,
                context=ask.context,
                input=ask.input,
            )

    # -- approvals ----------------------------------------------------------------------

    async def _approval(
        self, agent: str, ask: _Ask, decided: DecisionOut, channel: Channel
    ) -> Result | DecisionOut:
        """A call that waits on an approval: show its link the way the client can, and
        once the user has seen it, wait for the approval and decide again (an approved
        request is allowed once). The client's answer is never taken for the approval."""
        approval = decided.approval
        if approval is None:
            return decided
        link = f"{self.config.charter.console_url}/ui/approvals/{approval['id']}"
        message = _approval_message(decided, link)
        if channel.via is Via.INPUT_REQUIRED and channel.answer is None:
            request = types.ElicitRequest(
                params=types.ElicitRequestURLParams(
                    message=message, url=link, elicitation_id=approval["id"]
                )
            )
            return types.InputRequiredResult(
                input_requests={APPROVAL_KEY: request}, request_state=approval["id"]
            )
        if channel.via is Via.ELICITATION and channel.elicit is not None:
            try:
                with anyio.fail_after(self.config.approval_wait):
                    action = await channel.elicit(message, link, approval["id"])
            except Exception:
                action = "cancel"
            if action != "accept":
                return pending(decided, link, note="the link was not opened")
        elif channel.via is Via.INPUT_REQUIRED:
            if channel.answer != "accept":
                return pending(decided, link, note="the link was not opened")
        else:
            return pending(decided, link)
        waited = await self._wait(approval["id"])
        if waited.status in _SETTLED:
            return refusal(
                ErrorCode(_SETTLED[waited.status]),
                f"the approval {waited.id} was {waited.status}: the call was not made",
                decided,
            )
        if waited.pending:
            return pending(decided, link, note="still pending")
        again = await self._decide(agent, ask)
        if again.decision in _PENDING:
            return pending(again, link, note="still pending")
        return again

    async def _wait(self, approval_id: str) -> ApprovalOut:
        wait = self.config.approval_wait
        with anyio.fail_after(wait + self.config.charter.timeout * 2 + 10):
            return await self.charter.wait_for_approval(approval_id, timeout=wait)

    # -- results ------------------------------------------------------------------------

    async def _screen(
        self, answer: types.CallToolResult, decided: DecisionOut
    ) -> types.CallToolResult:
        """The upstream's result as the client may see it: redacted fields dropped from
        its structured content (and from text blocks holding that object as JSON), then
        registered leaks (or every secret, with ``results.mask: secrets``) masked by the
        server's scan; with the decision's id and revision in ``_meta``."""
        redacted = frozenset(decided.redacted_fields)
        structured = answer.structured_content
        if redacted and isinstance(structured, dict):
            structured = {k: v for k, v in structured.items() if k not in redacted}
        texts = [
            _drop_fields(block.text, redacted) if isinstance(block, types.TextContent) else None
            for block in answer.content
        ]
        payload = {"texts": [t for t in texts if t is not None], "structured": structured}
        with anyio.fail_after(self.config.charter.timeout * 2):
            scanned = await self.charter.scan(
                payload, redact=self.config.screening is Screening.SECRETS
            )
        masked = scanned.content if isinstance(scanned.content, dict) else {}
        masked_texts = iter(masked.get("texts") or [])
        content: list[types.ContentBlock] = []
        for block, text in zip(answer.content, texts, strict=True):
            if text is None:
                content.append(block)
            else:
                content.append(block.model_copy(update={"text": str(next(masked_texts, ""))}))
        return types.CallToolResult(
            content=content,
            structured_content=masked.get("structured") if structured is not None else None,
            is_error=answer.is_error,
            _meta={**(answer.meta or {}), **_meta(decided)},
        )


def _canonical_action(action: str) -> bool:
    return _ACTION.fullmatch(action) is not None


def _drop_fields(text: str, redacted: frozenset[str]) -> str:
    """A text block without the redacted fields, when it is a JSON object."""
    if not redacted:
        return text
    try:
        parsed = json.loads(text)
    except ValueError:
        return text
    if not isinstance(parsed, dict):
        return text
    return json.dumps({k: v for k, v in parsed.items() if k not in redacted})


def _meta(decided: DecisionOut | None, **extra: str) -> dict[str, Any]:
    found: dict[str, Any] = {f"{META}{k}": v for k, v in extra.items()}
    if decided is not None:
        found |= {
            f"{META}decision": decided.decision,
            f"{META}code": decided.code,
            f"{META}decision_id": decided.decision_id,
            f"{META}policy_revision": decided.policy_revision,
        }
    return found


def refusal(
    code: str, message: str, decided: DecisionOut | None = None, *, help: str | None = None
) -> types.CallToolResult:
    """A tool result that says the call was not made, and why (``isError``)."""
    text = f"Not called ({code}): {message}"
    if help:
        text += f" ({help})"
    if decided is not None:
        text += f" [decision {decided.decision_id}]"
    return types.CallToolResult(
        content=[types.TextContent(text=text)],
        is_error=True,
        _meta=_meta(decided) | {f"{META}code": code},
    )


def denied(decided: DecisionOut) -> types.CallToolResult:
    """A deny as a tool result: the code, Charter's message and the deciding rules."""
    why = decided.message or "; ".join(
        f"{r['policy']} {r['rule']}" + (f": {r['message']}" if r.get("message") else "")
        for r in decided.reasons
    )
    return refusal(decided.code, f"Charter denied this call: {why or decided.code}", decided)


def pending(decided: DecisionOut, link: str, *, note: str = "") -> types.CallToolResult:
    """An approval not given (yet): its id and link, and that the same call works once
    it is approved."""
    approval_id = decided.approval["id"] if decided.approval else None
    kind = "step-up confirmation" if decided.decision == "step_up_required" else "approval"
    text = (
        f"This call needs a human {kind}"
        + (f" ({note})" if note else "")
        + f": approval {approval_id} at {link}. "
        "Make the same call again once it is approved."
    )
    result = refusal(decided.code, text, decided)
    meta = dict(result.meta or {})
    meta |= {f"{META}approval_id": approval_id, f"{META}approval_url": link}
    return result.model_copy(update={"meta": meta})


def _approval_message(decided: DecisionOut, link: str) -> str:
    kind = "step-up confirmation" if decided.decision == "step_up_required" else "approval"
    why = f" {decided.message}" if decided.message else ""
    return f"Charter needs a human {kind} before this tool runs.{why} Open {link} to review it."


def _unreachable(error: CharterError) -> types.CallToolResult:
    return refusal(
        error.code,
        f"Charter could not decide this call ({error.message}); it was not made",
        help=error.help,
    )
