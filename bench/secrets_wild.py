"""The second labelled corpus: many providers, every common form, many look-alikes.

Run: `python -m bench.secrets_wild` writes bench/data/secrets_wild.jsonl (byte for byte
the same every time, from one seed); `--check` fails if the committed file differs from
what the generator makes now. Same schema as bench/data/secrets_corpus.jsonl, one JSON
object a line, with two more fields:

    {"id", "kind", "family", "provider", "form", "text",
     "secrets": [{"type", "start", "end", "encoding"}]}

It is built independently of the first corpus and of the scanner's rules, from the
providers' published formats (bench/secrets_wild_providers.py) written in the ways people
write secrets down (bench/secrets_wild_forms.py), beside harmless look-alikes
(bench/secrets_wild_lookalikes.py). Each provider gets `PER_PROVIDER` secrets, each in a
form chosen among the least used so far, so every form is used about as often as the
others. A value without a distinctive prefix is always written next to its provider's
name; a prefixed value may stand alone in prose or under a neutral name (``API_TOKEN``).
A sample holding a secret has ``family`` equal to its ``form``; a look-alike's ``family``
is the look-alike family.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote

from bench.secrets_corpus import _check_label
from bench.secrets_text import Secret, render
from bench.secrets_wild_forms import BARE_FORMS, FORMS, MULTILINE_FORMS, Names
from bench.secrets_wild_lookalikes import FAMILIES
from bench.secrets_wild_providers import PROVIDERS, Provider

SEED = 20261205
CORPUS = Path(__file__).resolve().parent / "data" / "secrets_wild.jsonl"
PER_PROVIDER = 10
PER_FAMILY = 50

NEUTRAL_WORDS = (
    ("api", "token"),
    ("auth", "token"),
    ("secret",),
    ("credentials",),
    ("access", "key"),
)
"""Names that do not say whose credential it is, for values whose prefix says it."""

PASSWORD_ONLY = {"url_userinfo", "jdbc", "cli_mysql"}
"""Forms whose surroundings are a database login: only for passwords."""

PROVIDER_ONLY = {"azure_connection": {"azure_storage_key"}}
"""Forms that belong to one provider's credential."""


def _eligible(provider: Provider, value: str) -> list[str]:
    """The forms ``value`` of ``provider`` can be written in."""
    if provider.forms:
        return list(provider.forms)
    names = []
    for name in FORMS:
        if name in PROVIDER_ONLY and provider.type not in PROVIDER_ONLY[name]:
            continue
        if name in BARE_FORMS and not provider.prefixed:
            continue
        if name in PASSWORD_ONLY and provider.type not in ("generic_secret", "url_password"):
            continue
        if name == "curl_user" and quote(value, safe="-._~+/=") != value:
            continue
        if "\n" in value and name not in MULTILINE_FORMS:
            continue
        names.append(name)
    return names


def _secret_samples(rng: random.Random) -> list[dict[str, Any]]:
    used: Counter[str] = Counter()
    samples = []
    for provider in PROVIDERS:
        for _ in range(PER_PROVIDER):
            value = provider.make(rng)
            forms = _eligible(provider, value)
            fewest = min(used[name] for name in forms)
            form = rng.choice([name for name in forms if used[name] == fewest])
            used[form] += 1
            words = provider.words
            if provider.prefixed and rng.random() < 0.25:
                words = rng.choice(NEUTRAL_WORDS)
            host = f"api.{provider.slug}.com"
            kind, parts = FORMS[form](rng, Names(words), host, Secret(provider.type, value))
            text, labels = render(parts)
            for label in labels:
                _check_label(text, label)
            samples.append(
                {
                    "kind": kind,
                    "family": form,
                    "provider": provider.slug,
                    "form": form,
                    "text": text,
                    "secrets": labels,
                }
            )
    return samples


def _lookalike_samples(rng: random.Random) -> list[dict[str, Any]]:
    samples: list[dict[str, Any]] = []
    for family, make in FAMILIES.items():
        for _ in range(PER_FAMILY):
            kind, form, provider, text = make(rng)
            samples.append(
                {
                    "kind": kind,
                    "family": family,
                    "provider": provider,
                    "form": form,
                    "text": text,
                    "secrets": [],
                }
            )
    return samples


def build(seed: int = SEED) -> list[dict[str, Any]]:
    """Every sample, shuffled, with ids in file order."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible corpus of fake secrets
    samples = _secret_samples(rng) + _lookalike_samples(rng)
    rng.shuffle(samples)
    return [{"id": f"w{index:04d}", **sample} for index, sample in enumerate(samples, 1)]


def dumps(samples: list[dict[str, Any]]) -> str:
    """The JSONL text of ``samples``."""
    return "".join(json.dumps(sample) + "\n" for sample in samples)


def load(path: Path = CORPUS) -> list[dict[str, Any]]:
    """The samples of the corpus file."""
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def check() -> bool:
    """Whether the committed file is what the generator makes now."""
    return CORPUS.exists() and CORPUS.read_text(encoding="utf-8") == dumps(build())


def main(argv: list[str] | None = None) -> int:
    """Write the corpus, or with ``--check`` compare it with the committed file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    if args.check:
        if not check():
            print(f"{CORPUS} differs from what the generator makes", file=sys.stderr)
            return 1
        return 0
    samples = build()
    CORPUS.parent.mkdir(parents=True, exist_ok=True)
    CORPUS.write_text(dumps(samples), encoding="utf-8")
    secrets = [label for sample in samples for label in sample["secrets"]]
    providers = {sample["provider"] for sample in samples if sample["secrets"]}
    forms = {sample["form"] for sample in samples if sample["secrets"]}
    benign = [sample for sample in samples if not sample["secrets"]]
    print(
        f"{CORPUS}: {len(samples)} samples, {len(secrets)} secrets of {len(providers)} "
        f"providers in {len(forms)} forms, {len(benign)} look-alikes in "
        f"{len({s['family'] for s in benign})} families"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
