"""``charter posture`` and ``charter secrets rotated`` against the real server over real
HTTP (uvicorn on loopback): the table, JSON, filters, a leak marked rotated, and bad
input or a caller without the role refused with clear codes."""

from __future__ import annotations

import json
from typing import Any

from charter import Client
from charter.identity.humans import HumanRole
from charter.service import Services
from tests.helpers import charter_cli, people
from tests.scenes import POLICY

FINGERPRINT = "fp_" + "9c" * 16


def run(url: str, token: str, *args: str) -> tuple[int, str, str]:
    return charter_cli(*args, "--server", url, "--token", token)


def test_posture_and_rotation_from_the_command_line(live_server: str, services: Services) -> None:
    headers = people(
        services,
        [
            ("user:olga", (), ()),
            ("user:rita", (), (HumanRole.ADMIN,)),
            ("user:pat", (), (HumanRole.POLICY_ADMIN,)),
            ("user:audrey", (), (HumanRole.AUDITOR,)),
        ],
    )
    tokens = {who: h["Authorization"].removeprefix("Bearer ") for who, h in headers.items()}
    # Applying a policy compiles it: room for a loaded CI machine past the 2 s default.
    with Client(live_server, tokens["user:pat"], timeout=10.0) as pat:
        pat.apply_policy({"policy.yaml": POLICY})
    with Client(live_server, tokens["user:rita"]) as rita:
        rita.report_leak(fingerprint=FINGERPRINT, note="pasted in chat")

    code, out, err = run(live_server, tokens["user:audrey"], "posture")
    assert code == 0, err
    assert "leak_not_rotated" in out
    assert "policy_without_tests" in out
    assert "NHI2" in out

    code, out, err = run(
        live_server, tokens["user:audrey"], "posture", "--kind", "leak_not_rotated", "--json"
    )
    assert code == 0, err
    report: dict[str, Any] = json.loads(out)
    assert [f["objects"] for f in report["findings"]] == [[f"leak:{FINGERPRINT}"]]
    assert report["by_severity"]["high"] == 1

    code, out, err = run(live_server, tokens["user:audrey"], "posture", "--severity", "urgent")
    assert code != 0
    assert "invalid_posture_filter" in err or "unknown severity" in err

    code, out, err = run(live_server, tokens["user:olga"], "posture")
    assert code != 0
    assert "forbidden" in err or "may not read posture" in err

    code, out, err = run(
        live_server, tokens["user:rita"], "secrets", "rotated", FINGERPRINT, "--note", "INC-1"
    )
    assert code == 0, err
    assert f"marked rotated: {FINGERPRINT}" in out

    code, out, err = run(
        live_server, tokens["user:audrey"], "posture", "--kind", "leak_not_rotated"
    )
    assert code == 0, err
    assert "no findings" in out
