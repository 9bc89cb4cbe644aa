"""The web console through the real ASGI app, on both backends: sign-in, sessions,
CSRF, the inbox and votes, and that a page never shows or does more than the API would.
(The same flows in a real browser: tests/browser/.)"""

from __future__ import annotations

import itertools
import re
from datetime import timedelta
from urllib.parse import quote

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from charter.clock import ManualClock
from charter.server.app import create_app
from charter.service import Services
from tests.scenes import CLOSE, CONFIG, DEPLOY, Scene

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_PARAM = re.compile(r"\{([^}]+)\}")


@pytest.fixture
def scene(api: TestClient, services: Services) -> Scene:
    return Scene(api, services)


def _browser(services: Services) -> TestClient:
    """A second client: its own cookie jar, like another person's browser."""
    return TestClient(create_app(services), raise_server_exceptions=False)


def _token(scene: Scene, who: str) -> str:
    return scene.tokens[who]["Authorization"].removeprefix("Bearer ")


def _sign_in(client: TestClient, token: str, next_: str = "/ui/inbox") -> httpx.Response:
    form = client.get(f"/ui/sign-in?next={next_}")
    assert form.status_code == 200
    nonce = _CSRF.search(form.text)
    assert nonce is not None
    return client.post(
        "/ui/sign-in",
        data={"token": token, "csrf": nonce.group(1), "next": next_},
        follow_redirects=False,
    )


def _csrf(client: TestClient, page: str) -> str:
    found = _CSRF.search(client.get(page).text)
    assert found is not None
    return found.group(1)


def test_a_page_without_a_session_sends_the_visitor_to_sign_in(api: TestClient) -> None:
    answer = api.get("/ui/inbox", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/sign-in?next=%2Fui%2Finbox"
    assert api.get("/ui", follow_redirects=False).headers["location"] == "/ui/inbox"


def test_signing_in_sets_a_strict_http_only_cookie_and_audits_it(scene: Scene) -> None:
    client = scene.api
    answer = _sign_in(client, _token(scene, "user:olga"))
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/inbox"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("charter_session=chs_")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/" in cookie
    assert "Secure" not in cookie  # plain HTTP here; behind TLS see the test below
    page = client.get("/ui/inbox")
    assert page.status_code == 200
    assert "user:olga" in page.text
    records = scene.records("console.signed_in")
    assert records
    assert records[-1]["actor"] == "user:olga"
    assert _token(scene, "user:olga") not in str(records)


def test_behind_tls_the_cookie_is_secure_and_host_prefixed(services: Services) -> None:
    with TestClient(create_app(services), base_url="https://testserver") as client:
        scene = Scene(client, services)
        answer = _sign_in(scene.api, _token(scene, "user:olga"))
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("__Host-charter_session=")
    assert "Secure" in cookie


@pytest.mark.parametrize("who", ["ops-bot", "user:gate"])
def test_agent_and_enforcer_tokens_cannot_sign_in(scene: Scene, who: str) -> None:
    answer = _sign_in(scene.api, _token(scene, who))
    assert answer.status_code in (401, 403)
    assert "set-cookie" not in answer.headers or "charter_session" not in str(
        answer.headers.get("set-cookie")
    )
    assert "cannot sign in" in answer.text
    assert scene.api.get("/ui/inbox", follow_redirects=False).status_code == 303


@pytest.mark.parametrize(
    "token", ["", "nonsense", "cht_aaaaaaaaaaaaaaaa_" + "A" * 43, "Bearer cht_x"]
)
def test_a_bad_token_is_refused_without_echoing_it(scene: Scene, token: str) -> None:
    answer = _sign_in(scene.api, token)
    assert answer.status_code in (401, 422)
    if token:
        assert token not in answer.text


def test_sign_in_without_the_form_nonce_is_refused(scene: Scene) -> None:
    answer = scene.api.post(
        "/ui/sign-in", data={"token": _token(scene, "user:olga")}, follow_redirects=False
    )
    assert answer.status_code == 403
    assert "charter_session=chs_" not in answer.headers.get("set-cookie", "")


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/ui", "/ui/../v1", "/\\evil", "javascript:x"]
)
def test_sign_in_never_redirects_off_the_console(scene: Scene, target: str) -> None:
    answer = _sign_in(scene.api, _token(scene, "user:olga"), next_=target)
    assert answer.headers["location"] == "/ui/inbox"


