"""``charter reviews`` against the real server over real HTTP (uvicorn on loopback), on
SQLite and PostgreSQL: start, queue, an agent's proposal, a decision accepting it, the
next decision denied, the patch written into a policy directory, ``policy diff`` naming
the outcome, apply, close; and bad input refused with clear codes before anything is
sent."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from charter import Client
from charter.cli.reviews import parse_due
from charter.identity.humans import HumanRole
from charter.service import SYSTEM, Services
from tests.helpers import charter_cli, people
from tests.scenes import POLICY, RESTART
from tests.test_reviews import COPILOT, DRAFT


class Cli:
    """The live server with the approvals scene's people, and the CLI as each of them."""

    def __init__(self, url: str, services: Services) -> None:
        self.url = url
        headers = people(
            services,
            [
                ("user:olga", (), ()),
                ("user:rita", (), (HumanRole.ADMIN,)),
                ("user:pat", (), (HumanRole.POLICY_ADMIN,)),
                ("user:audrey", (), (HumanRole.AUDITOR,)),
            ],
        )
        self.tokens = {
            who: h["Authorization"].removeprefix("Bearer ") for who, h in headers.items()
        }
        # Applying a policy compiles it: room for a loaded CI machine past the 2 s default.
        with Client(url, self.tokens["user:pat"], timeout=10.0) as pat:
            pat.apply_policy({"policy.yaml": POLICY + COPILOT})
        for agent in ("ops-bot", "copilot"):
            self.tokens[agent] = services.tokens.issue_for_agent(SYSTEM, agent).token

    def run(self, who: str, *args: str) -> tuple[int, str, str]:
        return charter_cli(*args, "--server", self.url, "--token", self.tokens[who])

    def json(self, who: str, *args: str) -> Any:
        code, out, err = self.run(who, *args, "--json")
        assert code == 0, (code, out, err)
        return json.loads(out)

    def decide(self, request: dict[str, str]) -> Any:
        with Client(self.url, self.tokens["ops-bot"]) as bot:
            return bot.decide(
                request["capability"], request["action"], resource=request["resource"]
            )


@pytest.fixture
def cli(live_server: str, services: Services) -> Cli:
    return Cli(live_server, services)


def _item(campaign: dict[str, Any], agent: str, source: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        i for i in campaign["items"] if i["agent"] == agent and i["source"] == source
    ]
    assert len(found) == 1, [(i["agent"], i["source"]) for i in campaign["items"]]
    return found[0]


