"""A secret written into a policy file is refused wherever the policy is validated or
applied: a revision is stored as written, shown to everyone who may read policy, and
what it declares (an agent's purpose, its labels) is audited. Revisions stored before
the check still load, so that an upgrade never leaves a server without its policy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from charter.cli.common import Exit
from charter.policy import Engine, PolicyInvalid
from charter.policy.engine import revision_of
from charter.policy.revisions import PolicyRevision
from charter.service import SYSTEM, Services
from charter.storage.sql import SqlStore
from tests.helpers import charter_cli
from tests.scenes import POLICY, Scene
from tests.test_redteam_free_text import SECRETS
from tests.test_secrets_scenarios import _stored_text

SECRET_IN_POLICY = "secret_in_policy"

# Where a policy author could paste one: (what is replaced, what replaces it).
PLACES = {
    "purpose": (
        'spec: {owner: "user:olga"}',
        'spec: {owner: "user:olga", purpose: "calls the API with {}"}',
    ),
    "label": ('spec: {owner: "user:olga"}', 'spec: {owner: "user:olga", labels: {key: "{}"}}'),
    "condition": (
        "    - {capability: do, actions: [review.draft]}",
        "    - {capability: do, actions: [review.draft], when: \"context.key == '{}'\"}",
    ),
    "comment": ("kind: Role", "# the deploy key is {}\nkind: Role"),
    "resource": ('resources: ["prod/**"]}', 'resources: ["prod/{}"]}'),
}


def _with_secret(place: str, secret: str) -> str:
    old, new = PLACES[place]
    assert old in POLICY
    return POLICY.replace(old, new.replace("{}", secret), 1)


@pytest.fixture
def scene(api: TestClient, services: Services) -> Scene:
    return Scene(api, services)


@pytest.mark.parametrize("kind", sorted(SECRETS))
@pytest.mark.parametrize("place", sorted(PLACES))
def test_a_policy_holding_a_secret_is_refused_whole(
    scene: Scene, store: SqlStore, database_url: str, place: str, kind: str
) -> None:
    secret = SECRETS[kind]
    pat = scene.tokens["user:pat"]
    before = scene.api.get("/v1/policies/active", headers=pat).json()["revision"]
    files = {"policy.yaml": _with_secret(place, secret)}
    for path in ("/v1/policies", "/v1/policies/diff"):
        answer = scene.api.post(path, json={"files": files}, headers=pat)
        assert answer.status_code == 422, answer.text
        assert secret not in answer.text
        error = answer.json()["error"]
        assert error["code"] == "invalid_policy"
        found = [d for d in error["diagnostics"] if d["code"] == SECRET_IN_POLICY]
        assert len(found) == 1, error
        line = files["policy.yaml"].splitlines()[found[0]["line"] - 1]
        assert line[found[0]["column"] - 1 :].startswith(secret[:4]), (line, found)
    # Nothing changed, nothing kept: no revision, no audit record, no byte in the store.
    assert scene.api.get("/v1/policies/active", headers=pat).json()["revision"] == before
    revisions = scene.api.get("/v1/policies/revisions", headers=pat).json()
    assert len(revisions) == 1
    records = scene.api.get(
        "/v1/audit", params={"type": "policy.applied"}, headers=scene.tokens["user:rita"]
    ).json()["records"]
    assert len(records) == 1
    assert secret.encode() not in _stored_text(store, database_url)


@pytest.mark.parametrize("place", sorted(PLACES))
def test_a_policy_holding_a_registered_leak_is_refused_whole(
    scene: Scene, store: SqlStore, database_url: str, place: str
) -> None:
    # No detector knows it: the server's registry does.
    leak = "Plum-Orchard-Lantern-8842"
    files = {"policy.yaml": _with_secret(place, leak)}
    pat, rita = scene.tokens["user:pat"], scene.tokens["user:rita"]
    before = scene.api.post("/v1/policies/diff", json={"files": files}, headers=pat)
    assert SECRET_IN_POLICY not in before.text  # (a label is refused as an unknown key)
    reported = scene.api.post("/v1/leaks", json={"value": leak, "note": "x"}, headers=rita)
    assert reported.status_code == 201, reported.text
    for path in ("/v1/policies", "/v1/policies/diff"):
        answer = scene.api.post(path, json={"files": files}, headers=pat)
        assert answer.status_code == 422, answer.text
        assert leak not in answer.text
        found = [d for d in answer.json()["error"]["diagnostics"] if d["code"] == SECRET_IN_POLICY]
        assert len(found) == 1, answer.text
        assert "(leaked_secret)" in found[0]["message"]
    simulated = scene.api.post(
        "/v1/policies/simulate", json={"files": files, "since": "1d"}, headers=pat
    )
    assert simulated.status_code == 422, simulated.text
    assert len(scene.api.get("/v1/policies/revisions", headers=pat).json()) == 1
    assert leak.encode() not in _stored_text(store, database_url)


def test_a_secret_is_reported_beside_the_policys_other_errors() -> None:
    broken = _with_secret("purpose", SECRETS["github"]).replace("kind: Binding", "kind: Bind", 1)
    with pytest.raises(PolicyInvalid) as refused:
        Engine.from_texts({"policy.yaml": broken})
    errors = sorted(d.code for d in refused.value.diagnostics if d.severity.value == "error")
    assert errors == [SECRET_IN_POLICY, "unknown_kind"]
    assert SECRETS["github"] not in str(refused.value)


def test_a_policy_naming_where_a_secret_is_kept_is_accepted() -> None:
    # A vault path or an environment variable's name is not a secret; nor are words
    # that sit next to secrets in real policies.
    named = POLICY.replace(
        'spec: {owner: "user:olga"}',
        'spec: {owner: "user:olga", purpose: "reads the token at vault:secret/ops/github '
        'or from $GITHUB_TOKEN; the password field is never released"}',
        1,
    )
    assert Engine.from_texts({"policy.yaml": named}).revision == revision_of({"policy.yaml": named})


def test_policy_validate_says_where_the_secret_is(tmp_path: Path) -> None:
    text = _with_secret("comment", SECRETS["stripe"])
    (tmp_path / "policy.yaml").write_text(text)
    [(line, column)] = [
        (number, row.index(SECRETS["stripe"]) + 1)
        for number, row in enumerate(text.splitlines(), 1)
        if SECRETS["stripe"] in row
    ]
    code, out, err = charter_cli("policy", "validate", str(tmp_path))
    assert code == Exit.NO, (out, err)
    assert f"policy.yaml:{line}:{column}: error[{SECRET_IN_POLICY}]" in err, err
    assert SECRETS["stripe"] not in out + err
    code, out, _ = charter_cli("policy", "validate", str(tmp_path), "--json")
    assert code == Exit.NO
    assert [d["code"] for d in json.loads(out)["diagnostics"]] == [SECRET_IN_POLICY]


def test_a_revision_stored_before_the_check_still_loads_and_rolls_back(
    scene: Scene, services: Services
) -> None:
    # Written to the store as an older Charter would have accepted it.
    files = {"policy.yaml": _with_secret("comment", SECRETS["aws"])}
    older = Engine.from_texts(files, stored=True)
    with services.store.write() as unit:
        unit.policies.add(
            PolicyRevision(
                id=older.revision,
                created_at=services.clock(),
                created_by=SYSTEM.ref,
                files=files,
                summary={},
            )
        )
    pat = scene.tokens["user:pat"]
    rolled = scene.api.post(f"/v1/policies/revisions/{older.revision}/activate", headers=pat)
    assert rolled.status_code == 200, rolled.text
    assert services.policies.load_active() is not None
    assert services.policies.compiled.engine is not None
    assert services.policies.compiled.engine.revision == older.revision


POLICY_TEST = """apiVersion: charter/v1
kind: PolicyTest
metadata: {name: no-keys-in-reviews}
spec:
  now: 2026-06-01T09:00:00Z
  cases:
    - name: a review draft that carries a key is still a review draft
      request: {agent: ops-bot, capability: do, action: review.draft, resource: reviews/1,
                context: {note: "the key is {}"}}
      expect: {decision: allow}
