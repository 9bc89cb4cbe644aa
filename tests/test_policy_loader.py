"""Loading and validating policy: each problem has its code, its place and its hint."""

from __future__ import annotations

import textwrap

import pytest

from charter.policy import Engine, PolicyInvalid, Severity
from charter.policy.diagnostics import Diagnostic
from charter.policy.loader import load_texts
from charter.policy.model import Activation, GuardrailEffect
from charter.policy.validate import Validated, validate

HEADER = "apiVersion: charter/v1\n"

AGENT = """\
apiVersion: charter/v1
kind: Agent
metadata: {name: support-bot, labels: {team: support}}
spec: {owner: "user:alice", riskTier: high}
"""

READER_ROLE = """\
apiVersion: charter/v1
kind: Role
metadata: {name: reader}
spec:
  permissions:
    - capability: request
      actions: [crm.customer.read]
      resources: ["crm/customer/*"]
"""


def check(*texts: str, known_agents: tuple[str, ...] = ()) -> Validated:
    """Load and validate ``texts`` as files ``f1.yaml``, ``f2.yaml``, ..."""
    files = {f"f{n}.yaml": textwrap.dedent(text) for n, text in enumerate(texts, 1)}
    return validate(load_texts(files), known_agents=known_agents)


def only(validated: Validated, code: str) -> Diagnostic:
    """The single diagnostic with ``code``."""
    found = [d for d in validated.diagnostics if d.code == code]
    assert len(found) == 1, [str(d) for d in validated.diagnostics]
    return found[0]


def where(diagnostic: Diagnostic) -> tuple[str, int, int]:
    return diagnostic.source.file, diagnostic.source.line, diagnostic.source.column


def codes(validated: Validated) -> list[str]:
    return sorted(d.code for d in validated.diagnostics)


# --- well-formed ----------------------------------------------------------------------


def test_a_valid_policy_has_no_errors_and_keeps_every_document() -> None:
    validated = check(
        AGENT,
        READER_ROLE,
        """\
        apiVersion: charter/v1
        kind: Binding
        metadata: {name: reader-binding}
        spec:
          role: reader
          agents: [support-bot]
          activation: eligible
          expiresAt: 2027-06-30T00:00:00Z
          maxDuration: 2h
          approval: {approvers: [owner, "group:identity-ops"], quorum: 2, expiresIn: 30m}
        """,
    )
    assert validated.errors == ()
    assert validated.warnings == ()
    assert validated.policy is not None
    (binding,) = validated.policy.bindings
    assert binding.activation is Activation.ELIGIBLE
    assert binding.expires_at is not None
    assert binding.expires_at.isoformat() == "2027-06-30T00:00:00+00:00"
    assert binding.max_duration.total_seconds() == 7200
    assert binding.approval.approvers == ("owner", "group:identity-ops")
    assert binding.approval.quorum == 2
    assert binding.approval.expires_in.total_seconds() == 1800
    assert binding.source.file == "f3.yaml"
    assert binding.source.line == 5


def test_empty_documents_between_separators_are_skipped() -> None:
    validated = check("---\n" + READER_ROLE + "---\n---\n")
    assert validated.errors == ()
    assert validated.policy is not None
    assert [role.name for role in validated.policy.roles] == ["reader"]


# --- document structure ---------------------------------------------------------------


def test_unknown_kind_suggests_the_nearest() -> None:
    diagnostic = only(check(HEADER + "kind: Rol\nmetadata: {name: x}\nspec: {}\n"), "unknown_kind")
    assert diagnostic.severity is Severity.ERROR
    assert where(diagnostic) == ("f1.yaml", 2, 7)
    assert diagnostic.help == "did you mean 'Role'?"


def test_unknown_kind_far_from_any_lists_the_kinds() -> None:
    diagnostic = only(
        check(HEADER + "kind: Zebra\nmetadata: {name: x}\nspec: {}\n"), "unknown_kind"
    )
    assert diagnostic.help is not None
    assert "Role" in diagnostic.help
    assert "Guardrail" in diagnostic.help


def test_bad_api_version_points_at_its_value() -> None:
    diagnostic = only(check(READER_ROLE.replace("charter/v1", "charter/v2")), "unknown_api_version")
    assert where(diagnostic) == ("f1.yaml", 1, 13)
    assert "charter/v2" in diagnostic.message
    assert diagnostic.help == "use 'charter/v1'"


