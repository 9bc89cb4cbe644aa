"""The console's audit pages through the real ASGI app, on both backends: search by
agent, type and time with paging both ways, one record in full, verification of the log
and its checkpoint, the JSON Lines export, and that only auditors and admins get in.
(The same in a real browser: tests/browser/test_audit.py.)"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from charter.audit.checkpoints import key_id
from charter.audit.merkle import Frontier, leaf_hash
from charter.audit.records import canonical_json
from charter.clock import ManualClock
from charter.errors import PermissionDenied
from charter.identity.humans import HumanRole
from charter.identity.principals import Principal
from charter.server.app import create_app
from charter.service import SYSTEM, Services
from charter.service.audit_views import AuditFilter
from charter.storage.sql import SqlStore
from tests.helpers import login, people, register
from tests.scenes import CONFIG, DEPLOY, Scene
from tests.test_console import _sign_in, _token

_SEQ = re.compile(r'<tr data-seq="(\d+)">')


@pytest.fixture
def scene(api: TestClient, services: Services) -> Scene:
    scene = Scene(api, services)
    scene.tokens.update(
        people(
            services,
            [("user:ada", (), (HumanRole.AUDITOR,)), ("user:ann", (), (HumanRole.ADMIN,))],
        )
    )
    return scene


@pytest.fixture
def auditor(scene: Scene) -> TestClient:
    """The scene's client, signed in as ``user:ada`` (auditor)."""
    assert _sign_in(scene.api, _token(scene, "user:ada")).status_code == 303
    return scene.api


def _seqs(page: str) -> list[int]:
    return [int(seq) for seq in _SEQ.findall(page)]


def _api_records(scene: Scene, **params: Any) -> list[dict[str, Any]]:
    answer = scene.api.get(
        "/v1/audit", params={"limit": 1000, **params}, headers=scene.tokens["user:ada"]
    )
    assert answer.status_code == 200, answer.text
    records: list[dict[str, Any]] = answer.json()["records"]
    return records


