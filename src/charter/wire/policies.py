"""The API's bodies for policies: applying one as files."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from charter.wire.base import (
    InModel,
    Printable,
)

__all__ = ["PolicyApplied", "PolicyFiles"]


_PolicyFileName = Annotated[
    str, StringConstraints(max_length=200, pattern=r"^[A-Za-z0-9._/-]+\.ya?ml$"), Printable
]
_PolicyText = Annotated[str, StringConstraints(max_length=512 * 1024), Printable]


class PolicyFiles(InModel):
    """A policy as files: ``{"roles.yaml": "<YAML>", ...}``."""

    files: Annotated[dict[_PolicyFileName, _PolicyText], Field(min_length=1, max_length=500)]


class PolicyApplied(BaseModel):
    """The outcome of applying a policy."""

    revision: str
    previous: str | None
    created: bool
    activated: bool
    warnings: list[dict[str, Any]]
    agents_registered: list[str]
    agents_updated: list[str]
