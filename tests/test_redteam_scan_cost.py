"""The secrets scanner's cost grows with the request, not with its square.

A decision request of 900 KB made of one JWT header repeated (``eyJhbGciOi...``) held a
server thread for over 30 seconds: every piece is a hit, and choosing among
overlapping hits compared each with every hit kept so far. One made of PEM openings
(``-----BEGIN PRIVATE KEY-----``) took 8 s: each opening looked 16 KB ahead for its end.

Each check times the same work at one size and at four times it, on the thread's own CPU
clock and the best of three tries: linear work takes about four times as long, quadratic
work sixteen. A ratio, unlike a bound in seconds, holds on a slow or loaded machine.
"""

from __future__ import annotations

import random
import re
import string
import time
from collections.abc import Callable

from charter.secrets import _LOCAL, matching
from charter.secrets.matching import Hit, without_overlaps
from charter.secrets.rules import secret_span


def _reference(hits: list[Hit]) -> list[Hit]:
    """The rule, written the obvious (quadratic) way."""
    kept: list[Hit] = []
    ranked = sorted(hits, key=lambda h: (-h.priority, -h.confidence, h.start - h.end))
    for hit in ranked:
        if not any(k.index == hit.index and k.start < hit.end and hit.start < k.end for k in kept):
            kept.append(hit)
    return sorted(kept, key=lambda h: (h.index, h.start))


GROWTH = 4  # the larger size is this many times the smaller
LINEAR = 8.0  # at most this ratio: between linear (4) and quadratic (16) growth


def _seconds(work: Callable[[], object]) -> float:
    """The best of three runs of ``work``, in the calling thread's CPU seconds."""
    best = float("inf")
    for _ in range(3):
        started = time.thread_time()
        work()
        best = min(best, time.thread_time() - started)
    return best


def _growth(work: Callable[[int], object], size: int) -> float:
    """How many times longer ``work`` takes at ``GROWTH`` times ``size``."""
    small = _seconds(lambda: work(size))
    large = _seconds(lambda: work(GROWTH * size))
    return large / max(small, 1e-6)


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


def _overlapping(count: int) -> list[Hit]:
    hits = [_hit(0, 21 * n, 20, 0.9, 2) for n in range(count)]
    return hits + [_hit(0, 21 * n + 5, 30, 0.8, 1) for n in range(count)]  # each overlaps two


def test_choosing_among_many_hits_takes_no_quadratic_time() -> None:
    assert len(without_overlaps(_overlapping(40_000))) == 40_000
    prepared = {count: _overlapping(count) for count in (2_000, 2_000 * GROWTH)}
    assert _growth(lambda count: without_overlaps(prepared[count]), 2_000) < LINEAR


def test_a_request_of_repeated_token_pieces_is_scanned_in_linear_time() -> None:
    piece = "eyJhbGciOiJIUzI1NiJ9."  # the quadratic rule took 15 s on 25,000 of them
    assert _growth(lambda count: _LOCAL.mask({"input": piece * count}), 4_000) < LINEAR


_OLD_PEM = re.compile(
    r"-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----"
    r".{0,16384}?-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----",
    re.DOTALL,
)


def test_a_private_key_block_is_found_as_the_one_regular_expression_found_it() -> None:
    chance = random.Random(11)
    body = "".join(chance.choice(string.ascii_letters + string.digits + "+/") for _ in range(900))
    pieces = [
        "-----BEGIN PRIVATE KEY-----\n",
        "-----BEGIN RSA PRIVATE KEY-----\n",
        "-----BEGIN OPENSSH PRIVATE KEY BLOCK-----\n",
        "-----END PRIVATE KEY-----\n",
        "-----END RSA PRIVATE KEY-----",
        "-----END PRIVATE KEY BLOCK-----",
        "-----END CERTIFICATE-----\n",
        "------END PRIVATE KEY-----",
        "-----END PRIVATE KEY------END PRIVATE KEY-----",
        body[: chance.randrange(10, 900)] + "\n",
        "x" * 16_300,
        "\n",
    ]
    family = matching.FAMILIES[0]
    assert family.rules[0].closer is not None  # the PEM family, first
    positives = 0
    for _ in range(600):
        text = "".join(chance.choice(pieces) for _ in range(chance.randrange(1, 12)))
        for found in re.finditer("-----BEGIN", text):
            old = _OLD_PEM.match(text, found.start())
            hit = matching._family_hit(family, 0, text, found.start())
            check = family.rules[0].check
            expected = old is not None and (check is None or check(old.group(0)) is not None)
            if expected:
                positives += 1
                assert hit is not None, text
                assert old is not None
                inner_start, inner_end = secret_span("private_key", old.group(0))
                assert hit.secret == old.group(0)[inner_start:inner_end]
                assert (hit.start, hit.end) == (old.start() + inner_start, old.start() + inner_end)
            elif hit is not None:  # only the second rule (a key cut short) may find one
                assert hit.confidence == family.rules[1].confidence, text
    assert positives > 20


def test_a_request_of_key_openings_without_an_end_is_scanned_in_linear_time() -> None:
    # Each opening looked up to 16 KB ahead (8 s for 32,000 of them): quadratic while the
    # text is shorter than that, so the sizes here stay under 16 KB, scanned ten times.
    opening = "-----BEGIN PRIVATE KEY-----\n"
    texts = {count: {"input": opening * count} for count in (128, 128 * GROWTH)}
    assert _growth(lambda count: [_LOCAL.mask(texts[count]) for _ in range(10)], 128) < LINEAR
