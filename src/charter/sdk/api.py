"""Every call of the Charter HTTP API, declared once for ``Client`` and ``AsyncClient``.

Each method here builds the ``Call`` it stands for and sends nothing: on a ``Client`` it
returns the answer, on an ``AsyncClient`` an awaitable of it (see ``charter.sdk.calls``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import TypeAdapter

from charter.durations import format_duration
from charter.identity.agents import AgentStatus, LifecycleAction, RiskTier
from charter.identity.humans import HumanRole
from charter.sdk.calls import Call, adapted, drop_none, model, operation, segment, text
from charter.sdk.decisions import DecisionCalls
from charter.wire import (
    AgentOut,
    AgentPage,
    AuditPage,
    DeactivationOut,
    HumanOut,
    HumanPage,
    IssuedTokenOut,
    LifecycleOut,
    PolicyApplied,
    TokenOut,
    UsagePage,
    WhoAmI,
)
from charter.wire.posture import LeakRotatedOut, PostureOut
from charter.wire.reviews import (
    CampaignOut,
    CampaignPage,
    ItemOut,
    ItemPage,
    ProposalOut,
    SweepOut,
)
from charter.wire_secrets import LeakOut, LeakPage, ScanOut
from charter.wire_webhooks import DeliveryPage, WebhookCreated, WebhookOut, WebhookPage

__all__ = ["Api"]

_OBJECT = adapted(TypeAdapter(dict[str, Any]))
_OBJECT_OR_NULL = adapted(TypeAdapter(dict[str, Any] | None))
_OBJECTS = adapted(TypeAdapter(list[dict[str, Any]]))
_TOKENS = adapted(TypeAdapter(list[TokenOut]))


def _window(window: timedelta | str | None) -> str | None:
    """A look-back window as the API takes it: ``30d``, ``12h``..."""
    if window is None or isinstance(window, str):
        return window
    return format_duration(window)


def _ttl(ttl: timedelta | None) -> dict[str, Any]:
    return {} if ttl is None else {"ttl_seconds": int(ttl.total_seconds())}


class Api(DecisionCalls):
    """The calls both clients offer; see ``Client`` and ``AsyncClient``."""

    # -- health and identity --------------------------------------------------------

    @operation
    def health(self) -> Call[dict[str, Any]]:
        """The server's liveness answer."""
        return Call("GET", "/healthz", _OBJECT)

    @operation
    def whoami(self) -> Call[WhoAmI]:
        """Who this client's token stands for."""
        return Call("GET", "/v1/whoami", model(WhoAmI))

    # -- agents ---------------------------------------------------------------------

    @operation
    def register_agent(
        self,
        agent_id: str,
        *,
        owner: str,
        purpose: str,
        risk_tier: RiskTier | str = RiskTier.MEDIUM,
        display_name: str | None = None,
        labels: Mapping[str, str] | None = None,
        recertify_by: datetime | None = None,
    ) -> Call[AgentOut]:
        """Register an agent."""
        body = drop_none(
            {
                "id": agent_id,
                "owner": owner,
                "purpose": purpose,
                "risk_tier": str(risk_tier),
                "display_name": display_name,
                "labels": dict(labels) if labels is not None else None,
                "recertify_by": recertify_by.isoformat() if recertify_by else None,
            }
        )
        return Call("POST", "/v1/agents", model(AgentOut), json=body)

    @operation
    def list_agents(
        self,
        *,
        owner: str | None = None,
        status: AgentStatus | str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Call[AgentPage]:
        """One page of agents."""
        params = drop_none(
            {
                "owner": owner,
                "status": str(status) if status else None,
                "limit": limit,
                "cursor": cursor,
            }
        )
        return Call("GET", "/v1/agents", model(AgentPage), params=params)

    @operation
    def get_agent(self, agent_id: str) -> Call[AgentOut]:
        """One agent."""
        return Call("GET", f"/v1/agents/{segment(agent_id)}", model(AgentOut))

    @operation
    def update_agent(self, /, agent_id: str, **changes: Any) -> Call[AgentOut]:
        """Change an agent (display_name, owner, purpose, risk_tier, labels, recertify_by)."""
        body = {
            key: value.isoformat() if isinstance(value, datetime) else value
            for key, value in drop_none(changes).items()
        }
        return Call("PATCH", f"/v1/agents/{segment(agent_id)}", model(AgentOut), json=body)

    @operation
    def agent_usage(self, agent_id: str, *, since: datetime | None = None) -> Call[UsagePage]:
        """Which permissions allowed what an agent did (last used at or after ``since``)."""
        params = drop_none({"since": since.isoformat() if since else None})
        path = f"/v1/agents/{segment(agent_id)}/usage"
        return Call("GET", path, model(UsagePage), params=params)

    @operation
    def investigate_agent(self, agent_id: str, *, since: str = "7d") -> Call[dict[str, Any]]:
        """An agent's incident view since ``since`` (``7d``, or an RFC 3339 time): its
        timeline, approvals, secrets seen, citations and blast radius, with the audit
        seqs each comes from (docs/investigations.md)."""
        path = f"/v1/agents/{segment(agent_id)}/investigation"
        return Call("GET", path, _OBJECT, params={"since": since})

    @operation
    def investigate_agent_markdown(self, agent_id: str, *, since: str = "7d") -> Call[str]:
        """``investigate_agent`` as a Markdown report."""
        path = f"/v1/agents/{segment(agent_id)}/investigation"
        return Call("GET", path, text, params={"since": since, "format": "markdown"})

    def _move(self, agent_id: str, action: LifecycleAction, reason: str) -> Call[LifecycleOut]:
        path = f"/v1/agents/{segment(agent_id)}/{action.value}"
        return Call("POST", path, model(LifecycleOut), json={"reason": reason})

    @operation
    def suspend_agent(self, agent_id: str, *, reason: str = "") -> Call[LifecycleOut]:
        """Suspend an agent: its tokens stop working until it is reinstated."""
        return self._move(agent_id, LifecycleAction.SUSPEND, reason)

    @operation
    def reinstate_agent(self, agent_id: str, *, reason: str = "") -> Call[LifecycleOut]:
        """Reinstate a suspended agent."""
        return self._move(agent_id, LifecycleAction.REINSTATE, reason)

    @operation
    def retire_agent(self, agent_id: str, *, reason: str = "") -> Call[LifecycleOut]:
        """Retire an agent for good, revoking all its tokens."""
        return self._move(agent_id, LifecycleAction.RETIRE, reason)

    # -- tokens ---------------------------------------------------------------------

    @operation
    def issue_agent_token(
        self, agent_id: str, *, ttl: timedelta | None = None, description: str = ""
    ) -> Call[IssuedTokenOut]:
        """Issue a token to an agent; the clear text is in the result only."""
        body = {"description": description, **_ttl(ttl)}
        path = f"/v1/agents/{segment(agent_id)}/tokens"
        return Call("POST", path, model(IssuedTokenOut), json=body)

    @operation
    def issue_human_token(
        self, human_id: str, *, ttl: timedelta | None = None, description: str = ""
    ) -> Call[IssuedTokenOut]:
        """Issue a token to a human; the clear text is in the result only."""
        body = {"description": description, **_ttl(ttl)}
        path = f"/v1/humans/{segment(human_id)}/tokens"
        return Call("POST", path, model(IssuedTokenOut), json=body)

    @operation
    def list_agent_tokens(self, agent_id: str) -> Call[list[TokenOut]]:
        """An agent's tokens."""
        return Call("GET", f"/v1/agents/{segment(agent_id)}/tokens", _TOKENS)

    @operation
    def list_human_tokens(self, human_id: str) -> Call[list[TokenOut]]:
        """A human's tokens."""
        return Call("GET", f"/v1/humans/{segment(human_id)}/tokens", _TOKENS)

    @operation
    def revoke_token(self, token_id: str, *, reason: str = "") -> Call[TokenOut]:
        """Revoke a token."""
        path = f"/v1/tokens/{segment(token_id)}"
        return Call("DELETE", path, model(TokenOut), params={"reason": reason})

    @operation
    def rotate_token(self, token_id: str, *, ttl: timedelta | None = None) -> Call[IssuedTokenOut]:
        """Replace a token with a new one, revoking the old."""
        path = f"/v1/tokens/{segment(token_id)}/rotate"
        return Call("POST", path, model(IssuedTokenOut), json=_ttl(ttl))

    # -- humans ---------------------------------------------------------------------

    @operation
    def add_human(
        self,
        human_id: str,
        *,
        email: str,
        display_name: str | None = None,
        groups: list[str] | None = None,
        roles: list[HumanRole | str] | None = None,
    ) -> Call[HumanOut]:
        """Add a human."""
        body = drop_none(
            {
                "id": human_id,
                "email": email,
                "display_name": display_name,
                "groups": groups,
                "roles": [str(role) for role in roles] if roles is not None else None,
            }
        )
        return Call("POST", "/v1/humans", model(HumanOut), json=body)

    @operation
    def list_humans(self, *, limit: int = 100, cursor: str | None = None) -> Call[HumanPage]:
        """One page of humans."""
        params = drop_none({"limit": limit, "cursor": cursor})
        return Call("GET", "/v1/humans", model(HumanPage), params=params)

    @operation
    def get_human(self, human_id: str) -> Call[HumanOut]:
        """One human."""
        return Call("GET", f"/v1/humans/{segment(human_id)}", model(HumanOut))

    @operation
    def update_human(self, /, human_id: str, **changes: Any) -> Call[HumanOut]:
        """Change a human (email, display_name, groups, roles, active=True)."""
        path = f"/v1/humans/{segment(human_id)}"
        return Call("PATCH", path, model(HumanOut), json=drop_none(changes))

    @operation
    def deactivate_human(self, human_id: str, *, reason: str = "") -> Call[DeactivationOut]:
        """Deactivate a human; the result lists the agents left orphaned."""
        path = f"/v1/humans/{segment(human_id)}/deactivate"
        return Call("POST", path, model(DeactivationOut), json={"reason": reason})

    # -- audit ----------------------------------------------------------------------

    @operation
    def query_audit(
        self,
        *,
        agent: str | None = None,
        types: list[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        cursor: str | None = None,
        after: int | None = None,
    ) -> Call[AuditPage]:
        """One page of audit records (``after``: only records past this sequence number)."""
        params = drop_none(
            {
                "agent": agent,
                "type": types or None,
                "since": since.isoformat() if since else None,
                "until": until.isoformat() if until else None,
                "limit": limit,
                "cursor": cursor,
                "after": after,
            }
        )
        return Call("GET", "/v1/audit", model(AuditPage), params=params)

    @operation
    def verify_audit(self) -> Call[dict[str, Any]]:
        """Ask the server to verify the whole audit log."""
        return Call("GET", "/v1/audit/verify", _OBJECT)

    @operation
    def sign_checkpoint(self) -> Call[dict[str, Any] | None]:
        """Ask the server to sign a checkpoint now."""
        return Call("POST", "/v1/audit/checkpoints", _OBJECT_OR_NULL)

    @operation
    def list_checkpoints(self) -> Call[list[dict[str, Any]]]:
        """Every signed checkpoint, oldest first: keep copies outside the server."""
        return Call("GET", "/v1/audit/checkpoints", _OBJECTS)

    @operation
    def audit_evidence(self, seqs: Sequence[int]) -> Call[dict[str, Any]]:
        """An evidence bundle citing the records ``seqs``, to verify offline."""
        return Call("POST", "/v1/audit/evidence", _OBJECT, json={"seqs": list(seqs)})

    @operation
    def compliance_report(self, framework: str, form: str = "json") -> Call[str]:
        """A compliance report on ``framework`` as text: ``json``, ``md`` or ``html``."""
        params = {"framework": framework, "format": form}
        return Call("GET", "/v1/compliance/report", text, params=params)

    @operation
    def audit_public_key(self) -> Call[str]:
        """The PEM public key that verifies checkpoints."""
        return Call("GET", "/v1/audit/public-key", text)

    @operation
    def audit_key_chain(self) -> Call[dict[str, Any]]:
        """The chain of audit signing keys (``charter-key-chain/v1``), for offline
        verifiers that hold the root public key."""
        return Call("GET", "/v1/audit/keys", _OBJECT)

    @operation
    def approval_stats(self, *, since: str = "30d") -> Call[dict[str, Any]]:
        """Approval analytics for the approvals opened since ``since`` (``30d``, or an
        RFC 3339 time): see docs/approvals-analytics.md."""
        return Call("GET", "/v1/approvals/stats", _OBJECT, params={"since": since})

    # -- policies -------------------------------------------------------------------

    @operation
    def apply_policy(self, files: Mapping[str, str]) -> Call[PolicyApplied]:
        """Validate and activate a policy given as ``{file name: YAML}``."""
        return Call("POST", "/v1/policies", model(PolicyApplied), json={"files": dict(files)})

    @operation
    def diff_policy(self, files: Mapping[str, str]) -> Call[dict[str, Any]]:
        """What applying ``files`` would change against the active revision."""
        return Call("POST", "/v1/policies/diff", _OBJECT, json={"files": dict(files)})

    @operation
    def simulate_policy(
        self, files: Mapping[str, str], *, since: str, agent: str | None = None
    ) -> Call[dict[str, Any]]:
        """Replay the decisions of the last ``since`` (``7d``), of ``agent`` if given,
        against ``files``: flips by kind and rule, and what could not be replayed."""
        body: dict[str, Any] = {"files": dict(files), "since": since}
        if agent is not None:
            body["agent"] = agent
        return Call("POST", "/v1/policies/simulate", _OBJECT, json=body)

    @operation
    def active_policy(self) -> Call[dict[str, Any] | None]:
        """The active revision with its files, or None."""
        return Call("GET", "/v1/policies/active", _OBJECT_OR_NULL)

    @operation
    def policy_revisions(self, *, limit: int = 100) -> Call[list[dict[str, Any]]]:
        """Stored revisions, newest first."""
        return Call("GET", "/v1/policies/revisions", _OBJECTS, params={"limit": limit})

    @operation
    def activate_policy(self, revision: str) -> Call[dict[str, Any]]:
        """Reactivate a stored revision (roll back)."""
        return Call("POST", f"/v1/policies/revisions/{segment(revision)}/activate", _OBJECT)

    # -- webhooks -------------------------------------------------------------------

    @operation
    def add_webhook(
        self, url: str, *, events: list[str] | None = None, description: str = ""
    ) -> Call[WebhookCreated]:
        """Add a webhook (all events unless ``events`` names some); the result holds its
        signing secret, shown only this once."""
        body = drop_none({"url": url, "events": events, "description": description})
        return Call("POST", "/v1/webhooks", model(WebhookCreated), json=body)

    @operation
    def list_webhooks(self, *, limit: int = 100, cursor: str | None = None) -> Call[WebhookPage]:
        """One page of webhooks, removed ones too."""
        params = drop_none({"limit": limit, "cursor": cursor})
        return Call("GET", "/v1/webhooks", model(WebhookPage), params=params)

    @operation
    def remove_webhook(self, webhook_id: str) -> Call[WebhookOut]:
        """Stop sending to a webhook; its pending deliveries are given up."""
        return Call("DELETE", f"/v1/webhooks/{segment(webhook_id)}", model(WebhookOut))

    @operation
    def webhook_deliveries(
        self,
        webhook_id: str,
        *,
        status: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Call[DeliveryPage]:
        """One page of a webhook's delivery log, newest first."""
        params = drop_none({"status": status, "limit": limit, "cursor": cursor})
        path = f"/v1/webhooks/{segment(webhook_id)}/deliveries"
        return Call("GET", path, model(DeliveryPage), params=params)

    # -- secrets ----------------------------------------------------------------------

    @operation
    def report_leak(
        self,
        *,
        note: str,
        value: str | None = None,
        fingerprint: str | None = None,
        ticket: str | None = None,
        source: str | None = None,
    ) -> Call[LeakOut]:
        """Register an exposed secret by its value (fingerprinted by the server, never
        kept) or its fingerprint; later decisions carrying it are denied."""
        body = drop_none(
            {
                "value": value,
                "fingerprint": fingerprint,
                "note": note,
                "ticket": ticket,
                "source": source,
            }
        )
        return Call("POST", "/v1/leaks", model(LeakOut), json=body)

    @operation
    def mark_leak_rotated(self, fingerprint: str, *, note: str) -> Call[LeakRotatedOut]:
        """Record that a leaked secret was rotated at its issuer (audited); posture stops
        reporting it, and its old value stays refused."""
        return Call(
            "POST",
            f"/v1/leaks/{segment(fingerprint)}/rotated",
            model(LeakRotatedOut),
            json={"note": note},
        )

    # -- posture --------------------------------------------------------------------

    @operation
    def posture(
        self,
        *,
        severity: Sequence[str] = (),
        kind: Sequence[str] = (),
        agent: str | None = None,
    ) -> Call[PostureOut]:
        """Posture findings (the most severe first) and the control catalogue, filtered
        by severity, kind and agent."""
        params = drop_none({"severity": list(severity) or None, "kind": list(kind) or None})
        if agent is not None:
            params["agent"] = agent
        return Call("GET", "/v1/posture", model(PostureOut), params=params)

    @operation
    def list_leaks(self, *, limit: int = 100, cursor: str | None = None) -> Call[LeakPage]:
        """One page of registered leaks."""
        params = drop_none({"limit": limit, "cursor": cursor})
        return Call("GET", "/v1/leaks", model(LeakPage), params=params)

    @operation
    def scan(self, content: Any, *, redact: bool = True) -> Call[ScanOut]:
        """Scan what an agent would surface: the content with its secrets masked (only
        registered leaks with ``redact=False``) and the findings."""
        return Call(
            "POST", "/v1/secrets/scan", model(ScanOut), json={"content": content, "redact": redact}
        )

    # -- access reviews ---------------------------------------------------------------

    @operation
    def start_campaign(
        self,
        name: str,
        *,
        agents: Sequence[str] | None = None,
        labels: Mapping[str, str] | None = None,
        risk_tiers: Sequence[RiskTier | str] | None = None,
        owners: Sequence[str] | None = None,
        window: timedelta | str | None = None,
        due_at: datetime | None = None,
        reviewer: str | None = None,
        overdue: str | None = None,
    ) -> Call[CampaignOut]:
        """Start an access review campaign (admins) over the agents every filter given
        selects (none: every agent not retired); ``window``: the look-back, e.g. ``30d``;
        ``reviewer``: ``user:<id>`` or ``group:<name>`` for every item (default: each
        agent's owner); ``overdue``: ``keep``, ``revoke_high_risk`` or ``revoke``."""
        scope = drop_none(
            {
                "agents": list(agents) if agents else None,
                "labels": dict(labels) if labels else None,
                "risk_tiers": [str(tier) for tier in risk_tiers] if risk_tiers else None,
                "owners": list(owners) if owners else None,
            }
        )
        body = drop_none(
            {
                "name": name,
                "scope": scope or None,
                "window": _window(window),
                "due_at": due_at.isoformat() if due_at else None,
                "reviewer": reviewer,
                "overdue": overdue,
            }
        )
        return Call("POST", "/v1/reviews/campaigns", model(CampaignOut), json=body)

    @operation
    def list_campaigns(self, *, status: str | None = None) -> Call[CampaignPage]:
        """Campaigns, newest first (``status``: ``open`` or ``closed``), with counts of
        the items the caller may see."""
        params = drop_none({"status": status})
        return Call("GET", "/v1/reviews/campaigns", model(CampaignPage), params=params)

    @operation
    def get_campaign(self, campaign_id: str) -> Call[CampaignOut]:
        """A campaign with the items the caller may see and their proposals."""
        path = f"/v1/reviews/campaigns/{segment(campaign_id)}"
        return Call("GET", path, model(CampaignOut))

    @operation
    def close_campaign(self, campaign_id: str, *, reason: str = "") -> Call[CampaignOut]:
        """Close a campaign (admins): its open items get the campaign's overdue default."""
        path = f"/v1/reviews/campaigns/{segment(campaign_id)}/close"
        return Call("POST", path, model(CampaignOut), json={"reason": reason})

    @operation
    def review_queue(self) -> Call[ItemPage]:
        """The open review items the caller may decide now, soonest due first."""
        return Call("GET", "/v1/reviews/queue", model(ItemPage))

    @operation
    def get_review_item(self, item_id: str) -> Call[ItemOut]:
        """One review item with its evidence, recommendation and proposals."""
        return Call("GET", f"/v1/reviews/items/{segment(item_id)}", model(ItemOut))

    @operation
    def decide_review_item(
        self,
        item_id: str,
        verdict: str,
        reason: str,
        *,
        new_owner: str | None = None,
        accept_proposal: str | None = None,
    ) -> Call[ItemOut]:
        """Decide one review item (its reviewer, or an admin): ``verdict`` is ``keep``,
        ``revoke``, ``reduce``, ``make_eligible``, ``reassign_owner`` (with
        ``new_owner``), ``retire_agent`` or ``dont_know``; ``accept_proposal`` names the
        agent's proposal this decision accepts."""
        body = drop_none(
            {
                "verdict": str(verdict),
                "reason": reason,
                "new_owner": new_owner,
                "accept_proposal": accept_proposal,
            }
        )
        path = f"/v1/reviews/items/{segment(item_id)}/decision"
        return Call("POST", path, model(ItemOut), json=body)

    @operation
    def decide_review_items(
        self, item_ids: Sequence[str], verdict: str, reason: str
    ) -> Call[ItemPage]:
        """Decide several review items the same way, all or none (a bulk decision)."""
        body = {"items": list(item_ids), "verdict": str(verdict), "reason": reason}
        return Call("POST", "/v1/reviews/decisions", model(ItemPage), json=body)

    @operation
    def propose_review(
        self, item_id: str, verdict: str, reason: str, evidence: Sequence[str] = ()
    ) -> Call[ProposalOut]:
        """Attach an agent's proposal to a review item (what it recommends, why, and what
        it cites): it decides nothing; a human accepts it or decides otherwise."""
        body = {"verdict": str(verdict), "reason": reason, "evidence": list(evidence)}
        path = f"/v1/reviews/items/{segment(item_id)}/proposals"
        return Call("POST", path, model(ProposalOut), json=body)

    @operation
    def review_outcomes(self) -> Call[ItemPage]:
        """The decided review items whose outcome is in force: applied on top of the
        policy until a revision reflects them (admins, auditors, policy admins)."""
        return Call("GET", "/v1/reviews/outcomes", model(ItemPage))

    @operation
    def run_review_sweep(self) -> Call[SweepOut]:
        """Run the reviews' clock now (admins): due dates, recertification, hand-offs,
        settling outcomes the active revision reflects."""
        return Call("POST", "/v1/reviews/sweep", model(SweepOut))
