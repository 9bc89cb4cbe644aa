"""Matching: where a text holds a secret, before any path or fingerprint is put on it.

An RE2 set tells which rules' prefixes (and whether a secret-like name is assigned a
value, base64 of a known prefix, URL escapes) occur in a text at all; only those are
then looked for and matched exactly by their rule, and overlapping hits are settled by
priority. ``Scanner`` (``scan.py``) walks JSON values and puts paths, fingerprints and
registered leaks on what this finds.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import re2

from charter.secrets import providers, rules
from charter.secrets.decoding import decode_base64, decode_percent
from charter.secrets.rules import (
    BASE64_MARKS,
    PERCENT_ESCAPE,
    SECRET_NAME,
    Family,
    Rule,
    assigned,
    credential_confidence,
    secret_span,
)

__all__ = ["FAMILIES", "Hit", "name_hits", "text_hits", "without_overlaps"]

FAMILIES: tuple[Family, ...] = (*rules.FAMILIES, *providers.FAMILIES)
"""Every family of rules: the first formats (``rules.py``) and the providers'."""

_TAIL = r"[A-Za-z0-9_.\-]*"
_NAMED_GATE = "|".join(
    (
        # NAME = v, NAME: v, NAME := v (and ::=, :::=, ?=, +=, .=, ??=), NAME => v, <NAME>v
        SECRET_NAME
        + _TAIL
        + r"""(?:\\?["'])?[ \t]{0,3}(?:[=:>]|[.?+]{1,2}=|[ \t](?:is|was)[ \t])""",
        # f("NAME", "v"), variable "NAME" {, key="NAME" value="v", name="NAME">v<
        SECRET_NAME + _TAIL + r"""\\?["'](?:[ \t]*[,{]|[ \t]+(?:value|content)|[^<>\n]{0,40}>)""",
        SECRET_NAME + _TAIL + r"[ \t]+[Ss]tring[ \t]",  # Go: var NAME string = "v"
        # - name: NAME\n  value: v
        SECRET_NAME + _TAIL + r"""\\?["']?[ \t]*,?[ \t]*\r?\n[ \t]*\\?["']?[Vv]alue""",
        r"--[A-Za-z0-9_\-]*" + SECRET_NAME,  # --token v
        r"(?:_header|RequestHeader|SetEnv|setenv|set)[ \t]+(?:[a-z\-]+[ \t]+)?"
        + _TAIL
        + SECRET_NAME,
    )
)
"""Where a secret-like name may be given a value: the automaton's look for one."""
_COMMAND_GATE = (
    r"(?:mysql|mariadb)[a-z]*[ \t][^\n]*[ \t]-p[^\s\-]|[ \t](?:-u|--user)[ \t=]+[^\s]*:[^\s]"
)
"""Command lines with a password and no secret-like name: ``mysql -pSECRET``,
``curl -u user:SECRET``."""