def test_unknown_key_suggests_the_nearest_and_points_at_the_key() -> None:
    validated = check(READER_ROLE.replace("      actions:", "      action:"))
    unknown = only(validated, "unknown_key")
    assert where(unknown) == ("f1.yaml", 7, 7)
    assert unknown.help == "did you mean 'actions'?"
    missing = only(validated, "missing_key")
    assert where(missing) == ("f1.yaml", 6, 7)
    assert "'actions'" in missing.message


def test_unknown_top_level_key_is_reported() -> None:
    diagnostic = only(check(READER_ROLE + "sepc: {}\n"), "unknown_key")
    assert where(diagnostic) == ("f1.yaml", 9, 1)
    assert diagnostic.help == "did you mean 'spec'?"


def test_missing_required_document_keys() -> None:
    validated = check("kind: Role\nmetadata: {description: no name}\n")
    messages = sorted(d.message for d in validated.diagnostics if d.code == "missing_key")
    assert messages == [
        "a Role document needs 'spec'",
        "a document needs 'apiVersion'",
        "metadata needs 'name'",
    ]
    assert validated.policy is None


def test_missing_kind_is_reported_at_the_document() -> None:
    diagnostic = only(
        check("apiVersion: charter/v1\nmetadata: {name: x}\nspec: {}\n"), "missing_key"
    )
    assert where(diagnostic) == ("f1.yaml", 1, 1)
    assert "'kind'" in diagnostic.message


def test_missing_owner_of_an_agent() -> None:
    validated = check(HEADER + "kind: Agent\nmetadata: {name: bot-one}\nspec:\n  purpose: x\n")
    diagnostic = only(validated, "missing_key")
    assert where(diagnostic) == ("f1.yaml", 5, 3)
    assert "'owner'" in diagnostic.message
    assert validated.policy is None


def test_a_document_that_is_not_a_mapping() -> None:
    diagnostic = only(check("- just\n- a list\n"), "expected_mapping")
    assert where(diagnostic) == ("f1.yaml", 1, 1)


@pytest.mark.parametrize(
    ("spec", "code", "line", "column"),
    [
        ("  role: 5\n  agents: [bot-one]\n", "expected_string", 5, 9),
        ("  role: reader\n  agents: {a: b}\n", "expected_list", 6, 11),
        ("  role: reader\n  agents: [bot-one]\n  activation: standin\n", "invalid_value", 7, 15),
        (
            "  role: reader\n  agents: [bot-one]\n  expiresAt: tomorrow\n",
            "expected_timestamp",
            7,
            14,
        ),
        (
            "  role: reader\n  agents: [bot-one]\n  maxDuration: forever\n",
            "invalid_duration",
            7,
            16,
        ),
        (
            "  role: reader\n  agents: [bot-one]\n  approval: {quorum: two}\n",
            "expected_integer",
            7,
            22,
        ),
        ("  role: reader\n  agents: [bot-one]\n  approval: {quorum: 0}\n", "invalid_value", 7, 22),
        ("  role: reader\n  agents: [Bot_One]\n", "invalid_value", 6, 12),
        ("  role: reader\n", "binding_without_agents", 5, 3),
    ],
)
def test_wrong_types_and_values_in_a_binding(spec: str, code: str, line: int, column: int) -> None:
    text = READER_ROLE + "---\n" + HEADER + "kind: Binding\nmetadata: {name: b}\nspec:\n" + spec
    validated = check(text)
    diagnostic = only(validated, code)
    # The binding starts after the role's 8 lines and the separator.
    assert where(diagnostic) == ("f1.yaml", 9 + line, column)
    assert diagnostic.severity is Severity.ERROR
    assert validated.policy is None


def test_an_invalid_enum_value_suggests_the_nearest() -> None:
    validated = check(READER_ROLE.replace("capability: request", "capability: requets"))
    diagnostic = only(validated, "invalid_value")
    assert where(diagnostic) == ("f1.yaml", 6, 19)
    assert diagnostic.help == "did you mean 'request'?"


def test_numbers_are_not_taken_for_strings() -> None:
    validated = check(READER_ROLE.replace("[crm.customer.read]", "[crm.customer.read, 42]"))
    diagnostic = only(validated, "expected_string")
    assert where(diagnostic) == ("f1.yaml", 7, 36)


