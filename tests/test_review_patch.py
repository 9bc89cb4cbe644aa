"""``charter.reviews.patch``: the policy change that makes review outcomes permanent,
written into real files, loaded back with Charter's own loader and compiler."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from charter.errors import InvalidInput
from charter.identity.agents import AgentStatus
from charter.policy import AgentFacts, Capability, Effect, Engine, Facts, Request
from charter.policy.cel import compile_condition
from charter.policy.compiler import compile_withdrawals
from charter.policy.decision import Withdrawal, WithdrawalKind
from charter.policy.evaluate import evaluate
from charter.policy.loader import NAME_PATTERN, read_files
from charter.policy.model import Permission, Role
from charter.reviews.patch import Patch, PatchOutcome, patch, reflected

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CAMPAIGN = "rvc_q2"
BOT, OTHER, OPS = "support-bot", "other-bot", "ops-bot"

AGENTS = """\
# The agents.
apiVersion: charter/v1
kind: Agent
metadata: {name: support-bot, labels: {team: support}}
spec: {owner: "user:alice"}
---
apiVersion: charter/v1
kind: Agent
metadata: {name: other-bot, labels: {team: support}}
spec: {owner: "user:bob"}
---
apiVersion: charter/v1
kind: Agent
metadata: {name: ops-bot, labels: {team: ops}}
spec: {owner: "user:carol"}
"""

ROLES = """\
apiVersion: charter/v1
kind: Role
metadata: {name: reader}
spec:
  permissions:
    - capability: request
      actions: [crm.customer.read]
      resources: ["crm/customer/*"]
      fields: [name, email]
    - capability: do
      actions: ["ticket.*"]
      resources: ["ticketing/queue/*"]
---
apiVersion: charter/v1
kind: Role
metadata: {name: admin}
spec:
  permissions:
    - capability: request
      actions: ["iam.**"]
      resources: ["iam/*"]
      when: 'context.purpose == "audit"'
    - capability: do
      actions: [deploy.run]
"""

BINDINGS = """\
# Who reads the CRM.
apiVersion: charter/v1
kind: Binding
metadata: {name: reader-direct}
spec:
  role: reader
  agents:
    - support-bot   # the main bot
    - other-bot
---
# Only support-bot holds this one.
apiVersion: charter/v1
kind: Binding
metadata: {name: solo}
spec:
  role: admin
  agents: [support-bot]
---
apiVersion: charter/v1
kind: Binding
metadata: {name: reader-team}
spec: {role: reader, selector: {labels: {team: support}}}
---
apiVersion: charter/v1
kind: Binding
metadata: {name: admin-standing}
spec:
  role: admin
  agents: [support-bot, ops-bot]  # both on call
  maxDuration: 4h
  approval: {approvers: ["group:sec"]}