def test_the_inbox_shows_what_waits_for_me_in_full_and_my_vote_lets_the_call_through_once(
    scene: Scene,
) -> None:
    opened = scene.decide(
        {**CONFIG, "context": {"ticket": "CHG-7"}, "input": {"password": "hunter2-very-secret"}}
    )
    approval = opened["approval"]["id"]
    client = scene.api
    _sign_in(client, _token(scene, "user:olga"))
    inbox = client.get("/ui/inbox").text
    assert approval in inbox
    assert "config.change" in inbox
    assert "prod/web" in inbox
    page = client.get(f"/ui/approvals/{approval}").text
    for expected in ("config-needs-owner", "ops-bot", "user:olga", "CHG-7", "Approve", "Deny"):
        assert expected in page, expected
    assert "hunter2-very-secret" not in page  # masked by the secrets guard
    csrf = _csrf(client, f"/ui/approvals/{approval}")
    voted = client.post(
        f"/ui/approvals/{approval}/vote",
        data={"vote": "approve", "reason": "planned change", "csrf": csrf},
        follow_redirects=False,
    )
    assert voted.status_code == 303
    assert approval not in client.get("/ui/inbox").text
    request = {
        **CONFIG,
        "context": {"ticket": "CHG-7"},
        "input": {"password": "hunter2-very-secret"},
    }
    assert scene.decide(request)["decision"] == "allow"
    assert scene.decide(request)["decision"] == "approval_required"


