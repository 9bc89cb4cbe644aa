"""``charter.Client``: the Charter HTTP API from Python, over httpx.

Every failure is a ``CharterError`` of the family the server named; a server that cannot
be reached, answers with a 5xx, or answers with something that is not Charter's, raises
``Unavailable``, which callers must treat as a deny. Ids are sent as single, escaped path
segments, so no id can steer a call to another endpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from charter.errors import (
    AuthenticationError,
    CharterError,
    Conflict,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    Unavailable,
)
from charter.identity.agents import AgentStatus, LifecycleAction, RiskTier
from charter.identity.humans import HumanRole
from charter.policy.diagnostics import Diagnostic, Severity
from charter.policy.engine import PolicyInvalid
from charter.policy.model import Source
from charter.wire import (
    AgentOut,
    AgentPage,
    AuditPage,
    DeactivationOut,
    HumanOut,
    HumanPage,
    IssuedTokenOut,
    LifecycleOut,
    PolicyApplied,
    TokenOut,
    WhoAmI,
)
from charter.wire_webhooks import DeliveryPage, WebhookCreated, WebhookOut, WebhookPage

__all__ = ["Client"]

Model = TypeVar("Model", bound=BaseModel)

_FAMILIES: dict[int, type[CharterError]] = {
    400: InvalidInput,
    401: AuthenticationError,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: InvalidInput,
}
_TOKENS = TypeAdapter(list[TokenOut])
_OBJECT = TypeAdapter(dict[str, Any])
_OBJECT_OR_NULL = TypeAdapter(dict[str, Any] | None)
_OBJECTS = TypeAdapter(list[dict[str, Any]])
Parsed = TypeVar("Parsed")


def _error_of(response: httpx.Response) -> CharterError:
    try:
        body = response.json()["error"]
        code, message, help = str(body["code"]), str(body["message"]), body.get("help")
    except (ValueError, KeyError, TypeError):
        code, message, help = "http_error", f"HTTP {response.status_code}", None
    if response.status_code >= 500:
        return Unavailable(message, code=code, help=help)
    if code == "invalid_policy":
        return PolicyInvalid(_diagnostics(body.get("diagnostics")))
    family = _FAMILIES.get(response.status_code, CharterError)
    return family(message, code=code, help=help)


def _diagnostics(items: Any) -> list[Diagnostic]:
    """The server's diagnostics back as values (malformed entries are skipped)."""
    found = []
    for item in items if isinstance(items, list) else []:
        try:
            found.append(
                Diagnostic(
                    Severity(item["severity"]),
                    str(item["code"]),
                    str(item["message"]),
                    Source(str(item["file"]), int(item["line"]), int(item["column"])),
                    item.get("help"),
                )
            )
        except (KeyError, TypeError, ValueError):
            continue
    return found


def _parse(response: httpx.Response, validate: Callable[[bytes], Parsed]) -> Parsed:
    try:
        return validate(response.content)
    except ValidationError:
        raise Unavailable(
            f"{response.request.url} did not answer as a Charter server does",
            code="invalid_response",
        ) from None


def _segment(value: str) -> str:
    # Escaped '/' keeps an id in its segment; escaped dots stop '..' from being resolved.
    return quote(value, safe="").replace(".", "%2E")


