"""The second secrets corpus (bench/secrets_wild.py) and the benchmark's scoring helpers.

The corpus is generated: these tests fail when the committed file and its generator
disagree, when a label does not cover its secret, or when a provider, form or
look-alike family the brief asks for is missing.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest
from bench import secrets_real as real
from bench import secrets_wild as wild
from bench.secrets import Span, provider_of, same_provider, score
from bench.secrets_text import Secret, render
from bench.secrets_wild_forms import FORMS, Names
from bench.secrets_wild_lookalikes import FAMILIES
from bench.secrets_wild_providers import PROVIDERS


@pytest.fixture(scope="module")
def samples() -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = wild.load()
    return loaded


def test_committed_corpus_is_what_the_generator_makes() -> None:
    """An edit by hand, or a generator change without `python -m bench.secrets_wild`,
    fails here."""
    assert wild.check()


def test_every_label_covers_its_secret_and_schema_is_complete(
    samples: list[dict[str, Any]],
) -> None:
    for sample in samples:
        assert set(sample) == {"id", "kind", "family", "provider", "form", "text", "secrets"}
        for label in sample["secrets"]:
            value = sample["text"][label["start"] : label["end"]]
            assert value.strip(), sample["id"]
            assert value == value.strip(), sample["id"]


def test_corpus_is_large_and_broad(samples: list[dict[str, Any]]) -> None:
    secrets = [s for s in samples if s["secrets"]]
    harmless = [s for s in samples if not s["secrets"]]
    assert sum(len(s["secrets"]) for s in secrets) >= 1000
    assert len(harmless) >= 1000
    assert len({s["provider"] for s in secrets}) >= 45
    assert {s["form"] for s in secrets} == set(FORMS)
    assert {s["family"] for s in harmless} == set(FAMILIES)


@pytest.mark.parametrize(
    "slug",
    [
        "twilio", "sendgrid", "huggingface", "shopify", "databricks", "digitalocean",
        "atlassian", "azure", "discord", "mailgun", "heroku", "datadog", "okta", "cloudflare",
    ],
)  # fmt: skip
def test_every_provider_the_issue_names_is_in_the_corpus(
    samples: list[dict[str, Any]], slug: str
) -> None:
    assert any(s["provider"] == slug and s["secrets"] for s in samples)


def test_values_without_a_prefix_are_written_next_to_their_provider_name(
    samples: list[dict[str, Any]],
) -> None:
    unprefixed = {p.type: p for p in PROVIDERS if not p.prefixed and not p.forms}
    for sample in samples:
        for label in sample["secrets"]:
            provider = unprefixed.get(label["type"])
            # An Azure connection string names its provider by its own keys.
            if (
                provider
                and provider.type != "generic_secret"
                and sample["form"] != "azure_connection"
            ):
                text = sample["text"].lower()
                assert provider.words[0] in text or provider.slug in text, sample["id"]


@pytest.mark.parametrize("form", sorted(FORMS))
def test_each_form_labels_the_value_exactly(form: str) -> None:
    rng = random.Random(1)
    value = "Zq7xK2pL9mN4vB8cR1tY5wE3"
    kind, parts = FORMS[form](
        rng, Names(("acme", "api", "key")), "api.acme.com", Secret("t", value)
    )
    text, labels = render(parts)
    assert kind in {"config", "json", "code", "shell", "http", "log", "chat"}
    (label,) = labels
    shown = text[label["start"] : label["end"]]
    assert shown == (value if label["encoding"] is None else real_b64(value))


def real_b64(value: str) -> str:
    import base64

    return base64.b64encode(value.encode()).decode()


def test_generation_is_reproducible_and_seed_dependent() -> None:
    assert wild.dumps(wild.build()) == wild.dumps(wild.build())
    assert wild.dumps(wild.build(wild.SEED + 1)) != wild.dumps(wild.build())


def test_type_accuracy_compares_slugs_and_first_types_in_full() -> None:
    assert same_provider("twilio_api_key", "twilio_token")
    assert not same_provider("twilio_api_key", "generic_secret")
    assert same_provider("aws_access_key", "aws_access_key")
    assert not same_provider("aws_secret_key", "aws_access_key")
    assert provider_of("aws_session_token") == "aws"
    assert provider_of("aws_secret_key") == "aws_secret_key"


def test_score_counts_by_provider_form_and_family() -> None:
    corpus: list[dict[str, Any]] = [
        {"family": "go_var", "form": "go_var", "text": "x = SECRET", "provider": "twilio",
         "secrets": [{"type": "twilio_token", "start": 4, "end": 10, "encoding": None}]},
        {"family": "prose", "form": "prose", "text": "the token expired", "provider": None,
         "secrets": []},
        {"family": "git_sha", "form": "git", "text": "commit abc", "provider": None,
         "secrets": []},
    ]  # fmt: skip

    def scan(text: str) -> list[Span]:
        if text.startswith("x ="):
            return [Span(4, 10, "twilio_api_key")]
        return [Span(0, 3, "generic_secret")] if "token" in text else []

    result = score([{"id": str(i), **s} for i, s in enumerate(corpus)], scan)
    assert result.found_by_provider == Counter({"twilio": 1})
    assert result.typed_by_provider == Counter({"twilio": 1})
    assert result.found_by_form == Counter({"go_var": 1})
    assert result.flagged_by_family == Counter({"prose": 1, "git_sha": 0})
    assert result.harmless_by_family == Counter({"prose": 1, "git_sha": 1})


def test_real_text_shows_only_a_masked_shape() -> None:
    assert real.shape("ghp_Ab12") == "aaa_Aa99 (8)"
    long = real.shape("x" * 40)
    assert long.endswith("… (40)")
    assert "xxxx" not in long
