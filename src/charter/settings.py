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
| ``CHARTER_REVIEW_WINDOW`` / ``CHARTER_REVIEW_DUE_IN`` / ``CHARTER_REVIEW_DUE_SOON`` | ``30d`` / ``14d`` / ``2d`` | access review defaults |
| ``CHARTER_REVIEW_OVERDUE`` | ``revoke_high_risk`` | what an undecided review item becomes at its due date |
| ``CHARTER_RECERTIFY_HORIZON`` / ``CHARTER_RECERTIFY_OVERDUE`` | ``14d`` / ``warn`` | standing recertification campaign |
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
| ``CHARTER_SSL_CERTFILE`` / ``CHARTER_SSL_KEYFILE`` | none | ``charter serve`` speaks HTTPS with this PEM certificate chain and key |
| ``CHARTER_METRICS`` | ``token`` | ``/metrics``: ``token`` (an admin's or auditor's token, or ``CHARTER_METRICS_TOKEN``), ``public`` (no token) or ``off`` |
| ``CHARTER_METRICS_TOKEN`` | unset | a bearer token that may read ``/metrics`` and nothing else |
| ``CHARTER_TRACING`` | ``off`` | ``otlp``: a span per decision, exported over OTLP/HTTP (needs ``charter[tracing]``) |
| ``CHARTER_LOG_FORMAT`` | ``text`` | ``json``: one JSON object per log line, with an access line per request |
| ``CHARTER_ACCESS_LOG`` | ``true`` | ``false``: no ``charter.access`` line per request (either format); errors are still logged |

Each setting is one row of ``SETTINGS``: its variable, the field it sets and how its text
is read. The same rows read a TOML configuration file (``charter.settings_file``), where a
setting's key is its variable without ``CHARTER_``, in lower case (``data_dir``), either
flat or split at its first ``_`` into a table (``[posture] dormant_after``). A new setting
is a new row and a field; neither reader changes.

Every duration is a positive whole number of ``s``, ``m``, ``h`` or ``d`` of at most
``MAX_DURATION`` (ten years).
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from charter.codes import ErrorCode
from charter.durations import MAX_DURATION, parse_duration
from charter.errors import CharterError, InvalidInput
from charter.identity.credentials import TokenLifetimes
from charter.identity.sessions import SessionLifetimes
from charter.posture.findings import Thresholds as PostureThresholds
from charter.reviews.campaigns import Overdue, PastRecertification, ReviewSettings

__all__ = [
    "LOG_FORMATS",
    "MAX_DURATION",
    "MAX_REPLAY_RETENTION",
    "METRICS_ACCESS",
    "REPLAY_RETENTION",
    "SETTINGS",
    "TRACING_MODES",
    "Setting",
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
    ssl_certfile: Path | None = None
    """PEM certificate chain: ``charter serve`` speaks HTTPS (with ``ssl_keyfile``)."""
    ssl_keyfile: Path | None = None
    """PEM private key of ``ssl_certfile``."""
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
    metrics: str = "token"
    """Who may read ``/metrics``: ``token``, ``public`` or ``off`` (``METRICS_ACCESS``)."""
    metrics_token: str | None = field(default=None, repr=False)
    """A bearer token that may read ``/metrics`` (and nothing else); never shown."""
    tracing: str = "off"
    """``otlp``: decisions are traced and exported over OTLP (``TRACING_MODES``)."""
    log_format: str = "text"
    """``json``: one JSON object per log line (``LOG_FORMATS``)."""
    access_log: bool = True
    """False: no access line per request, in either log format (about a seventh of the
    server's CPU per decision under load, docs/operations.md)."""

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
        return cls.layered(read_env(env), **overrides)

    @classmethod
    def layered(cls, *layers: Mapping[str, object], **overrides: object) -> Settings:
        """Build settings from parsed layers (``{target: value}``, later layers winning,
        as ``read_env`` and ``read_config_file`` make them), then explicit overrides
        (command-line options; ``None`` means not given)."""
        values: dict[str, object] = {}
        for layer in layers:
            values.update(layer)
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**_assemble(values))


# -- the table of settings ---------------------------------------------------------------

Parse = Callable[[str], object]


@dataclass(frozen=True, slots=True)
class Setting:
    """One setting: the variable that sets it, the ``Settings`` field it fills (``a.b``
    for a field of a nested group), how its text is read, and which TOML types a
    configuration file may give it (read through their text, so the checks are the same)."""

    env: str
    target: str
    parse: Parse
    toml: tuple[type, ...] = (str,)
    secret: bool = False
    """Never echo the value in a message: it may hold a password."""

    @property
    def key(self) -> str:
        """Its key in a configuration file: the variable without ``CHARTER_``, lower case."""
        return self.env.removeprefix("CHARTER_").lower()

    def read(self, text: str, where: str) -> object:
        """The value of ``text``; the parser's error (``invalid_setting``,
        ``invalid_duration``) naming ``where`` if not."""
        try:
            return self.parse(text)
        except CharterError as error:
            message = (
                "invalid value (not shown: it may hold a secret)"
                if self.secret
                else (error.message)
            )
            raise InvalidInput(f"{where}: {message}", code=error.code, help=error.help) from None