def test_empty_actions_are_refused() -> None:
    diagnostic = only(check(READER_ROLE.replace("[crm.customer.read]", "[]")), "invalid_value")
    assert where(diagnostic) == ("f1.yaml", 7, 16)
    assert "actions is empty" in diagnostic.message


# --- YAML syntax -----------------------------------------------------------------------


def test_a_yaml_syntax_error_names_its_line() -> None:
    text = READER_ROLE + "  other: a: b\n"
    diagnostic = only(check(text), "yaml_syntax")
    assert where(diagnostic) == ("f1.yaml", 9, 11)
    assert "mapping values are not allowed" in diagnostic.message


def test_a_yaml_syntax_error_does_not_hide_other_files_or_earlier_documents() -> None:
    broken = READER_ROLE + "---\n" + HEADER + "kind: Role\nmetadata: {name: x\n"
    other = HEADER + "kind: Rol\nmetadata: {name: y}\nspec: {}\n"
    loaded = load_texts({"a.yaml": broken, "b.yaml": other})
    assert [role.name for role in loaded.roles] == ["reader"]
    assert sorted((d.source.file, d.code) for d in loaded.diagnostics) == [
        ("a.yaml", "yaml_syntax"),
        ("b.yaml", "unknown_kind"),
    ]
    assert not loaded.ok


def test_a_tab_in_indentation_is_a_syntax_error_on_its_line() -> None:
    diagnostic = only(check(HEADER + "kind: Role\n\tmetadata: {}\n"), "yaml_syntax")
    assert diagnostic.source.line == 3


# --- names and references ----------------------------------------------------------------


def test_duplicate_names_point_at_the_second_and_name_the_first() -> None:
    validated = check(READER_ROLE, READER_ROLE)
    diagnostic = only(validated, "duplicate_name")
    assert where(diagnostic) == ("f2.yaml", 5, 3)
    assert "f1.yaml:5:3" in diagnostic.message


def test_the_same_name_in_different_kinds_is_fine() -> None:
    binding = (
        HEADER
        + "kind: Binding\nmetadata: {name: reader}\nspec: {role: reader, agents: [bot-one]}\n"
    )
    validated = check(READER_ROLE, binding)
    assert "duplicate_name" not in codes(validated)


def test_binding_to_an_unknown_role_suggests_the_nearest() -> None:
    binding = (
        HEADER + "kind: Binding\nmetadata: {name: b}\nspec: {role: reeder, agents: [bot-one]}\n"
    )
    diagnostic = only(check(READER_ROLE, binding), "unknown_role")
    assert where(diagnostic) == ("f2.yaml", 4, 7)
    assert diagnostic.severity is Severity.ERROR
    assert diagnostic.help == "did you mean 'reader'?"


def test_binding_to_an_unknown_agent_is_an_error_when_agents_are_known() -> None:
    binding = (
        HEADER + "kind: Binding\nmetadata: {name: b}\nspec: {role: reader, agents: [suport-bot]}\n"
    )
    diagnostic = only(check(AGENT, READER_ROLE, binding), "unknown_agent")
    assert diagnostic.severity is Severity.ERROR
    assert where(diagnostic) == ("f3.yaml", 4, 7)
    assert diagnostic.help == "did you mean 'support-bot'?"


def test_agents_registered_elsewhere_count_as_known() -> None:
    binding = (
        HEADER + "kind: Binding\nmetadata: {name: b}\nspec: {role: reader, agents: [ops-bot]}\n"
    )
    assert "unknown_agent" not in codes(check(READER_ROLE, binding, known_agents=("ops-bot",)))
    diagnostic = only(check(READER_ROLE, binding, known_agents=("other-bot",)), "unknown_agent")
    assert diagnostic.severity is Severity.ERROR


def test_binding_to_an_unknown_agent_only_warns_when_no_agent_is_known() -> None:
    binding = (
        HEADER + "kind: Binding\nmetadata: {name: b}\nspec: {role: reader, agents: [ops-bot]}\n"
    )
    validated = check(READER_ROLE, binding)
    assert only(validated, "unknown_agent").severity is Severity.WARNING
    assert validated.policy is not None


