"""Globs on dotted action names and slash-separated resource paths.

A pattern is a list of segments. A segment is a literal, ``*`` (exactly one segment) or
``**`` (any number of segments, none included). Wildcards stand for whole segments
only: ``crm.cust*`` is refused at load time, so a pattern means one thing to everyone.
Patterns compile to anchored regular expressions; literal patterns are left to exact
lookups by the compiler and never reach a regex.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

__all__ = ["ACTION", "RESOURCE", "Glob", "GlobError", "GlobSyntax", "any_of"]


class GlobError(ValueError):
    """A pattern that is not a well-formed glob."""


@dataclass(frozen=True, slots=True)
class GlobSyntax:
    """How patterns of one kind are written: their separator and allowed literal segments."""

    separator: str
    segment: re.Pattern[str]
    what: str

    def compile(self, pattern: str) -> Glob:
        """Compile ``pattern`` or raise ``GlobError`` saying what is wrong."""
        if not pattern:
            raise GlobError(f"an empty {self.what} pattern matches nothing")
        parts = pattern.split(self.separator)
        regex = ["^"]
        for part in parts:
            if part == "**":
                regex.append(f"(?:{re.escape(self.separator)}[^{re.escape(self.separator)}]+)*")
            elif part == "*":
                regex.append(f"{re.escape(self.separator)}[^{re.escape(self.separator)}]+")
            elif "*" in part:
                raise GlobError(
                    f"{self.what} pattern {pattern!r}: '*' must stand for a whole segment "
                    f"(write {self.separator.join(p if '*' not in p else '*' for p in parts)!r})"
                )
            elif not self.segment.fullmatch(part):
                raise GlobError(f"{self.what} pattern {pattern!r}: invalid segment {part!r}")
            else:
                regex.append(re.escape(self.separator + part))
        regex.append(r"\Z")
        literal = "*" not in pattern
        return Glob(pattern, self.separator, literal, re.compile("".join(regex)))


@dataclass(frozen=True, slots=True)
class Glob:
    """A compiled pattern."""

    pattern: str
    separator: str
    literal: bool
    _regex: re.Pattern[str] = field(repr=False, compare=False)

    def matches(self, value: str) -> bool:
        """True when ``value`` is matched by the pattern."""
        if self.literal:
            return value == self.pattern
        return self._regex.match(self.separator + value) is not None

    @property
    def matches_everything(self) -> bool:
        """True for ``**`` alone: the pattern grants any name at all."""
        return self.pattern == "**"


def _trailing(glob: Glob) -> tuple[str, bool] | None:
    """For a pattern whose only wildcard is its last segment (``a/b/*``, ``a/b/**``):
    the literal part before that segment, and whether it is ``**``."""
    head, _, last = glob.pattern.rpartition(glob.separator)
    if last not in ("*", "**") or "*" in head:
        return None
    return head, last == "**"


def _without_regex(glob: Glob, literals: frozenset[str]) -> Callable[[str], bool] | None:
    """The test of ``literals`` and ``glob`` by string methods, when ``glob`` ends in its
    only wildcard: what its regular expression does, in a third of the time."""
    found = _trailing(glob)
    if found is None:
        return None
    head, deep = found
    separator = glob.separator
    double = separator + separator
    if deep:
        # `head/**`: `head` itself, or below it segment by non-empty segment.
        size = len(head)
        if not head:

            def anything(value: str) -> bool:
                return value in literals or (
                    value != ""
                    and not value.startswith(separator)
                    and not value.endswith(separator)
                    and double not in value
                )

            return anything

        def below(value: str) -> bool:
            if value in literals:
                return True
            if not value.startswith(head):
                return False
            if len(value) == size:
                return True
            return (
                value[size] == separator
                and not value.endswith(separator)
                and double not in value[size:]
            )

        return below
    # `head/*`: exactly one non-empty segment below `head`.
    prefix = head + separator if head else ""
    start = len(prefix)

    def child(value: str) -> bool:
        return value in literals or (
            value.startswith(prefix) and len(value) > start and value.find(separator, start) < 0
        )

    return child


def any_of(globs: Sequence[Glob]) -> Callable[[str], bool]:
    """One test for "some glob of ``globs`` matches": a set lookup for the literal patterns
    and a single regular expression for the others (all globs share one syntax), or string
    methods for one pattern ending in its only wildcard."""
    literals = frozenset(glob.pattern for glob in globs if glob.literal)
    patterns = [glob for glob in globs if not glob.literal]
    if not patterns:
        return literals.__contains__
    if len(patterns) == 1:
        simple = _without_regex(patterns[0], literals)
        if simple is not None:
            return simple
    separator = patterns[0].separator
    # Each regex is anchored at both ends, so joining them with `|` keeps them whole.
    combined = (
        patterns[0]._regex
        if len(patterns) == 1
        else re.compile("|".join(f"(?:{glob._regex.pattern})" for glob in patterns))
    )

    def matches(value: str) -> bool:
        return value in literals or combined.match(separator + value) is not None

    return matches


ACTION = GlobSyntax(".", re.compile(r"[a-z0-9_][a-z0-9_-]*"), "action")
# The canonical alphabet of resource ids (charter.policy.canonical): no segment ends in a
# dot, so none is made of dots only.
RESOURCE = GlobSyntax("/", re.compile(r"[A-Za-z0-9_.:@=+-]*[A-Za-z0-9_:@=+-]"), "resource")