def test_the_review_walkthrough(cli: Cli, tmp_path: Path) -> None:
    for _ in range(3):
        assert cli.decide(DRAFT).decision == "allow"
    assert cli.decide(RESTART).decision == "approval_required"

    # An admin starts a campaign over ops-bot; it is listed and shown.
    started = cli.json(
        "user:rita",
        "reviews", "start", "Q4 agent access", "--window", "30d", "--due", "14d",
        "--agent", "ops-bot",
    )  # fmt: skip
    campaign_id = started["id"]
    assert started["counts"]["items"] == 4
    assert started["window_days"] == 30
    code, listed, _ = cli.run("user:rita", "reviews", "list")
    assert code == 0
    assert campaign_id in listed
    assert "Q4" in listed
    assert [c["id"] for c in cli.json("user:rita", "reviews", "list", "--status", "open")] == [
        campaign_id
    ]
    assert cli.json("user:rita", "reviews", "list", "--status", "closed") == []
    campaign = cli.json("user:rita", "reviews", "show", campaign_id)
    restarter = _item(campaign, "ops-bot", "Binding/restarter-eligible")
    assert restarter["recommendation"] == "revoke"
    code, shown, _ = cli.run("user:rita", "reviews", "show", campaign_id)
    assert code == 0
    assert restarter["id"] in shown
    assert "Binding/restarter-eligible" in shown

    # The owner's queue holds the items; one item shows its evidence and reason.
    queue = cli.json("user:olga", "reviews", "queue")
    assert restarter["id"] in {i["id"] for i in queue}
    code, shown, _ = cli.run("user:olga", "reviews", "item", restarter["id"])
    assert code == 0
    assert restarter["recommendation_reason"].split(";")[0] in " ".join(shown.split())

    # The copilot proposes; it cannot decide.
    proposal = cli.json(
        "copilot",
        "reviews", "propose", restarter["id"], "--verdict", "revoke",
        "--reason", "no use in 30 days", "--evidence", "usage: none", "--evidence", "audit",
    )  # fmt: skip
    assert proposal["ai_drafted"] is True
    assert proposal["evidence"] == ["usage: none", "audit"]
    code, _, err = cli.run(
        "copilot", "reviews", "decide", restarter["id"], "--verdict", "revoke", "--reason", "me"
    )
    assert code == 1
    assert "[forbidden]" in err
    code, shown, _ = cli.run("user:olga", "reviews", "item", restarter["id"])
    assert proposal["id"] in shown
    assert "AI-drafted by copilot" in shown

    # The owner accepts the proposal: the next decision is denied.
    decided = cli.json(
        "user:olga",
        "reviews", "decide", restarter["id"], "--verdict", "revoke", "--reason", "not needed",
        "--accept-proposal", proposal["id"],
    )  # fmt: skip
    assert decided["accepted_proposal"] == proposal["id"]
    assert decided["outcome"] == "in_force"
    denied = cli.decide(RESTART)
    assert denied.decision == "deny"
    assert denied.code == "revoked_by_review"
    code, listed, _ = cli.run("user:pat", "reviews", "outcomes")
    assert code == 0
    assert restarter["id"] in listed
    assert "Binding/restarter-eligible" in listed

    # Several items at once: the bulk endpoint, all recorded as bulk.
    others = [
        _item(campaign, "ops-bot", source)["id"]
        for source in ("agent", "Binding/reviewer-eligible")
    ]
    bulk = cli.json(
        "user:olga", "reviews", "decide", *others, "--verdict", "keep", "--reason", "needed"
    )
    assert [i["id"] for i in bulk] == others
    assert all(i["bulk"] and i["verdict"] == "keep" for i in bulk)
    code, said, _ = cli.run(
        "user:olga", "reviews", "decide", *others, "--verdict", "keep", "--reason", "again"
    )
    assert code == 1
    assert "[item_decided]" in said + _

    # The patch makes it permanent in a policy directory; diff says so; apply settles it.
    policies = tmp_path / "policies"
    policies.mkdir()
    original = POLICY + COPILOT
    (policies / "policy.yaml").write_text(original)
    diffed = cli.json("user:pat", "policy", "diff", str(policies))
    assert diffed["review_outcomes_not_reflected"] == [
        {
            "campaign": campaign_id,
            "item": restarter["id"],
            "agent": "ops-bot",
            "binding": "restarter-eligible",
            "kind": "revoke",
            "reflected_by_candidate": False,
        }
    ]
    code, said, err = cli.run("user:pat", "policy", "diff", str(policies))
    assert code == 0
    assert "NOT reflected by this policy" in said
    assert "reviews patch" in err

    code, said, err = cli.run("user:pat", "reviews", "patch", campaign_id, str(policies))
    assert code == 0, err
    assert f"changed {policies / 'policy.yaml'}" in said
    patched = (policies / "policy.yaml").read_text()
    assert patched != original
    assert f"item {restarter['id']}" in patched
    assert "name: restarter-eligible" not in patched

    diffed = cli.json("user:pat", "policy", "diff", str(policies))
    assert [o["reflected_by_candidate"] for o in diffed["review_outcomes_not_reflected"]] == [True]
    code, said, _ = cli.run("user:pat", "policy", "diff", str(policies))
    assert code == 0
    assert "reflected by this policy" in said
    assert restarter["id"] in said
    again = cli.json("user:pat", "reviews", "patch", campaign_id, str(policies))
    assert again["already_reflected"] == [restarter["id"]]
    assert again["changed"] == again["added"] == []

    assert cli.run("user:pat", "policy", "apply", str(policies))[0] == 0
    assert cli.json("user:olga", "reviews", "item", restarter["id"])["outcome"] == "done"
    assert cli.json("user:pat", "reviews", "outcomes") == []
    assert (
        cli.json("user:pat", "policy", "diff", str(policies))["review_outcomes_not_reflected"] == []
    )
    code, said, _ = cli.run("user:pat", "reviews", "patch", campaign_id, str(policies))
    assert code == 0
    assert "nothing to patch" in said
    assert cli.decide(RESTART).decision == "deny"

    # The clock, then closing: the open item gets the default.
    sweep = cli.json("user:rita", "reviews", "sweep")
    assert set(sweep) >= {"overdue", "settled", "handed_off"}
    code, said, _ = cli.run("user:rita", "reviews", "sweep")
    assert code == 0
    assert "overdue: 0" in said
    code, said, _ = cli.run("user:rita", "reviews", "close", campaign_id, "--reason", "done")
    assert code == 0
    assert f"campaign {campaign_id} is closed" in said
    closed = cli.json("user:rita", "reviews", "show", campaign_id)
    assert closed["status"] == "closed"
    assert all(i["status"] == "decided" for i in closed["items"])
    code, _, err = cli.run("user:rita", "reviews", "close", campaign_id, "--reason", "again")
    assert code == 1
    assert "[campaign_closed]" in err