# One automaton tells which families' prefixes (and whether a secret-like name assigned a
# value, base64 of known prefixes, URL escapes) occur at all; only those are then looked
# for one by one.
_KEYWORD = len(FAMILIES)
_BASE64 = len(FAMILIES) + 1
_PERCENT = len(FAMILIES) + 2
_COMMAND = len(FAMILIES) + 3
_AUTOMATON = re2.Set.SearchSet()
for _pattern in (
    *(family.prefix for family in FAMILIES),
    _NAMED_GATE,
    BASE64_MARKS,
    PERCENT_ESCAPE,
    _COMMAND_GATE,
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
    None,  # command lines: _command_hits
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
_QUOTED = r"""\\"([^"\\\n]{1,256})\\"|"([^"\n]{1,256})"|'([^'\n]{1,256})'"""
"""A quoted value: ``"v"``, ``'v'``, or ``\"v\"`` inside a JSON string."""
_TYPE = r"(?:&(?:'static[ \t]+)?str|[Ss]tring\??|str|CharSequence|SecureString)"
"""A declared type that holds text: Kotlin, TypeScript, Rust ``: T =``, Go ``NAME T =``."""
_ASSIGNMENT = re.compile(
    rf"""(?:\\?["'])?(?:(?:[ \t]*:[ \t]*|[ \t]+){_TYPE})?[ \t]{{0,3}}"""
    r"""(?:(=>|:{1,3}=|\?\?=|[?+.]=|=(?!=)|:)|[ \t]+(?:is|was)[ \t]+)[ \t]{0,3}"""
    rf"""(?:{_QUOTED}|`([^`\n]{{1,256}})`"""
    r"""|((?:[^\s"'`,;<>()\]}&\\]|&(?![A-Za-z_][\w.\-]*=)|\\(?![nrt"'\\])){1,256}\(?))"""
)
"""``NAME = v`` and its kin: ``:``, ``=>``, Makefile's ``:=``, ``::=``, ``:::=``, ``?=``,
``+=``, PHP's ``.=`` and ``??=``, typed declarations, ``is``/``was`` in prose; an
unquoted value ends where a ``\n`` escape does (an .env inside a JSON string) or a
query's next ``&name=`` begins."""
_YAML_BLOCK = re.compile(
    r"""(?:\\?["'])?[ \t]*:[ \t]*[|>][+\-0-9]{0,2}[ \t]*\r?\n"""
    r"""[ \t]+([^\s#]{1,256})[ \t]*(?:\r?\n|$)"""
)
"""YAML's block scalars, ``NAME: |`` or ``NAME: >-`` and the value on the next line."""
_ARGUMENT = re.compile(rf"""\\?["'][ \t]*,[ \t]*(?:{_QUOTED})""")
"""``f("NAME", "v")``: System.setProperty, os.environ.setdefault, define, Header.Set."""
_ARGUMENT_BEFORE = re.compile(r"""\([ \t]*\\?["']$""")
_HCL_DEFAULT = re.compile(r"""\\?"[ \t]*\{[^{}]{0,512}?\bdefault[ \t]*=[ \t]*"([^"\n]{1,256})\"""")
"""Terraform's ``variable "NAME" { default = "v" }``, across lines."""
_HCL_BEFORE = re.compile(r"""\bvariable[ \t]+\\?"$""")
_PAIR = re.compile(
    r"""(?:\\?["'])?[ \t]*,?[ \t]*(?:\r?\n[ \t]*)?\\?["']?[Vv]alue\\?["']?[ \t]*[:=][ \t]*"""
    rf"""(?:{_QUOTED}|([^\s"'`,;<>{{}}\[\]]{{1,256}}))"""
)
"""A value named by its sibling in text: ``{"name": "NAME", "value": "v"}`` (HAR,
Postman), ``- name: NAME`` then ``value: v`` (Kubernetes env)."""
_PAIR_BEFORE = re.compile(r"""\b(?:name|key|Name|Key)\\?["']?[ \t]*[:=][ \t]*\\?["']?$""")
_ELEMENT = re.compile(r"""(?:\\?["'])?[ \t]*>[ \t\r\n]*([^\s<>"']{1,256})[ \t\r\n]*</""")
"""XML's ``<NAME>v</NAME>`` (across lines too) and ``<property name="NAME">v</property>``."""
_ELEMENT_BEFORE = re.compile(r"""<$|\b(?:name|key)[ \t]*=[ \t]*\\?["']$""")
_ATTRIBUTE = re.compile(
    r"""\\?["'][ \t\r\n]+(?:value|content)[ \t]*=[ \t]*(?:"""
    + _QUOTED
    + r""")|\\?["'][ \t]*/?>[ \t\r\n]*<value(?:[ \t]*=[ \t]*"([^"\n]{1,256})"|>([^<\s]{1,256})</)"""
)
"""``<add key="NAME" value="v"/>``, ``<entry name="NAME" value="v"/>``, and a ``<value>``
element after the name's."""
_ATTRIBUTE_BEFORE = re.compile(r"""\b(?:name|key)[ \t]*=[ \t]*\\?["']$""")
_SPACED = re.compile(
    r"""(?:[ \t]+|=)(?:"([^"\n]{1,256})"|'([^'\n]{1,256})'|([^\s"'`;|&<>]{1,256}))"""
)
"""A value after a space: ``--token v``, ``proxy_set_header X-Api-Key "v";``."""
_DIRECTIVE_BEFORE = re.compile(
    r"(?:proxy_set_header|add_header|more_set_headers|RequestHeader[ \t]+(?:set|add|append)|"
    r"SetEnv|setenv|set(?:[ \t]+-[a-zA-Z]+)?)[ \t]+$"
)
"""Configuration directives and shells that name a value by a space: nginx, Apache, csh,
fish."""
_COMMAND_PASSWORD = re.compile(
    r"""\b(?:mysql|mariadb)[a-z]*[ \t][^\n]*?[ \t]-p(?:"(?P<dq>[^"\n]{1,256})"|"""
    r"""'(?P<sq>[^'\n]{1,256})'|(?P<bare>[^\s"'`;|&<>\-][^\s"'`;|&<>]{0,255}))"""
    r"""|[ \t](?:-u|--user)(?:[ \t]+|=)["']?[^\s:"']{0,128}["']?:["']?(?P<user>[^\s"'`@]{1,256})"""
)
"""``mysql -pSECRET`` and ``curl -u user:SECRET``: a password with no name beside it."""
_ARGUMENT_VALUE = re.compile(r"^[^\s$\[\](){}<>]{8,}$")
_CODE_OPERATORS = frozenset(("+=", ".=", "??="))
"""Operators of code more than of configuration: the value after one must be quoted."""
_NAMED_VALUE_WORD = re.compile(r"^[A-Za-z][A-Za-z_.\-]*$")
_CONNECTION_PASSWORD = re.compile(r"(?i)^(?:password|pwd)$")
_AUTH_NAME = re.compile(r"(?i)^(?:proxy-)?authorization$")
_AUTH_VALUE = re.compile(r"(?i)^(basic|bearer|token|digest)\s+(\S{8,})$")


@dataclass(slots=True)
class Hit:
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


def _spans(finder: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    return [match.span() for match in finder.finditer(text)]


def _names_in(text: str) -> list[tuple[int, int]]:
    """Where secret-like names occur in ``text``, in order: found by their stems."""
    lowered = text.lower()
    found: set[tuple[int, int]] = set()
    for stem in _STEMS:
        position = lowered.find(stem)
        while position >= 0:
            match = _NAME_AT.match(text, position)
            if match is not None:
                found.add(match.span())
            position = lowered.find(stem, position + 1)
    return sorted(found)


def _present(text: str) -> list[int]:
    """The automaton's patterns that occur in ``text`` (its stubs call this a bool)."""
    try:
        found: Any = _AUTOMATON.Match(text)
    except UnicodeEncodeError:
        found = _AUTOMATON.Match(_encodable(text))
    return list(found or ())


def _encodable(text: str) -> str:
    """``text`` as RE2 can take it: a lone surrogate becomes one "?" (offsets stay)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def text_hits(texts: list[str], *, decode: bool) -> Iterator[Hit]:
    """Hits of every rule in ``texts``, numbered by the text they are in."""
    joined = "\n".join(texts)
    present = _present(joined)
    if not present:
        return
    starts: list[int] = []
    offset = 0
    for text in texts:
        starts.append(offset)
        offset += len(text) + 1
    escaped: set[int] = set()
    closings = _Closings()
    for group in sorted(present):
        if group == _COMMAND:
            continue
        family = FAMILIES[group] if group < _KEYWORD else None
        finder = _FINDERS[group]
        spans = _names_in(joined) if finder is None else _spans(finder, joined)
        for begin, finish in spans:
            index = bisect.bisect_right(starts, begin) - 1
            text, base = texts[index], starts[index]
            start, end = begin - base, min(finish - base, len(text))
            if family is not None:
                hit = _family_hit(family, index, text, start, closings)
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
    if _COMMAND in present:
        yield from _command_hits(joined, starts, texts)
    if decode:
        for index in sorted(escaped):
            yield from _decoded_percent(index, texts[index])


class _Closings:
    """Where each block rule's closing matches in each text (starts and ends, by start),
    found once per text and rule."""

    def __init__(self) -> None:
        self._found: dict[tuple[int, str], tuple[list[int], list[int]]] = {}

    def after(self, rule: Rule, index: int, text: str, at: int) -> tuple[int, int] | None:
        """The first closing of ``rule`` in ``text`` that starts at ``at`` or after."""
        key = (index, rule.pattern)
        found = self._found.get(key)
        if found is None:
            closer = rule.closer_regex
            spans = [] if closer is None else [m.span(1) for m in closer.finditer(text)]
            found = self._found[key] = ([s for s, _ in spans], [e for _, e in spans])
        starts, ends = found
        place = bisect.bisect_left(starts, at)
        return None if place == len(starts) else (starts[place], ends[place])


def _block(rule: Rule, index: int, text: str, start: int, closings: _Closings) -> str | None:
    """The text ``rule``'s opening at ``start`` and its first closing within reach span."""
    opening = rule.regex.match(text, start)
    if opening is None:
        return None
    closing = closings.after(rule, index, text, opening.end())
    if closing is None or closing[0] - opening.end() > rule.reach:
        return None
    return text[start : closing[1]]


def _family_hit(
    family: Family, index: int, text: str, start: int, closings: _Closings | None = None
) -> Hit | None:
    """The first of the family's rules whose exact shape matches where its prefix is
    (or just before, by its lead) and passes its check."""
    if family.needs is not None and family.needs not in text[start : start + 256]:
        return None
    if family.lead_regex is not None:
        lead = family.lead_regex.search(text, max(0, start - 31), start)
        if lead is not None:
            start = lead.start()
    for rule in family.rules:
        if rule.closer_regex is not None:
            block = _block(rule, index, text, start, closings or _Closings())
            hit = None if block is None else _hit_in(index, rule, start, block)
            if hit is not None:
                return hit
            continue
        found = rule.regex.match(text, start)
        if found is None:
            continue
        if rule.group != 0:
            secret = found.group(rule.group)
            if secret is None:
                continue
            confidence = rule.confidence if rule.check is None else rule.check(secret)
            if confidence is None:
                continue
            begin, finish = found.span(rule.group)
            return Hit(index, rule.type, begin, finish, confidence, rule.priority, secret)
        hit = _hit_in(index, rule, start, found.group(0))
        if hit is not None:
            return hit
    return None


def _hit_in(index: int, rule: Rule, start: int, piece: str) -> Hit | None:
    """A hit on ``piece``, found at ``start`` of text ``index``, if the rule's check
    accepts it; the secret is the part of it ``secret_span`` names."""
    confidence = rule.confidence if rule.check is None else rule.check(piece)
    if confidence is None:
        return None
    inner_start, inner_end = secret_span(rule.type, piece)
    return Hit(
        index,
        rule.type,
        start + inner_start,
        start + inner_end,
        confidence,
        rule.priority,
        piece[inner_start:inner_end],
    )


def _assignment(index: int, text: str, start: int, end: int) -> Hit | None:
    """The value given to a secret-like word at ``text[start:end]``, in whichever of the
    ways a value is written down it is (``_value_after``)."""
    # Bounded: a search anchored at the end still reads from where it is told to start.
    name_start = start - len(_NAME_BEFORE.search(text, max(0, start - 128), start).group(0))  # type: ignore[union-attr]
    name_end = end + len(_NAME_CHARS.match(text, end).group(0))  # type: ignore[union-attr]
    found = _value_after(text, name_start, end, name_end)
    if found is None:
        return None
    value_start, value_end = found
    value = text[value_start:value_end]
    if _names_a_name(value) or (text[value_start - 1] not in "\"'`" and "(" in value):
        return None  # password = newPassword, token = readToken(): code, not a value
    if _NESTED.match(value) or _in_template(text, name_start):
        return None
    if _not_a_value(text, name_end, value_start, value_end, value):
        return None
    name = text[name_start:name_end].lstrip("-")
    judged = assigned(name, value, near=text[max(0, name_start - 256) : value_end + 256])
    if judged is None:
        return None
    kind, confidence = judged
    around = text[name_start - 1 : name_start] + text[value_end : value_end + 1]
    if kind == "generic_secret" and ";" in around and _CONNECTION_PASSWORD.match(name):
        kind = "url_password"  # Server=...;Password=...; in a connection string
    return Hit(index, kind, value_start, value_end, confidence, 1, value)


_NESTED = re.compile(r"(?=[A-Za-z_]{4})(?:[A-Z][a-z]+|[a-z]+)(?:[A-Z][a-z]+|_[a-z]+)*=[^=\s]")
"""A value that is itself ``Key=value``, the first pair of a connection string
(``AZURE_STORAGE_CONNECTION_STRING=DefaultEndpointsProtocol=http;AccountKey=...``) or of
a query: its own pairs are looked at under their own names. The key is a word or words
(``DefaultEndpointsProtocol``, ``use_ssl``), as a generated password's start is not."""
_TYPE_HUMP = re.compile(r"[A-Z][a-z]+")
_TYPE_WORD = re.compile(r"[A-Z][A-Za-z0-9_]*")


def _in_template(text: str, name_start: int) -> bool:
    """Whether the name is inside a reference still open on its line: CloudFormation's
    ``{{resolve:secretsmanager:prod/api_token:SecretString:value}}``, ``${{ ... }}``,
    ``${vault:db_password}``: it names where the secret is, not a value."""
    line_start = text.rfind("\n", 0, name_start) + 1
    before = text[max(line_start, name_start - 256) : name_start]
    if "{{" in before and before.rfind("{{") > before.rfind("}}"):
        return True
    return "${" in before and before.rfind("${") > before.rfind("}")


def _not_a_value(text: str, name_end: int, value_start: int, value_end: int, value: str) -> bool:
    """After a colon, an unquoted word that prose goes on from (``pwd: expected bytes``,
    ``# First pass: determine the width``) or a type that a parameter list goes on from
    (``signing_key: Ed25519PrivateKey | None = None,``): a sentence or an annotation,
    not a value."""
    between = text[name_end:value_start]
    if ":" not in between or "=" in between or text[value_start - 1] in "\"'`":
        return False
    after = text[value_end : value_end + 3]
    if value.isalpha() and len(after) >= 2 and after[0] == " " and after[1].isalpha():
        return True
    follows = after.lstrip(" \t")[:1]
    return (
        follows in {",", ")", "|", "=", "]"}
        and _TYPE_WORD.fullmatch(value) is not None
        and len(_TYPE_HUMP.findall(value)) >= 2
    )


def _value_after(
    text: str, name_start: int, word_end: int, name_end: int
) -> tuple[int, int] | None:
    """Where the value named by ``text[name_start:name_end]`` is (its secret-like word
    ends at ``word_end``): the first of the forms that fits, each tried only where what
    comes before the name allows it."""
    before = text[max(0, name_start - 40) : name_start]
    found = _YAML_BLOCK.match(text, name_end) or _HCL_DEFAULT.match(text, name_end)
    if found is not None and (found.re is _YAML_BLOCK or _HCL_BEFORE.search(before)):
        return _span(found)
    found = _ASSIGNMENT.match(text, name_end)
    if found is not None:
        operator, value = found.group(1), _group(found)
        if operator is None and not _mixed(value):
            return None  # without an operator it is prose: "the password is incorrect"
        if (
            operator in _CODE_OPERATORS
            and text[found.start(found.lastindex or 0) - 1] not in "\"'`"
        ):
            return None  # password_chars += required_chars: code, not a value
        return _span(found)
    # The forms below name a value by a word that may be anything else too (an argument,
    # a flag): only a name that ends in the secret-like word names a secret.
    if name_end - word_end > 1 or (name_end > word_end and text[word_end] not in "sS"):
        return None
    # Each form's look behind the name is a search from every start: the last character
    # first, which most names fail.
    last = before[-1:]
    if last in "\"':= \t" and _PAIR_BEFORE.search(before):
        found = _PAIR.match(text, name_end)
        if found is not None:
            return _span(found)
    if last in "\"'" and _ARGUMENT_BEFORE.search(before):
        found = _ARGUMENT.match(text, name_end)
        if found is not None and _argument_value(_group(found)):
            return _span(found)
    if last == "<" or (last in "\"'" and _ATTRIBUTE_BEFORE.search(before)):
        found = _ELEMENT.match(text, name_end) or _ATTRIBUTE.match(text, name_end)
        if found is not None:
            return _span(found)
    flag = text.startswith("--", name_start) and (
        name_start == 0 or text[name_start - 1] in " \t'\""
    )
    if flag or (last in " \t" and _DIRECTIVE_BEFORE.search(before)):
        found = _SPACED.match(text, name_end)
        if found is not None and (found.group(3) is None or _mixed(found.group(3))):
            return _span(found)  # an unquoted word after a space: only a mixed one
    return None


def _group(found: re.Match[str]) -> str:
    """The value a form matched: its last group that took part."""
    return found.group(found.lastindex or 0)


def _span(found: re.Match[str]) -> tuple[int, int]:
    return found.span(found.lastindex or 0)


def _argument_value(value: str) -> bool:
    """A second argument that reads as a secret: one word of 8 characters or more, not
    only letters, without the marks of code or a path (``"urllib"``, ``"$.env[1]"``)."""
    return _ARGUMENT_VALUE.match(value) is not None and not value.isalpha()


def _random_enough(value: str) -> bool:
    """A password with no name beside it: letters and digits, or both cases at length."""
    return _mixed(value) or (
        len(value) >= 10 and any(c.isupper() for c in value) and any(c.islower() for c in value)
    )


def _names_a_name(value: str) -> bool:
    """``rename("password", "user_password")``, ``password = newPassword``: what is
    given to the name is a name too (letters only, with a secret-like word)."""
    return bool(_NAMED_VALUE_WORD.match(value)) and _NAME_AT.search(value) is not None


def _command_hits(joined: str, starts: list[int], texts: list[str]) -> Iterator[Hit]:
    """Passwords on command lines that no name introduces: ``mysql -pSECRET``,
    ``curl -u user:SECRET``."""
    for found in _COMMAND_PASSWORD.finditer(joined):
        group = found.lastgroup or "bare"
        begin, finish = found.span(group)
        judged = assigned("password", found.group(group))
        if judged is None or not _random_enough(found.group(group)):
            continue
        index = bisect.bisect_right(starts, begin) - 1
        base = starts[index]
        if finish - base > len(texts[index]):
            continue
        kind, confidence = judged
        yield Hit(index, kind, begin - base, finish - base, confidence, 1, found.group(group))


def _mixed(value: str) -> bool:
    return any(c.isdigit() for c in value) and any(c.isalpha() for c in value)


def name_hits(texts: list[str], names: list[str]) -> Iterator[Hit]:
    """Values under secret-like JSON keys."""
    for index, name in enumerate(names):
        if name and _secret_like(name):
            hit = _named_value(index, name, texts[index])
            if hit is not None:
                yield hit


_SECRET_LIKE: dict[str, bool] = {}
"""Names seen, and whether each is secret-like: the keys of a tool's arguments repeat
from call to call, so each is looked at once (up to ``_SECRET_LIKE_MAX`` of them)."""
_SECRET_LIKE_MAX = 4096


def _secret_like(name: str) -> bool:
    known = _SECRET_LIKE.get(name)
    if known is None:
        known = _KEY_AT.search(name) is not None
        if len(_SECRET_LIKE) >= _SECRET_LIKE_MAX:
            _SECRET_LIKE.clear()
        _SECRET_LIKE[name] = known
    return known


def _named_value(index: int, name: str, text: str) -> Hit | None:
    value = text.strip()
    if not value:
        return None
    lead = len(text) - len(text.lstrip())
    if _AUTH_NAME.match(name):
        return _header_value(index, value, lead)
    judged = assigned(name, value)
    if judged is None:
        return None
    return Hit(index, judged[0], lead, lead + len(value), judged[1], 1, value)


def _header_value(index: int, value: str, lead: int) -> Hit | None:
    found = _AUTH_VALUE.match(value)
    if found is None:
        return None
    confidence = credential_confidence(found.group(1), found.group(2))
    if confidence is None:
        return None
    start, end = found.span(2)
    return Hit(
        index, "authorization_header", lead + start, lead + end, confidence, 2, found.group(2)
    )


def _decoded_base64(index: int, text: str, start: int, end: int) -> Iterator[Hit]:
    """Decode the base64 run around a mark at ``text[start:end]`` and scan it."""
    run_start = start - len(_BASE64_BEFORE.search(text, max(0, start - 65536), start).group(0))  # type: ignore[union-attr]
    run_end = end + len(_BASE64_CHARS.match(text, end).group(0))  # type: ignore[union-attr]
    decoded = decode_base64(text[run_start:run_end])
    if decoded is None:
        return
    for hit in text_hits([decoded], decode=False):
        yield Hit(
            index, hit.type, run_start, run_end, hit.confidence, hit.priority, hit.secret, "base64"
        )


def _decoded_percent(index: int, text: str) -> Iterator[Hit]:
    decoded = decode_percent(text)
    if decoded is None:
        return
    plain, spans = decoded
    for hit in text_hits([plain], decode=False):
        start, end = spans[hit.start][0], spans[hit.end - 1][1]
        # Nothing escaped inside: the plain scan may have it too (one of the two stays).
        encoding = "url" if end - start != hit.end - hit.start else None
        yield Hit(index, hit.type, start, end, hit.confidence, hit.priority, hit.secret, encoding)


def without_overlaps(hits: list[Hit]) -> list[Hit]:
    """Of overlapping hits in one string, the most specific (then surest, then longest).

    The hits kept in a string never overlap, so sorted by start they are sorted by end
    too: a new hit overlaps one of them exactly when the last of those starting before
    its end ends after its start. One look per hit, not one per kept hit (a string made
    of thousands of token-like pieces has thousands of hits)."""
    if len(hits) < 2:
        return hits
    kept: list[Hit] = []
    starts: dict[int, list[int]] = {}
    ends: dict[int, list[int]] = {}
    ranked = sorted(hits, key=lambda h: (-h.priority, -h.confidence, h.start - h.end))
    for hit in ranked:
        own_starts = starts.setdefault(hit.index, [])
        own_ends = ends.setdefault(hit.index, [])
        before = bisect.bisect_left(own_starts, hit.end)
        if before and own_ends[before - 1] > hit.start:
            continue
        own_starts.insert(before, hit.start)
        own_ends.insert(before, hit.end)
        kept.append(hit)
    return sorted(kept, key=lambda h: (h.index, h.start))