def test_exclude_agents_is_read_onto_the_binding() -> None:
    binding = (
        HEADER + "kind: Binding\nmetadata: {name: b}\n"
        "spec: {role: reader, selector: {labels: {team: support}}, "
        "excludeAgents: [support-bot, support-bot]}\n"
    )
    validated = check(AGENT, READER_ROLE, binding)
    assert validated.errors == ()
    assert validated.policy is not None
    assert validated.policy.bindings[0].exclude_agents == ("support-bot",)


def test_a_malformed_excluded_agent_id_is_an_error_at_its_place() -> None:
    binding = (
        HEADER + "kind: Binding\nmetadata: {name: b}\n"
        "spec:\n  role: reader\n  agents: [support-bot]\n  excludeAgents: [Bad_Bot]\n"
    )
    validated = check(AGENT, READER_ROLE, binding)
    diagnostic = only(validated, "invalid_value")
    assert where(diagnostic) == ("f3.yaml", 7, 19)
    assert validated.policy is None


def test_excluding_an_unknown_agent_only_warns_even_when_agents_are_known() -> None:
    binding = (
        HEADER + "kind: Binding\nmetadata: {name: b}\n"
        "spec: {role: reader, agents: [support-bot], excludeAgents: [suport-bot]}\n"
    )
    validated = check(AGENT, READER_ROLE, binding)
    diagnostic = only(validated, "unknown_agent")
    assert diagnostic.severity is Severity.WARNING
    assert diagnostic.help == "did you mean 'support-bot'?"
    assert validated.policy is not None


def test_an_excluded_agent_holds_no_side_of_a_separation_of_duty() -> None:
    deleter = READER_ROLE.replace("{name: reader}", "{name: deleter}").replace(
        "crm.customer.read", "crm.customer.delete"
    )
    separation = (
        HEADER + "kind: SeparationOfDuty\nmetadata: {name: read-or-delete}\n"
        "spec: {conflicting: [{actions: [crm.customer.read]}, {actions: [crm.customer.delete]}]}\n"
    )
    both = (
        HEADER + "kind: Binding\nmetadata: {name: r}\n"
        "spec: {role: reader, agents: [support-bot]}\n---\n"
        + HEADER
        + "kind: Binding\nmetadata: {name: d}\n"
        "spec: {role: deleter, selector: {labels: {team: support}}}\n"
    )
    assert "separation_of_duty" in codes(check(AGENT, READER_ROLE, deleter, separation, both))
    excluded = both.replace("{team: support}}}", "{team: support}}, excludeAgents: [support-bot]}")
    assert "separation_of_duty" not in codes(
        check(AGENT, READER_ROLE, deleter, separation, excluded)
    )


# --- globs and conditions ----------------------------------------------------------------


def test_an_invalid_glob_is_an_error_at_its_rule() -> None:
    validated = check(READER_ROLE.replace("crm.customer.read", "crm.cust*"))
    diagnostic = only(validated, "invalid_glob")
    assert where(diagnostic) == ("f1.yaml", 6, 7)
    assert "'crm.*'" in diagnostic.message
    assert validated.policy is None


def test_invalid_globs_in_guardrails_and_separations_are_errors() -> None:
    guardrail = (
        HEADER
        + "kind: Guardrail\nmetadata: {name: g}\nspec:\n  effect: deny\n"
        + '  match: {resources: ["vault//prod"]}\n'
    )
    separation = (
        HEADER
        + "kind: SeparationOfDuty\nmetadata: {name: s}\nspec:\n  conflicting:\n"
        + "    - {actions: [review.dr*]}\n    - {actions: [review.decide]}\n"
    )
    validated = check(guardrail, separation)
    globs = sorted(where(d) for d in validated.diagnostics if d.code == "invalid_glob")
    assert globs == [("f1.yaml", 5, 3), ("f2.yaml", 5, 3)]


def test_a_cel_syntax_error_is_reported_at_load_with_its_position() -> None:
    text = READER_ROLE + "      when: 'context.purpose =='\n"
    diagnostic = only(check(text), "cel_syntax")
    assert diagnostic.severity is Severity.ERROR
    assert where(diagnostic) == ("f1.yaml", 6, 7)
    assert "Role/reader permissions[0].when" in diagnostic.message
    assert "(at 1:19)" in diagnostic.message


def test_a_cel_unknown_variable_is_an_error() -> None:
    text = READER_ROLE + "      when: 'purpose == \"x\"'\n"
    diagnostic = only(check(text), "cel_unknown_variable")
    assert diagnostic.severity is Severity.ERROR
    assert "purpose" in diagnostic.message


