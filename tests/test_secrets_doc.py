"""docs/secrets.md keeps up with the scanner: every type a finding can have is listed,
with the prefixes the providers' formats are recognised by."""

from __future__ import annotations

import re
from pathlib import Path

from charter.secrets import providers
from charter.secrets.findings import SECRET_TYPES

DOC = Path(__file__).resolve().parent.parent / "docs" / "secrets.md"


def _text() -> str:
    return DOC.read_text(encoding="utf-8")


def test_every_secret_type_is_documented() -> None:
    listed = set(re.findall(r"`([a-z0-9_]+)`", _text()))
    assert len(SECRET_TYPES) > 100, "the types were not read"
    assert sorted(t for t in SECRET_TYPES if t not in listed) == []


def test_no_documented_provider_type_is_unknown() -> None:
    # A type row of the providers' tables: | provider | `type` | recognised by |
    rows = re.findall(r"^\| [^|]*\| `([a-z0-9_]+)` \|", _text(), flags=re.MULTILINE)
    assert len(rows) == len(providers.TYPES)
    assert sorted(set(rows) - set(SECRET_TYPES)) == []


def test_named_only_types_say_so() -> None:
    # A type found only beside its provider's name must not be documented as found
    # anywhere by a prefix, and one with a prefix of its own must show it.
    named = {r.type for family in providers.NAMED_FAMILIES for r in family.rules}
    prefixed = {
        r.type
        for family in providers.FAMILIES
        if family not in providers.NAMED_FAMILIES
        for r in family.rules
    }
    how = dict(re.findall(r"^\| [^|]*\| `([a-z0-9_]+)` \| (.*) \|$", _text(), flags=re.MULTILINE))
    for kind in providers.TYPES:
        assert ("beside its name" in how[kind]) == (kind in named), kind
        assert ("`" in how[kind]) == (kind in prefixed), kind
