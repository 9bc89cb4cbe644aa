"""What every API body shares: the input models' one config, and the checks on text.

Input models forbid unknown fields and bound every string and collection, and no string
may carry a NUL or a lone surrogate (neither survives a trip through PostgreSQL).
Numbers and booleans must be JSON numbers and booleans, and times ISO 8601 text that
fits in UTC: a wrong JSON type is refused, never coerced.

Output models (what the server answers) keep pydantic's defaults on purpose: the SDK
reads them back, and a newer server may add fields an older client must ignore.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from charter.clock import to_utc
from charter.identity.humans import HumanRole
from charter.identity.names import (
    AGENT_ID_PATTERN,
    GROUP_PATTERN,
    HUMAN_ID_PATTERN,
    LABEL_KEY_PATTERN,
    LABEL_VALUE_PATTERN,
    MAX_LABELS,
)
from charter.secrets.free_text import masked

__all__ = [
    "MAX_JSON_DEPTH",
    "MAX_TTL_SECONDS",
    "AgentId",
    "Email",
    "Group",
    "Groups",
    "HumanId",
    "InModel",
    "LabelKey",
    "LabelValue",
    "Labels",
    "Name",
    "NotSecret",
    "Printable",
    "PrintableJson",
    "Purpose",
    "Reason",
    "Roles",
    "UtcDateTime",
    "masked_within",
    "not_a_secret",
    "printable",
    "printable_json",
    "unicode_json",
]

MAX_TTL_SECONDS = 10 * 366 * 24 * 3600


def printable(value: str) -> str:
    """Refuse NUL characters and lone surrogates (neither survives PostgreSQL)."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (no lone surrogates)") from None
    return value


Printable = AfterValidator(printable)


def masked_within(limit: int) -> AfterValidator:
    """For free text people and agents write (a purpose, a reason, a note, a
    description): the text with every secret the detectors find, and every registered
    leak of the server's registry, replaced by ``[REDACTED:<type>]``, since it is stored,
    shown and audited and a secret pasted into it must be none of these; refused if a
    placeholder longer than the secret it replaces takes it past ``limit`` characters."""

    def mask(value: str) -> str:
        shown = masked(value)
        if len(shown) > limit:
            raise ValueError(
                f"is {len(shown)} characters once the secrets in it are masked: at most {limit}"
            )
        return shown

    return AfterValidator(mask)


def not_a_secret(value: str) -> str:
    """Refuse a value that names something (a label) if the detectors recognise it as a
    secret, or it is a registered leak: it would be stored and audited as it is, and
    masking it would change what it names."""
    if masked(value) != value:
        raise ValueError("must not be a secret: it would be stored and audited in clear")
    return value


NotSecret = AfterValidator(not_a_secret)

MAX_JSON_DEPTH = 64
"""JSON sent as context, input or content nests at most this deep."""


def printable_json(value: Any) -> Any:
    """``printable`` for every string (and key) of a JSON value, nested at most
    ``MAX_JSON_DEPTH`` levels (what is stored: context, input, attributes)."""
    return _each_string(value, printable)


def unicode_json(value: Any) -> Any:
    """Every string (and key) of a JSON value valid Unicode (NUL allowed), nested at most
    ``MAX_JSON_DEPTH`` levels (what is answered but never stored: scanned content)."""

    def encodable(text: str) -> str:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("must be valid Unicode (no lone surrogates)") from None
        return text

    return _each_string(value, encodable)


def _each_string(value: Any, check: Callable[[str], str]) -> Any:
    def walk(node: Any, depth: int) -> None:
        if isinstance(node, str):
            check(node)
        elif isinstance(node, dict | list):
            if depth >= MAX_JSON_DEPTH:
                raise ValueError(f"must not nest deeper than {MAX_JSON_DEPTH} levels")
            for key in node if isinstance(node, dict) else ():
                check(key)
            for item in node.values() if isinstance(node, dict) else node:
                walk(item, depth + 1)

    walk(value, 0)
    return value


PrintableJson = AfterValidator(printable_json)


def _time_text(value: Any) -> Any:
    # A JSON number would be read as seconds or milliseconds since 1970, whichever
    # pydantic guesses from its size: a time must be written out.
    if not isinstance(value, str | datetime):
        raise ValueError("must be an ISO 8601 date-time string")
    return value


def _in_utc(value: datetime) -> datetime:
    try:
        return to_utc(value)
    except OverflowError:
        # An offset can push a valid local time past year 9999 (or before year 1) in UTC.
        raise ValueError("must fall between years 1 and 9999 in UTC") from None


UtcDateTime = Annotated[datetime, BeforeValidator(_time_text), AfterValidator(_in_utc)]
"""An input time: ISO 8601 text, naive taken as UTC, returned as aware UTC."""

AgentId = Annotated[str, StringConstraints(max_length=63, pattern=AGENT_ID_PATTERN), Printable]
HumanId = Annotated[str, StringConstraints(max_length=69, pattern=HUMAN_ID_PATTERN), Printable]
Group = Annotated[
    str, StringConstraints(max_length=63, pattern=GROUP_PATTERN), Printable, NotSecret
]
LabelKey = Annotated[
    str, StringConstraints(max_length=63, pattern=LABEL_KEY_PATTERN), Printable, NotSecret
]
LabelValue = Annotated[
    str, StringConstraints(max_length=63, pattern=LABEL_VALUE_PATTERN), Printable, NotSecret
]
Labels = Annotated[dict[LabelKey, LabelValue], Field(max_length=MAX_LABELS)]
Name = Annotated[str, StringConstraints(max_length=200), Printable, masked_within(200)]
Email = Annotated[str, StringConstraints(max_length=254), Printable, NotSecret]
Purpose = Annotated[str, StringConstraints(max_length=2000), Printable, masked_within(2000)]
Reason = Annotated[str, StringConstraints(max_length=1000), Printable, masked_within(1000)]
Groups = Annotated[list[Group], Field(max_length=64)]
Roles = Annotated[list[HumanRole], Field(max_length=8)]


class InModel(BaseModel):
    """The base of every request body: unknown fields refused, the parsed body frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)
