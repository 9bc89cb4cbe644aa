"""The CLI as a new user meets it, against a real server: whole ids in every table, the
approval an approver has to judge, what the audit tail says, and errors that say what to
do."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from charter.cli import common
from charter.identity.humans import HumanRole
from charter.service import SYSTEM, Services
from tests.helpers import PACK, Admin, agent_token
from tests.helpers import charter_cli as charter
from tests.servers import Served

OPEN_TICKET = json.dumps({"ticket": {"id": "INC-1", "status": "open"}})
FAKE_GITHUB_TOKEN = "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"
LONG_AGENT = "reconciliation-agent-for-the-quarterly-close-of-subsidiaries"
LONG_TEXT = "Reconcile " + "every ledger of every subsidiary " * 6


@dataclass
class Scene:
    """The example pack on a live server, two pending approvals for identity-ops-agent
    (group:identity-ops approves; user:bob owns the agent), and tokens to act with."""

    url: str
    admin: list[str]
    ivan: list[str]
    bob: list[str]
    ops: list[str]
    approvals: list[str]


@pytest.fixture
def narrow(monkeypatch: pytest.MonkeyPatch) -> None:
    """A terminal 60 columns wide: narrower than most tables."""
    monkeypatch.setattr(common.out, "width", 60)


@pytest.fixture
def scene(served: Served, services: Services, admin: Admin) -> Scene:
    services.humans.add(
        SYSTEM,
        human_id="user:ivan",
        email="ivan@example.com",
        groups=["identity-ops"],
        roles=[HumanRole.APPROVER],
    )

    def token_of(human: str) -> list[str]:
        return [
            "--server",
            served.url,
            "--token",
            services.tokens.issue_for_human(SYSTEM, human).token,
        ]

    ops = ["--server", served.url, "--token", agent_token(services, "identity-ops-agent")]
    approvals = []
    for host in ("db-1", "db-2"):
        code, out, err = charter(
            "decide",
            *ops,
            "--capability",
            "do",
            "--action",
            "pam.elevate",
            "--resource",
            f"pam/hosts/{host}",
            "--context",
            OPEN_TICKET,
            "--input",
            json.dumps({"host": host, "note": FAKE_GITHUB_TOKEN}),
            "--json",
        )
        assert code == 3, err  # approval required: the answer is not yes
        approvals.append(json.loads(out)["approval"]["id"])
    return Scene(
        url=served.url,
        admin=["--server", served.url, "--token", admin.token],
        ivan=token_of("user:ivan"),
        bob=token_of("user:bob"),
        ops=ops,
        approvals=approvals,
    )


def _active_revision(services: Services) -> str:
    active = services.policies.active(SYSTEM)
    assert active is not None
    return active[1].id


def _whole(text: str, *values: str) -> None:
    """Every value is printed whole on one line, and nothing was cut with an ellipsis."""
    for value in values:
        assert value in text, f"{value!r} is cut or missing in:\n{text}"
    assert "…" not in text


# -- ids are never cut ----------------------------------------------------------------


def test_the_table_keeps_ids_whole_and_wraps_free_text(
    narrow: None, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = ["tok_b3ijlu72v65s7lzz", "apr_anyrhgtcmaaaaaaa", LONG_AGENT]
    common.table(
        ["id", "state", "purpose"],
        [(ident, "active", LONG_TEXT) for ident in ids],
        wrap={"purpose"},
    )
    printed = capsys.readouterr().out
    _whole(printed, *ids)
    assert " ".join(printed.split()).count("every ledger of every subsidiary") == 6 * len(ids)


def test_list_commands_print_whole_ids_on_a_narrow_terminal(
    narrow: None, scene: Scene, services: Services
) -> None:
    admin = scene.admin
    code, _, err = charter(
        "agents", "register", LONG_AGENT, "--owner", "user:carol", "--purpose", LONG_TEXT, *admin
    )
    assert code == 0, err
    code, out, _ = charter("agents", "list", *admin)
    _whole(out, LONG_AGENT, "identity-ops-agent")

    code, out, _ = charter("tokens", "issue", "--agent", LONG_AGENT, "--json", *admin)
    token_id = json.loads(out)["credential"]["id"]
    code, out, _ = charter("tokens", "list", "--agent", LONG_AGENT, *admin)
    _whole(out, token_id)

    code, out, _ = charter("approvals", "list", *scene.ivan)
    _whole(out, *scene.approvals, "identity-ops-agent")

    fingerprint = "fp_" + "7" * 32
    code, _, err = charter(
        "secrets", "report-leak", "--note", LONG_TEXT, "--fingerprint", fingerprint, *admin
    )
    assert code == 0, err
    code, out, _ = charter("secrets", "leaks", *admin)
    _whole(out, fingerprint)

    code, out, err = charter(
        "webhooks", "add", "https://hooks.example.com/" + "charter/" * 8, *admin, "--json"
    )
    assert code == 0, err
    hook = json.loads(out)["id"]
    code, out, _ = charter("webhooks", "list", *admin)
    _whole(out, hook)
    code, out, _ = charter("webhooks", "deliveries", hook, *admin)
    assert code == 0

    code, out, _ = charter("humans", "list", *admin)
    _whole(out, "user:admin", "user:ivan")
    code, out, _ = charter("policy", "revisions", *admin)
    _whole(out, _active_revision(services))
    code, out, _ = charter("grants", "list", *admin)
    assert code == 0


# -- approvals: what the approver judges, and the filters ------------------------------


def test_approvals_show_has_the_context_and_the_masked_input(scene: Scene) -> None:
    code, printed, _ = charter("approvals", "show", scene.approvals[0], *scene.ivan)
    assert code == 0
    out = " ".join(printed.split())  # long values wrap
    assert '"ticket": {"id": "INC-1", "status": "open"}' in out
    assert '"host": "db-1"' in out
    assert "[REDACTED:github_token]" in out  # masked by the server
    assert FAKE_GITHUB_TOKEN not in out
    assert "github_token at $.input.note (fp_" in out


def test_approvals_list_filters_on_the_server(scene: Scene) -> None:
    first, second = scene.approvals
    both = sorted(scene.approvals)

    def listed(*args: str) -> list[str]:
        code, out, err = charter("approvals", "list", *args, "--json")
        assert code == 0, err
        return sorted(approval["id"] for approval in json.loads(out))

    assert listed(*scene.ivan) == both
    assert listed("--resource", "pam/hosts/db-2", *scene.ivan) == [second]
    assert listed("--resource", "pam/hosts/db-9", *scene.ivan) == []
    assert listed("--agent", "support-bot", *scene.ivan) == []
    assert listed("--status", "approved", *scene.ivan) == []
    assert listed("--mine", *scene.ivan) == both  # group:identity-ops asks ivan
    assert listed(*scene.bob) == both  # bob owns the agent: he may read them
    assert listed("--mine", *scene.bob) == []  # but they do not ask him
    assert listed("--mine", *scene.admin) == []
    assert listed("--mine", *scene.ops) == []  # an agent decides nothing

    assert charter("approvals", "approve", first, "--reason", "INC-1", *scene.ivan)[0] == 0
    assert listed("--status", "approved", *scene.ivan) == [first]
    assert (
        charter("approvals", "list", "--status", "done", *scene.ivan)[0] == 2
    )  # a usage error, found before asking


def test_approvals_wait_says_it_waits_on_stderr_and_exits_3_unless_approved(
    scene: Scene,
) -> None:
    first, second = scene.approvals
    code, out, err = charter("approvals", "wait", second, "--timeout", "0", *scene.ops)
    assert code == 3  # still pending: not approved
    assert f"waiting for {second} (up to 0s)" in err
    assert out.strip() == f"{second} is pending (0/1 votes)"  # stdout stays the result

    charter("approvals", "approve", first, "--reason", "INC-1", *scene.ivan)
    code, out, err = charter("approvals", "wait", first, "--json", *scene.ops)
    assert code == 0
    assert json.loads(out)["status"] == "approved"  # JSON alone on stdout
    assert f"waiting for {first}" in err

    charter("approvals", "deny", second, "--reason", "no", *scene.ivan)
    assert charter("approvals", "wait", second, *scene.ops)[0] == 3


def test_a_bad_approval_id_is_a_usage_error_without_a_regular_expression(scene: Scene) -> None:
    for command in (["show"], ["wait"], ["approve", "--reason", "r"], ["deny", "--reason", "r"]):
        code, _, err = charter("approvals", *command, "apr_x", *scene.ivan)
        assert code == 2
        assert "'apr_x' is not an approval id" in err
        assert "[a-z2-7]" not in err
        assert "^" not in err


# -- the audit tail --------------------------------------------------------------------


def test_audit_tail_shows_each_decisions_outcome_action_and_resource(scene: Scene) -> None:
    code, out, _ = charter("audit", "tail", "-n", "4", "--type", "decision", *scene.admin)
    assert code == 0
    decisions = out.splitlines()
    assert len(decisions) == 2
    for line, host in zip(decisions, ("db-1", "db-2"), strict=True):
        assert "APPROVAL_REQUIRED do pam.elevate pam/hosts/" + host in line
    code, out, _ = charter("audit", "tail", "-n", "2", "--type", "approval.created", *scene.admin)
    assert "pending do pam.elevate pam/hosts/db-2" in out.splitlines()[-1]


# -- errors that say what to do --------------------------------------------------------


def test_deciding_with_an_admin_token_names_the_tokens_that_may(scene: Scene) -> None:
    code, _, err = charter(
        "decide", "--capability", "do", "--action", "a.b", "--resource", "r", *scene.admin
    )
    assert code == 1
    assert "[forbidden]" in err
    assert "agent's token" in err
    assert "enforcer's token" in err


def test_connection_errors_name_the_url_and_what_to_do(scene: Scene) -> None:
    code, _, err = charter("agents", "list", "--server", scene.url + "/v1", *scene.admin[2:])
    assert code == 1
    assert f"without /v1: {scene.url}" in err

    code, _, err = charter("agents", "list", "--server", scene.url, "--token", "")
    assert code == 1
    assert "token_missing" in err
    assert "set CHARTER_TOKEN, or pass --token" in err


def test_durations_print_as_people_write_them(scene: Scene) -> None:
    code, _, err = charter(
        "tokens", "issue", "--agent", "support-bot", "--ttl", "31d", *scene.admin
    )
    assert code == 1
    assert "token lifetime 31d exceeds the maximum of 30d for agents" in err
    assert "days," not in err
    code, _, err = charter("tokens", "issue", "--agent", "support-bot", "--ttl", "1y", *scene.admin)
    assert code == 2  # a usage error: nothing was sent
    assert "invalid_duration" in err


# -- policy revisions and the agents they register -------------------------------------


def test_diff_apply_and_rollback_say_that_registered_agents_stay(
    scene: Scene, tmp_path: Path, services: Services
) -> None:
    policy = tmp_path / "policy"
    policy.mkdir()
    for source in PACK.glob("*.yaml"):
        (policy / source.name).write_text(source.read_text())
    before = _active_revision(services)
    with (policy / "agents.yaml").open("a") as agents:
        agents.write(
            "---\napiVersion: charter/v1\nkind: Agent\nmetadata: {name: report-writer}\n"
            "spec: {owner: user:carol, purpose: Write reports, riskTier: low}\n"
        )
    code, out, err = charter("policy", "diff", str(policy), *scene.admin)
    assert code == 0
    assert "+ agent report-writer" in out
    assert "applying registers, unless already registered: report-writer" in out
    assert "rollback does not unregister them" in err

    code, out, err = charter("policy", "apply", str(policy), *scene.admin)
    assert code == 0
    assert "agents registered: report-writer" in out
    assert "rollback does not unregister them" in err

    code, out, err = charter("policy", "rollback", str(before), *scene.admin)
    assert code == 0
    assert f"revision {before} is active" in out
    assert "stay registered" in err
    code, out, _ = charter("agents", "show", "report-writer", "--json", *scene.admin)
    assert json.loads(out)["status"] == "active"  # as the note said
