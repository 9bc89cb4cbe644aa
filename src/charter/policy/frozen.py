"""Condition variables as hashable keys, so a condition's outcome can be remembered.

A CEL condition reads nothing but its variables, so what it gave for some values it
gives again for the same values. ``freeze`` turns the values into a key that is equal
only for values CEL cannot tell apart: the type is part of every scalar (``1``,
``1.0`` and ``true`` are three keys, though Python finds them equal), floats are
compared by their exact bits, maps by their entries in order and lists by their items
(an empty map and an empty list are different keys). Anything else (a
datetime, an ``int`` subclass, a non-string map key) is not frozen, and neither is a
value too large to be worth keeping: the condition then simply runs.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

__all__ = ["BUDGET", "Unfreezable", "freeze", "freeze_part"]

BUDGET = 16
"""How much one key may hold: a unit per value, and one more per 64 characters of a
string or a map key. Conditions read a few small values; a key is kept for every outcome
remembered, so a large one is not worth its memory."""


class Unfreezable(Exception):
    """A value that is not kept as a key."""


def freeze(value: Any, budget: list[int]) -> Hashable:
    """``value`` as a hashable key, spending ``budget[0]``; raise ``Unfreezable``.

    Scalars inside maps and lists are frozen in line: this runs for every condition a
    request reaches, and a call per scalar would cost more than the rest.
    """
    kind = type(value)
    if kind is dict:
        budget[0] -= 1 + len(value)
        items: list[Hashable] = []
        for key, item in value.items():
            if type(key) is not str:
                raise Unfreezable
            kind = type(item)
            if kind is str:
                budget[0] -= (len(key) + len(item)) >> 6
                items.append((key, kind, item))
            elif kind is int or kind is bool or item is None:
                items.append((key, kind, item))
            else:
                budget[0] -= len(key) >> 6
                items.append((key, freeze(item, budget)))
        if budget[0] < 0:
            raise Unfreezable
        # In the map's order: the same map in another order is a miss, never a wrong hit.
        return tuple(items)
    if kind is list or kind is tuple:
        budget[0] -= 1 + len(value)
        if budget[0] < 0:
            raise Unfreezable
        return list, tuple([freeze(item, budget) for item in value])
    if kind is str:
        budget[0] -= 1 + (len(value) >> 6)
        if budget[0] < 0:
            raise Unfreezable
        return kind, value
    if kind is int or kind is bool or value is None:
        return kind, value
    if kind is float:
        return kind, value.hex()  # tells -0.0 from 0.0; every NaN alike
    raise Unfreezable


def freeze_part(value: Any, keys: tuple[str, ...] | None, budget: list[int]) -> Hashable:
    """``freeze(value)``, or with ``keys``, of only those entries of the map ``value``
    (a key it lacks counts too: a condition may ask ``has()``)."""
    if keys is None:
        return freeze(value, budget)
    return tuple([(key, freeze(value[key], budget)) if key in value else (key,) for key in keys])
