"""The scanner: every secret in a text or a JSON value, and the value with them masked.

A JSON value is scanned as one text: its strings are joined and matched once
(``matching.py``), so most inputs cost one pass whatever the number of strings or rules;
the hits are mapped back to the string they are in (``$.a.b[0]``) and the offsets within
it. Names matter too: a high-entropy value under ``password`` or ``api_key`` is a
``generic_secret``, whether the name is a JSON key or ``NAME=value`` in the text.

Keys are strings too: each key of a JSON object is scanned like a value; a secret in one
is masked in the key itself, and every path shows the key masked.

Registered leaks are found by fingerprint: each string, and each word of it, whose length
is that of some registered leak is fingerprinted and looked up, as are the texts each of
them is a wrapping of (hex, base64, ``%XX``, backslash escapes, HTML references, a few
layers deep: ``decoding.unwrapped``), with the work bounded by the size of the value.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
from collections.abc import Iterator
from typing import Any

from charter.codes import ErrorCode
from charter.errors import InvalidInput
from charter.secrets.decoding import MAX_WRAPPED, Budget, unwrapped
from charter.secrets.findings import LEAKED_SECRET, Finding, LeakSet
from charter.secrets.matching import Hit, name_hits, text_hits, without_overlaps

__all__ = ["MAX_DEPTH", "Scanner", "placeholder"]

MAX_DEPTH = 64
"""JSON nested deeper than this is refused rather than scanned in part."""

_WORD_EDGES = "\"'`.,;:()[]{}<>"
_BUDGET_FACTOR = 8
_BUDGET_FLOOR = 1 << 20
"""Decoding wrappings may produce 8 times the value's characters, and 1 MiB more."""
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DELIMITED = re.compile(r"[^/\\?&#=:;,|@.]+")
"""The pieces of a path, URL, query or principal id a leak may be one of."""
_HAS_DELIMITER = re.compile(r"[/\\?&#=:;,|@.]")


def placeholder(finding_type: str) -> str:
    """What a redacted secret is replaced with: ``[REDACTED:aws_access_key]``."""
    return f"[REDACTED:{finding_type}]"


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
        return _rebuild(value, _replacements(texts, chosen), itertools.count()), findings

    def _run(
        self, value: Any, path: str, leaks: LeakSet | None
    ) -> tuple[list[Finding], list[str], list[Hit]]:
        texts, names, keys = _collect(value)
        hits = list(text_hits(texts, decode=True))
        if any(names):
            hits.extend(name_hits(texts, names))
        kept = without_overlaps(hits)
        if leaks:
            kept = self._with_leaks(texts, kept, leaks)
        if not kept:
            return [], texts, kept
        in_keys = [hit for hit in kept if hit.index in keys]
        # Paths never show a secret: they are read off the value with its secret keys masked.
        shown = (
            _rebuild(value, _replacements(texts, in_keys), itertools.count()) if in_keys else value
        )
        paths = _paths(shown, path, {hit.index for hit in kept})
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
                    key=hit.index in keys,
                )
            )
        return findings, texts, kept

    def _with_leaks(self, texts: list[str], kept: list[Hit], leaks: LeakSet) -> list[Hit]:
        """``kept`` and the registered leaks found word by word: a detector's hit that
        covers one is marked leaked, any other becomes a ``leaked_secret``."""
        found = list(kept)
        budget = Budget(max(_BUDGET_FLOOR, _BUDGET_FACTOR * sum(map(len, texts))))
        shortest = leaks.shortest()
        for index, text in enumerate(texts):
            for start, end, encoding, fingerprint in self._leaks_in(text, leaks, shortest, budget):
                covering = [
                    hit
                    for hit in found
                    if hit.index == index and hit.start < end and start < hit.end
                ]
                for hit in covering:
                    hit.leaked = True
                if not covering:
                    found.append(
                        Hit(
                            index, LEAKED_SECRET, start, end, 1.0, 4, "", encoding, fingerprint,
                            True,
                        )
                    )  # fmt: skip
        return sorted(found, key=lambda hit: (hit.index, hit.start))

    def _leaks_in(
        self, text: str, leaks: LeakSet, shortest: int, budget: Budget
    ) -> Iterator[tuple[int, int, str | None, str]]:
        """Spans of ``text`` that are a registered leak, as it is or once unwrapped: each
        with the wrappings taken off (None: none) and the leak's fingerprint. No wrapping
        decodes to more characters than it has, so nothing shorter than the shortest leak
        is looked at."""
        if len(text) < shortest:
            return
        for start, end in _spans(text, shortest):
            candidate = text[start:end]
            if leaks.wants(end - start):
                fingerprint = self.fingerprint(candidate)
                if fingerprint in leaks.fingerprints:
                    yield start, end, None, fingerprint
                    continue
            if end - start < shortest or end - start > MAX_WRAPPED:
                continue  # nothing a wrapping of it decodes to could be long enough
            for decoded, encoding in unwrapped(candidate, budget):
                fingerprint = self._leak_among(decoded, leaks)
                if fingerprint is not None:
                    yield start, end, encoding, fingerprint
                    break

    def _leak_among(self, text: str, leaks: LeakSet) -> str | None:
        """The fingerprint of a registered leak that ``text`` or one of its words is."""
        for start, end in _spans(text, leaks.shortest()):
            if leaks.wants(end - start):
                fingerprint = self.fingerprint(text[start:end])
                if fingerprint in leaks.fingerprints:
                    return fingerprint
        return None