def _drop_none(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def _ttl(ttl: timedelta | None) -> dict[str, Any]:
    return {} if ttl is None else {"ttl_seconds": int(ttl.total_seconds())}


class Client:
    """A synchronous client for one Charter server and one token."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout: float = 2.0,
        http: httpx.Client | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = http or httpx.Client(base_url=url.rstrip("/"), timeout=timeout)
        self._http.headers.update(headers)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise Unavailable(
                f"the Charter server did not answer in time: {exc}", code="timeout"
            ) from None
        except httpx.HTTPError as exc:
            raise Unavailable(
                f"the Charter server cannot be reached: {exc}", code="unreachable"
            ) from None
        if response.is_error:
            raise _error_of(response)
        return response

    def _get(self, model: type[Model], path: str, **kwargs: Any) -> Model:
        return _parse(self._call("GET", path, **kwargs), model.model_validate_json)

    def _post(self, model: type[Model], path: str, body: Any = None, **kwargs: Any) -> Model:
        return _parse(self._call("POST", path, json=body, **kwargs), model.model_validate_json)

    # -- health and identity --------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """The server's liveness answer."""
        return _parse(self._call("GET", "/healthz"), _OBJECT.validate_json)

    def whoami(self) -> WhoAmI:
        """Who this client's token stands for."""
        return self._get(WhoAmI, "/v1/whoami")

    # -- agents ---------------------------------------------------------------------

    def register_agent(
        self,
        agent_id: str,
        *,
        owner: str,
        purpose: str,
        risk_tier: RiskTier | str = RiskTier.MEDIUM,
        display_name: str | None = None,
        labels: Mapping[str, str] | None = None,
        recertify_by: datetime | None = None,
    ) -> AgentOut:
        """Register an agent."""
        body = _drop_none(
            {
                "id": agent_id,
                "owner": owner,
                "purpose": purpose,
                "risk_tier": str(risk_tier),
                "display_name": display_name,
                "labels": dict(labels) if labels is not None else None,
                "recertify_by": recertify_by.isoformat() if recertify_by else None,
            }
        )
        return self._post(AgentOut, "/v1/agents", body)

    def list_agents(
        self,
        *,
        owner: str | None = None,
        status: AgentStatus | str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> AgentPage:
        """One page of agents."""
        params = _drop_none(
            {
                "owner": owner,
                "status": str(status) if status else None,
                "limit": limit,
                "cursor": cursor,
            }
        )
        return self._get(AgentPage, "/v1/agents", params=params)

    def iter_agents(self, **filters: Any) -> Iterator[AgentOut]:
        """Every agent matching the filters, page by page."""
        cursor: str | None = None
        while True:
            page = self.list_agents(cursor=cursor, **filters)
            yield from page.agents
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def get_agent(self, agent_id: str) -> AgentOut:
        """One agent."""
        return self._get(AgentOut, f"/v1/agents/{_segment(agent_id)}")

    def update_agent(self, agent_id: str, **changes: Any) -> AgentOut:
        """Change an agent (display_name, owner, purpose, risk_tier, labels, recertify_by)."""
        body = {
            key: value.isoformat() if isinstance(value, datetime) else value
            for key, value in _drop_none(changes).items()
        }
        response = self._call("PATCH", f"/v1/agents/{_segment(agent_id)}", json=body)
        return _parse(response, AgentOut.model_validate_json)

    def _move(self, agent_id: str, action: LifecycleAction, reason: str) -> LifecycleOut:
        path = f"/v1/agents/{_segment(agent_id)}/{action.value}"
        return self._post(LifecycleOut, path, {"reason": reason})

    def suspend_agent(self, agent_id: str, *, reason: str = "") -> LifecycleOut:
        """Suspend an agent: its tokens stop working until it is reinstated."""
        return self._move(agent_id, LifecycleAction.SUSPEND, reason)

    def reinstate_agent(self, agent_id: str, *, reason: str = "") -> LifecycleOut:
        """Reinstate a suspended agent."""
        return self._move(agent_id, LifecycleAction.REINSTATE, reason)

    def retire_agent(self, agent_id: str, *, reason: str = "") -> LifecycleOut:
        """Retire an agent for good, revoking all its tokens."""
        return self._move(agent_id, LifecycleAction.RETIRE, reason)

    # -- tokens ---------------------------------------------------------------------

    def issue_agent_token(
        self, agent_id: str, *, ttl: timedelta | None = None, description: str = ""
    ) -> IssuedTokenOut:
        """Issue a token to an agent; the clear text is in the result only."""
        body = {"description": description, **_ttl(ttl)}
        return self._post(IssuedTokenOut, f"/v1/agents/{_segment(agent_id)}/tokens", body)

    def issue_human_token(
        self, human_id: str, *, ttl: timedelta | None = None, description: str = ""
    ) -> IssuedTokenOut:
        """Issue a token to a human; the clear text is in the result only."""
        body = {"description": description, **_ttl(ttl)}
        return self._post(IssuedTokenOut, f"/v1/humans/{_segment(human_id)}/tokens", body)

    def list_agent_tokens(self, agent_id: str) -> list[TokenOut]:
        """An agent's tokens."""
        return _parse(
            self._call("GET", f"/v1/agents/{_segment(agent_id)}/tokens"), _TOKENS.validate_json
        )

    def list_human_tokens(self, human_id: str) -> list[TokenOut]:
        """A human's tokens."""
        return _parse(
            self._call("GET", f"/v1/humans/{_segment(human_id)}/tokens"), _TOKENS.validate_json
        )

    def revoke_token(self, token_id: str, *, reason: str = "") -> TokenOut:
        """Revoke a token."""
        path = f"/v1/tokens/{_segment(token_id)}"
        return _parse(
            self._call("DELETE", path, params={"reason": reason}), TokenOut.model_validate_json
        )

    def rotate_token(self, token_id: str, *, ttl: timedelta | None = None) -> IssuedTokenOut:
        """Replace a token with a new one, revoking the old."""
        return self._post(IssuedTokenOut, f"/v1/tokens/{_segment(token_id)}/rotate", _ttl(ttl))

    # -- humans ---------------------------------------------------------------------

    def add_human(
        self,
        human_id: str,
        *,
        email: str,
        display_name: str | None = None,
        groups: list[str] | None = None,
        roles: list[HumanRole | str] | None = None,
    ) -> HumanOut:
        """Add a human."""
        body = _drop_none(
            {
                "id": human_id,
                "email": email,
                "display_name": display_name,
                "groups": groups,
                "roles": [str(role) for role in roles] if roles is not None else None,
            }
        )
        return self._post(HumanOut, "/v1/humans", body)

    def list_humans(self, *, limit: int = 100, cursor: str | None = None) -> HumanPage:
        """One page of humans."""
        return self._get(
            HumanPage, "/v1/humans", params=_drop_none({"limit": limit, "cursor": cursor})
        )

    def get_human(self, human_id: str) -> HumanOut:
        """One human."""
        return self._get(HumanOut, f"/v1/humans/{_segment(human_id)}")

    def update_human(self, human_id: str, **changes: Any) -> HumanOut:
        """Change a human (email, display_name, groups, roles, active=True)."""
        path = f"/v1/humans/{_segment(human_id)}"
        return _parse(
            self._call("PATCH", path, json=_drop_none(changes)), HumanOut.model_validate_json
        )

    def deactivate_human(self, human_id: str, *, reason: str = "") -> DeactivationOut:
        """Deactivate a human; the result lists the agents left orphaned."""
        path = f"/v1/humans/{_segment(human_id)}/deactivate"
        return self._post(DeactivationOut, path, {"reason": reason})

    # -- audit ----------------------------------------------------------------------

    def query_audit(
        self,
        *,
        agent: str | None = None,
        types: list[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        cursor: str | None = None,
        after: int | None = None,
    ) -> AuditPage:
        """One page of audit records (``after``: only records past this sequence number)."""
        params = _drop_none(
            {
                "agent": agent,
                "type": types or None,
                "since": since.isoformat() if since else None,
                "until": until.isoformat() if until else None,
                "limit": limit,
                "cursor": cursor,
                "after": after,
            }
        )
        return self._get(AuditPage, "/v1/audit", params=params)

    def iter_audit(self, **filters: Any) -> Iterator[dict[str, Any]]:
        """Every audit record matching the filters, page by page."""
        cursor: str | None = None
        while True:
            page = self.query_audit(cursor=cursor, **filters)
            yield from page.records
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def verify_audit(self) -> dict[str, Any]:
        """Ask the server to verify the whole audit log."""
        return _parse(self._call("GET", "/v1/audit/verify"), _OBJECT.validate_json)

    def sign_checkpoint(self) -> dict[str, Any] | None:
        """Ask the server to sign a checkpoint now."""
        return _parse(self._call("POST", "/v1/audit/checkpoints"), _OBJECT_OR_NULL.validate_json)

    def list_checkpoints(self) -> list[dict[str, Any]]:
        """Every signed checkpoint, oldest first: keep copies outside the server."""
        return _parse(self._call("GET", "/v1/audit/checkpoints"), _OBJECTS.validate_json)

    # -- policies -------------------------------------------------------------------

    def apply_policy(self, files: Mapping[str, str]) -> PolicyApplied:
        """Validate and activate a policy given as ``{file name: YAML}``."""
        return self._post(PolicyApplied, "/v1/policies", {"files": dict(files)})

    def diff_policy(self, files: Mapping[str, str]) -> dict[str, Any]:
        """What applying ``files`` would change against the active revision."""
        response = self._call("POST", "/v1/policies/diff", json={"files": dict(files)})
        return _parse(response, _OBJECT.validate_json)

    def active_policy(self) -> dict[str, Any] | None:
        """The active revision with its files, or None."""
        return _parse(self._call("GET", "/v1/policies/active"), _OBJECT_OR_NULL.validate_json)

    def policy_revisions(self, *, limit: int = 100) -> list[dict[str, Any]]:
        """Stored revisions, newest first."""
        response = self._call("GET", "/v1/policies/revisions", params={"limit": limit})
        return _parse(response, _OBJECTS.validate_json)

    def activate_policy(self, revision: str) -> dict[str, Any]:
        """Reactivate a stored revision (roll back)."""
        response = self._call("POST", f"/v1/policies/revisions/{_segment(revision)}/activate")
        return _parse(response, _OBJECT.validate_json)

    def audit_public_key(self) -> str:
        """The PEM public key that verifies checkpoints."""
        return self._call("GET", "/v1/audit/public-key").text

    # -- webhooks -------------------------------------------------------------------

    def add_webhook(
        self, url: str, *, events: list[str] | None = None, description: str = ""
    ) -> WebhookCreated:
        """Add a webhook (all events unless ``events`` names some); the result holds its
        signing secret, shown only this once."""
        body = _drop_none({"url": url, "events": events, "description": description})
        return self._post(WebhookCreated, "/v1/webhooks", body)

    def list_webhooks(self, *, limit: int = 100, cursor: str | None = None) -> WebhookPage:
        """One page of webhooks, removed ones too."""
        params = _drop_none({"limit": limit, "cursor": cursor})
        return self._get(WebhookPage, "/v1/webhooks", params=params)

    def remove_webhook(self, webhook_id: str) -> WebhookOut:
        """Stop sending to a webhook; its pending deliveries are given up."""
        response = self._call("DELETE", f"/v1/webhooks/{_segment(webhook_id)}")
        return _parse(response, WebhookOut.model_validate_json)

    def webhook_deliveries(
        self,
        webhook_id: str,
        *,
        status: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> DeliveryPage:
        """One page of a webhook's delivery log, newest first."""
        params = _drop_none({"status": status, "limit": limit, "cursor": cursor})
        path = f"/v1/webhooks/{_segment(webhook_id)}/deliveries"
        return self._get(DeliveryPage, path, params=params)
