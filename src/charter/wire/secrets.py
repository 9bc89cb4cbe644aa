"""The API's bodies for the leaked-secret registry and for scanning."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, StrictBool, StringConstraints

from charter.secrets.leaks import MAX_NOTE, Leak
from charter.wire.base import InModel, masked_within, printable, unicode_json

__all__ = ["LeakIn", "LeakOut", "LeakPage", "ScanIn", "ScanOut"]

_Text = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_NOTE),
    AfterValidator(printable),
    masked_within(MAX_NOTE),
]


class LeakIn(InModel):
    """An exposed secret to register: its value (fingerprinted on arrival, never kept)
    or its fingerprint, and why."""

    value: (
        Annotated[str, StringConstraints(min_length=1, max_length=16384), AfterValidator(printable)]
        | None
    ) = None
    fingerprint: Annotated[str, StringConstraints(pattern=r"^fp_[0-9a-f]{32}$")] | None = None
    note: _Text
    ticket: _Text | None = None
    source: _Text | None = None


class LeakOut(BaseModel):
    """A registered leak: no value, ever."""

    fingerprint: str
    type: str | None
    note: str
    ticket: str | None
    source: str | None
    reported_by: str
    reported_at: str
    created: bool = False
    """True when this call registered it (False: it was registered already)."""

    @classmethod
    def of(cls, leak: Leak, *, created: bool = False) -> LeakOut:
        """The API's view of ``leak``."""
        return cls(**leak.to_json(), created=created)


class LeakPage(BaseModel):
    """One page of registered leaks."""

    leaks: list[LeakOut]
    next_cursor: str | None


class ScanIn(InModel):
    """Text or JSON an agent would surface (a tool result, a model's output)."""

    content: Annotated[Any, AfterValidator(unicode_json)] = Field(
        description="a string, or any JSON value"
    )
    redact: StrictBool = Field(
        default=True,
        description="mask every finding; false masks only registered leaks",
    )


class ScanOut(BaseModel):
    """The content with its secrets masked, and what was found (no values)."""

    content: Any
    findings: list[dict[str, Any]]