def test_a_vote_without_the_form_token_is_refused_and_changes_nothing(scene: Scene) -> None:
    approval = scene.decide(CONFIG)["approval"]["id"]
    client = scene.api
    _sign_in(client, _token(scene, "user:olga"))
    for data in (
        {"vote": "approve", "reason": "x"},
        {"vote": "approve", "reason": "x", "csrf": "forged"},
    ):
        answer = client.post(f"/ui/approvals/{approval}/vote", data=data)
        assert answer.status_code == 403
        assert "csrf_failed" in answer.text
    csrf = _csrf(client, "/ui/inbox")
    cross = client.post(
        f"/ui/approvals/{approval}/vote",
        data={"vote": "approve", "reason": "x", "csrf": csrf},
        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert cross.status_code == 403
    assert scene.approval(approval)["status"] == "pending"


def test_refusals_are_explained_in_words(scene: Scene) -> None:
    approval = scene.decide({**CLOSE, "context": {"on_behalf_of": "user:otto"}})["approval"]["id"]
    client = scene.api
    _sign_in(client, _token(scene, "user:rita"))  # an admin sees it, but only otto confirms
    page = client.get(f"/ui/approvals/{approval}").text
    assert "Only user:otto, on whose behalf the agent acts, can confirm this step-up." in page
    deploy = scene.decide(DEPLOY)["approval"]["id"]
    other = _browser(scene.services)
    _sign_in(other, _token(scene, "user:oscar"))
    csrf = _csrf(other, f"/ui/approvals/{deploy}")
    first = other.post(
        f"/ui/approvals/{deploy}/vote", data={"vote": "approve", "reason": "ok", "csrf": csrf}
    )
    assert first.status_code == 200  # back to the inbox: one of two votes in
    again = other.get(f"/ui/approvals/{deploy}").text
    assert "You have already voted on this request. It needs 2 different people" in again


def test_a_human_sees_nothing_of_approvals_that_are_not_theirs(scene: Scene) -> None:
    approval = scene.decide(CONFIG)["approval"]["id"]  # olga's agent; owner approves
    client = scene.api
    _sign_in(client, _token(scene, "user:oscar"))
    assert approval not in client.get("/ui/inbox").text
    answer = client.get(f"/ui/approvals/{approval}")
    assert answer.status_code == 404
    assert "config.change" not in answer.text


def test_revoking_the_token_ends_the_session_at_once(scene: Scene) -> None:
    client = scene.api
    _sign_in(client, _token(scene, "user:olga"))
    assert client.get("/ui/inbox").status_code == 200
    credential = _token(scene, "user:olga").split("_")[1]
    revoked = client.delete(f"/v1/tokens/tok_{credential}", headers=scene.tokens["user:rita"])
    assert revoked.status_code == 200, revoked.text
    assert client.get("/ui/inbox", follow_redirects=False).status_code == 303


def test_sessions_end_when_idle_and_on_sign_out(scene: Scene, clock: ManualClock) -> None:
    client = scene.api
    _sign_in(client, _token(scene, "user:olga"))
    clock.advance(timedelta(minutes=29))
    assert client.get("/ui/inbox").status_code == 200  # use keeps it alive...
    clock.advance(timedelta(minutes=29))
    assert client.get("/ui/inbox").status_code == 200
    clock.advance(timedelta(minutes=31))  # ...idle ends it
    assert client.get("/ui/inbox", follow_redirects=False).status_code == 303
    _sign_in(client, _token(scene, "user:olga"))
    csrf = _csrf(client, "/ui/inbox")
    out = client.post("/ui/sign-out", data={"csrf": csrf}, follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/ui/inbox", follow_redirects=False).status_code == 303
    assert scene.records("console.signed_out")


def test_console_pages_carry_strict_security_headers(scene: Scene) -> None:
    _sign_in(scene.api, _token(scene, "user:olga"))
    page = scene.api.get("/ui/inbox")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["content-type"].startswith("text/html")


def test_console_errors_are_pages_and_the_api_keeps_json(scene: Scene) -> None:
    _sign_in(scene.api, _token(scene, "user:olga"))
    missing = scene.api.get("/ui/approvals/apr_aaaaaaaaaaaaaaaa")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    assert "Traceback" not in missing.text
    api = scene.api.get("/v1/approvals/apr_nothing", headers=scene.tokens["user:olga"])
    assert api.headers["content-type"] == "application/json"


_ODD = [
    "..",
    "%2e%2e",
    "a" * 5000,
    "apr_\u0000",
    "\u202eevil",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "\uff11\uff12\uff13",  # fullwidth digits
    "\u00b2",  # a digit to str.isdigit, not to int()
    "-1",
    "99999999999999999999",
]


def _console_routes() -> list[tuple[str, str]]:
    return [(method, path) for method, path, _, _ in _console_inputs()]


def _console_inputs() -> list[tuple[str, str, set[str], set[str]]]:
    """Every console route: method, path, and the names of its query and form fields."""
    from fastapi.routing import APIRoute

    from charter.server.console.pages import PAGES
    from charter.server.console.web import CONSOLE_PREFIX

    return [
        (
            method,
            f"{CONSOLE_PREFIX}{route.path}",
            {param.alias for param in route.dependant.query_params},
            {param.alias for param in route.dependant.body_params},
        )
        for page in PAGES
        for route in page.router.routes
        if isinstance(route, APIRoute)
        for method in sorted(route.methods or ())
    ]


def test_every_console_route_answers_bad_input_with_a_page_never_a_500(scene: Scene) -> None:
    """Odd path values, query strings and form bodies, signed in as an admin (who may
    reach everything) and with a valid form token: a 2xx, 3xx or 4xx page each time."""
    client = scene.api
    _sign_in(client, _token(scene, "user:rita"))
    csrf = _csrf(client, "/ui/inbox")
    routes = _console_routes()
    assert ("POST", "/ui/approvals/{approval_id}/vote") in routes
    sent = 0
    approval = scene.decide(CONFIG)["approval"]["id"]
    real = {"agent_id": "ops-bot", "approval_id": approval, "seq": "1", "token_id": "tok_x"}
    walked = [route for route in _console_inputs() if route[:2] != ("POST", "/ui/sign-out")]
    for (method, template, queries, fields), real_path in itertools.product(walked, (False, True)):
        # Every field the route reads gets the odd value too, but the confirmation box:
        # ticked, it would really suspend the agent.
        fields = fields - {"csrf", "understood"}
        for odd in _ODD:
            if real_path:  # odd forms and queries on paths that exist
                path = _PARAM.sub(lambda found: real.get(found.group(1), "x"), template)
            else:
                path = _PARAM.sub(quote(odd, safe="").replace("\\", "\\\\"), template)
            query = {"q": odd, "status": odd, "agent": odd, "since": odd, "next": odd}
            query |= dict.fromkeys(queries, odd)
            if method == "GET":
                answer = client.get(path, params=query, follow_redirects=False)
            else:
                form = {key: odd for key in ("vote", "reason", "token", "ttl", "description")}
                form |= dict.fromkeys(fields, odd)
                answer = client.post(
                    path, data={**form, "csrf": csrf}, params=query, follow_redirects=False
                )
            sent += 1
            assert answer.status_code < 500, f"{method} {path}: {answer.status_code}"
            assert "Traceback" not in answer.text
            if answer.status_code >= 400:
                assert answer.headers["content-type"].startswith("text/html"), f"{method} {path}"
            assert "<script>alert(1)</script>" not in answer.text, f"{method} {path} reflects"
    assert sent >= 2 * len(_ODD) * len(walked)
    # Still signed in (the walk must not have run signed out), and nothing was decided.
    assert client.get("/ui/inbox", follow_redirects=False).status_code == 200
    assert scene.approval(approval)["status"] == "pending"


def test_a_grant_refused_by_separation_of_duty_is_explained_in_words(scene: Scene) -> None:
    # ops-bot drafts reviews (standing); deciding them is eligible, and the two conflict.
    opened = scene.decide({"capability": "do", "action": "review.decide", "resource": "reviews/9"})
    assert opened["decision"] == "approval_required", opened
    approval = opened["approval"]["id"]
    client = scene.api
    _sign_in(client, _token(scene, "user:oscar"))
    csrf = _csrf(client, f"/ui/approvals/{approval}")
    answer = client.post(
        f"/ui/approvals/{approval}/vote",
        data={"vote": "approve", "reason": "needs it today", "csrf": csrf},
    )
    assert answer.status_code == 409
    assert "Separation of duties refused the grant this approval would give" in answer.text
    assert "separation_of_duty" not in answer.text.split("<main", 1)[1].split("</main>")[0]
    assert scene.approval(approval)["status"] == "cancelled"


def test_signing_in_again_ends_the_session_the_browser_held(scene: Scene) -> None:
    client = scene.api
    _sign_in(client, _token(scene, "user:olga"))
    first = client.cookies.get("charter_session")
    # A second tab still showing the sign-in form: oscar signs in there.
    nonce = client.cookies.get("charter_sign_in") or _sign_in_nonce(scene)
    client.cookies.set("charter_sign_in", nonce, path="/ui/sign-in")
    again = client.post(
        "/ui/sign-in",
        data={"token": _token(scene, "user:oscar"), "csrf": nonce, "next": "/ui/inbox"},
        follow_redirects=False,
    )
    assert again.status_code == 303
    assert client.cookies.get("charter_session") != first
    other = _browser(scene.services)
    other.cookies.set("charter_session", str(first))
    assert other.get("/ui/inbox", follow_redirects=False).status_code == 303


def _sign_in_nonce(scene: Scene) -> str:
    form = _browser(scene.services).get("/ui/sign-in").text
    found = _CSRF.search(form)
    assert found is not None
    return found.group(1)


def test_text_the_store_cannot_keep_is_refused_before_it_gets_there(scene: Scene) -> None:
    approval = scene.decide(CONFIG)["approval"]["id"]
    client = scene.api
    _sign_in(client, _token(scene, "user:olga"))
    csrf = _csrf(client, f"/ui/approvals/{approval}")
    for reason in ("ok\x00", "\x00"):
        voted = client.post(
            f"/ui/approvals/{approval}/vote",
            data={"vote": "approve", "reason": reason, "csrf": csrf},
        )
        assert voted.status_code == 422, reason
        suspended = client.post(
            "/ui/agents/ops-bot/suspend",
            data={"reason": reason, "understood": "yes", "csrf": csrf},
        )
        assert suspended.status_code == 422, reason
    assert scene.approval(approval)["status"] == "pending"
    assert client.get("/ui/approvals/apr_%00").status_code == 422