def test_a_name_bound_by_a_macro_is_not_an_unknown_variable() -> None:
    text = READER_ROLE + "      when: 'context.tags.all(t, t != \"secret\")'\n"
    assert not [d for d in check(text).diagnostics if d.code.startswith("cel_")]


@pytest.mark.parametrize(
    ("condition", "code", "words"),
    [
        ("now > 5", "cel_type", "no matching overload for '_>_'"),
        ("size(1) > 0", "cel_type", "no matching overload for 'size'"),
        ('context.a && 1 + "b" == 2', "cel_type", "'_+_'"),
        ("1 + 2", "cel_not_boolean", "gives int, not bool"),
    ],
)
def test_type_errors_are_load_time_diagnostics(condition: str, code: str, words: str) -> None:
    diagnostic = only(check(READER_ROLE + f"      when: '{condition}'\n"), code)
    assert diagnostic.severity is Severity.ERROR
    assert words in diagnostic.message
    assert "(at 1:" in diagnostic.message


def test_every_charter_variable_may_be_read() -> None:
    condition = (
        "agent.id != '' && resource.id != '' && request.action != '' && "
        "has(context.x) && now > timestamp('2020-01-01T00:00:00Z')"
    )
    text = READER_ROLE + f'      when: "{condition}"\n'
    assert not [d for d in check(text).diagnostics if d.code.startswith("cel_")]


def test_guardrail_conditions_are_checked() -> None:
    guardrail = (
        HEADER
        + "kind: Guardrail\nmetadata: {name: g}\nspec:\n  effect: require_approval\n"
        + "  match: {actions: [pam.elevate]}\n  when: 'ticket.open'\n  require: 'context.a &&'\n"
    )
    validated = check(guardrail)
    assert only(validated, "cel_unknown_variable").message.startswith("Guardrail/g.when")
    assert only(validated, "cel_syntax").message.startswith("Guardrail/g.require")


def test_require_on_a_deny_guardrail_is_refused() -> None:
    guardrail = (
        HEADER
        + "kind: Guardrail\nmetadata: {name: g}\nspec:\n  effect: deny\n"
        + "  match: {actions: [secrets.rotate]}\n  require: 'true'\n"
    )
    diagnostic = only(check(guardrail), "require_on_deny")
    assert where(diagnostic) == ("f1.yaml", 7, 12)
    assert diagnostic.help is not None
    assert "when" in diagnostic.help


# --- separation of duty ----------------------------------------------------------------

DRAFT_DECIDE = """\
apiVersion: charter/v1
kind: Role
metadata: {name: drafter}
spec:
  permissions:
    - {capability: do, actions: [review.draft]}
---
apiVersion: charter/v1
kind: Role
metadata: {name: decider}
spec:
  permissions:
    - {capability: do, actions: [review.decide, rbac.assign]}
---
apiVersion: charter/v1
kind: SeparationOfDuty
metadata: {name: draft-versus-decide}
spec:
  conflicting:
    - {capabilities: [do], actions: [review.draft]}
    - {capabilities: [do], actions: [review.decide]}
  message: Drafters may not decide.
"""


def _binding(name: str, role: str, who: str) -> str:
    return HEADER + f"kind: Binding\nmetadata: {{name: {name}}}\nspec: {{role: {role}, {who}}}\n"


def test_bindings_giving_one_agent_both_sides_of_a_separation_of_duty() -> None:
    validated = check(
        AGENT,
        DRAFT_DECIDE,
        _binding("b1", "drafter", "agents: [support-bot]"),
        _binding("b2", "decider", "selector: {labels: {team: support}}"),
    )
    diagnostic = only(validated, "separation_of_duty")
    assert diagnostic.severity is Severity.ERROR
    assert diagnostic.source.file in ("f3.yaml", "f4.yaml")
    assert "support-bot" in diagnostic.message
    assert "SeparationOfDuty/draft-versus-decide" in diagnostic.message
    assert "Binding/b1" in diagnostic.message
    assert "Binding/b2" in diagnostic.message
    assert diagnostic.help == "Drafters may not decide."
    assert validated.policy is None