def test_reduce_and_make_eligible_patches_add_a_reviews_file(cli: Cli, tmp_path: Path) -> None:
    assert cli.decide(DRAFT).decision == "allow"
    campaign = cli.json("user:rita", "reviews", "start", "narrow", "--agent", "ops-bot")
    campaign = cli.json("user:rita", "reviews", "show", campaign["id"])
    deployer = _item(campaign, "ops-bot", "Binding/deployer-standing")
    assert deployer["recommendation"] == "reduce"
    code, shown, _ = cli.run("user:olga", "reviews", "item", deployer["id"])
    assert code == 0
    assert "narrower role (reduce)" in shown
    assert "review.draft" in shown
    cli.json("user:olga", "reviews", "decide", deployer["id"], "--verdict", "reduce",
             "--reason", "only drafts")  # fmt: skip
    policies = tmp_path / "repo"
    (policies / "base").mkdir(parents=True)
    (policies / "base" / "policy.yaml").write_text("# ours\n" + POLICY + COPILOT)
    made = cli.json("user:pat", "reviews", "patch", campaign["id"], str(policies))
    assert made["changed"] == ["base/policy.yaml"]
    assert made["added"] == [f"reviews/{campaign['id']}.yaml"]
    added = (policies / "reviews" / f"{campaign['id']}.yaml").read_text()
    assert deployer["id"] in added
    assert "deployer--ops-bot-reduced" in added
    assert (policies / "base" / "policy.yaml").read_text().startswith("# ours\n")
    assert cli.run("user:pat", "policy", "apply", str(policies))[0] == 0
    assert cli.decide(DRAFT).decision == "allow"
    assert cli.json("user:olga", "reviews", "item", deployer["id"])["outcome"] == "done"


