"""Server and store settings, read from an environment mapping handed in by the caller.

| variable | default | meaning |
|---|---|---|
| ``CHARTER_DATA_DIR`` | ``./.charter`` | where the embedded store and the signing key live |
| ``CHARTER_DATABASE_URL`` | ``sqlite:///<data dir>/charter.db`` | the store (SQLite or ``postgresql+psycopg://``) |
| ``CHARTER_SIGNING_KEY`` | ``<data dir>/audit-signing.key`` | Ed25519 key that signs audit checkpoints |
| ``CHARTER_HOST`` / ``CHARTER_PORT`` | ``127.0.0.1`` / ``8080`` | where ``charter serve`` listens |
| ``CHARTER_MAX_BODY_BYTES`` | ``1048576`` | larger request bodies are refused with 413 |
| ``CHARTER_AGENT_TOKEN_MAX_TTL`` | ``30d`` | longest agent token lifetime (agent default: 24h) |
| ``CHARTER_HUMAN_TOKEN_MAX_TTL`` | ``90d`` | longest human token lifetime (human default: 30d) |
| ``CHARTER_CHECKPOINT_INTERVAL`` | ``60s`` | how often the server signs an audit checkpoint |
| ``CHARTER_RECERTIFY_AFTER`` | ``90d`` | default recertify-by date of a new agent, from registration |
| ``CHARTER_INFERENCE_MAX_AGE`` | ``1h`` | how long an allowed inference may be cited in ``context.derived_from`` |
| ``CHARTER_REPLAY_RETENTION`` | ``30d`` | how long each decision's masked request is kept for policy simulation (``0``: not kept; at most ``400d``) |
| ``CHARTER_STORE_TIMEOUT`` | ``5s`` | longest a request waits on a store that does not answer (then 503) |
| ``CHARTER_STORE_CONNECT_RETRY`` | ``30s`` | how long ``charter serve`` retries an unreachable store at start |
| ``CHARTER_CONSOLE_SESSION_TTL`` | ``8h`` | longest a console session lasts from sign-in (never beyond its token) |
| ``CHARTER_CONSOLE_IDLE_TIMEOUT`` | ``30m`` | a console session ends after this long without a request |
| ``CHARTER_POSTURE_DORMANT_AFTER`` | ``30d`` | posture: an agent unseen (a token unused) this long is dormant |
| ``CHARTER_POSTURE_RECERTIFY_WITHIN`` | ``14d`` | posture: a recertify-by date this close is reported as due |
| ``CHARTER_POSTURE_LONG_LIVED_TOKEN`` | ``7d`` | posture: an agent token living longer is long-lived |
| ``CHARTER_POSTURE_CHECKPOINT_MAX_AGE`` | ``1d`` | posture: records unsealed by a checkpoint this long are stale |
| ``CHARTER_POSTURE_WINDOW`` | ``30d`` | posture: how far back decisions and approvals are read |
| ``CHARTER_POSTURE_RUBBER_STAMP_SECONDS`` | ``30`` | posture: an approver voting in a median this fast... |
| ``CHARTER_POSTURE_RUBBER_STAMP_MIN_VOTES`` | ``10`` | ...over at least this many votes, approving 95% or more, rubber-stamps |
| ``CHARTER_AUDIT_SHARD`` | (none: the one log) | append this server's audit records to their own shard of the log (docs/scaling.md) |
| ``CHARTER_WEBHOOK_ALLOW_PRIVATE_TARGETS`` | ``false`` | ``true``: webhooks may target private and loopback addresses (never link-local or metadata ones) |

Every duration is a positive whole number of ``s``, ``m``, ``h`` or ``d`` of at most
``MAX_DURATION`` (ten years).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from charter.codes import ErrorCode
from charter.durations import MAX_DURATION, parse_duration
from charter.errors import InvalidInput
from charter.identity.credentials import TokenLifetimes
from charter.identity.sessions import SessionLifetimes
from charter.posture.findings import Thresholds as PostureThresholds
from charter.reviews.campaigns import Overdue, PastRecertification, ReviewSettings

__all__ = [
    "MAX_DURATION",
    "MAX_REPLAY_RETENTION",
    "REPLAY_RETENTION",
    "Settings",
    "parse_duration",
]


REPLAY_RETENTION = timedelta(days=30)
"""How long decisions' requests are kept for replay unless told otherwise."""
MAX_REPLAY_RETENTION = timedelta(days=400)
"""The longest replay retention: the requests kept are masked, yet still what was asked."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a Charter server needs to know about its surroundings."""

    data_dir: Path = Path(".charter")
    database_url: str | None = None
    signing_key_path: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    max_body_bytes: int = 1024 * 1024
    token_lifetimes: TokenLifetimes = field(default_factory=TokenLifetimes)
    console_sessions: SessionLifetimes = field(default_factory=SessionLifetimes)
    checkpoint_interval: timedelta = timedelta(seconds=60)
    recertify_after: timedelta = timedelta(days=90)
    reviews: ReviewSettings = field(default_factory=ReviewSettings)
    inference_max_age: timedelta = timedelta(hours=1)
    replay_retention: timedelta = REPLAY_RETENTION
    """How long each decision's masked request is kept for policy simulation (zero: not
    kept); at most ``MAX_REPLAY_RETENTION``."""
    store_timeout: timedelta = timedelta(seconds=5)
    """Bounds every wait on the store (``charter.storage.sql.bounds``)."""
    store_connect_retry: timedelta = timedelta(seconds=30)
    """How long ``charter serve`` keeps trying a store it cannot reach at start."""
    webhook_allow_private_targets: bool = False
    """True: webhooks may target private and loopback addresses (link-local and cloud
    metadata addresses stay refused)."""
    posture: PostureThresholds = field(default_factory=PostureThresholds)
    """The thresholds posture findings use (``CHARTER_POSTURE_*``)."""
    deliver_webhooks: bool = True
    audit_shard: str = ""
    """The audit shard this server appends to ("": the one default log)."""
    """False: this process queues webhook deliveries but sends none (tests drive their own)."""

    @property
    def store_url(self) -> str:
        """The database URL, defaulting to the embedded SQLite file in the data dir."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'charter.db').resolve()}"

    @property
    def signing_key(self) -> Path:
        """Path of the Ed25519 private key that signs checkpoints."""
        return self.signing_key_path or self.data_dir / "audit-signing.key"

    @property
    def public_key(self) -> Path:
        """Path of the exported public key, beside the private one."""
        return self.signing_key.with_suffix(".pub")

    @classmethod
    def from_env(cls, env: Mapping[str, str], **overrides: object) -> Settings:
        """Build settings from ``CHARTER_*`` variables, then apply explicit overrides."""
        values: dict[str, object] = {}
        if "CHARTER_DATA_DIR" in env:
            values["data_dir"] = Path(env["CHARTER_DATA_DIR"])
        if "CHARTER_DATABASE_URL" in env:
            values["database_url"] = env["CHARTER_DATABASE_URL"]
        if "CHARTER_SIGNING_KEY" in env:
            values["signing_key_path"] = Path(env["CHARTER_SIGNING_KEY"])
        if "CHARTER_HOST" in env:
            values["host"] = env["CHARTER_HOST"]
        if "CHARTER_PORT" in env:
            values["port"] = _integer(env["CHARTER_PORT"], "CHARTER_PORT", minimum=1)
        if "CHARTER_MAX_BODY_BYTES" in env:
            values["max_body_bytes"] = _integer(
                env["CHARTER_MAX_BODY_BYTES"], "CHARTER_MAX_BODY_BYTES", minimum=1024
            )
        lifetimes = TokenLifetimes()
        if "CHARTER_AGENT_TOKEN_MAX_TTL" in env:
            cap = parse_duration(env["CHARTER_AGENT_TOKEN_MAX_TTL"])
            lifetimes = TokenLifetimes(
                agent_default=min(lifetimes.agent_default, cap),
                agent_max=cap,
                human_default=lifetimes.human_default,
                human_max=lifetimes.human_max,
            )
        if "CHARTER_HUMAN_TOKEN_MAX_TTL" in env:
            cap = parse_duration(env["CHARTER_HUMAN_TOKEN_MAX_TTL"])
            lifetimes = TokenLifetimes(
                agent_default=lifetimes.agent_default,
                agent_max=lifetimes.agent_max,
                human_default=min(lifetimes.human_default, cap),
                human_max=cap,
            )
        values["token_lifetimes"] = lifetimes
        sessions = SessionLifetimes()
        if "CHARTER_CONSOLE_SESSION_TTL" in env:
            absolute = parse_duration(env["CHARTER_CONSOLE_SESSION_TTL"])
            sessions = SessionLifetimes(absolute=absolute, idle=min(sessions.idle, absolute))
        if "CHARTER_CONSOLE_IDLE_TIMEOUT" in env:
            idle = parse_duration(env["CHARTER_CONSOLE_IDLE_TIMEOUT"])
            sessions = SessionLifetimes(absolute=sessions.absolute, idle=idle)
        values["console_sessions"] = sessions
        if "CHARTER_CHECKPOINT_INTERVAL" in env:
            values["checkpoint_interval"] = parse_duration(env["CHARTER_CHECKPOINT_INTERVAL"])
        if "CHARTER_RECERTIFY_AFTER" in env:
            values["recertify_after"] = parse_duration(env["CHARTER_RECERTIFY_AFTER"])
        values["reviews"] = _reviews(env)
        values["posture"] = _posture(env)
        if "CHARTER_INFERENCE_MAX_AGE" in env:
            values["inference_max_age"] = parse_duration(env["CHARTER_INFERENCE_MAX_AGE"])
        if "CHARTER_REPLAY_RETENTION" in env:
            values["replay_retention"] = _replay_retention(env["CHARTER_REPLAY_RETENTION"])
        if "CHARTER_STORE_TIMEOUT" in env:
            values["store_timeout"] = parse_duration(env["CHARTER_STORE_TIMEOUT"])
        if "CHARTER_STORE_CONNECT_RETRY" in env:
            values["store_connect_retry"] = parse_duration(env["CHARTER_STORE_CONNECT_RETRY"])
        if "CHARTER_WEBHOOK_ALLOW_PRIVATE_TARGETS" in env:
            values["webhook_allow_private_targets"] = _boolean(
                env["CHARTER_WEBHOOK_ALLOW_PRIVATE_TARGETS"],
                "CHARTER_WEBHOOK_ALLOW_PRIVATE_TARGETS",
            )
        if "CHARTER_AUDIT_SHARD" in env:
            values["audit_shard"] = audit_shard_name(env["CHARTER_AUDIT_SHARD"])
        values.update({key: value for key, value in overrides.items() if value is not None})
        if "audit_shard" in values:
            values["audit_shard"] = audit_shard_name(str(values["audit_shard"]))
        return cls(**values)  # type: ignore[arg-type]


_SHARD_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,62}")


def audit_shard_name(text: str) -> str:
    """An audit shard's name: lower-case letters, digits, ``_``, ``.`` and ``-``, at most
    63, starting with a letter or digit; empty means the default log."""
    name = text.strip()
    if name and not _SHARD_NAME.fullmatch(name):
        raise InvalidInput(
            f"CHARTER_AUDIT_SHARD must be lower-case letters, digits, '_', '.' or '-' (at "
            f"most 63), not {text!r}",
            code=ErrorCode.INVALID_SETTING,
        )
    return name


def _replay_retention(text: str) -> timedelta:
    """``0`` or ``off``: requests are not kept; otherwise a duration up to the maximum."""
    if text.strip().lower() in ("0", "off"):
        return timedelta(0)
    retention = parse_duration(text)
    if retention > MAX_REPLAY_RETENTION:
        raise InvalidInput(
            f"CHARTER_REPLAY_RETENTION must be at most {MAX_REPLAY_RETENTION.days}d",
            code=ErrorCode.INVALID_SETTING,
        )
    return retention


_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _boolean(text: str, name: str) -> bool:
    value = _BOOLEANS.get(text.strip().lower())
    if value is None:
        raise InvalidInput(
            f"{name} must be true or false, not {text!r}", code=ErrorCode.INVALID_SETTING
        )
    return value


def _integer(text: str, name: str, *, minimum: int) -> int:
    if not re.fullmatch(r"[0-9]{1,12}", text.strip(), re.ASCII):
        raise InvalidInput(
            f"{name} must be a whole number, not {text[:64]!r}", code=ErrorCode.INVALID_SETTING
        )
    try:
        value = int(text)
    except ValueError:
        raise InvalidInput(
            f"{name} must be a whole number, not {text!r}", code=ErrorCode.INVALID_SETTING
        ) from None
    if value < minimum:
        raise InvalidInput(f"{name} must be at least {minimum}", code=ErrorCode.INVALID_SETTING)
    return value


def _choice(value: str, name: str, kind: type[Overdue] | type[PastRecertification]) -> str:
    allowed = [member.value for member in kind]
    if value.strip().lower() not in allowed:
        raise InvalidInput(
            f"{name} must be one of {', '.join(allowed)}, not {value!r}",
            code=ErrorCode.INVALID_SETTING,
        )
    return value.strip().lower()


def _reviews(env: Mapping[str, str]) -> ReviewSettings:
    """Access review defaults from ``CHARTER_REVIEW_*`` and ``CHARTER_RECERTIFY_*``."""
    reviews = ReviewSettings()
    if "CHARTER_REVIEW_WINDOW" in env:
        reviews = replace(reviews, window=parse_duration(env["CHARTER_REVIEW_WINDOW"]))
    if "CHARTER_REVIEW_DUE_IN" in env:
        reviews = replace(reviews, due_in=parse_duration(env["CHARTER_REVIEW_DUE_IN"]))
    if "CHARTER_REVIEW_DUE_SOON" in env:
        reviews = replace(reviews, due_soon=parse_duration(env["CHARTER_REVIEW_DUE_SOON"]))
    if "CHARTER_RECERTIFY_HORIZON" in env:
        horizon = parse_duration(env["CHARTER_RECERTIFY_HORIZON"])
        reviews = replace(reviews, recertify_horizon=horizon)
    if "CHARTER_REVIEW_OVERDUE" in env:
        overdue = _choice(env["CHARTER_REVIEW_OVERDUE"], "CHARTER_REVIEW_OVERDUE", Overdue)
        reviews = replace(reviews, overdue=Overdue(overdue))
    if "CHARTER_RECERTIFY_OVERDUE" in env:
        past = _choice(
            env["CHARTER_RECERTIFY_OVERDUE"], "CHARTER_RECERTIFY_OVERDUE", PastRecertification
        )
        reviews = replace(reviews, past_recertification=PastRecertification(past))
    return reviews


_POSTURE_DURATIONS = {
    "CHARTER_POSTURE_DORMANT_AFTER": "dormant_after",
    "CHARTER_POSTURE_RECERTIFY_WITHIN": "recertify_within",
    "CHARTER_POSTURE_LONG_LIVED_TOKEN": "long_lived_token",
    "CHARTER_POSTURE_CHECKPOINT_MAX_AGE": "checkpoint_max_age",
    "CHARTER_POSTURE_WINDOW": "window",
}


def _posture(env: Mapping[str, str]) -> PostureThresholds:
    """Posture thresholds from ``CHARTER_POSTURE_*``."""
    posture = PostureThresholds()
    durations: dict[str, Any] = {
        attribute: parse_duration(env[name])
        for name, attribute in _POSTURE_DURATIONS.items()
        if name in env
    }
    posture = replace(posture, **durations)
    if "CHARTER_POSTURE_RUBBER_STAMP_SECONDS" in env:
        seconds = _integer(
            env["CHARTER_POSTURE_RUBBER_STAMP_SECONDS"],
            "CHARTER_POSTURE_RUBBER_STAMP_SECONDS",
            minimum=1,
        )
        posture = replace(posture, rubber_stamp_seconds=float(seconds))
    if "CHARTER_POSTURE_RUBBER_STAMP_MIN_VOTES" in env:
        votes = _integer(
            env["CHARTER_POSTURE_RUBBER_STAMP_MIN_VOTES"],
            "CHARTER_POSTURE_RUBBER_STAMP_MIN_VOTES",
            minimum=1,
        )
        posture = replace(posture, rubber_stamp_min_votes=votes)
    return posture
