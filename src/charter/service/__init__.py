"""The service layer: Charter's use cases, each in one transaction with its audit record."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from charter.clock import Clock, system_clock
from charter.identity.credentials import TokenLifetimes
from charter.service.access import SYSTEM
from charter.service.active import ActiveEngine
from charter.service.agent_views import AgentViews
from charter.service.agents import AgentChanges, AgentService
from charter.service.analytics import AnalyticsService
from charter.service.approvals import ApprovalService
from charter.service.audit import AuditService
from charter.service.audit_views import AuditViews
from charter.service.commits import GroupCommitter
from charter.service.compliance import ComplianceService, posture_findings
from charter.service.decisions import DecisionService
from charter.service.evidence import EvidenceService
from charter.service.grants import GrantService
from charter.service.humans import Deactivation, HumanChanges, HumanService
from charter.service.inbox import Case, InboxService
from charter.service.policies import PolicyService
from charter.service.posture import PostureService
from charter.service.review_outcomes import ReviewOutcomes
from charter.service.review_sweep import ReviewSweeper, SweepReport
from charter.service.reviews import CampaignView, ItemDecision, ReviewService, StartCampaign
from charter.service.secrets import LeakService, scanner_from
from charter.service.sessions import SessionService
from charter.service.simulation import SimulationService
from charter.service.tokens import TokenService
from charter.service.usage import UsageService
from charter.service.webhooks import WebhookService, secrets_from
from charter.settings import Settings
from charter.storage.ports import Store

__all__ = [
    "SYSTEM",
    "ActiveEngine",
    "AgentChanges",
    "AgentService",
    "AgentViews",
    "AnalyticsService",
    "ApprovalService",
    "AuditService",
    "AuditViews",
    "CampaignView",
    "Case",
    "Deactivation",
    "DecisionService",
    "GrantService",
    "HumanChanges",
    "HumanService",
    "InboxService",
    "ItemDecision",
    "LeakService",
    "PolicyService",
    "PostureService",
    "ReviewService",
    "ReviewSweeper",
    "Services",
    "SessionService",
    "SimulationService",
    "StartCampaign",
    "SweepReport",
    "TokenService",
    "UsageService",
    "WebhookService",
]


@dataclass(frozen=True, slots=True)
class Services:
    """Every use case, wired to one store and one clock."""

    store: Store
    clock: Clock
    agents: AgentService
    humans: HumanService
    tokens: TokenService
    audit: AuditService
    audit_views: AuditViews
    policies: PolicyService
    decisions: DecisionService
    approvals: ApprovalService
    grants: GrantService
    secrets: LeakService
    webhooks: WebhookService
    sessions: SessionService
    inbox: InboxService
    agent_views: AgentViews
    usage: UsageService
    reviews: ReviewService
    review_sweep: ReviewSweeper
    evidence: EvidenceService
    compliance: ComplianceService
    posture: PostureService
    analytics: AnalyticsService
    simulation: SimulationService

    def follow_change(self, topic: str) -> None:
        """Bring what this process holds in memory up to date with a change another
        server committed to the shared store: ``policy``, ``leaks``, ``tokens``,
        ``agents``, ``humans``, or ``*`` (anything). Tokens, agents and humans are read
        from the store by every request, so only the compiled policy and the
        leaked-secret registry are refreshed."""
        if topic in ("policy", "*"):
            self.policies.refresh()
        if topic in ("leaks", "*"):
            self.secrets.refresh()

    @classmethod
    def build(
        cls,
        store: Store,
        *,
        settings: Settings | None = None,
        clock: Clock = system_clock,
        signing_key: Ed25519PrivateKey | None = None,
        public_key: Ed25519PublicKey | None = None,
    ) -> Services:
        """Wire the use cases to ``store``."""
        settings = settings or Settings()
        lifetimes: TokenLifetimes = settings.token_lifetimes
        compiled = ActiveEngine()
        tokens = TokenService(store, clock, lifetimes=lifetimes)
        scanner, keyed = scanner_from(signing_key)
        secrets = LeakService(store, clock, scanner, keyed=keyed)
        policies = PolicyService(
            store, clock, recertify_after=settings.recertify_after, compiled=compiled
        )
        outcomes = ReviewOutcomes()  # one per server: decisions and grants honour them
        approvals = ApprovalService(store, clock, compiled, outcomes=outcomes)
        agents = AgentService(store, clock, recertify_after=settings.recertify_after)
        audit = AuditService(store, clock, signing_key=signing_key, public_key=public_key)
        evidence = EvidenceService(store, clock, audit)
        posture = PostureService(store, clock, settings.posture)
        grants = GrantService(store, clock)
        decisions = DecisionService(
            store,
            clock,
            compiled,
            tokens,
            secrets,
            committer=GroupCommitter(store, deciding=True),
            advisory_max_age=settings.inference_max_age,
            follow_activation=policies.hold_active,
            outcomes=outcomes,
            replay_retention=settings.replay_retention,
        )
        return cls(
            store=store,
            clock=clock,
            agents=agents,
            humans=HumanService(store, clock),
            tokens=tokens,
            audit=audit,
            audit_views=AuditViews(audit),
            policies=policies,
            decisions=decisions,
            approvals=approvals,
            grants=grants,
            secrets=secrets,
            webhooks=WebhookService(
                store,
                clock,
                keys=secrets_from(signing_key) if signing_key else None,
                allow_private_targets=settings.webhook_allow_private_targets,
            ),
            sessions=SessionService(store, clock, tokens, settings.console_sessions),
            inbox=InboxService(store, clock, approvals),
            agent_views=AgentViews(
                store,
                clock,
                agents=agents,
                tokens=tokens,
                grants=grants,
                audit=audit,
                compiled=compiled,
            ),
            usage=UsageService(store),
            reviews=ReviewService(
                store,
                clock,
                compiled,
                decisions,
                settings=settings.reviews,
                recertify_after=settings.recertify_after,
            ),
            review_sweep=ReviewSweeper(store, clock, compiled, settings.reviews),
            evidence=evidence,
            compliance=ComplianceService(store, clock, evidence, posture_findings(posture)),
            posture=posture,
            analytics=AnalyticsService(store, clock),
            simulation=SimulationService(store, clock, advisory_max_age=settings.inference_max_age),
        )
