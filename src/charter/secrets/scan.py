"""The scanner: every secret in a text or a JSON value, and the value with them masked.

A JSON value is scanned as one text: its strings are joined and read once by a single
RE2 automaton holding every rule, so the cost grows with the size of the input, not with
the number of strings or rules. Matches are then checked by their rule (checksums,
placeholders, entropy) and mapped back to the string they are in (``$.a.b[0]``) and the
offsets within it. Names matter too: a high-entropy value under ``password`` or
``api_key`` is a ``generic_secret``, whether the name is a JSON key or ``NAME=value``
in the text. Base64 runs and URL escapes are decoded and read again.

Registered leaks are found by fingerprint: each string, and each word of it, whose length
is that of some registered leak is fingerprinted and looked up.
"""

from __future__ import annotations

import bisect
import hashlib
import hmac
import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import re2

from charter.errors import InvalidInput
from charter.secrets.decoding import decode_base64, decode_percent
from charter.secrets.filters import is_placeholder
from charter.secrets.findings import LEAKED_SECRET, Finding, LeakSet
from charter.secrets.rules import (
    BASE64_MARKS,
    FAMILIES,
    PERCENT_ESCAPE,
    RULES,
    SECRET_NAME,
    Family,
    assigned,
    secret_span,
)

__all__ = ["MAX_DEPTH", "Scanner", "placeholder"]

MAX_DEPTH = 64
"""JSON nested deeper than this is refused rather than scanned in part."""

# One automaton tells which families' prefixes (and whether a secret-like name assigned a
# value, base64 of known prefixes, URL escapes) occur at all; only those are then looked
# for one by one.
_KEYWORD = len(FAMILIES)
_BASE64 = len(FAMILIES) + 1
_PERCENT = len(FAMILIES) + 2
_AUTOMATON = re2.Set.SearchSet()
for _pattern in (
    *(family.prefix for family in FAMILIES),
    SECRET_NAME + r"""[A-Za-z0-9_.\-]*["']?[ \t]{0,3}(?:=|:|[ \t](?:is|was)[ \t])""",
    BASE64_MARKS,
    PERCENT_ESCAPE,
):
    _AUTOMATON.Add(_pattern)
_AUTOMATON.Compile()
# Where each pattern the automaton saw occurs. Python's ``re`` finds a prefix quickly
# but a long alternation slowly, and RE2's Python wrapper costs microseconds a match, so
# secret-like names are found by their lowercase stems and checked where each stem is.
_FINDERS = [
    *(re.compile(family.prefix) for family in FAMILIES),
    None,  # secret-like names: _names_in
    re.compile(BASE64_MARKS),
    re.compile(PERCENT_ESCAPE),
]
_NAME_AT = re.compile(SECRET_NAME)
_KEY_AT = re.compile(f"{SECRET_NAME}|(?i:authorization)")
_STEMS = (
    "pass", "pwd", "private", "secret", "signing", "token", "api", "access", "auth",
    "credential", "client", "conn",
)  # fmt: skip
"""Where every secret-like name starts, lowercased (``_NAME_AT`` has them all)."""
_BASE64_CHARS = re.compile(r"[A-Za-z0-9+/_\-]*={0,2}")
_BASE64_BEFORE = re.compile(r"[A-Za-z0-9+/_\-]*$")
_NAME_CHARS = re.compile(r"[A-Za-z0-9_.\-]*")
_NAME_BEFORE = re.compile(r"[A-Za-z0-9_.\-]*$")
_ASSIGNMENT = re.compile(
    r"""["']?[ \t]{0,3}(?:(=>|:=|=(?!=)|:)|[ \t]+(?:is|was)[ \t]+)[ \t]{0,3}"""
    r"""(?:"([^"\n]{1,256})"|'([^'\n]{1,256})'|`([^`\n]{1,256})`|([^\s"'`,;<>)\]}]{1,256}))"""
)
_AUTH_NAME = re.compile(r"(?i)^(?:proxy-)?authorization$")
_AUTH_VALUE = re.compile(r"(?i)^(basic|bearer|token|digest)\s+(\S{8,})$")
_WORD_EDGES = "\"'`.,;:()[]{}<>"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def placeholder(finding_type: str) -> str:
    """What a redacted secret is replaced with: ``[REDACTED:aws_access_key]``."""
    return f"[REDACTED:{finding_type}]"


