"""Narrowing a role to what was used: the "reduce" proposal.

The property the issue asks for: replaying the window's allowed requests against the
reduced policy allows them all (with the same fields released), and the reduced policy
allows nothing the original did not. Policies are written as YAML, loaded and decided
by the real loader, validator, compiler and evaluator; usage is built from the reasons
of the real decisions, as the server records it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from hypothesis import event, given, settings
from hypothesis import strategies as st

from charter.policy import Capability, Effect, Engine, Request
from charter.policy.globs import ACTION, RESOURCE
from charter.policy.model import ExcessFields, Permission, Role
from charter.reviews.narrow import Outcome, narrow_permission, narrow_role, role_yaml
from charter.reviews.usage import SAMPLE_LIMIT, PermissionKey, PermissionUsage

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
BOT = "support-bot"
ROLE = "worker"
SOURCE = "Binding/worker-bot"

AGENT_DOC = f"""\
apiVersion: charter/v1
kind: Agent
metadata: {{name: {BOT}}}
spec: {{owner: "user:alice", riskTier: medium}}
"""
BINDING_DOC = f"""\
apiVersion: charter/v1
kind: Binding
metadata: {{name: worker-bot}}
spec: {{role: {ROLE}, agents: [{BOT}]}}
"""

ACTIONS = (
    "crm.customer.read",
    "crm.customer.update",
    "crm.order.read",
    "iam.role.assign",
    "ticket.create",
)
ACTION_PATTERNS = (*ACTIONS, "crm.*.read", "crm.**", "crm.customer.*", "*.role.*", "**")
RESOURCES = (
    "crm/customer/1",
    "crm/customer/2",
    "crm/order/7",
    "iam/roles/admin",
    "tickets/q/support",
)
RESOURCE_PATTERNS = (*RESOURCES, "crm/customer/*", "crm/**", "*/roles/*", "**")
FIELDS = ("name", "email", "ssn")
CAPABILITIES = (Capability.REQUEST, Capability.DO)
CONDITIONS = (None, None, 'context.purpose == "recovery"')


def usage(
    index: int,
    actions: Iterable[str],
    resources: Iterable[str],
    *,
    count: int = 1,
    full: bool = False,
) -> PermissionUsage:
    return PermissionUsage(
        key=PermissionKey(BOT, ROLE, index, SOURCE),
        count=count,
        first_at=NOW - timedelta(days=3),
        last_at=NOW,
        actions=tuple(actions),
        resources=tuple(resources),
        sample_full=full,
    )


def engine_with(role: Role) -> Engine:
    engine = Engine.from_documents(AGENT_DOC, role_yaml(role), BINDING_DOC)
    assert engine.diagnostics == ()
    return engine


# --- Examples -------------------------------------------------------------------------


def test_a_wildcard_narrows_to_the_exact_actions_and_resources_used() -> None:
    permission = Permission(
        Capability.REQUEST,
        actions=("crm.**",),
        resources=("crm/customer/*",),
        fields=("name", "email"),
        when='context.purpose == "recovery"',
    )
    used = usage(0, ["crm.customer.read"], ["crm/customer/2", "crm/customer/1"], count=9)
    narrower, outcome = narrow_permission(permission, used)
    assert outcome is Outcome.NARROWED
    assert narrower is not None
    assert narrower.actions == ("crm.customer.read",)
    assert narrower.resources == ("crm/customer/1", "crm/customer/2")
    # What is not about actions and resources is kept as written.
    assert narrower.fields == ("name", "email")
    assert narrower.when == 'context.purpose == "recovery"'
    assert narrower.capability is Capability.REQUEST


def test_literal_patterns_keep_their_order_and_unused_ones_go() -> None:
    permission = Permission(
        Capability.DO, actions=("ticket.create", "crm.customer.update", "crm.order.read")
    )
    used = usage(0, ["crm.order.read", "ticket.create"], ["tickets/q/support"])
    narrower, outcome = narrow_permission(permission, used)
    assert outcome is Outcome.NARROWED
    assert narrower is not None
    assert narrower.actions == ("ticket.create", "crm.order.read")
    # No resources written meant any resource: now exactly the one used.
    assert narrower.resources == ("tickets/q/support",)


def test_a_permission_used_as_granted_is_unchanged() -> None:
    permission = Permission(Capability.DO, actions=("ticket.create",), resources=("tickets/q/a",))
    used = usage(0, ["ticket.create"], ["tickets/q/a"], count=40)
    assert narrow_permission(permission, used) == (permission, Outcome.UNCHANGED)


def test_a_full_sample_is_never_narrowed() -> None:
    permission = Permission(Capability.REQUEST, actions=("crm.**",), resources=("crm/**",))
    used = usage(0, ["crm.customer.read"], ["crm/customer/1"], count=500, full=True)
    assert narrow_permission(permission, used) == (permission, Outcome.SAMPLE_FULL)


def test_an_unused_permission_is_dropped() -> None:
    permission = Permission(Capability.DO, actions=("iam.role.assign",))
    assert narrow_permission(permission, None) == (None, Outcome.DROPPED)
    assert narrow_permission(permission, usage(0, [], [], count=0)) == (None, Outcome.DROPPED)


def test_a_sample_naming_nothing_the_permission_grants_changes_nothing() -> None:
    """Inconsistent evidence never invents a grant: the permission stays as written."""
    permission = Permission(Capability.DO, actions=("ticket.create",), resources=("tickets/**",))
    used = usage(0, ["iam.role.assign"], ["iam/roles/admin"], count=2)
    assert narrow_permission(permission, used) == (permission, Outcome.UNCHANGED)


def test_a_narrowed_role_is_written_as_a_policy_document_that_loads_back() -> None:
    role = Role(
        ROLE,
        (
            Permission(
                Capability.REQUEST,
                actions=("crm.customer.*",),
                resources=("crm/customer/*",),
                fields=("name",),
                on_excess_fields=ExcessFields.DENY,
                when='context.purpose == "recovery"',
            ),
            Permission(Capability.DO, actions=("iam.role.assign",)),
        ),
    )
    narrowed = narrow_role(
        role,
        lambda index: usage(0, ["crm.customer.read"], ["crm/customer/1"]) if index == 0 else None,
    )
    assert narrowed.outcomes == (Outcome.NARROWED, Outcome.DROPPED)
    assert narrowed.changed
    text = role_yaml(narrowed.role)
    assert yaml.safe_load(text) == {
        "apiVersion": "charter/v1",
        "kind": "Role",
        "metadata": {"name": ROLE},
        "spec": {
            "permissions": [
                {
                    "capability": "request",
                    "actions": ["crm.customer.read"],
                    "resources": ["crm/customer/1"],
                    "fields": ["name"],
                    "onExcessFields": "deny",
                    "when": 'context.purpose == "recovery"',
                }
            ]
        },
    }
    engine = engine_with(narrowed.role)
    (loaded,) = engine.policy.roles
    assert [(p.actions, p.resources, p.fields, p.when) for p in loaded.permissions] == [
        (("crm.customer.read",), ("crm/customer/1",), ("name",), 'context.purpose == "recovery"')
    ]


def test_the_documented_proposal_is_what_narrowing_writes() -> None:
    role = Role(
        "support-reader",
        (
            Permission(
                Capability.REQUEST,
                actions=("crm.**",),
                resources=("crm/customer/*",),
                fields=("name", "email"),
            ),
        ),
    )
    narrowed = narrow_role(
        role, lambda _: usage(0, ["crm.customer.read"], ["crm/customer/7", "crm/customer/9"])
    )
    docs = Path(__file__).resolve().parents[1] / "docs" / "reviews.md"
    assert f"```yaml\n{role_yaml(narrowed.role)}```" in docs.read_text()


def test_a_role_used_as_granted_is_not_changed() -> None:
    role = Role(ROLE, (Permission(Capability.DO, actions=("ticket.create",)),))
    narrowed = narrow_role(role, lambda _: usage(0, [], [], count=3, full=True))
    assert not narrowed.changed
    assert narrowed.role == role


# --- The property ---------------------------------------------------------------------


def _sub(items: tuple[str, ...], min_size: int = 0) -> st.SearchStrategy[tuple[str, ...]]:
    return st.lists(st.sampled_from(items), min_size=min_size, max_size=3, unique=True).map(tuple)


permissions = st.builds(
    Permission,
    capability=st.sampled_from(CAPABILITIES),
    actions=_sub(ACTION_PATTERNS, min_size=1),
    resources=_sub(RESOURCE_PATTERNS),
    fields=st.one_of(st.none(), _sub(FIELDS)),
    when=st.sampled_from(CONDITIONS),
    on_excess_fields=st.sampled_from(ExcessFields),
)
roles = st.lists(permissions, min_size=1, max_size=3).map(lambda ps: Role(ROLE, tuple(ps)))
requests = st.builds(
    Request,
    agent=st.just(BOT),
    capability=st.sampled_from(CAPABILITIES),
    action=st.sampled_from(ACTIONS),
    resource=st.sampled_from(RESOURCES),
    fields=_sub(FIELDS),
    context=st.sampled_from(({}, {"purpose": "recovery"}, {"purpose": "other"})),
)


@st.composite
def likely_allowed(draw: st.DrawFn, role: Role) -> Request:
    """A request aimed at one of the role's permissions: often allowed, not always."""
    permission = draw(st.sampled_from(role.permissions))
    actions = [a for a in ACTIONS if any(ACTION.compile(p).matches(a) for p in permission.actions)]
    resources = [
        r
        for r in RESOURCES
        if not permission.resources
        or any(RESOURCE.compile(p).matches(r) for p in permission.resources)
    ]
    return Request(
        agent=BOT,
        capability=permission.capability,
        action=draw(st.sampled_from(actions or ACTIONS)),
        resource=draw(st.sampled_from(resources or RESOURCES)),
        fields=draw(_sub(FIELDS)),
        context=draw(st.sampled_from(({}, {"purpose": "recovery"}))),
    )