def _text(text: str) -> str:
    return text


def _path(text: str) -> Path:
    if not text.strip():
        raise InvalidInput("a path may not be empty", code=ErrorCode.INVALID_SETTING)
    return Path(text)


def _integer(minimum: int) -> Parse:
    def parse(text: str) -> int:
        if not re.fullmatch(r"[0-9]{1,12}", text.strip(), re.ASCII):
            raise InvalidInput(
                f"must be a whole number, not {text[:64]!r}", code=ErrorCode.INVALID_SETTING
            )
        value = int(text)
        if value < minimum:
            raise InvalidInput(f"must be at least {minimum}", code=ErrorCode.INVALID_SETTING)
        return value

    return parse


_BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _boolean(text: str) -> bool:
    value = _BOOLEANS.get(text.strip().lower())
    if value is None:
        raise InvalidInput(
            f"must be true or false, not {text[:64]!r}", code=ErrorCode.INVALID_SETTING
        )
    return value


def _choice(kind: type[Overdue] | type[PastRecertification]) -> Parse:
    def parse(text: str) -> object:
        allowed = [member.value for member in kind]
        if text.strip().lower() not in allowed:
            raise InvalidInput(
                f"must be one of {', '.join(allowed)}, not {text[:64]!r}",
                code=ErrorCode.INVALID_SETTING,
            )
        return kind(text.strip().lower())

    return parse


METRICS_ACCESS = ("token", "public", "off")
"""Who may read ``/metrics``: a token holder, anyone, or nobody (no such page)."""
TRACING_MODES = ("off", "otlp")
LOG_FORMATS = ("text", "json")


def _one_of(allowed: tuple[str, ...]) -> Parse:
    def parse(text: str) -> str:
        value = text.strip().lower()
        if value not in allowed:
            raise InvalidInput(
                f"must be one of {', '.join(allowed)}, not {text[:64]!r}",
                code=ErrorCode.INVALID_SETTING,
            )
        return value

    return parse


def _metrics_token(text: str) -> str | None:
    """A bearer token for scrapers, at least 32 characters (empty: none)."""
    token = text.strip()
    if token and len(token) < 32:
        raise InvalidInput(
            "must be at least 32 characters",
            code=ErrorCode.INVALID_SETTING,
            help="generate one: python -c 'import secrets; print(secrets.token_urlsafe(32))'",
        )
    return token or None