# the end
"""

NARROW_ADMIN = Role(
    "admin",
    (
        Permission(
            Capability.REQUEST,
            ("iam.role.read",),
            ("iam/role-1",),
            when='context.purpose == "audit"',
        ),
    ),
)
NARROW_READER = Role(
    "reader",
    (Permission(Capability.REQUEST, ("crm.customer.read",), ("crm/customer/7",), ("name",)),),
)


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
    return root


@pytest.fixture
def policy_dir(tmp_path: Path) -> Path:
    return write(
        tmp_path / "policy",
        {"agents.yaml": AGENTS, "roles.yaml": ROLES, "bindings/main.yaml": BINDINGS},
    )


def apply(directory: Path, result: Patch) -> Engine:
    """Write ``result`` into ``directory`` and load it with the real loader."""
    write(directory, {**result.changed, **result.added})
    return Engine.from_directory(directory)


def out(agent: str, binding: str, kind: WithdrawalKind, role: Role | None = None) -> PatchOutcome:
    return PatchOutcome(agent, binding, kind, CAMPAIGN, f"rvi_{agent}_{binding}", role)


def facts(agent: str, engine: Engine, outcomes: Sequence[PatchOutcome] = ()) -> Facts:
    owner = {BOT: "user:alice", OTHER: "user:bob", OPS: "user:carol"}[agent]
    labels = {"team": "ops" if agent == OPS else "support"}
    mine = [
        Withdrawal(o.binding, o.kind, o.campaign, o.item, o.role)
        for o in outcomes
        if o.agent == agent
    ]
    return Facts(
        AgentFacts(agent, owner, AgentStatus.ACTIVE, labels=labels),
        withdrawn=compile_withdrawals(engine.snapshot, agent, mine, conditions=compile_condition),
    )


REQUESTS = [
    (capability, action, resource, purpose)
    for (capability, action), resource, purpose in itertools.product(
        [
            (Capability.REQUEST, "crm.customer.read"),
            (Capability.DO, "ticket.create"),
            (Capability.REQUEST, "iam.role.read"),
            (Capability.REQUEST, "iam.role.assign"),
            (Capability.DO, "deploy.run"),
        ],
        [
            "crm/customer/7",
            "crm/customer/8",
            "ticketing/queue/a",
            "iam/role-1",
            "iam/role-2",
            "prod/x",
        ],
        ["audit", "support"],
    )
]


def effects(engine: Engine, agent: str, given_facts: Facts) -> list[Effect]:
    return [
        evaluate(
            Request(agent, capability, action, resource, context={"purpose": purpose}),
            engine.snapshot,
            given_facts,
            NOW,
        ).effect
        for capability, action, resource, purpose in REQUESTS
    ]


def same_as_overlay(before: Engine, after: Engine, outcomes: list[PatchOutcome]) -> None:
    """Each agent decides on the patched policy as on the old one with its outcomes."""
    for agent in (BOT, OTHER, OPS):
        overlaid = effects(before, agent, facts(agent, before, outcomes))
        assert effects(after, agent, facts(agent, after)) == overlaid, agent
    for outcome in outcomes:
        assert reflected(after.policy, outcome), outcome


# --- revoke -----------------------------------------------------------------------------


def test_a_revoke_takes_the_agent_s_line_out_of_a_block_list_and_nothing_else(
    policy_dir: Path,
) -> None:
    files = read_files(policy_dir)
    before = Engine.from_directory(policy_dir)
    outcome = out(BOT, "reader-direct", WithdrawalKind.REVOKE)
    assert not reflected(before.policy, outcome)
    result = patch(files, [outcome])
    assert result.added == {}
    assert result.changed == {
        "bindings/main.yaml": BINDINGS.replace("    - support-bot   # the main bot\n", "")
    }
    after = apply(policy_dir, result)
    same_as_overlay(before, after, [outcome])


def test_revoking_the_last_agent_removes_the_binding_and_says_so(policy_dir: Path) -> None:
    before = Engine.from_directory(policy_dir)
    outcome = out(BOT, "solo", WithdrawalKind.REVOKE)
    result = patch(read_files(policy_dir), [outcome])
    text = result.changed["bindings/main.yaml"]
    assert "metadata: {name: solo}" not in text
    assert "# Only support-bot holds this one.\n# Binding/solo removed: review rvc_q2" in text
    assert text.count("---") == BINDINGS.count("---")
    after = apply(policy_dir, result)
    assert "solo" not in {b.name for b in after.policy.bindings}
    same_as_overlay(before, after, [outcome])


def test_a_revoke_on_a_selector_binding_excludes_the_agent(policy_dir: Path) -> None:
    before = Engine.from_directory(policy_dir)
    outcome = out(BOT, "reader-team", WithdrawalKind.REVOKE)
    result = patch(read_files(policy_dir), [outcome])
    assert result.changed["bindings/main.yaml"] == BINDINGS.replace(
        "selector: {labels: {team: support}}}",
        "selector: {labels: {team: support}}, excludeAgents: [support-bot]}",
    )
    after = apply(policy_dir, result)
    same_as_overlay(before, after, [outcome])
    # A second agent later: appended to the list now there.
    again = patch(read_files(policy_dir), [out(OTHER, "reader-team", WithdrawalKind.REVOKE)])
    assert "excludeAgents: [support-bot, other-bot]}" in again.changed["bindings/main.yaml"]


def test_a_block_binding_gets_an_exclude_line_at_the_end_of_its_spec(tmp_path: Path) -> None:
    text = (
        "apiVersion: charter/v1\nkind: Binding\nmetadata: {name: team}\nspec:\n"
        "  role: reader   # keep me\n  selector:\n    labels: {team: support}\n"
        "# after the spec\n"
    )
    files = {"agents.yaml": AGENTS, "roles.yaml": ROLES, "b.yaml": text}
    result = patch(files, [out(BOT, "team", WithdrawalKind.REVOKE)])
    assert result.changed["b.yaml"] == text.replace(
        "    labels: {team: support}\n",
        "    labels: {team: support}\n  excludeAgents: [support-bot]\n",
    )
    assert reflected(
        Engine.from_texts(result.apply(files)).policy,
        result_outcome := out(BOT, "team", WithdrawalKind.REVOKE),
    )
    assert not reflected(Engine.from_texts(files).policy, result_outcome)


@pytest.mark.parametrize(
    "agents",
    [
        "  agents: support-bot\n",
        "  agents:\n  - support-bot  # only one\n",
        "  agents: [support-bot]\n",
    ],
)
def test_the_last_named_agent_of_a_selector_binding_leaves_an_empty_list(agents: str) -> None:
    text = (
        "apiVersion: charter/v1\nkind: Binding\nmetadata: {name: both}\nspec:\n"
        f"  role: reader\n{agents}  selector: {{labels: {{team: ops}}}}\n"
    )
    files = {"agents.yaml": AGENTS, "roles.yaml": ROLES, "b.yaml": text}
    outcome = out(BOT, "both", WithdrawalKind.REVOKE)
    before = Engine.from_texts(files)
    result = patch(files, [outcome])
    # A comment after the list stays where it was.
    assert result.changed["b.yaml"].replace("  # only one", "") == (
        "apiVersion: charter/v1\nkind: Binding\nmetadata: {name: both}\nspec:\n"
        "  role: reader\n  agents: []\n  selector: {labels: {team: ops}}\n"
        "  excludeAgents: [support-bot]\n"
    )
    same_as_overlay(before, Engine.from_texts(result.apply(files)), [outcome])


# --- reduce and make eligible -----------------------------------------------------------


def test_a_reduce_excludes_the_agent_and_adds_a_narrower_role_and_binding(
    policy_dir: Path,
) -> None:
    before = Engine.from_directory(policy_dir)
    outcome = out(BOT, "admin-standing", WithdrawalKind.REDUCE, NARROW_ADMIN)
    result = patch(read_files(policy_dir), [outcome])
    assert "  agents: [ops-bot]  # both on call\n" in result.changed["bindings/main.yaml"]
    added = result.added[f"reviews/{CAMPAIGN}.yaml"]
    assert added.startswith(
        "# Review rvc_q2, item rvi_support-bot_admin-standing: reduce of "
        "Binding/admin-standing for support-bot\n"
    )
    after = apply(policy_dir, result)
    role = next(r for r in after.policy.roles if r.name == "admin--support-bot-reduced")
    assert [p.actions for p in role.permissions] == [("iam.role.read",)]
    (new,) = [b for b in after.policy.bindings if b.name == "admin-standing--support-bot-reduced"]
    assert (new.role, new.agents, new.activation.value) == (role.name, (BOT,), "standing")
    same_as_overlay(before, after, [outcome])


def test_make_eligible_adds_an_owner_approved_eligible_binding(policy_dir: Path) -> None:
    before = Engine.from_directory(policy_dir)
    outcome = out(OPS, "admin-standing", WithdrawalKind.MAKE_ELIGIBLE)
    result = patch(read_files(policy_dir), [outcome])
    after = apply(policy_dir, result)
    (new,) = [b for b in after.policy.bindings if b.name == "admin-standing--ops-bot-jit"]
    assert new.activation.value == "eligible"
    assert new.approval.approvers == ("owner",)
    assert new.max_duration.total_seconds() == 4 * 3600
    assert new.role == "admin"
    same_as_overlay(before, after, [outcome])
    decision = after.decide(
        Request(OPS, Capability.DO, "deploy.run", "prod/x"), facts=facts(OPS, after), now=NOW
    )
    assert decision.effect is Effect.APPROVAL_REQUIRED


def test_a_reduced_eligible_binding_stays_eligible(tmp_path: Path) -> None:
    text = (
        "apiVersion: charter/v1\nkind: Binding\nmetadata: {name: jit}\n"
        "spec: {role: admin, agents: [support-bot], activation: eligible, maxDuration: 2h,"
        " approval: {approvers: ['group:sec'], quorum: 2, expiresIn: 30m}}\n"
    )
    files = {"agents.yaml": AGENTS, "roles.yaml": ROLES, "b.yaml": text}
    outcome = out(BOT, "jit", WithdrawalKind.REDUCE, NARROW_ADMIN)
    before = Engine.from_texts(files)
    after = Engine.from_texts(patch(files, [outcome]).apply(files))
    (new,) = [b for b in after.policy.bindings if b.name == "jit--support-bot-reduced"]
    assert new.activation.value == "eligible"
    assert (new.approval.approvers, new.approval.quorum) == (("group:sec",), 2)
    assert new.approval.expires_in.total_seconds() == 1800
    assert new.max_duration.total_seconds() == 7200
    same_as_overlay(before, after, [outcome])


def test_a_patched_policy_needs_no_second_patch(policy_dir: Path) -> None:
    outcomes = [
        out(BOT, "reader-direct", WithdrawalKind.REVOKE),
        out(BOT, "admin-standing", WithdrawalKind.REDUCE, NARROW_ADMIN),
        out(OTHER, "reader-team", WithdrawalKind.MAKE_ELIGIBLE),
    ]
    apply(policy_dir, patch(read_files(policy_dir), outcomes))
    again = patch(read_files(policy_dir), outcomes)
    assert (again.changed, again.added, again.skipped) == ({}, {}, tuple(outcomes))


def test_long_names_stay_valid_and_distinct() -> None:
    agent = "a" + "-very-long-agent-name" * 2 + "-x"
    binding = "b" + "-long-binding-name" * 3
    text = (
        f"apiVersion: charter/v1\nkind: Agent\nmetadata: {{name: {agent}}}\n"
        'spec: {owner: "user:alice"}\n---\n'
        f"apiVersion: charter/v1\nkind: Binding\nmetadata: {{name: {binding}}}\n"
        f"spec: {{role: reader, agents: [{agent}, ops-bot]}}\n"
    )
    files = {"agents.yaml": AGENTS, "roles.yaml": ROLES, "b.yaml": text}
    outcome = PatchOutcome(agent, binding, WithdrawalKind.MAKE_ELIGIBLE, CAMPAIGN, "rvi_1")
    result = patch(files, [outcome])
    engine = Engine.from_texts(result.apply(files))
    names = [b.name for b in engine.policy.bindings]
    assert len(names) == len(set(names)) == 2
    assert all(re.fullmatch(NAME_PATTERN, name) for name in names)
    assert reflected(engine.policy, outcome)


def test_a_reduce_without_its_narrower_role_is_refused(policy_dir: Path) -> None:
    with pytest.raises(InvalidInput, match="needs the narrower role"):
        patch(read_files(policy_dir), [out(BOT, "solo", WithdrawalKind.REDUCE)])
    # A narrower role of another name: the binding no longer gives the role the outcome
    # was about (it gives admin, the outcome narrowed reader), so it is already done.
    other_role = out(BOT, "solo", WithdrawalKind.REDUCE, NARROW_READER)
    assert patch(read_files(policy_dir), [other_role]).skipped == (other_role,)


# --- the property -----------------------------------------------------------------------

CHOICES = [
    out(BOT, "reader-direct", WithdrawalKind.REVOKE),
    out(BOT, "reader-direct", WithdrawalKind.REDUCE, NARROW_READER),
    out(OTHER, "reader-direct", WithdrawalKind.MAKE_ELIGIBLE),
    out(BOT, "solo", WithdrawalKind.REVOKE),
    out(BOT, "solo", WithdrawalKind.MAKE_ELIGIBLE),
    out(BOT, "reader-team", WithdrawalKind.REVOKE),
    out(OTHER, "reader-team", WithdrawalKind.REDUCE, NARROW_READER),
    out(BOT, "admin-standing", WithdrawalKind.REDUCE, NARROW_ADMIN),
    out(OPS, "admin-standing", WithdrawalKind.MAKE_ELIGIBLE),
    out(OPS, "admin-standing", WithdrawalKind.REVOKE),
]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(CHOICES), max_size=4, unique=True))
def test_the_patched_policy_decides_as_the_outcomes_over_the_old_one(
    chosen: list[PatchOutcome],
) -> None:
    # One outcome per agent and binding: a review decides each item once.
    outcomes = list({(o.agent, o.binding): o for o in chosen}.values())
    files = {"agents.yaml": AGENTS, "roles.yaml": ROLES, "bindings/main.yaml": BINDINGS}
    before = Engine.from_texts(files)
    result = patch(files, outcomes)
    after = Engine.from_texts(result.apply(files))
    same_as_overlay(before, after, outcomes)
    # Comments outside removed lines all survive.
    for line in BINDINGS.splitlines():
        if line.startswith("#"):
            assert line in result.apply(files)["bindings/main.yaml"]