_RULE = re.compile(r"permissions\[(\d+)\]")


def usage_of_window(
    decided: list[Request], engine: Engine, limit: int
) -> dict[int, PermissionUsage]:
    """Usage as the server records it: each permission named by an allow's reasons, with
    a sample of at most ``limit`` distinct actions and as many resources."""
    found: dict[int, tuple[int, list[str], list[str], bool]] = {}
    for request in decided:
        decision = engine.decide(request, now=NOW)
        assert decision.effect is Effect.ALLOW
        for reason in decision.reasons:
            match = _RULE.fullmatch(reason.rule)
            assert reason.policy == f"Role/{ROLE}"
            assert match is not None
            count, actions, resources, full = found.get(int(match[1]), (0, [], [], False))
            for value, sample in ((request.action, actions), (request.resource, resources)):
                if value not in sample:
                    if len(sample) < limit:
                        sample.append(value)
                    else:
                        full = True
            found[int(match[1])] = (count + 1, actions, resources, full)
    return {
        index: usage(index, actions, resources, count=count, full=full)
        for index, (count, actions, resources, full) in found.items()
    }


@settings(max_examples=150, deadline=None)
@given(
    role=roles,
    data=st.data(),
    others=st.lists(requests, min_size=1, max_size=12),
    limit=st.sampled_from((2, 3, SAMPLE_LIMIT)),
)
def test_the_reduced_policy_allows_all_that_was_used_and_nothing_more(
    role: Role, data: st.DataObject, others: list[Request], limit: int
) -> None:
    aimed = likely_allowed(role)
    window = data.draw(st.lists(st.one_of(aimed, aimed, requests), min_size=1, max_size=12))
    original = engine_with(role)
    allowed = [r for r in window if original.decide(r, now=NOW).effect is Effect.ALLOW]
    used = usage_of_window(allowed, original, limit)
    narrowed = narrow_role(role, used.get)
    event("allowed in the window", "none" if not allowed else "some")
    event("narrowed", "yes" if narrowed.changed else "no")
    if not narrowed.role.permissions:
        assert not allowed
        return
    reduced = engine_with(narrowed.role)  # it loads, with no diagnostic at all
    for request in allowed:
        before = original.decide(request, now=NOW)
        after = reduced.decide(request, now=NOW)
        assert after.effect is Effect.ALLOW, (request, role_yaml(narrowed.role))
        assert after.released_fields == before.released_fields
        assert after.redacted_fields == before.redacted_fields
    for request in [*others, *window]:
        if reduced.decide(request, now=NOW).effect is Effect.ALLOW:
            assert original.decide(request, now=NOW).effect is Effect.ALLOW, request