def test_start_takes_scope_filters_a_date_and_a_reviewer(cli: Cli) -> None:
    started = cli.json(
        "user:rita",
        "reviews", "start", "scoped", "--due", "2026-03-31", "--risk", "low", "--risk", "medium",
        "--owner", "user:olga", "--reviewer", "user:rita",
        "--overdue", "keep",
    )  # fmt: skip
    assert started["due_at"].startswith("2026-04-01T00:00:00")
    assert started["reviewer"] == "user:rita"
    assert started["overdue"] == "keep"
    assert started["scope"]["owners"] == ["user:olga"]
    assert started["counts"]["items"] == 4  # ops-bot: itself and its three bindings
    assert {i["reviewer"] for i in cli.json("user:rita", "reviews", "queue")} == {"user:rita"}
    code, _, err = cli.run("user:rita", "reviews", "start", "none", "--label", "team=ops")
    assert code == 1
    assert "[empty_campaign]" in err
    code, said, _ = cli.run("user:rita", "reviews", "start", "every agent")
    assert code == 0
    assert "started" in said
    assert "next: charter reviews show rvc_" in said


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["reviews", "start", "x", "--due", "soon"], 2, "[invalid_due_date]"),
        (["reviews", "start", "x", "--window", "0d"], 2, "[invalid_duration]"),
        (["reviews", "start", "x", "--window", "a month"], 2, "[invalid_duration]"),
        (["reviews", "start", "x", "--label", "team"], 2, "[invalid_labels]"),
        (["reviews", "start", "x", "--risk", "extreme"], 2, "--risk"),
        (["reviews", "start", "x", "--reviewer", "olga"], 2, "[invalid_reviewer]"),
        (["reviews", "start", "x", "--reviewer", "user:nobody"], 1, "[invalid_reviewer]"),
        (["reviews", "start", "x", "--due", "2020-01-01"], 1, "[invalid_due_date]"),
        (["reviews", "show", "Q4"], 2, "[invalid_request]"),
        (["reviews", "show", "rvc_nothere"], 1, "[campaign_not_found]"),
        (["reviews", "item", "rvi_x"], 2, "[invalid_request]"),
        (["reviews", "item", "rvi_aaaaaaaaaaaaaaaa"], 1, "[review_item_not_found]"),
        (["reviews", "decide", "rvi_aaaaaaaaaaaaaaaa", "--reason", "x"], 2, "--verdict"),
        (
            ["reviews", "decide", "rvi_aaaaaaaaaaaaaaaa", "--verdict", "maybe", "--reason", "x"],
            2,
            "--verdict",
        ),
        (
            ["reviews", "decide", "rvi_aaaaaaaaaaaaaaaa", "--verdict", "keep", "--reason", " "],
            1,
            "[reason_required]",
        ),
        (
            [
                "reviews",
                "decide",
                "rvi_aaaaaaaaaaaaaaaa",
                "rvi_bbbbbbbbbbbbbbbb",
                "--verdict",
                "keep",
                "--reason",
                "x",
                "--accept-proposal",
                "rvp_aaaaaaaaaaaaaaaa",
            ],
            2,
            "[invalid_request]",
        ),
        (
            [
                "reviews",
                "decide",
                "rvi_aaaaaaaaaaaaaaaa",
                "--verdict",
                "keep",
                "--reason",
                "x",
                "--accept-proposal",
                "yes",
            ],
            2,
            "[invalid_request]",
        ),
        (["reviews", "close", "rvc_nothere"], 2, "--reason"),
        (["reviews", "patch", "rvc_x", "/nonexistent/policies"], 1, "[policy_not_found]"),
        (["reviews", "patch", "nope"], 2, "[invalid_request]"),
    ],
)
def test_bad_input_gives_a_clear_code(cli: Cli, args: list[str], code: int, message: str) -> None:
    got, out, err = cli.run("user:rita", *args)
    assert got == code, (out, err)
    assert message in out + err
    assert "Traceback" not in out + err


def test_agents_and_the_unauthorised_are_refused_with_codes(cli: Cli, tmp_path: Path) -> None:
    code, _, err = cli.run("copilot", "reviews", "start", "mine")
    assert code == 1
    assert "[forbidden]" in err
    code, _, err = cli.run("user:olga", "reviews", "sweep")
    assert code == 1
    assert "[forbidden]" in err
    code, _, err = cli.run("user:olga", "reviews", "outcomes")
    assert code == 1
    assert "[forbidden]" in err
    code, _, err = charter_cli("reviews", "queue", "--server", cli.url)
    assert code == 1
    assert "[token_missing]" in err
    assert "CHARTER_TOKEN" in err
    # An auditor reads outcomes; with none in force, a patch writes nothing.
    assert cli.json("user:audrey", "reviews", "outcomes") == []
    (tmp_path / "policy.yaml").write_text(POLICY)
    campaign = cli.json("user:rita", "reviews", "start", "empty", "--agent", "ops-bot")
    code, said, _ = cli.run("user:audrey", "reviews", "patch", campaign["id"], str(tmp_path))
    assert code == 0
    assert "nothing to patch" in said
    assert (tmp_path / "policy.yaml").read_text() == POLICY


def test_due_reads_durations_dates_and_times() -> None:
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert parse_due("14d", now=now) == datetime(2026, 1, 15, 12, tzinfo=UTC)
    assert parse_due("2026-02-01", now=now) == datetime(2026, 2, 2, tzinfo=UTC)
    assert parse_due("2026-02-01T09:30:00", now=now) == datetime(2026, 2, 1, 9, 30, tzinfo=UTC)
    assert parse_due("2026-02-01T09:30:00+02:00", now=now).utcoffset() is not None
