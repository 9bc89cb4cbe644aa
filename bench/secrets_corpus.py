"""The labelled secrets corpus: generated from one seed, written to bench/data.

Run: `python -m bench.secrets_corpus` writes bench/data/secrets_corpus.jsonl (byte for byte
the same every time); `--check` fails if the committed file differs from what the
generator makes now. One JSON object a line:

    {"id", "kind", "family", "text", "secrets": [{"type", "start", "end", "encoding"}]}

``kind`` is the surrounding (json, log, config, chat, http, shell, code); ``family`` the
template or look-alike family it came from; each secret's ``start``/``end`` are character
offsets into ``text`` of the secret as written there, its encoded form when ``encoding``
is ``"base64"`` or ``"url"``. The secrets come from bench/secrets_positive.py (fake
credentials in the providers' formats, bench/secrets_formats.py), the samples without
any from bench/secrets_benign.py.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from bench.secrets_benign import benign_samples
from bench.secrets_positive import positive_samples
from bench.secrets_text import render

SEED = 20261201
CORPUS = Path(__file__).resolve().parent / "data" / "secrets_corpus.jsonl"


def _check_label(text: str, label: dict[str, Any]) -> None:
    """A label must cover a non-empty span, and its encoded form must decode."""
    value = text[label["start"] : label["end"]]
    if not value.strip():
        raise ValueError(f"empty secret span {label}")
    if label["encoding"] == "base64":
        base64.b64decode(value, validate=True)
    elif label["encoding"] == "url" and unquote(value) == value:
        raise ValueError(f"URL-encoded label with nothing encoded: {value!r}")


def build(seed: int = SEED) -> list[dict[str, Any]]:
    """Every sample, shuffled, with ids in file order."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible corpus of fake secrets
    samples: list[dict[str, Any]] = []
    for kind, family, parts in positive_samples(rng):
        text, labels = render(parts)
        for label in labels:
            _check_label(text, label)
        samples.append({"kind": kind, "family": family, "text": text, "secrets": labels})
    for kind, family, text in benign_samples(rng):
        samples.append({"kind": kind, "family": family, "text": text, "secrets": []})
    rng.shuffle(samples)
    return [{"id": f"s{index:04d}", **sample} for index, sample in enumerate(samples, 1)]


def dumps(samples: list[dict[str, Any]]) -> str:
    """The JSONL text of ``samples``."""
    return "".join(json.dumps(sample) + "\n" for sample in samples)


def load(path: Path = CORPUS) -> list[dict[str, Any]]:
    """The samples of a corpus file."""
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def main(argv: list[str] | None = None) -> int:
    """Write the corpus, or with ``--check`` compare it with the committed file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    samples = build()
    text = dumps(samples)
    if args.check:
        if not CORPUS.exists() or CORPUS.read_text(encoding="utf-8") != text:
            print(f"{CORPUS} differs from what the generator makes", file=sys.stderr)
            return 1
        return 0
    CORPUS.parent.mkdir(parents=True, exist_ok=True)
    CORPUS.write_text(text, encoding="utf-8")
    secrets = [label for sample in samples for label in sample["secrets"]]
    types = {label["type"] for label in secrets}
    encoded = sum(label["encoding"] is not None for label in secrets)
    benign = sum(not sample["secrets"] for sample in samples)
    print(
        f"{CORPUS}: {len(samples)} samples, {len(secrets)} secrets of {len(types)} types "
        f"({encoded} encoded), {benign} samples without secrets"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