def _collect(value: Any) -> tuple[list[str], list[str], set[int]]:
    """Every string in ``value`` (keys included, each just before its value), in order,
    the name each is under (its key, or its list's key; empty at the top and for keys),
    and the numbers of the keys."""
    texts: list[str] = []
    names: list[str] = []
    keys: set[int] = set()
    add_text, add_name = texts.append, names.append

    def walk(node: Any, name: str, depth: int) -> None:
        # Strings are taken where they are met, without a call of their own: most of a
        # value's nodes are strings, and this walk runs for every decision.
        if depth >= MAX_DEPTH:
            raise _too_deep()
        if isinstance(node, dict):
            # {"name": "DB_PASSWORD", "value": "..."} (Kubernetes env, HAR and Postman
            # headers, AWS tags, CloudFormation parameters): the value's name is the
            # sibling's text, not "value".
            named, value_key = (
                _sibling_name(node)
                if "value" in node or "Value" in node or "ParameterValue" in node
                else (None, "")
            )
            for key, item in node.items():
                key = key if isinstance(key, str) else str(key)
                keys.add(len(texts))
                add_text(key)
                add_name("")
                if isinstance(item, str):
                    add_text(item)
                    add_name(named if key == value_key and isinstance(named, str) else key)
                elif isinstance(item, _CONTAINERS):
                    walk(item, key, depth + 1)
        else:
            for item in node:
                if isinstance(item, str):
                    add_text(item)
                    add_name(name)
                elif isinstance(item, _CONTAINERS):
                    walk(item, name, depth + 1)

    if isinstance(value, str):
        return [value], [""], keys
    if isinstance(value, _CONTAINERS):
        walk(value, "", 0)
    return texts, names, keys


_CONTAINERS = (dict, list, tuple)


def _sibling_name(node: dict[Any, Any]) -> tuple[Any, str]:
    """The name a ``{name, value}`` pair gives its value, and the value's key."""
    if "value" in node:
        return node.get("name", node.get("key")), "value"
    if "Value" in node:
        return node.get("Name", node.get("Key")), "Value"
    return node.get("ParameterKey"), "ParameterValue"


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
                index = next(counter)
                if index in wanted:
                    paths[index] = _format(root, trail)
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
        code=ErrorCode.INPUT_TOO_DEEP,
        help="flatten the structure sent as input or context",
    )


