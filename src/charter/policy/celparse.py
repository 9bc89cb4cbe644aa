"""A reader of CEL's syntax: tokens (``tokens``) and a syntax tree (``parse``).

It serves two purposes: finding the constructs a condition may not use
(``charter.policy.celcheck``) and compiling the simple conditions that
``charter.policy.celfast`` evaluates natively. It is strict rather than complete: input
it does not understand raises ``Unreadable``, and its callers then leave the expression
to the ``cel`` package, which decides whether it is valid at all. Whatever it does
accept, it reads exactly as CEL's grammar does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = ["Node", "Token", "Unreadable", "decode_string", "parse", "tokens"]

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
UINT64_MAX = 2**64 - 1

RESERVED = frozenset(
    {
        "as",
        "break",
        "const",
        "continue",
        "else",
        "for",
        "function",
        "if",
        "import",
        "let",
        "loop",
        "package",
        "namespace",
        "return",
        "var",
        "void",
        "while",
    }
)


class Unreadable(ValueError):
    """Text this reader does not understand (it may still be valid CEL)."""


@dataclass(frozen=True, slots=True)
class Token:
    """One token: its kind, its value (for literals and names) and where it is."""

    kind: str
    """``int``, ``uint``, ``double``, ``string``, ``bytes``, ``bool``, ``null``, ``name``,
    ``op`` or ``end``."""
    value: Any
    start: int
    end: int


_SPACE = re.compile(r"(?:[ \t\n\r\f]+|//[^\n]*)+")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(
    r"(?P<hex>0[xX][0-9a-fA-F]+)(?P<hexu>[uU])?"
    r"|(?P<double>[0-9]*\.[0-9]+(?:[eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+)"
    r"|(?P<int>[0-9]+)(?P<intu>[uU])?"
)
_STRING = re.compile(
    r"(?P<prefix>[rRbB]{0,2})(?P<quote>'''|\"\"\"|'|\")",
)
_OPERATORS = (
    "==",
    "!=",
    "<=",
    ">=",
    "&&",
    "||",
    ".?",
    "[?",
    "<",
    ">",
    "!",
    "-",
    "+",
    "*",
    "/",
    "%",
    "?",
    ":",
    ".",
    ",",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
)
_SIMPLE_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "`": "`",
    "?": "?",
}


def tokens(text: str) -> list[Token]:
    """The tokens of ``text``, ending with an ``end`` token; raise ``Unreadable``."""
    found: list[Token] = []
    at = 0
    size = len(text)
    while True:
        space = _SPACE.match(text, at)
        if space:
            at = space.end()
        if at >= size:
            found.append(Token("end", None, at, at))
            return found
        char = text[at]
        string = _STRING.match(text, at)
        if string:
            prefix = string.group("prefix").lower()
            if len(set(prefix)) == len(prefix):
                token = _string_token(text, string, prefix)
                found.append(token)
                at = token.end
                continue
        if char.isdigit() or (char == "." and at + 1 < size and text[at + 1].isdigit()):
            found.append(_number_token(text, at))
            at = found[-1].end
            continue
        name = _NAME.match(text, at)
        if name:
            word = name.group()
            if word in ("true", "false"):
                found.append(Token("bool", word == "true", at, name.end()))
            elif word == "null":
                found.append(Token("null", None, at, name.end()))
            elif word == "in":
                found.append(Token("op", "in", at, name.end()))
            else:
                found.append(Token("name", word, at, name.end()))
            at = name.end()
            continue
        for operator in _OPERATORS:
            if text.startswith(operator, at):
                found.append(Token("op", operator, at, at + len(operator)))
                at += len(operator)
                break
        else:
            raise Unreadable(f"unexpected character {char!r} at {at}")


def _number_token(text: str, at: int) -> Token:
    number = _NUMBER.match(text, at)
    if number is None:
        raise Unreadable(f"bad number at {at}")
    end = number.end()
    if end < len(text) and (text[end].isalnum() or text[end] == "_"):
        raise Unreadable(f"bad number at {at}")
    if number.group("double") is not None:
        return Token("double", float(number.group("double")), at, end)
    digits = number.group("hex") or number.group("int")
    value = int(digits, 16 if number.group("hex") else 10)
    unsigned = number.group("hexu") or number.group("intu")
    if unsigned:
        if value > UINT64_MAX:
            raise Unreadable(f"uint literal out of range at {at}")
        return Token("uint", value, at, end)
    # An int literal may be 2**63 only as the operand of a unary minus; ``parse`` checks.
    if value > INT64_MAX + 1:
        raise Unreadable(f"int literal out of range at {at}")
    return Token("int", value, at, end)


def _string_token(text: str, found: re.Match[str], prefix: str) -> Token:
    quote = found.group("quote")
    start = found.end()
    at = start
    while True:
        if at >= len(text):
            raise Unreadable("unterminated string")
        if text.startswith(quote, at):
            break
        char = text[at]
        if char == "\\":
            at += 2
            continue
        if char in "\r\n" and len(quote) == 1:
            raise Unreadable("newline in a string")
        at += 1
    body = text[start:at]
    raw, is_bytes = "r" in prefix, "b" in prefix
    value = decode_string(body, raw=raw, as_bytes=is_bytes)
    return Token("bytes" if is_bytes else "string", value, found.start(), at + len(quote))


def decode_string(body: str, *, raw: bool = False, as_bytes: bool = False) -> Any:
    """The value of a string (or bytes) literal's body, escapes decoded."""
    if raw:
        return body.encode() if as_bytes else body
    parts: list[bytes] = []
    at = 0
    while at < len(body):
        char = body[at]
        if char != "\\":
            parts.append(char.encode())
            at += 1
            continue
        if at + 1 >= len(body):
            raise Unreadable("dangling escape")
        kind = body[at + 1]
        if kind in _SIMPLE_ESCAPES:
            parts.append(_SIMPLE_ESCAPES[kind].encode())
            at += 2
        elif kind in "xX":
            digits = body[at + 2 : at + 4]
            if not re.fullmatch(r"[0-9a-fA-F]{2}", digits):
                raise Unreadable("bad \\x escape")
            value = int(digits, 16)
            parts.append(bytes([value]) if as_bytes else chr(value).encode())
            at += 4
        elif kind in "uU":
            width = 4 if kind == "u" else 8
            digits = body[at + 2 : at + 2 + width]
            if as_bytes or not re.fullmatch(f"[0-9a-fA-F]{{{width}}}", digits):
                raise Unreadable("bad unicode escape")
            value = int(digits, 16)
            if 0xD800 <= value <= 0xDFFF or value > 0x10FFFF:
                raise Unreadable("bad code point")
            parts.append(chr(value).encode())
            at += 2 + width
        elif kind in "0123":
            digits = body[at + 1 : at + 4]
            if not re.fullmatch(r"[0-3][0-7]{2}", digits):
                raise Unreadable("bad octal escape")
            value = int(digits, 8)
            parts.append(bytes([value]) if as_bytes else chr(value).encode())
            at += 4
        else:
            raise Unreadable(f"bad escape \\{kind}")
    joined = b"".join(parts)
    if as_bytes:
        return joined
    return joined.decode()