def test_one_side_each_for_two_agents_is_fine() -> None:
    other = AGENT.replace("support-bot", "review-bot").replace("team: support", "team: review")
    validated = check(
        AGENT,
        other,
        DRAFT_DECIDE,
        _binding("b1", "drafter", "agents: [support-bot]"),
        _binding("b2", "decider", "agents: [review-bot]"),
    )
    assert "separation_of_duty" not in codes(validated)
    assert validated.policy is not None


def test_one_wildcard_binding_can_give_both_sides() -> None:
    role = (
        HEADER + "kind: Role\nmetadata: {name: reviewer}\nspec:\n  permissions:\n"
        "    - {capability: do, actions: ['review.*']}\n"
    )
    validated = check(AGENT, DRAFT_DECIDE, role, _binding("b", "reviewer", "agents: [support-bot]"))
    diagnostic = only(validated, "separation_of_duty")
    assert where(diagnostic) == ("f4.yaml", 4, 7)
    assert "Binding/b and Binding/b" in diagnostic.message


def test_a_separation_on_another_capability_does_not_conflict() -> None:
    validated = check(
        AGENT,
        DRAFT_DECIDE.replace(
            "capabilities: [do], actions: [review.draft]",
            "capabilities: [request], actions: [review.draft]",
        ),
        _binding("b1", "drafter", "agents: [support-bot]"),
        _binding("b2", "decider", "agents: [support-bot]"),
    )
    assert "separation_of_duty" not in codes(validated)


def test_a_separation_needs_exactly_two_sides() -> None:
    text = (
        HEADER
        + "kind: SeparationOfDuty\nmetadata: {name: s}\nspec:\n  conflicting:\n"
        + "    - {actions: [review.draft]}\n"
    )
    diagnostic = only(check(text), "invalid_value")
    assert where(diagnostic) == ("f1.yaml", 6, 5)


# --- warnings ----------------------------------------------------------------------------


def test_an_unbound_role_is_a_warning_only() -> None:
    validated = check(READER_ROLE)
    diagnostic = only(validated, "unbound_role")
    assert diagnostic.severity is Severity.WARNING
    assert where(diagnostic) == ("f1.yaml", 5, 3)
    assert validated.policy is not None


@pytest.mark.parametrize(("tier", "warned"), [("high", True), ("critical", True), ("low", False)])
def test_a_wildcard_given_to_a_high_risk_agent_is_a_warning(tier: str, warned: bool) -> None:
    agent = AGENT.replace("riskTier: high", f"riskTier: {tier}")
    role = READER_ROLE.replace("crm.customer.read", '"**"')
    validated = check(agent, role, _binding("b", "reader", "agents: [support-bot]"))
    found = [d for d in validated.diagnostics if d.code == "wildcard_on_high_risk"]
    assert bool(found) is warned
    if warned:
        assert found[0].severity is Severity.WARNING
        assert where(found[0]) == ("f2.yaml", 6, 7)
        assert validated.policy is not None


def test_a_permission_a_blanket_deny_always_denies_is_a_warning() -> None:
    guardrail = (
        HEADER
        + "kind: Guardrail\nmetadata: {name: no-crm-reads}\nspec:\n  effect: deny\n"
        + "  match: {actions: ['crm.**']}\n"
    )
    validated = check(READER_ROLE, guardrail)
    diagnostic = only(validated, "never_matches")
    assert diagnostic.severity is Severity.WARNING
    assert where(diagnostic) == ("f1.yaml", 6, 7)
    assert "Guardrail/no-crm-reads" in diagnostic.message
    assert validated.policy is not None


def test_a_conditional_or_resource_scoped_deny_is_not_blanket() -> None:
    for extra in ("  when: 'context.x == 1'\n", "  match: {actions: ['crm.**'], resources: [a]}\n"):
        guardrail = HEADER + "kind: Guardrail\nmetadata: {name: g}\nspec:\n  effect: deny\n" + extra
        if "match" not in extra:
            guardrail += "  match: {actions: ['crm.**']}\n"
        assert "never_matches" not in codes(check(READER_ROLE, guardrail))


def test_a_deny_on_another_capability_is_not_blanket() -> None:
    guardrail = (
        HEADER
        + "kind: Guardrail\nmetadata: {name: g}\nspec:\n  effect: deny\n"
        + "  match: {capabilities: [do], actions: ['crm.**']}\n"
    )
    assert "never_matches" not in codes(check(READER_ROLE, guardrail))


# --- collect, don't stop -----------------------------------------------------------------