def _installed(module: str) -> bool:
    """True if ``module`` could be imported (found without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:
        return False


def _tracing(text: str) -> str:
    """``off`` or ``otlp``; ``otlp`` only with the tracing extra installed."""
    mode = str(_one_of(TRACING_MODES)(text))
    if mode == "otlp" and not _installed("opentelemetry.sdk.trace"):
        raise InvalidInput(
            "otlp needs the tracing extra",
            code=ErrorCode.INVALID_SETTING,
            help="pip install 'charter[tracing]', or unset CHARTER_TRACING",
        )
    return mode


_SHARD_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,62}")


def audit_shard_name(text: str) -> str:
    """An audit shard's name: lower-case letters, digits, ``_``, ``.`` and ``-``, at most
    63, starting with a letter or digit; empty means the default log."""
    name = text.strip()
    if name and not _SHARD_NAME.fullmatch(name):
        raise InvalidInput(
            f"must be lower-case letters, digits, '_', '.' or '-' (at most 63), starting "
            f"with a letter or digit, not {text[:64]!r}",
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
            f"must be at most {MAX_REPLAY_RETENTION.days}d", code=ErrorCode.INVALID_SETTING
        )
    return retention


def _seconds(text: str) -> float:
    return float(_integer(1)(text))  # type: ignore[arg-type]


_INT = (int,)
_BOOL = (bool,)

SETTINGS: tuple[Setting, ...] = (
    Setting("CHARTER_DATA_DIR", "data_dir", _path),
    Setting("CHARTER_DATABASE_URL", "database_url", _text, secret=True),
    Setting("CHARTER_SIGNING_KEY", "signing_key_path", _path),
    Setting("CHARTER_HOST", "host", _text),
    Setting("CHARTER_PORT", "port", _integer(1), _INT),
    Setting("CHARTER_SSL_CERTFILE", "ssl_certfile", _path),
    Setting("CHARTER_SSL_KEYFILE", "ssl_keyfile", _path),
    Setting("CHARTER_MAX_BODY_BYTES", "max_body_bytes", _integer(1024), _INT),
    Setting("CHARTER_AGENT_TOKEN_MAX_TTL", "token_lifetimes.agent_max", parse_duration),
    Setting("CHARTER_HUMAN_TOKEN_MAX_TTL", "token_lifetimes.human_max", parse_duration),
    Setting("CHARTER_CONSOLE_SESSION_TTL", "console_sessions.absolute", parse_duration),
    Setting("CHARTER_CONSOLE_IDLE_TIMEOUT", "console_sessions.idle", parse_duration),
    Setting("CHARTER_CHECKPOINT_INTERVAL", "checkpoint_interval", parse_duration),
    Setting("CHARTER_RECERTIFY_AFTER", "recertify_after", parse_duration),
    Setting("CHARTER_REVIEW_WINDOW", "reviews.window", parse_duration),
    Setting("CHARTER_REVIEW_DUE_IN", "reviews.due_in", parse_duration),
    Setting("CHARTER_REVIEW_DUE_SOON", "reviews.due_soon", parse_duration),
    Setting("CHARTER_RECERTIFY_HORIZON", "reviews.recertify_horizon", parse_duration),
    Setting("CHARTER_REVIEW_OVERDUE", "reviews.overdue", _choice(Overdue)),
    Setting(
        "CHARTER_RECERTIFY_OVERDUE", "reviews.past_recertification", _choice(PastRecertification)
    ),
    Setting("CHARTER_INFERENCE_MAX_AGE", "inference_max_age", parse_duration),
    Setting("CHARTER_REPLAY_RETENTION", "replay_retention", _replay_retention, (str, int)),
    Setting("CHARTER_STORE_TIMEOUT", "store_timeout", parse_duration),
    Setting("CHARTER_STORE_CONNECT_RETRY", "store_connect_retry", parse_duration),
    Setting("CHARTER_POSTURE_DORMANT_AFTER", "posture.dormant_after", parse_duration),
    Setting("CHARTER_POSTURE_RECERTIFY_WITHIN", "posture.recertify_within", parse_duration),
    Setting("CHARTER_POSTURE_LONG_LIVED_TOKEN", "posture.long_lived_token", parse_duration),
    Setting("CHARTER_POSTURE_CHECKPOINT_MAX_AGE", "posture.checkpoint_max_age", parse_duration),
    Setting("CHARTER_POSTURE_WINDOW", "posture.window", parse_duration),
    Setting("CHARTER_POSTURE_RUBBER_STAMP_SECONDS", "posture.rubber_stamp_seconds", _seconds, _INT),
    Setting(
        "CHARTER_POSTURE_RUBBER_STAMP_MIN_VOTES",
        "posture.rubber_stamp_min_votes",
        _integer(1),
        _INT,
    ),
    Setting("CHARTER_AUDIT_SHARD", "audit_shard", audit_shard_name),
    Setting(
        "CHARTER_WEBHOOK_ALLOW_PRIVATE_TARGETS", "webhook_allow_private_targets", _boolean, _BOOL
    ),
    Setting("CHARTER_METRICS", "metrics", _one_of(METRICS_ACCESS)),
    Setting("CHARTER_METRICS_TOKEN", "metrics_token", _metrics_token, secret=True),
    Setting("CHARTER_TRACING", "tracing", _tracing),
    Setting("CHARTER_LOG_FORMAT", "log_format", _one_of(LOG_FORMATS)),
    Setting("CHARTER_ACCESS_LOG", "access_log", _boolean, _BOOL),
)
"""Every setting read from the environment or a configuration file, in documented order."""


def read_env(env: Mapping[str, str]) -> dict[str, object]:
    """The settings ``env`` sets, parsed: ``{target: value}``."""
    return {
        setting.target: setting.read(env[setting.env], setting.env)
        for setting in SETTINGS
        if setting.env in env
    }


def _assemble(values: Mapping[str, object]) -> dict[str, Any]:
    """``Settings`` keyword arguments from ``{target: value}``: dotted targets fill a
    field of their group, then the groups' defaults bow to the maxima given."""
    flat: dict[str, Any] = {}
    nested: dict[str, dict[str, Any]] = {}
    for target, value in values.items():
        group, dot, name = target.partition(".")
        if dot:
            nested.setdefault(group, {})[name] = value
        else:
            flat[target] = value
    defaults = {item.name: item for item in fields(Settings)}
    for group, changes in nested.items():
        factory = defaults[group].default_factory
        base = flat.get(group) or factory()  # type: ignore[operator]
        flat[group] = replace(base, **changes)
    lifetimes: TokenLifetimes = flat.get("token_lifetimes") or TokenLifetimes()
    flat["token_lifetimes"] = replace(
        lifetimes,
        agent_default=min(lifetimes.agent_default, lifetimes.agent_max),
        human_default=min(lifetimes.human_default, lifetimes.human_max),
    )
    sessions: SessionLifetimes = flat.get("console_sessions") or SessionLifetimes()
    if "console_sessions.idle" not in values:
        sessions = replace(sessions, idle=min(sessions.idle, sessions.absolute))
    flat["console_sessions"] = sessions
    return flat