@dataclass(frozen=True, slots=True)
class Node:
    """A node of the syntax tree.

    ``kind`` is one of: ``literal`` (``value`` is ``(type, value)``, type one of ``int``,
    ``uint``, ``double``, ``string``, ``bytes``, ``bool``, ``null``), ``name`` (``value``
    the identifier), ``select`` (``value`` the field; ``args`` the operand), ``has``
    (``args`` the select it tests), ``call`` (``value`` the function or operator, as
    ``_<_``, ``!_``, ``-_``, ``_[_]``, ``@in``, ``_&&_``, ``_?_:_``; ``args`` its
    arguments; ``target`` the receiver of a method call), ``list``, ``map`` (``args``
    alternating keys and values) or ``message``.
    """

    kind: str
    value: Any = None
    args: tuple[Node, ...] = ()
    target: Node | None = None
    start: int = 0


_RELATIONS = {"<": "_<_", "<=": "_<=_", ">": "_>_", ">=": "_>=_", "==": "_==_", "!=": "_!=_"}
_ADDITIONS = {"+": "_+_", "-": "_-_"}
_MULTIPLICATIONS = {"*": "_*_", "/": "_/_", "%": "_%_"}
_MAX_DEPTH = 100


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokens(text)
        self.at = 0
        self.depth = 0

    def peek(self) -> Token:
        return self.tokens[self.at]

    def take(self) -> Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def is_op(self, *operators: str) -> bool:
        token = self.tokens[self.at]
        return token.kind == "op" and token.value in operators

    def expect(self, operator: str) -> Token:
        if not self.is_op(operator):
            raise Unreadable(f"expected {operator!r} at {self.peek().start}")
        return self.take()

    def expr(self) -> Node:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise Unreadable("too deep")
        start = self.peek().start
        condition = self.binary_or()
        if self.is_op("?"):
            self.take()
            then = self.binary_or()
            self.expect(":")
            otherwise = self.expr()
            condition = Node("call", "_?_:_", (condition, then, otherwise), start=start)
        self.depth -= 1
        return condition

    def binary_or(self) -> Node:
        left = self.binary_and()
        while self.is_op("||"):
            start = self.take().start
            left = Node("call", "_||_", (left, self.binary_and()), start=start)
        return left

    def binary_and(self) -> Node:
        left = self.relation()
        while self.is_op("&&"):
            start = self.take().start
            left = Node("call", "_&&_", (left, self.relation()), start=start)
        return left

    def relation(self) -> Node:
        left = self.addition()
        while self.is_op(*_RELATIONS, "in"):
            token = self.take()
            name = "@in" if token.value == "in" else _RELATIONS[token.value]
            left = Node("call", name, (left, self.addition()), start=token.start)
        return left

    def addition(self) -> Node:
        left = self.multiplication()
        while self.is_op(*_ADDITIONS):
            token = self.take()
            left = Node(
                "call", _ADDITIONS[token.value], (left, self.multiplication()), start=token.start
            )
        return left

    def multiplication(self) -> Node:
        left = self.unary()
        while self.is_op(*_MULTIPLICATIONS):
            token = self.take()
            left = Node(
                "call", _MULTIPLICATIONS[token.value], (left, self.unary()), start=token.start
            )
        return left

    def unary(self) -> Node:
        if self.is_op("!"):
            token = self.take()
            return Node("call", "!_", (self.unary(),), start=token.start)
        if self.is_op("-"):
            token = self.take()
            following = self.peek()
            if following.kind in ("int", "double") and not self._member_follows():
                self.take()
                # A minus applied to a number literal is part of the literal.
                if following.kind == "int":
                    return Node("literal", ("int", -following.value), start=token.start)
                return Node("literal", ("double", -following.value), start=token.start)
            return Node("call", "-_", (self.unary(),), start=token.start)
        return self.member()

    def _member_follows(self) -> bool:
        after = self.tokens[self.at + 1]
        return after.kind == "op" and after.value in (".", "[", ".?", "[?")

    def member(self) -> Node:
        node = self.primary()
        while True:
            if self.is_op("."):
                token = self.take()
                field = self.take()
                if field.kind != "name":
                    raise Unreadable(f"expected a field name at {field.start}")
                if self.is_op("("):
                    self.take()
                    args = self.arguments(")")
                    node = Node("call", field.value, args, target=node, start=field.start)
                else:
                    node = Node("select", field.value, (node,), start=token.start)
            elif self.is_op("["):
                token = self.take()
                index = self.expr()
                self.expect("]")
                node = Node("call", "_[_]", (node, index), start=token.start)
            elif self.is_op(".?", "[?"):
                raise Unreadable("optional syntax")
            else:
                return node

    def arguments(self, closing: str) -> tuple[Node, ...]:
        args: list[Node] = []
        if self.is_op(closing):
            self.take()
            return ()
        while True:
            args.append(self.expr())
            if self.is_op(","):
                self.take()
                if self.is_op(closing) and closing != ")":
                    self.take()
                    return tuple(args)
                continue
            self.expect(closing)
            return tuple(args)

    def primary(self) -> Node:
        token = self.take()
        kind = token.kind
        if kind in ("string", "bytes", "bool", "null", "double", "uint"):
            return Node("literal", (kind, token.value), start=token.start)
        if kind == "int":
            if token.value > INT64_MAX:
                raise Unreadable(f"int literal out of range at {token.start}")
            return Node("literal", ("int", token.value), start=token.start)
        if kind == "name":
            return self.name(token)
        if kind == "op":
            if token.value == "(":
                inner = self.expr()
                self.expect(")")
                return inner
            if token.value == "[":
                return Node("list", None, self.arguments("]"), start=token.start)
            if token.value == "{":
                return Node("map", None, self.entries(), start=token.start)
            if token.value == ".":
                raise Unreadable("leading-dot names")
        raise Unreadable(f"unexpected {token.value!r} at {token.start}")

    def name(self, token: Token) -> Node:
        word = token.value
        if word in RESERVED:
            raise Unreadable(f"reserved word {word!r}")
        if self.is_op("("):
            self.take()
            args = self.arguments(")")
            if word == "has":
                if len(args) != 1 or args[0].kind != "select":
                    raise Unreadable("has() takes one field selection")
                return Node("has", None, args, start=token.start)
            return Node("call", word, args, start=token.start)
        if self.is_op("{"):
            raise Unreadable("message construction")
        return Node("name", word, start=token.start)

    def entries(self) -> tuple[Node, ...]:
        found: list[Node] = []
        if self.is_op("}"):
            self.take()
            return ()
        while True:
            if self.is_op("?"):
                raise Unreadable("optional entry")
            found.append(self.expr())
            self.expect(":")
            found.append(self.expr())
            if self.is_op(","):
                self.take()
                if self.is_op("}"):
                    self.take()
                    return tuple(found)
                continue
            self.expect("}")
            return tuple(found)


def parse(text: str) -> Node:
    """The syntax tree of ``text``; raise ``Unreadable``."""
    parser = _Parser(text)
    node = parser.expr()
    if parser.peek().kind != "end":
        raise Unreadable(f"unexpected {parser.peek().value!r} at {parser.peek().start}")
    return node