def test_every_problem_in_one_file_is_reported_in_one_load() -> None:
    text = """\
    apiVersion: charter/v1
    kind: Role
    metadata: {name: reader}
    spec:
      permissions:
        - capability: requets
          actions: ["crm.cust*"]
          when: [context.purpose]
        - capability: request
          action: [crm.read]
    ---
    apiVersion: charter/v1
    kind: Binding
    metadata: {name: b}
    spec:
      role: 5
      agents: [bot-one]
      activation: standin
      expiresAt: tomorrow
      approval: {approvers: [bob], quorum: 0, expiresIn: 1y}
    ---
    apiVersion: charter/v1
    kind: Guardrail
    metadata: {name: g}
    spec:
      effect: nope
      match: {capabilities: [doo]}
      when: 7
    ---
    apiVersion: charter/v2
    kind: Gaurdrail
    metadata: {name: h}
    spec: {}
    """
    validated = check(text)
    found = sorted((d.source.line, d.source.column, d.code) for d in validated.errors)
    assert found == [
        (6, 19, "invalid_value"),  # capability requets
        (8, 13, "expected_string"),  # when: [...]
        (9, 7, "missing_key"),  # permissions[1] needs actions
        (10, 7, "unknown_key"),  # action
        (16, 9, "expected_string"),  # role: 5
        (18, 15, "invalid_value"),  # activation
        (19, 14, "expected_timestamp"),
        (20, 26, "invalid_value"),  # approver bob
        (20, 40, "invalid_value"),  # quorum 0
        (20, 54, "invalid_duration"),  # expiresIn 1y
        (26, 11, "invalid_value"),  # effect nope
        (27, 26, "invalid_value"),  # capability doo
        (28, 9, "expected_string"),  # when: 7
        (30, 13, "unknown_api_version"),
        (31, 7, "unknown_kind"),
    ]
    assert all(d.source.file == "f1.yaml" for d in validated.diagnostics)


def test_errors_come_before_warnings() -> None:
    validated = check(READER_ROLE, READER_ROLE.replace("reader", "writer") + "  extra: 1\n")
    severities = [d.severity for d in validated.diagnostics]
    assert severities == sorted(severities, key=lambda s: s is not Severity.ERROR)
    assert validated.errors
    assert validated.warnings


# --- through the engine ------------------------------------------------------------------


def test_the_engine_refuses_an_invalid_policy_with_every_diagnostic() -> None:
    broken = READER_ROLE.replace("capability: request", "capability: requets")
    binding = (
        HEADER + "kind: Binding\nmetadata: {name: b}\nspec: {role: reeder, agents: [bot-one]}\n"
    )
    with pytest.raises(PolicyInvalid) as raised:
        Engine.from_documents(broken, binding)
    error = raised.value
    assert sorted(
        (d.source.file, d.code) for d in error.diagnostics if d.severity is Severity.ERROR
    ) == [("<document 1>", "invalid_value"), ("<document 2>", "unknown_role")]
    assert "2 error(s)" in str(error)
    assert "<document 1>:6:19" in str(error)


def test_the_engine_keeps_warnings_of_a_valid_policy() -> None:
    engine = Engine.from_documents(READER_ROLE)
    assert [d.code for d in engine.diagnostics] == ["unbound_role"]
    assert engine.revision.startswith("rev_")


def test_the_engine_revision_is_a_content_hash() -> None:
    first = Engine.from_documents(READER_ROLE)
    assert Engine.from_documents(READER_ROLE).revision == first.revision
    changed = Engine.from_documents(READER_ROLE.replace("crm.customer.read", "crm.customer.list"))
    assert changed.revision != first.revision


def test_guardrail_effects_are_loaded() -> None:
    text = (
        HEADER
        + "kind: Guardrail\nmetadata: {name: g}\nspec:\n  effect: require_step_up\n"
        + "  match: {capabilities: [do], actions: [pam.elevate], resources: ['vault/**']}\n"
        + "  message: confirm it\n"
    )
    validated = check(text)
    assert validated.policy is not None
    (guardrail,) = validated.policy.guardrails
    assert guardrail.effect is GuardrailEffect.REQUIRE_STEP_UP
    assert guardrail.match.actions == ("pam.elevate",)
    assert guardrail.match.resources == ("vault/**",)
    assert guardrail.message == "confirm it"
