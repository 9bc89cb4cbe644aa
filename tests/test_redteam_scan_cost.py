"""The secrets scanner's cost grows with the request, not with its square.

A decision request of 900 KB made of one JWT header repeated (``eyJhbGciOi...``) held a
server thread for over 30 seconds: every piece is a hit, and choosing among
overlapping hits compared each with every hit kept so far.
"""

from __future__ import annotations

import random
import time

from charter.secrets import _LOCAL
from charter.secrets.matching import Hit, without_overlaps


def _reference(hits: list[Hit]) -> list[Hit]:
    """The rule, written the obvious (quadratic) way."""
    kept: list[Hit] = []
    ranked = sorted(hits, key=lambda h: (-h.priority, -h.confidence, h.start - h.end))
    for hit in ranked:
        if not any(k.index == hit.index and k.start < hit.end and hit.start < k.end for k in kept):
            kept.append(hit)
    return sorted(kept, key=lambda h: (h.index, h.start))


def _hit(index: int, start: int, length: int, confidence: float, priority: int) -> Hit:
    return Hit(index, "t", start, start + length, confidence, priority, "s" * length)


def test_the_overlap_rule_keeps_what_it_always_kept() -> None:
    chance = random.Random(7)
    for _ in range(300):
        hits = [
            _hit(
                chance.randrange(3),
                chance.randrange(200),
                chance.randrange(1, 40),
                chance.choice([0.5, 0.7, 0.9, 0.99]),
                chance.randrange(4),
            )
            for _ in range(chance.randrange(60))
        ]
        assert without_overlaps(hits) == _reference(hits)


def test_choosing_among_many_hits_takes_no_quadratic_time() -> None:
    hits = [_hit(0, 21 * n, 20, 0.9, 2) for n in range(40_000)]
    hits += [_hit(0, 21 * n + 5, 30, 0.8, 1) for n in range(40_000)]  # each overlaps two
    started = time.monotonic()
    kept = without_overlaps(hits)
    assert time.monotonic() - started < 2.0  # the quadratic rule took minutes
    assert len(kept) == 40_000


def test_a_request_of_repeated_token_pieces_is_scanned_in_linear_time() -> None:
    text = "eyJhbGciOiJIUzI1NiJ9." * 25_000  # 525 KB
    started = time.monotonic()
    _LOCAL.mask({"input": text})
    assert time.monotonic() - started < 6.0  # the quadratic rule took about 15 s