"""


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r", "\u2028"])
def test_a_policy_test_may_carry_a_sample_secret_and_no_other_document_may(
    newline: str,
) -> None:
    # A guardrail against secrets is tested with one: PolicyTest cases are not scanned.
    # Lines are counted as YAML counts them, so no other document hides behind one.
    sample = SECRETS["github"]
    tested = (POLICY + "---\n" + POLICY_TEST.replace("{}", sample)).replace("\n", newline)
    engine = Engine.from_texts({"policy.yaml": tested})
    assert [result.passed for result in engine.run_tests()] == [True]
    after = tested + "---" + newline + "# the real one: " + SECRETS["aws"] + newline
    with pytest.raises(PolicyInvalid) as refused:
        Engine.from_texts({"policy.yaml": after})
    [diagnostic] = refused.value.diagnostics
    assert diagnostic.code == SECRET_IN_POLICY
    assert "aws" in diagnostic.message
    assert diagnostic.source.line == tested.count(newline) + 2
    assert diagnostic.source.column == len("# the real one: ") + 1


def test_a_file_of_many_secrets_is_reported_briefly() -> None:
    # Fifty say enough; a file's lines are found once (counting them from the file's
    # start for each finding was quadratic).
    line = "# " + SECRETS["aws"] + "\n"
    with pytest.raises(PolicyInvalid) as refused:
        Engine.from_texts({"policy.yaml": POLICY + line * 20_000})
    found = [d for d in refused.value.diagnostics if d.code == SECRET_IN_POLICY]
    assert len(found) == 50
    assert [d.source.line for d in found[:2]] == [POLICY.count("\n") + 1, POLICY.count("\n") + 2]