def test_an_auditor_searches_by_agent_type_and_time(scene: Scene, clock: ManualClock) -> None:
    register(scene.services, "other-bot", "user:olga")
    # Minutes apart, well within the approvals' time: no expiry record can interleave.
    before = clock.advance(timedelta(minutes=4))
    scene.decide(DEPLOY)
    clock.advance(timedelta(minutes=4))
    scene.decide(CONFIG)
    auditor = scene.api
    _sign_in(auditor, _token(scene, "user:ada"))  # after the clock moved: a fresh session

    page = auditor.get("/ui/audit")
    assert page.status_code == 200
    assert '<a href="/ui/audit" aria-current="page">Audit</a>' in page.text
    newest = _seqs(page.text)
    assert newest == sorted(newest, reverse=True)
    assert newest[0] == _api_records(scene)[-1]["seq"]

    mine = auditor.get("/ui/audit", params={"agent": "ops-bot", "type": "decision"}).text
    expected = [r["seq"] for r in _api_records(scene, agent="ops-bot", type="decision")]
    assert _seqs(mine) == expected[::-1]
    assert len(expected) == 2
    assert "approval_required: deploy.run on prod/web (approval_required)" in mine
    assert "other-bot" not in mine.split("<tbody>")[1]
    assert '<option value="decision" selected>' in mine
    assert 'value="ops-bot"' in mine

    other = auditor.get("/ui/audit", params={"type": ["", "agent.registered, human.added"]}).text
    types = {r["type"] for r in _api_records(scene) if r["seq"] in _seqs(other)}
    assert types == {"agent.registered", "human.added"}
    assert "other-bot" in other

    since = (before + timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M")
    later = auditor.get("/ui/audit", params={"agent": "ops-bot", "since": since}).text
    kinds = [r["type"] for r in _api_records(scene, agent="ops-bot") if r["seq"] in _seqs(later)]
    assert sorted(kinds) == ["approval.created", "decision"]  # the CONFIG call only
    assert f'value="{since}:00"' in later
    until = (before + timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%S")
    earlier = auditor.get("/ui/audit", params={"agent": "ops-bot", "until": until}).text
    assert not set(_seqs(earlier)) & set(_seqs(later))
    assert "deploy.run on prod/web" in earlier
    assert "config.change" not in earlier

    nothing = auditor.get("/ui/audit", params={"agent": "no-such-bot"}).text
    assert "No record matches this search" in nothing


def test_paging_walks_the_whole_log_older_and_back_newer(scene: Scene, auditor: TestClient) -> None:
    for n in range(80):
        scene.services.humans.add(SYSTEM, human_id=f"user:p{n}", email=f"p{n}@x.test")
    everything = [r["seq"] for r in _api_records(scene)]
    assert len(everything) > 100

    seen: list[int] = []
    pages: list[str] = []
    url: str | None = "/ui/audit"
    while url is not None:
        page = auditor.get(url).text
        seen += _seqs(page)
        pages.append(url)
        older = re.search(r'<a href="([^"]+)" rel="next">', page)
        url = None if older is None else older.group(1).replace("&amp;", "&")
    assert seen == everything[::-1]
    assert len(pages) == -(-len(everything) // 50)

    # From the oldest page, "newer" leads back through the same records.
    page = auditor.get(pages[-1]).text
    back = _seqs(page)
    while (newer := re.search(r'<a href="([^"]+)" rel="prev">', page)) is not None:
        page = auditor.get(newer.group(1).replace("&amp;", "&")).text
        back = _seqs(page) + back
    assert back == everything[::-1]
    assert 'rel="prev"' not in auditor.get("/ui/audit").text


@pytest.mark.parametrize("filtered", [False, True])
def test_a_page_before_any_record_holds_exactly_the_records_before_it(
    scene: Scene, filtered: bool
) -> None:
    """The backward probe against a plain forward read, for every starting point."""
    for n in range(12):
        register(scene.services, f"bot-{n}", "user:olga")
        scene.decide(DEPLOY if n % 3 else CONFIG)
    ada = login(scene.services, "user:ada")
    wanted = AuditFilter(agent="ops-bot", types=("decision",)) if filtered else AuditFilter()
    matching = scene.services.audit.query(ada, wanted.query(limit=1000))
    assert len(matching) >= 12
    last = matching[-1].seq + 2
    for before in range(last + 1):
        for size in (1, 3, 5):
            listing = scene.services.audit_views.page(ada, wanted, size=size, before=before)
            expected = [r.seq for r in matching if r.seq < before][-size:]
            assert [r.seq for r in listing.records] == expected[::-1], (before, size)


def test_people_without_the_auditor_or_admin_role_are_refused_and_see_no_audit_entry(
    scene: Scene,
) -> None:
    client = scene.api
    _sign_in(client, _token(scene, "user:olga"))  # owns ops-bot
    assert 'href="/ui/audit"' not in client.get("/ui/inbox").text
    for path in ("/ui/audit", "/ui/audit/verify", "/ui/audit/export", "/ui/audit/0"):
        answer = client.get(path)
        assert answer.status_code == 403, path
        assert "text/html" in answer.headers["content-type"]
        assert "forbidden" in answer.text
        assert '"seq"' not in answer.text
    refusals = _api_records(scene, type="auth.forbidden")
    assert [r["data"]["where"] for r in refusals][-4:] == [
        "GET /ui/audit",
        "GET /ui/audit/verify",
        "GET /ui/audit/export",
        "GET /ui/audit/0",
    ]
    assert all(r["actor"] == "user:olga" for r in refusals[-4:])


def test_an_owner_reads_their_own_agents_records_as_through_the_api(scene: Scene) -> None:
    register(scene.services, "rita-bot", "user:rita")
    scene.decide(DEPLOY)
    ops = [r["seq"] for r in _api_records(scene, agent="ops-bot")]
    theirs = _api_records(scene, agent="rita-bot")[-1]["seq"]
    client = scene.api
    _sign_in(client, _token(scene, "user:olga"))  # owns ops-bot, holds no role
    page = client.get("/ui/audit", params={"agent": "ops-bot"})
    assert page.status_code == 200
    assert _seqs(page.text) == ops[::-1]
    assert "/ui/audit/verify" not in page.text  # verification is for auditors and admins
    assert f'href="/ui/audit/{ops[-1]}?agent=ops-bot"' in page.text
    one = client.get(f"/ui/audit/{ops[-1]}", params={"agent": "ops-bot"})
    assert one.status_code == 200
    assert "The leaf hash is the hash of the body as stored." in one.text
    assert "Checkpoint" not in one.text
    exported = client.get("/ui/audit/export", params={"agent": "ops-bot"})
    assert [line["seq"] for line in _verified_lines(exported.text)] == ops
    # Another's agent, the whole log, a record by number alone: refused as by the API.
    for path, params in [
        ("/ui/audit", {"agent": "rita-bot"}),
        ("/ui/audit", {"agent": "no-such-bot"}),
        ("/ui/audit/export", {"agent": "rita-bot"}),
        (f"/ui/audit/{ops[-1]}", {}),
        (f"/ui/audit/{theirs}", {"agent": "rita-bot"}),
    ]:
        assert client.get(path, params=params).status_code == 403, (path, params)
    assert client.get(f"/ui/audit/{theirs}", params={"agent": "ops-bot"}).status_code == 404
    api = scene.api.get(
        "/v1/audit", params={"agent": "rita-bot"}, headers=scene.tokens["user:olga"]
    )
    assert api.status_code == 403


def test_an_admin_may_read_the_log_too(scene: Scene) -> None:
    _sign_in(scene.api, _token(scene, "user:ann"))
    assert scene.api.get("/ui/audit").status_code == 200
    assert 'href="/ui/audit"' in scene.api.get("/ui/inbox").text


def test_the_record_page_shows_the_body_hashes_and_links(scene: Scene, auditor: TestClient) -> None:
    opened = scene.decide(CONFIG)
    approval = opened["approval"]["id"]
    created = _api_records(scene, type="approval.created")[-1]
    page = auditor.get(f"/ui/audit/{created['seq']}")
    assert page.status_code == 200
    text = page.text
    assert f"Audit record {created['seq']}" in text
    assert created["leaf_hash"] in text
    assert created["tree_root"] in text
    assert f'<a href="/ui/approvals/{approval}"><code>{approval}</code></a>' in text
    assert '<a href="/ui/agents/ops-bot"><code>ops-bot</code></a>' in text
    assert "The leaf hash is the hash of the body as stored." in text
    assert "No signed checkpoint covers this record yet." in text
    assert f"&#34;decision&#34;: &#34;{opened['decision_id']}&#34;" in text  # pretty body
    assert "config-needs-owner" in text

    checkpoint = scene.services.audit.checkpoint()
    assert checkpoint is not None
    sealed = auditor.get(f"/ui/audit/{created['seq']}").text
    assert f"over {checkpoint.tree_size} records" in sealed


def test_the_record_page_says_when_a_record_was_edited(
    scene: Scene, auditor: TestClient, store: SqlStore
) -> None:
    target = _api_records(scene, type="policy.applied")[-1]
    with store.engine.begin() as conn:
        body = conn.execute(
            sa.text("SELECT body FROM audit_records WHERE seq = :seq"), {"seq": target["seq"]}
        ).scalar_one()
        conn.execute(
            sa.text("UPDATE audit_records SET body = :body WHERE seq = :seq"),
            {"body": body.replace('"user:pat"', '"user:eve"'), "seq": target["seq"]},
        )
    page = auditor.get(f"/ui/audit/{target['seq']}").text
    assert "The leaf hash does not match the body: the record was edited." in page
    verify = auditor.get("/ui/audit/verify").text
    assert f'at record <a href="/ui/audit/{target["seq"]}">{target["seq"]}</a>' in verify
    assert "record_altered" in verify
    assert "Verified:" not in verify


def test_verification_shows_the_log_and_the_last_checkpoint(
    scene: Scene, auditor: TestClient, signing_key: Ed25519PrivateKey
) -> None:
    page = auditor.get("/ui/audit/verify").text
    size = len(_api_records(scene))
    assert f"Verified: {size} records checked" in page
    assert "No checkpoint has been signed yet" in page
    checkpoint = scene.services.audit.checkpoint()
    assert checkpoint is not None
    scene.decide(DEPLOY)
    page = auditor.get("/ui/audit/verify").text
    assert "Verified:" in page
    assert f"{checkpoint.tree_size} records" in page
    assert checkpoint.root.hex() in page
    assert key_id(signing_key.public_key()) in page
    assert "Verified with this server's public key" in page
    assert "1 of 1" in page


def test_a_checkpoint_signed_by_another_key_does_not_verify(
    scene: Scene, store: SqlStore, clock: ManualClock
) -> None:
    assert scene.services.audit.checkpoint() is not None
    other = Services.build(store, clock=clock, signing_key=Ed25519PrivateKey.generate())
    client = TestClient(create_app(other), raise_server_exceptions=False)
    _sign_in(client, _token(scene, "user:ada"))
    page = client.get("/ui/audit/verify").text
    assert "Does not verify with this server's public key" in page
    assert "checkpoint_signature_invalid" in page


def _verified_lines(text: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in text.splitlines()]
    for line in lines:
        body = {k: v for k, v in line.items() if k not in ("leaf_hash", "tree_root")}
        assert leaf_hash(canonical_json(body).encode("utf-8")).hex() == line["leaf_hash"]
    return lines


def test_the_export_is_json_lines_whose_hashes_verify(
    scene: Scene, auditor: TestClient, clock: ManualClock
) -> None:
    scene.decide(DEPLOY)
    answer = auditor.get("/ui/audit/export")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/jsonl")
    assert answer.headers["content-disposition"] == (
        f'attachment; filename="charter-audit-{clock():%Y%m%dT%H%M%SZ}.jsonl"'
    )
    lines = _verified_lines(answer.text)
    assert lines == _api_records(scene)  # what `charter audit export` writes
    frontier = Frontier.empty()
    for line in lines:  # the whole log, in order: the tree roots recompute too
        frontier = frontier.append(bytes.fromhex(line["leaf_hash"]))
        assert frontier.root().hex() == line["tree_root"]

    only = auditor.get("/ui/audit/export", params={"agent": "ops-bot", "type": "decision"})
    decisions = _verified_lines(only.text)
    assert [line["seq"] for line in decisions] == [
        r["seq"] for r in _api_records(scene, agent="ops-bot", type="decision")
    ]
    assert decisions


def test_the_export_is_bounded(scene: Scene) -> None:
    ada: Principal = login(scene.services, "user:ada")
    everything = scene.services.audit.query(ada, AuditFilter().query(limit=1000))
    exported = list(scene.services.audit_views.export(ada, AuditFilter(), limit=7))
    assert [r.seq for r in exported] == [r.seq for r in everything[:7]]
    olga = login(scene.services, "user:olga")
    with pytest.raises(PermissionDenied, match="audit log"):
        scene.services.audit_views.export(olga, AuditFilter())  # refused before any line


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/ui/audit", {"since": "nonsense"}),
        ("/ui/audit", {"until": "2026-13-45T99:00"}),
        ("/ui/audit", {"since": "2026-12-06T10:00", "until": "2026-12-06T09:00"}),
        ("/ui/audit", {"since": "9999-12-31T23:59:59-01:00"}),
        ("/ui/audit", {"agent": "Not An Agent!"}),
        ("/ui/audit", {"type": "DROP TABLE"}),
        ("/ui/audit", {"type": ",".join(f"t{n}" for n in range(21))}),
        ("/ui/audit", {"after": "x"}),
        ("/ui/audit", {"after": "3", "before": "9"}),
        ("/ui/audit", {"before": str(2**63)}),
        ("/ui/audit", {"since": "x" * 101}),
        ("/ui/audit/export", {"since": "yesterday"}),
        ("/ui/audit/-1", {}),
        ("/ui/audit/abc", {}),
    ],
)
def test_bad_input_gives_a_4xx_page_not_a_500(
    auditor: TestClient, path: str, params: dict[str, str]
) -> None:
    answer = auditor.get(path, params=params)
    assert answer.status_code == 422, answer.text
    assert "text/html" in answer.headers["content-type"]
    assert "invalid_request" in answer.text
    assert "Traceback" not in answer.text


def test_a_record_that_does_not_exist_is_a_404_page(auditor: TestClient) -> None:
    answer = auditor.get("/ui/audit/999999")
    assert answer.status_code == 404
    assert "the audit log has no record 999999" in answer.text