def _replacements(texts: list[str], hits: list[Hit]) -> dict[int, str]:
    """The strings numbered in ``hits`` with those hits masked."""
    by_text: dict[int, list[Hit]] = {}
    for hit in hits:
        by_text.setdefault(hit.index, []).append(hit)
    return {index: _masked(texts[index], found) for index, found in by_text.items()}


def _rebuild(value: Any, replaced: dict[int, str], order: Iterator[int]) -> Any:
    """``value`` again, with the strings (and keys) numbered in ``replaced`` swapped (the
    walk of ``_collect``). A masked key that would meet another key is numbered: ``#2``."""
    if isinstance(value, str):
        return replaced.get(next(order), value)
    if isinstance(value, dict):
        rebuilt: dict[Any, Any] = {}
        for key, item in value.items():
            masked = replaced.get(next(order))
            name = key if masked is None else _unique(masked, rebuilt, value)
            rebuilt[name] = _rebuild(item, replaced, order)
        return rebuilt
    if isinstance(value, list | tuple):
        return [_rebuild(item, replaced, order) for item in value]
    return value


def _unique(name: str, taken: dict[Any, Any], original: dict[Any, Any]) -> str:
    candidate, number = name, 1
    while candidate in taken or candidate in original:
        number += 1
        candidate = f"{name}#{number}"
    return candidate


def _masked(text: str, hits: list[Hit]) -> str:
    pieces, last = [], 0
    for hit in sorted(hits, key=lambda h: h.start):
        if hit.start < last:
            continue
        pieces.append(text[last : hit.start])
        pieces.append(placeholder(hit.type))
        last = hit.end
    pieces.append(text[last:])
    return "".join(pieces)


def _spans(text: str, shortest: int = 1) -> Iterator[tuple[int, int]]:
    """Spans of ``text`` that could be a registered leak: the whole (trimmed) string and
    each whitespace-separated word, with and without surrounding punctuation, and the
    value part of ``name=value`` words (after the first or the last separator), and each
    piece of a word between path, URL, query and name delimiters (``vault/<it>/db``,
    ``?token=<it>&``, ``user:<it>``, ``scanner.<it>.read``), with and without the
    punctuation around it (``("vault/<it>")``); none shorter than ``shortest``."""
    seen: set[tuple[int, int]] = set()
    candidates = [(0, len(text))]
    position = 0
    for word in text.split():
        start = text.index(word, position)
        position = start + len(word)
        if len(word) < shortest:
            continue  # and every part of it
        candidates.append((start, position))
        if len(word) > 1 and _HAS_DELIMITER.search(word):
            for piece in _DELIMITED.finditer(word):
                candidates.append((start + piece.start(), start + piece.end()))
                # And without the punctuation around it: ``("vault/<it>")``.
                bare = piece.group().strip(_WORD_EDGES)
                if bare and bare != piece.group():
                    at = start + piece.start() + piece.group().index(bare)
                    candidates.append((at, at + len(bare)))
        trimmed = word.strip(_WORD_EDGES)
        if trimmed and trimmed != word:
            inner = start + word.index(trimmed)
            candidates.append((inner, inner + len(trimmed)))
        for separator in ("=", ":"):
            if separator in trimmed:
                first = trimmed.index(separator) + 1
                last = trimmed.rindex(separator) + 1
                base = start + word.index(trimmed)
                for cut in (first, last) if first != last else (last,):
                    value = trimmed[cut:].strip(_WORD_EDGES)
                    if value:
                        inner = base + cut + trimmed[cut:].index(value)
                        candidates.append((inner, inner + len(value)))
    for start, end in candidates:
        # Trim the whole string too: a value sent with a newline is the same secret.
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end - start >= shortest and (start, end) not in seen:
            seen.add((start, end))
            yield start, end