@dataclass(slots=True)
class _Hit:
    """A finding before its path and fingerprint: which string, where, the secret."""

    index: int
    type: str
    start: int
    end: int
    confidence: float
    priority: int
    secret: str
    encoding: str | None = None
    fingerprint: str | None = None
    leaked: bool = False


class Scanner:
    """Finds secrets; fingerprints them with ``key`` (HMAC-SHA256) when given one."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key

    def fingerprint(self, secret: str) -> str | None:
        """``fp_`` and 32 hex characters of HMAC-SHA256(key, secret); None without a key."""
        if self._key is None:
            return None
        return (
            "fp_"
            + hmac.digest(self._key, secret.encode("utf-8", "surrogatepass"), hashlib.sha256).hex()[
                :32
            ]
        )

    def scan(self, value: Any, *, path: str = "$", leaks: LeakSet | None = None) -> list[Finding]:
        """Every secret in ``value`` (a text, or JSON made of dicts, lists and scalars),
        and every registered leak of ``leaks`` in it."""
        return self._run(value, path, leaks)[0]

    def mask(
        self,
        value: Any,
        *,
        path: str = "$",
        leaks: LeakSet | None = None,
        only_leaked: bool = False,
    ) -> tuple[Any, list[Finding]]:
        """``value`` with every secret (or, ``only_leaked``, every registered leak)
        replaced by its placeholder, and all the findings. With nothing to replace
        ``value`` itself is returned, not a copy."""
        findings, texts, kept = self._run(value, path, leaks)
        chosen = [hit for hit in kept if hit.leaked] if only_leaked else kept
        if not chosen:
            return value, findings
        by_text: dict[int, list[_Hit]] = {}
        for hit in chosen:
            by_text.setdefault(hit.index, []).append(hit)
        replaced = {index: _masked(texts[index], hits) for index, hits in by_text.items()}
        return _rebuild(value, replaced, itertools.count()), findings

    def _run(
        self, value: Any, path: str, leaks: LeakSet | None
    ) -> tuple[list[Finding], list[str], list[_Hit]]:
        texts, names = _collect(value)
        hits = list(_text_hits(texts, decode=True))
        if any(names):
            hits.extend(_name_hits(texts, names))
        kept = _without_overlaps(hits)
        if leaks:
            kept = self._with_leaks(texts, kept, leaks)
        if not kept:
            return [], texts, kept
        paths = _paths(value, path, {hit.index for hit in kept})
        findings = []
        for hit in kept:
            fingerprint = hit.fingerprint or self.fingerprint(hit.secret)
            leaked = hit.leaked or (leaks is not None and fingerprint in leaks.fingerprints)
            hit.leaked = leaked
            findings.append(
                Finding(
                    type=hit.type,
                    path=paths[hit.index],
                    start=hit.start,
                    end=hit.end,
                    confidence=hit.confidence,
                    fingerprint=fingerprint,
                    encoding=hit.encoding,
                    leaked=leaked,
                )
            )
        return findings, texts, kept

    def _with_leaks(self, texts: list[str], kept: list[_Hit], leaks: LeakSet) -> list[_Hit]:
        """``kept`` and the registered leaks found word by word: a detector's hit that
        covers one is marked leaked, any other becomes a ``leaked_secret``."""
        found = list(kept)
        for index, text in enumerate(texts):
            for start, end in _words(text, leaks):
                fingerprint = self.fingerprint(text[start:end])
                if fingerprint not in leaks.fingerprints:
                    continue
                covering = [
                    hit
                    for hit in found
                    if hit.index == index and hit.start < end and start < hit.end
                ]
                for hit in covering:
                    hit.leaked = True
                if not covering:
                    found.append(
                        _Hit(index, LEAKED_SECRET, start, end, 1.0, 4, "", None, fingerprint, True)
                    )
        return sorted(found, key=lambda hit: (hit.index, hit.start))


def _collect(value: Any) -> tuple[list[str], list[str]]:
    """Every string in ``value``, in order, and the name each is under (its key, or its
    list's key; empty at the top)."""
    texts: list[str] = []
    names: list[str] = []

    def walk(node: Any, name: str, depth: int) -> None:
        if isinstance(node, str):
            texts.append(node)
            names.append(name)
        elif isinstance(node, dict):
            if depth >= MAX_DEPTH:
                raise _too_deep()
            for key, item in node.items():
                walk(item, key if isinstance(key, str) else str(key), depth + 1)
        elif isinstance(node, list | tuple):
            if depth >= MAX_DEPTH:
                raise _too_deep()
            for item in node:
                walk(item, name, depth + 1)

    walk(value, "", 0)
    return texts, names


def _paths(value: Any, root: str, wanted: set[int]) -> dict[int, str]:
    """The JSON paths of the strings numbered in ``wanted`` (the walk of ``_collect``);
    only those are formatted."""
    paths: dict[int, str] = {}
    counter = itertools.count()
    trail: list[str | int] = []

    def walk(node: Any) -> None:
        if isinstance(node, str):
            index = next(counter)
            if index in wanted:
                paths[index] = _format(root, trail)
        elif isinstance(node, dict):
            for key, item in node.items():
                trail.append(str(key))
                walk(item)
                trail.pop()
        elif isinstance(node, list | tuple):
            for number, item in enumerate(node):
                trail.append(number)
                walk(item)
                trail.pop()

    walk(value)
    return paths


def _format(root: str, trail: list[str | int]) -> str:
    parts = [root]
    for step in trail:
        if isinstance(step, int):
            parts.append(f"[{step}]")
        elif _IDENTIFIER.match(step):
            parts.append(f".{step}")
        else:
            # JSON's own escapes: control characters and lone surrogates become text.
            parts.append(f"[{json.dumps(step, ensure_ascii=not step.isprintable())}]")
    return "".join(parts)


def _too_deep() -> InvalidInput:
    return InvalidInput(
        f"the value is nested deeper than {MAX_DEPTH} levels",
        code="input_too_deep",
        help="flatten the structure sent as input or context",
    )


def _rebuild(value: Any, replaced: dict[int, str], order: Iterator[int]) -> Any:
    """``value`` again, with the strings numbered in ``replaced`` swapped (the walk of
    ``_collect``)."""
    if isinstance(value, str):
        return replaced.get(next(order), value)
    if isinstance(value, dict):
        return {key: _rebuild(item, replaced, order) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_rebuild(item, replaced, order) for item in value]
    return value


def _masked(text: str, hits: list[_Hit]) -> str:
    pieces, last = [], 0
    for hit in sorted(hits, key=lambda h: h.start):
        if hit.start < last:
            continue
        pieces.append(text[last : hit.start])
        pieces.append(placeholder(hit.type))
        last = hit.end
    pieces.append(text[last:])
    return "".join(pieces)


def _spans(finder: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    return [match.span() for match in finder.finditer(text)]


def _names_in(text: str, name_at: re.Pattern[str]) -> list[tuple[int, int]]:
    """Where secret-like names (``name_at``) occur in ``text``, in order."""
    lowered = text.lower()
    found: set[tuple[int, int]] = set()
    for stem in (*_STEMS, "authorization") if name_at is _KEY_AT else _STEMS:
        position = lowered.find(stem)
        while position >= 0:
            match = name_at.match(text, position)
            if match is not None:
                found.add(match.span())
            position = lowered.find(stem, position + 1)
    return sorted(found)


def _present(text: str) -> list[int]:
    """The automaton's patterns that occur in ``text`` (encodable; its stubs call this
    a bool)."""
    found: Any = _AUTOMATON.Match(text)
    return list(found or ())


def _encodable(text: str) -> str:
    """``text`` as RE2 can take it: a lone surrogate becomes one "?" (offsets stay)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def _text_hits(texts: list[str], *, decode: bool) -> Iterator[_Hit]:
    """Hits of every rule in ``texts``, numbered by the text they are in."""
    joined = "\n".join(texts)
    present = _present(_encodable(joined))
    if not present:
        return
    starts: list[int] = []
    offset = 0
    for text in texts:
        starts.append(offset)
        offset += len(text) + 1
    escaped: set[int] = set()
    for group in sorted(present):
        family = FAMILIES[group] if group < _KEYWORD else None
        finder = _FINDERS[group]
        spans = _names_in(joined, _NAME_AT) if finder is None else _spans(finder, joined)
        for begin, finish in spans:
            index = bisect.bisect_right(starts, begin) - 1
            text, base = texts[index], starts[index]
            start, end = begin - base, min(finish - base, len(text))
            if family is not None:
                hit = _family_hit(family, index, text, start)
                if hit is not None:
                    yield hit
            elif group == _KEYWORD:
                hit = _assignment(index, text, start, end)
                if hit is not None:
                    yield hit
            elif group == _BASE64:
                if decode:
                    yield from _decoded_base64(index, text, start, end)
            else:
                escaped.add(index)
    if decode:
        for index in sorted(escaped):
            yield from _decoded_percent(index, texts[index])


def _family_hit(family: Family, index: int, text: str, start: int) -> _Hit | None:
    """The first of the family's rules whose exact shape matches where its prefix is
    (or just before, by its lead) and passes its check."""
    if family.lead_regex is not None:
        lead = family.lead_regex.search(text, max(0, start - 31), start)
        if lead is not None:
            start = lead.start()
    for rule in family.rules:
        found = rule.regex.match(text, start)
        if found is None:
            continue
        matched = found.group(0)
        confidence = rule.confidence if rule.check is None else rule.check(matched)
        if confidence is None:
            continue
        inner_start, inner_end = secret_span(rule.type, matched)
        return _Hit(
            index,
            rule.type,
            start + inner_start,
            start + inner_end,
            confidence,
            rule.priority,
            matched[inner_start:inner_end],
        )
    return None


def _assignment(index: int, text: str, start: int, end: int) -> _Hit | None:
    """``NAME = value`` (or ``: value``, ``=> value``, ``is value``) around a secret-like
    word at ``text[start:end]``."""
    # Bounded: a search anchored at the end still reads from where it is told to start.
    name_start = start - len(_NAME_BEFORE.search(text, max(0, start - 128), start).group(0))  # type: ignore[union-attr]
    name_end = end + len(_NAME_CHARS.match(text, end).group(0))  # type: ignore[union-attr]
    found = _ASSIGNMENT.match(text, name_end)
    if found is None:
        return None
    group = next(g for g in (2, 3, 4, 5) if found.group(g) is not None)
    value = found.group(group)
    if found.group(1) is None and not _mixed(value):
        return None  # "the password is incorrect": prose, not a password
    judged = assigned(text[name_start:name_end], value)
    if judged is None:
        return None
    kind, confidence = judged
    return _Hit(index, kind, *found.span(group), confidence, 1, value)


def _mixed(value: str) -> bool:
    return any(c.isdigit() for c in value) and any(c.isalpha() for c in value)


def _name_hits(texts: list[str], names: list[str]) -> Iterator[_Hit]:
    """Values under secret-like JSON keys (one pass over all the names)."""
    joined = "\n".join(names)
    found = _names_in(joined, _KEY_AT)
    if not found:
        return
    starts: list[int] = []
    offset = 0
    for name in names:
        starts.append(offset)
        offset += len(name) + 1
    seen: set[int] = set()
    for begin, _ in found:
        first = bisect.bisect_right(starts, begin) - 1
        name = names[first]
        # Every string under that name (a list's items share it).
        for index in range(first, len(names)):
            if names[index] is not name and names[index] != name:
                break
            if index in seen:
                continue
            seen.add(index)
            hit = _named_value(index, name, texts[index])
            if hit is not None:
                yield hit


def _named_value(index: int, name: str, text: str) -> _Hit | None:
    value = text.strip()
    if not value:
        return None
    lead = len(text) - len(text.lstrip())
    if _AUTH_NAME.match(name):
        return _header_value(index, value, lead)
    judged = assigned(name, value)
    if judged is None:
        return None
    return _Hit(index, judged[0], lead, lead + len(value), judged[1], 1, value)


def _header_value(index: int, value: str, lead: int) -> _Hit | None:
    found = _AUTH_VALUE.match(value)
    if found is None or is_placeholder(found.group(2)):
        return None
    rule = next(r for r in RULES if r.type == "authorization_header")
    confidence = rule.check(f"Authorization: {value}") if rule.check else rule.confidence
    if confidence is None:
        return None
    start, end = found.span(2)
    return _Hit(index, rule.type, lead + start, lead + end, confidence, 2, found.group(2))


def _decoded_base64(index: int, text: str, start: int, end: int) -> Iterator[_Hit]:
    """Decode the base64 run around a mark at ``text[start:end]`` and scan it."""
    run_start = start - len(_BASE64_BEFORE.search(text, max(0, start - 65536), start).group(0))  # type: ignore[union-attr]
    run_end = end + len(_BASE64_CHARS.match(text, end).group(0))  # type: ignore[union-attr]
    decoded = decode_base64(text[run_start:run_end])
    if decoded is None:
        return
    for hit in _text_hits([decoded], decode=False):
        yield _Hit(
            index, hit.type, run_start, run_end, hit.confidence, hit.priority, hit.secret, "base64"
        )


def _decoded_percent(index: int, text: str) -> Iterator[_Hit]:
    decoded = decode_percent(text)
    if decoded is None:
        return
    plain, spans = decoded
    for hit in _text_hits([plain], decode=False):
        start, end = spans[hit.start][0], spans[hit.end - 1][1]
        # Nothing escaped inside: the plain scan may have it too (one of the two stays).
        encoding = "url" if end - start != hit.end - hit.start else None
        yield _Hit(index, hit.type, start, end, hit.confidence, hit.priority, hit.secret, encoding)


def _without_overlaps(hits: list[_Hit]) -> list[_Hit]:
    """Of overlapping hits in one string, the most specific (then surest, then longest)."""
    kept: list[_Hit] = []
    ranked = sorted(hits, key=lambda h: (-h.priority, -h.confidence, h.start - h.end))
    for hit in ranked:
        if not any(k.index == hit.index and k.start < hit.end and hit.start < k.end for k in kept):
            kept.append(hit)
    return sorted(kept, key=lambda h: (h.index, h.start))


def _words(text: str, leaks: LeakSet) -> Iterator[tuple[int, int]]:
    """Spans of ``text`` that could be a registered leak: the whole (trimmed) string and
    each whitespace-separated word, with and without surrounding punctuation, and the
    value part of ``name=value`` words."""
    seen: set[tuple[int, int]] = set()
    candidates = [(0, len(text))]
    position = 0
    for word in text.split():
        start = text.index(word, position)
        position = start + len(word)
        candidates.append((start, position))
        trimmed = word.strip(_WORD_EDGES)
        if trimmed and trimmed != word:
            inner = start + word.index(trimmed)
            candidates.append((inner, inner + len(trimmed)))
        for separator in ("=", ":"):
            if separator in trimmed:
                value = trimmed.rsplit(separator, 1)[1].strip(_WORD_EDGES)
                if value:
                    inner = start + word.rindex(value)
                    candidates.append((inner, inner + len(value)))
    for start, end in candidates:
        # Trim the whole string too: a value sent with a newline is the same secret.
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start and (start, end) not in seen and leaks.wants(end - start):
            seen.add((start, end))
            yield start, end
