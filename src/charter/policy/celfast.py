"""Simple CEL conditions, evaluated natively in Python with CEL's exact semantics.

Most conditions compare a value of a request with a constant (``context.amount < 500``,
``agent.riskTier == 'high'``, ``request.action in ['read', 'list']``,
``has(context.ticket) && context.ticket != ''``). Converting the request's values into a
CEL engine costs several times what such a comparison does, so ``compile_native`` turns
an expression of this subset into a Python function that reads the values directly:

- literals: ``int`` (64-bit), ``double``, ``string``, ``bool``, ``null``, and lists of
  them or of the other forms below;
- ``agent``, ``resource``, ``request`` and ``context``, their keys (``context.a.b``,
  ``context['a']``) and ``has(context.a.b)``;
- ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``in``, ``&&``, ``||`` and ``!``.

The semantics are CEL's: ``==`` compares ``int`` and ``double`` numerically (the int
taken as a double, as cel-go and cel-cpp do) and is false (never an error) between other
types, ``1 == true`` included; a string with a lone surrogate is not a CEL string
(``Unsupported``); ``<`` orders numbers,
strings (by code point) and booleans, and is an error between other types; a key
missing without ``has()`` is an error; ``false && x`` is false and ``true || x`` is true
whatever ``x`` is (an error included), and otherwise an error wins. An error raises
``CelError``. A value outside JSON's types (a datetime, a tuple, an int beyond 64 bits,
a map with a key that is not a string) raises ``Unsupported``: the caller then evaluates
the expression with the full engine.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import Any

from charter.policy.celparse import INT64_MAX, INT64_MIN, Node, Unreadable, parse

__all__ = ["CelError", "Native", "Unsupported", "compile_native"]

Native = Callable[[Callable[[str], Any]], bool]
"""A compiled condition: given ``get(variable)``, true or false (or ``CelError``)."""

_Eval = Callable[[Callable[[str], Any]], Any]
MAPS = frozenset({"agent", "resource", "request", "context"})


class CelError(Exception):
    """The expression evaluates to an error (CEL's, for these values)."""


class Unsupported(Exception):
    """A value the native evaluator does not handle: use the full engine."""


class _NotNative(Exception):
    """An expression outside the subset."""


_MISSING = object()


def compile_native(expression: str) -> Native | None:
    """A native evaluator of ``expression``, or None when it is outside the subset."""
    try:
        tree = parse(expression)
        evaluate = _compile(tree)
    except (Unreadable, _NotNative, RecursionError):
        return None
    if tree.kind == "has" or (tree.kind == "call" and tree.value != "_[_]"):
        # Every operator of the subset gives a boolean or raises.
        return evaluate

    def holds(get: Callable[[str], Any]) -> bool:
        result = evaluate(get)
        if result is True or result is False:
            return result
        if _kind(result) is None:
            raise Unsupported
        raise CelError(f"evaluated to {_kind(result)}, not a boolean")

    return holds


# --- values ---------------------------------------------------------------------------


def _kind(value: Any) -> str | None:
    """The CEL type of a value the native evaluator handles, or None."""
    kind = type(value)
    if kind is bool:
        return "bool"
    if kind is int:
        return "int" if INT64_MIN <= value <= INT64_MAX else None
    if kind is float:
        return "double"
    if kind is str:
        return "string" if _valid(value) else None
    if value is None:
        return "null"
    if kind is list:
        return "list"
    if kind is dict:
        return "map"
    return None


_SURROGATE = re.compile("[\ud800-\udfff]")


def _valid(text: str) -> bool:
    """False for a string with a lone surrogate (not Unicode text: CEL has no such
    string, and cel-cpp refuses it)."""
    return text.isascii() or _SURROGATE.search(text) is None


def _equal(left: Any, right: Any) -> bool:
    """CEL's ``==`` (heterogeneous: numbers compare numerically, other types differ)."""
    a, b = _kind(left), _kind(right)
    if a is None or b is None:
        raise Unsupported
    if a in ("int", "double"):
        if b not in ("int", "double"):
            return False
        # An int meets a double as a double, as in cel-go and cel-cpp: 2**63 - 1 equals
        # 9223372036854775808.0.
        return bool(left == right) if a == b else float(left) == float(right)
    if a != b:
        return False
    if a == "list":
        return len(left) == len(right) and all(
            _equal(x, y) for x, y in zip(left, right, strict=True)
        )
    if a == "map":
        if any(type(key) is not str for key in left) or any(type(key) is not str for key in right):
            raise Unsupported
        if len(left) != len(right):
            return False
        for key, value in left.items():
            other = right.get(key, _MISSING)
            if other is _MISSING or not _equal(value, other):
                return False
        return True
    return bool(left == right)


def _order(left: Any, right: Any, operator: str) -> int:
    """Compare for ``<`` and the like: -1, 0 or 1; 2 when unordered (a NaN)."""
    a, b = _kind(left), _kind(right)
    if a is None or b is None:
        raise Unsupported
    numeric = ("int", "double")
    if not ((a in numeric and b in numeric) or (a == b and a in ("string", "bool"))):
        raise CelError(f"no such overload: {a} {operator} {b}")
    if a != b:
        left, right = float(left), float(right)
    if left < right:
        return -1
    if left > right:
        return 1
    if left == right:
        return 0
    return 2


def _select(value: Any, key: str) -> Any:
    if type(value) is dict:
        found = value.get(key, _MISSING)
        if found is _MISSING:
            raise CelError(f"no such key: {key}")
        return found
    kind = _kind(value)
    if kind is None:
        raise Unsupported
    raise CelError(f"type '{kind}' does not support field selection")


def _present(value: Any, key: str) -> bool:
    if type(value) is dict:
        return key in value
    kind = _kind(value)
    if kind is None:
        raise Unsupported
    raise CelError(f"invalid type for field selection: {kind}")


# --- compiling ------------------------------------------------------------------------


def _compile(node: Node) -> _Eval:
    kind = node.kind
    if kind == "literal":
        return _literal(node)
    if kind == "name":
        name = node.value
        if name not in MAPS:
            raise _NotNative(name)
        return lambda get: get(name)
    if kind == "select":
        selected = node.args[0]
        if selected.kind == "name" and selected.value in MAPS:
            return _root_selection(selected.value, node.value)
        return _selection(_compile(selected), node.value)
    if kind == "has":
        inner = node.args[0]
        tested, key = _compile(inner.args[0]), inner.value
        return lambda get: _present(tested(get), key)
    if kind == "list":
        items = tuple(_compile(item) for item in node.args)
        return lambda get: [item(get) for item in items]
    if kind == "call" and node.target is None:
        return _call(node)
    raise _NotNative(kind)


def _literal(node: Node) -> _Eval:
    kind, value = node.value
    if kind not in ("int", "double", "string", "bool", "null"):
        raise _NotNative(kind)
    if kind == "int" and not INT64_MIN <= value <= INT64_MAX:
        raise _NotNative("int out of range")
    return lambda get: value


def _root_selection(name: str, key: str) -> _Eval:
    """``name.key`` for a variable ``name``: the most common operand, in one call."""

    def select(get: Callable[[str], Any]) -> Any:
        value = get(name)
        if type(value) is dict:
            found = value.get(key, _MISSING)
            if found is not _MISSING:
                return found
        return _select(value, key)

    return select


def _selection(operand: _Eval, key: str) -> _Eval:
    def select(get: Callable[[str], Any]) -> Any:
        value = operand(get)
        if type(value) is dict:
            found = value.get(key, _MISSING)
            if found is not _MISSING:
                return found
        return _select(value, key)

    return select


def _call(node: Node) -> _Eval:
    name, args = node.value, node.args
    if name == "_[_]":
        index = args[1]
        if index.kind != "literal" or index.value[0] != "string":
            raise _NotNative("index")
        indexed = args[0]
        if indexed.kind == "name" and indexed.value in MAPS:
            return _root_selection(indexed.value, index.value[1])
        return _selection(_compile(indexed), index.value[1])
    operands = tuple(_compile(arg) for arg in args)
    if name == "!_":
        (operand,) = operands
        return lambda get: _not(operand(get))
    if name == "_&&_":
        return _logic(operands[0], operands[1], absorbing=False)
    if name == "_||_":
        return _logic(operands[0], operands[1], absorbing=True)
    if name in ("_==_", "_!=_"):
        left, right = operands
        for constant, other in ((args[1], left), (args[0], right)):
            if constant.kind == "literal" and constant.value[0] in _SCALARS:
                return _equal_to(other, constant.value[1], negated=name == "_!=_")
        if name == "_==_":
            return lambda get: _equal(left(get), right(get))
        return lambda get: not _equal(left(get), right(get))
    if name in _ORDERS:
        constant = args[1]
        if constant.kind == "literal" and constant.value[0] in ("int", "double"):
            return _compared_to(operands[0], constant.value[1], name)
        return _comparison(operands[0], operands[1], name)
    if name == "@in":
        left, right = operands
        listed = args[1]
        if listed.kind == "list" and all(
            item.kind == "literal" and item.value[0] in _SCALARS for item in listed.args
        ):
            return _in_constants(left, [item.value[1] for item in listed.args])
        return lambda get: _contains(right(get), left(get))
    raise _NotNative(name)


_SCALARS = frozenset({"int", "double", "string", "bool"})


def _equal_to(operand: _Eval, constant: Any, *, negated: bool) -> _Eval:
    """``operand == constant`` (or ``!=``), the same type compared in line."""
    kind = type(constant)

    def equal(get: Callable[[str], Any]) -> bool:
        value = operand(get)
        if type(value) is kind and (
            (kind is not int or INT64_MIN <= value <= INT64_MAX)
            and (kind is not str or _valid(value))
        ):
            return bool(value != constant) if negated else bool(value == constant)
        return _equal(value, constant) is not negated

    return equal


def _in_constants(operand: _Eval, constants: list[Any]) -> _Eval:
    """``operand in [constants]``: a string is looked up in a set (a string equals only
    a string); anything else is compared with each constant as ``==`` does."""
    strings = frozenset(value for value in constants if type(value) is str)

    def contained(get: Callable[[str], Any]) -> bool:
        value = operand(get)
        if type(value) is str and _valid(value):
            return value in strings
        if _kind(value) is None:
            raise Unsupported
        return any(_equal(value, constant) for constant in constants)

    return contained


def _not(value: Any) -> bool:
    if value is True or value is False:
        return not value
    kind = _kind(value)
    if kind is None:
        raise Unsupported
    raise CelError(f"no such overload: !{kind}")


def _logic(left: _Eval, right: _Eval, *, absorbing: bool) -> _Eval:
    """``&&`` (``absorbing`` False) or ``||`` (True), commutative as CEL's: the
    absorbing value on either side wins over an error or a non-boolean."""

    def evaluate(get: Callable[[str], Any]) -> Any:
        try:
            first = left(get)
        except CelError as error:
            first = error
        if first is absorbing:
            return absorbing
        try:
            second = right(get)
        except CelError as error:
            second = error
        if second is absorbing:
            return absorbing
        for side in (first, second):
            if isinstance(side, CelError):
                raise side
            if side is not True and side is not False:
                kind = _kind(side)
                if kind is None:
                    raise Unsupported
                raise CelError(f"no such overload: {'||' if absorbing else '&&'} on {kind}")
        return not absorbing

    return evaluate


_ORDERS: dict[str, tuple[str, Callable[[int], bool]]] = {
    "_<_": ("<", lambda order: order == -1),
    "_<=_": ("<=", lambda order: order in (-1, 0)),
    "_>_": (">", lambda order: order == 1),
    "_>=_": (">=", lambda order: order in (1, 0)),
}


_OPERATORS = {"_<_": operator.lt, "_<=_": operator.le, "_>_": operator.gt, "_>=_": operator.ge}


def _compared_to(operand: _Eval, constant: float, name: str) -> _Eval:
    """``operand < constant`` and the like for a number ``constant``, in line."""
    symbol, accept = _ORDERS[name]
    compare = _OPERATORS[name]
    kind = type(constant)
    as_double = float(constant)

    def compared(get: Callable[[str], Any]) -> bool:
        value = operand(get)
        found = type(value)
        if found is kind and (kind is float or INT64_MIN <= value <= INT64_MAX):
            return bool(compare(value, constant))
        if found is float or (found is int and INT64_MIN <= value <= INT64_MAX):
            return bool(compare(float(value), as_double))  # an int meets a double as a double
        return accept(_order(value, constant, symbol))

    return compared


def _comparison(left: _Eval, right: _Eval, name: str) -> _Eval:
    symbol, accept = _ORDERS[name]

    def compare(get: Callable[[str], Any]) -> bool:
        a, b = left(get), right(get)
        # The common case first: two 64-bit ints, a double, or two strings.
        ta, tb = type(a), type(b)
        if (
            (ta is int or ta is float)
            and (tb is int or tb is float)
            and (ta is float or INT64_MIN <= a <= INT64_MAX)
            and (tb is float or INT64_MIN <= b <= INT64_MAX)
        ) or (ta is str and tb is str and _valid(a) and _valid(b)):
            if ta is not tb:
                a, b = float(a), float(b)  # an int meets a double as a double
            if symbol == "<":
                return bool(a < b)
            if symbol == "<=":
                return bool(a <= b)
            if symbol == ">":
                return bool(a > b)
            return bool(a >= b)
        return accept(_order(a, b, symbol))

    return compare


def _contains(container: Any, item: Any) -> bool:
    kind = _kind(container)
    if kind == "list":
        if _kind(item) is None:
            raise Unsupported
        return any(_equal(item, element) for element in container)
    if kind == "map":
        if type(item) is str and _valid(item):
            return item in container
        key = _kind(item)
        if key in ("null", "list", "map"):
            raise CelError(f"no such overload: {key} in map")
        if key is None or any(type(each) is not str for each in container):
            raise Unsupported
        return False  # a number or a boolean is never a string key
    if kind is None or _kind(item) is None:
        raise Unsupported
    raise CelError(f"no such overload: {_kind(item)} in {kind}")
