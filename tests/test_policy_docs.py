"""The examples in docs/policy.md are a valid policy and decide as the page says."""

from __future__ import annotations

import re
from pathlib import Path

from charter import Capability, Effect, Engine, Request

PAGE = (Path(__file__).resolve().parent.parent / "docs" / "policy.md").read_text()


def test_the_documented_examples_load_and_decide_as_described() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", PAGE, re.S)
    assert len(blocks) >= 5
    engine = Engine.from_documents("\n---\n".join(blocks))
    decision = engine.decide(
        Request(
            agent="support-bot",
            capability=Capability.REQUEST,
            action="crm.customer.read",
            resource="crm/customer/42",
            fields=("name", "email", "ssn"),
            context={"purpose": "account_recovery"},
        )
    )
    assert decision.effect is Effect.ALLOW
    assert decision.released_fields == ("name", "email")
    assert decision.redacted_fields == ("ssn",)
    assert decision.reasons[0].policy == "Role/support-reader"
    assert decision.reasons[0].rule == "permissions[0]"
    assert decision.policy_revision.startswith("rev_")
