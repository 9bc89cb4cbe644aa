"""The providers' token formats beyond the first few of ``rules.py``: one family per
distinctive prefix or shape, each with the issuer's published alphabet and length.

A format with a prefix of its own (``SG.``, ``hf_``, ``dop_v1_``) is found wherever it
is written: the prefix goes into the scanner's one automaton. A format without one (a
bare hex string, a UUID, 40 characters of base62) is only a secret next to the
provider's name, so there the name is the family's prefix and the rule reads the name,
the way it is assigned (``=``, ``:``, ``:=``, ``=>``, a call's ``,``, an XML ``>``...)
and the value in the provider's shape; the rule's group is the value alone.

Prefixes are spelt as character classes (``[Tt][Ww]...``), never ``(?i)``: Python's
``re`` then skips quickly to where one can start (see ``rules._any_case``).
"""

from __future__ import annotations

import itertools
import re

from charter.secrets.filters import entropy, is_hex, is_placeholder, is_stand_in
from charter.secrets.rules import Check, Family, Rule

__all__ = ["FAMILIES", "NAMED", "NAMED_FAMILIES", "PREFIXED", "TYPES"]

PREFIXED = 0.95
"""How sure a distinctive prefix with its exact length and alphabet is."""
NAMED = 0.8
"""How sure a shapeless value next to the provider's name is."""


def _any_case(word: str) -> str:
    """``word`` with each letter as a class of both cases: ``[Dd][Aa]...``."""
    return re.sub(r"[A-Za-z]", lambda m: f"[{m.group().upper()}{m.group().lower()}]", word)


def _random(confidence: float, skip: int = 0) -> Check:
    """Drop a value whose random part (after ``skip`` fixed characters) is a stand-in
    (``filters.is_stand_in``: a placeholder, a published example, words, runs and
    repeats), or too uniform to have been generated."""

    def check(value: str) -> float | None:
        body = value[skip:]
        if is_stand_in(value, skip) or is_placeholder(body) or _counts_up(body):
            return None
        if len(body) >= 16 and entropy(body) < 2.5:
            return None
        if len(body) <= 80 and _REPEAT.search(body):
            return None  # aaaaaa..., 777777: typed, not generated
        return confidence

    return check


_REPEAT = re.compile(r"([^A])\1{5}")  # runs of A: base64 of zero bytes, in real tokens too
_RUN = 8
"""A generated value almost never holds this many characters counting up (``abcdefgh``,
``01234567``): documentation's made-up values do."""


def _counts_up(body: str) -> bool:
    lowered, run = body.lower(), 1
    for a, b in itertools.pairwise(lowered):
        run = run + 1 if ord(b) - ord(a) == 1 and b.isalnum() else 1
        if run >= _RUN:
            return True
    return False


def _not_a_number(confidence: float, skip: int) -> Check:
    """``_random``, and a prefix followed by digits alone is a number (an order's, a
    SKU: ``SK8392…``), not a key."""
    plausible = _random(confidence, skip)

    def check(value: str) -> float | None:
        return None if value[skip:].isdigit() else plausible(value)

    return check


def _token(kind: str, prefix: str, pattern: str, *, confidence: float = PREFIXED) -> Family:
    """A format with a prefix of its own: found in any surroundings. ``prefix`` is what
    the automaton looks for (no counted repetitions); ``pattern`` the exact shape from
    there, its fixed start skipped by the randomness check."""
    literal = re.match(r"[A-Za-z0-9_\-]*", prefix.removeprefix(r"\b"))
    fixed = len(literal.group(0)) if literal else 0
    return Family(prefix, (Rule(kind, pattern, confidence, _not_a_number(confidence, fixed)),))


# How a value is assigned to a name that holds the provider's: the rest of the name, a
# closing quote or bracket, a type (Go ``string``, Kotlin ``: String``), the operator
# (``=``, ``:``, ``:=``, ``::=``, ``:::=``, ``?=``, ``.=``, ``??=``, ``=>``, a call's
# ``,``, XML's ``>``, HCL's ``{``, a command-line flag's space), perhaps one nested key
# (``datadog:\n  api_key: ...``, ``{ default = ...``), and an opening quote.
_NOT_SECRET_WORDS = (
    "id", "ids", "sid", "url", "uri", "name", "host", "site", "region", "email",
    "sha", "hash", "digest", "checksum", "commit", "version", "release", "build",
)  # fmt: skip
"""Where a name ends so, the value is not its secret (``twilio_account_sid``)."""
_NOT_SECRET_ENDINGS = "".join(f"(?<!{_any_case(word)})" for word in _NOT_SECRET_WORDS)
_ASSIGNMENT = (
    r"(?:[A-Za-z0-9_.\-]{1,40}" + _NOT_SECRET_ENDINGS + r")?(?:[\"'`]|&quot;)?\]?"
    r"(?:[ \t]*:?[ \t]*(?:string|String|str)\??)?"
    r"[ \t]*(?:\?\?=|:{1,3}=|[?.+]?=>?|:|,|>|\{|[ \t](?=[ \t]*[\"'A-Za-z0-9_+/\-]))"
    r"\s{0,12}(?:[\"'`]?[A-Za-z_][A-Za-z0-9_.\-]{0,30}"
    + _NOT_SECRET_ENDINGS
    + r"[\"'`]?[ \t]*[:=][ \t]*)?"
    r"(?:[\"'`]|&quot;)?"
)


_WORD_START = r"(?:(?<![A-Za-z])|(?<=[a-z])(?=[A-Z]))"
"""The provider's name starts a word (``okta_``, ``MY_OKTA``, ``myOkta``), not inside one
(``rookTable``)."""


def _named(
    names: tuple[str, ...], *shapes: tuple[str, str], confidence: float = NAMED, cased: bool = False
) -> Family:
    """Values in the provider's shapes, ``(type, pattern)`` tried in order, next to one
    of its ``names`` (regular expressions, read in any case unless ``cased``: then as
    written, for a name that is also the start of common words, ``sumOf``)."""
    name = "(?:" + "|".join(n if cased else _any_case(n) for n in names) + ")"
    rules = tuple(
        Rule(
            shape_kind,
            _WORD_START + name + _ASSIGNMENT + f"(?P<secret>{shape})(?![A-Za-z0-9_\\-+/=])",
            confidence,
            _random(confidence),
            group="secret",
        )
        for shape_kind, shape in shapes
    )
    return Family(name, rules)


_HEX32 = r"[0-9a-fA-F]{32}"
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


def _alnum(n: int | str) -> str:
    return f"[A-Za-z0-9]{{{n}}}"


def _extended(n: int | str) -> str:
    """Base62 with ``_``, ``-`` and ``=``."""
    return f"[A-Za-z0-9_=\\-]{{{n}}}"


# --- Formats with a prefix of their own ----------------------------------------------

_PREFIXED: tuple[Family, ...] = (
    _token(
        "twilio_api_key",
        r"\bSK[0-9a-fA-F][0-9a-fA-F][0-9a-fA-F][0-9a-fA-F]",
        r"\bSK[0-9a-fA-F]{32}\b",
    ),
    _token(
        "sendgrid_api_key",
        r"\bSG\.[A-Za-z0-9_\-]",
        # Issued as SG.<22>.<43>; some tools write the 66 characters after SG. in one run.
        r"\bSG\.(?:[A-Za-z0-9_\-]{16,32}\.[A-Za-z0-9_\-]{40,50}|[A-Za-z0-9_=.\-]{66})"
        r"(?![A-Za-z0-9_=.\-])",
    ),
    _token("huggingface_token", r"\bhf_[A-Za-z]", r"\bhf_[A-Za-z0-9]{34}\b"),
    _token("huggingface_token", r"\bapi_org_[A-Za-z]", r"\bapi_org_[A-Za-z0-9]{34}\b"),
    _token("shopify_token", r"\bshp(?:at|ca|pa)_", r"\bshp(?:at|ca|pa)_[a-fA-F0-9]{32}\b"),
    _token("shopify_secret", r"\bshpss_", r"\bshpss_[a-fA-F0-9]{32}\b"),
    _token("databricks_token", r"\bdapi[0-9a-f]", r"\bdapi[0-9a-f]{32}(?:-[0-9])?\b"),
    _token("digitalocean_token", r"\bdo[opr]_v1_", r"\bdo[opr]_v1_[a-f0-9]{64}\b"),
    _token(
        "atlassian_api_token",
        r"\bAT[AC]TT3",
        r"\bAT[AC]TT3[A-Za-z0-9_\-=]{150,220}(?![A-Za-z0-9_\-=])",
    ),
    _token("heroku_api_key", r"\bHRKU-AA", r"\bHRKU-AA[0-9a-zA-Z_\-]{58}(?![0-9a-zA-Z_\-])"),
    _token("google_oauth_secret", r"\bGOCSPX-", r"\bGOCSPX-[A-Za-z0-9_\-]{28}(?![A-Za-z0-9_\-])"),
    _token(
        "google_oauth_token",
        r"\bya29\.[A-Za-z0-9_\-]",
        r"\bya29\.[A-Za-z0-9_\-]{30,1000}(?![A-Za-z0-9_\-])",
    ),
    _token(
        "hashicorp_vault_token",
        r"\bhv[sb]\.[A-Za-z0-9_\-]",
        r"\bhv[sb]\.[A-Za-z0-9_\-]{90,300}(?![A-Za-z0-9_\-])",
    ),
    Family(
        r"\.atlasv1\.",
        (
            Rule(
                "hashicorp_terraform_token",
                r"[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=\-]{60,70}(?![A-Za-z0-9_=\-])",
                PREFIXED,
                _random(PREFIXED),
            ),
        ),
        lead=r"(?<![A-Za-z0-9])[A-Za-z0-9]{14}$",
    ),
    _token(
        "doppler_token",
        r"\bdp\.(?:pt|st|sa|ct|scim|audit)\.",
        r"\bdp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,44}\b",
    ),
    _token("dynatrace_token", r"\bdt0c01\.", r"\bdt0c01\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{64}\b"),
    _token("postman_api_key", r"\bPMAK-", r"\bPMAK-[a-fA-F0-9]{24}-[a-fA-F0-9]{34}\b"),
    _token("pulumi_token", r"\bpul-[0-9a-f]", r"\bpul-[a-f0-9]{40}\b"),
    _token("linear_api_key", r"\blin_api_", r"\blin_api_[A-Za-z0-9]{40}\b"),
    _token("linear_token", r"\blin_oauth_", r"\blin_oauth_[a-f0-9]{64}\b"),
    _token("newrelic_api_key", r"\bNRAK-", r"\bNRAK-[A-Za-z0-9]{27}\b"),
    _token("newrelic_key", r"\bNRII-", r"\bNRII-[A-Za-z0-9\-]{32}(?![A-Za-z0-9\-])"),
    _token("newrelic_token", r"\bNRJS-", r"\bNRJS-[a-f0-9]{19}\b"),
    _token("grafana_token", r"\bglc_", r"\bglc_[A-Za-z0-9+/]{32,400}={0,3}(?![A-Za-z0-9+/=])"),
    _token("grafana_token", r"\bglsa_", r"\bglsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}\b"),
    _token(
        "grafana_api_key", r"\beyJrIjoi", r"\beyJrIjoi[A-Za-z0-9]{70,400}={0,3}(?![A-Za-z0-9=])"
    ),
    _token("sentry_token", r"\bsntryu_", r"\bsntryu_[a-f0-9]{64}\b"),
    _token(
        "sentry_token", r"\bsntrys_eyJ", r"\bsntrys_eyJ[A-Za-z0-9+/=]{40,400}_[A-Za-z0-9+/]{43}"
    ),
    _token("square_token", r"\bsq0atp-", r"\bsq0atp-[A-Za-z0-9_\-]{22,60}(?![A-Za-z0-9_\-])"),
    _token("square_secret", r"\bsq0csp-", r"\bsq0csp-[A-Za-z0-9_\-]{43}(?![A-Za-z0-9_\-])"),
    _token("square_token", r"\bEAAA[A-Za-z0-9]", r"\bEAAA[A-Za-z0-9_\-]{22,60}(?![A-Za-z0-9_\-])"),
    _token(
        "age_secret_key",
        r"AGE-SECRET-KEY-1",
        r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}\b",
    ),
    _token("alibaba_access_key", r"\bLTAI[A-Za-z0-9]", r"\bLTAI[A-Za-z0-9]{20}\b"),
    _token(
        "airtable_token", r"\bpat[A-Za-z0-9]+\.[0-9a-f]", r"\bpat[A-Za-z0-9]{14}\.[a-f0-9]{64}\b"
    ),
    _token("artifactory_api_key", r"\bAKCp[A-Za-z0-9]", r"\bAKCp[A-Za-z0-9]{69}\b"),
    _token("artifactory_token", r"\bcmVmd[A-Za-z0-9]", r"\bcmVmd[A-Za-z0-9]{59}\b"),
    _token(
        "bitbucket_token", r"\bATBB[A-Za-z0-9]", r"\bATBB[A-Za-z0-9_=.\-]{32,}(?![A-Za-z0-9_=.\-])"
    ),
    _token("facebook_token", r"\bEAA[B-Z][A-Za-z0-9]", r"\bEAA[B-Z][A-Za-z0-9]{100,}\b"),
    Family(
        r"[0-9][0-9][0-9][0-9][0-9][0-9](?:\||%7[Cc])[A-Za-z0-9_\-]",
        (
            Rule(
                "facebook_token",
                r"[0-9]{15,16}(?:\||%7[Cc])[A-Za-z0-9_\-]{27,40}(?![A-Za-z0-9_\-])",
                PREFIXED,
                _random(PREFIXED),
            ),
        ),
        lead=r"(?<![0-9])[0-9]{9,10}$",
    ),
    _token(
        "flyio_token",
        r"\bf(?:o1|m1[ar]|m2)_",
        r"\b(?:fo1_[A-Za-z0-9_\-]{43}|fm1[ar]_[A-Za-z0-9+/]{100,}={0,3}|fm2_[A-Za-z0-9+/]{100,}={0,3})"
        r"(?![A-Za-z0-9_+/=\-])",
    ),
    _token(
        "harness_api_key",
        r"\b[ps]at\.[A-Za-z0-9_\-]",
        r"\b[ps]at\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{20}\b",
    ),
    _token(
        "launchdarkly_api_key",
        r"\bsdk-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]-",
        r"\bsdk-" + _UUID + r"\b",
        confidence=0.9,
    ),
    _token("mapbox_token", r"\bsk\.eyJ", r"\bsk\.eyJ[A-Za-z0-9_\-]{20,}\.[A-Za-z0-9_\-]{20,}\b"),
    _token("notion_token", r"\bntn_[0-9]", r"\bntn_[0-9]{11}[A-Za-z0-9]{35}\b"),
    _token("nuget_api_key", r"\boy2[a-z0-9]", r"\boy2[a-z0-9]{43}\b"),
    _token("octopus_api_key", r"\bAPI-[A-Z0-9][A-Z0-9][A-Z0-9]", r"\bAPI-[A-Z0-9]{26}\b"),
    _token("openshift_token", r"\bsha256~", r"\bsha256~[A-Za-z0-9_\-]{43}(?![A-Za-z0-9_\-])"),
    _token("perplexity_api_key", r"\bpplx-", r"\bpplx-[A-Za-z0-9]{48}\b"),
    _token(
        "planetscale_password", r"\bpscale_pw_", r"\bpscale_pw_[A-Za-z0-9_=.\-]{32,64}(?![\w=.\-])"
    ),
    _token(
        "planetscale_token",
        r"\bpscale_(?:tkn|oauth)_",
        r"\bpscale_(?:tkn|oauth)_[A-Za-z0-9_=.\-]{32,64}(?![\w=.\-])",
    ),
    _token("prefect_api_key", r"\bpnu_", r"\bpnu_[A-Za-z0-9]{36}\b"),
    _token("readme_api_key", r"\brdme_", r"\brdme_[a-z0-9]{70}\b"),
    _token("rubygems_api_key", r"\brubygems_", r"\brubygems_[a-f0-9]{48}\b"),
    _token(
        "sendinblue_api_key",
        r"\bx(?:keysib|smtpsib)-",
        r"\bx(?:keysib|smtpsib)-[a-f0-9]{64}-[A-Za-z0-9]{16}\b",
    ),
    _token(
        "shippo_api_key", r"\bshippo_(?:live|test)_", r"\bshippo_(?:live|test)_[a-fA-F0-9]{40}\b"
    ),
    _token("sonar_token", r"\bsq[pua]_[0-9a-f]", r"\bsq[pua]_[a-f0-9]{40}\b"),
    _token(
        "sourcegraph_token",
        r"\bsgp_",
        r"\bsgp_(?:(?:[a-fA-F0-9]{16}|local)_)?[a-fA-F0-9]{40}\b",
    ),
    _token(
        "stripe_webhook_secret", r"\bwhsec_", r"\bwhsec_[A-Za-z0-9+/=]{32,100}(?![A-Za-z0-9+/=])"
    ),
    Family(
        r"[0-9]:AA[A-Za-z0-9_\-]",
        (
            Rule(
                "telegram_token",
                r"[0-9]{5,16}:AA[A-Za-z0-9_\-]{33}(?![A-Za-z0-9_\-])",
                PREFIXED,
                _random(PREFIXED),
            ),
        ),
        lead=r"(?<![0-9])[0-9]{4,15}$",
    ),
    _token(
        "twitter_token",
        r"\bAAAAAAAAAAAAAAAAAAAAA",
        r"\bA{22}[A-Za-z0-9%]{80,100}(?![A-Za-z0-9%])",
        confidence=0.9,
    ),
    _token("typeform_token", r"\btfp_", r"\btfp_[A-Za-z0-9_.=\-]{59}(?![A-Za-z0-9_.=\-])"),
    _token("yandex_api_key", r"\bAQVN[A-Za-z0-9_\-]", r"\bAQVN[A-Za-z0-9_\-]{35,38}(?![\w\-])"),
    _token("onepassword_token", r"\bops_eyJ", r"\bops_eyJ[A-Za-z0-9+/]{250,}={0,3}"),
    _token(
        "onepassword_secret_key",
        r"\bA3-[A-Z0-9][A-Z0-9][A-Z0-9][A-Z0-9][A-Z0-9][A-Z0-9]-",
        r"\bA3-[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})-[A-Z0-9]{5}-[A-Z0-9]{5}"
        r"-[A-Z0-9]{5}\b",
    ),
    _token("groq_api_key", r"\bgsk_", r"\bgsk_[A-Za-z0-9]{52}\b"),
    _token("xai_api_key", r"\bxai-[A-Za-z0-9]", r"\bxai-[A-Za-z0-9]{80}\b"),
    _token("replicate_token", r"\br8_[A-Za-z0-9]", r"\br8_[A-Za-z0-9]{37}\b"),
    _token("adobe_secret", r"\bp8e-", r"\bp8e-[A-Za-z0-9]{32}\b"),
    _token(
        "clojars_token", r"\b[Cc][Ll][Oo][Jj][Aa][Rr][Ss]_", r"\b(?i:clojars_)[A-Za-z0-9]{60}\b"
    ),
    _token("easypost_api_key", r"\bEZ[AT]K", r"\bEZ[AT]K[A-Za-z0-9]{54}\b"),
    _token("frameio_token", r"\bfio-u-", r"\bfio-u-[A-Za-z0-9_=\-]{64}(?![A-Za-z0-9_=\-])"),
    _token("infracost_api_key", r"\bico-[A-Za-z0-9]", r"\bico-[A-Za-z0-9]{32}\b"),
    _token("scalingo_token", r"\btk-us-", r"\btk-us-[A-Za-z0-9_\-]{48}(?![A-Za-z0-9_\-])"),
    _token(
        "cloudflare_origin_ca_key",
        r"\bv1\.0-[0-9a-f]",
        r"\bv1\.0-[a-f0-9]{24}-[a-f0-9]{146}\b",
    ),
    _token(
        "mailgun_api_key",
        r"\bkey-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]",
        r"\bkey-[0-9a-f]{32}\b",
        confidence=0.9,
    ),
    _token("aws_bedrock_key", r"\bABSK[A-Za-z0-9+/]", r"\bABSK[A-Za-z0-9+/]{109,269}={0,2}"),
    _token(
        "aws_bedrock_key",
        r"\bbedrock-api-key-",
        r"\bbedrock-api-key-[A-Za-z0-9+/=%&._\-]{40,2000}",
    ),
    _token(
        "aws_session_token",
        r"\b(?:IQoJb3JpZ2luX2|FwoGZXIvYXdz|FQoGZXIvYXdz)",
        r"\b(?:IQoJb3JpZ2luX2|FwoGZXIvYXdz|FQoGZXIvYXdz)[A-Za-z0-9+/]{80,2000}={0,2}",
    ),
    _token("definednetworking_token", r"\bdnkey-", r"\bdnkey-[a-z0-9=_\-]{26}-[a-z0-9=_\-]{52}"),
    _token(
        "duffel_token", r"\bduffel_(?:test|live)_", r"\bduffel_(?:test|live)_[A-Za-z0-9_=\-]{43}"
    ),
    _token(
        "flutterwave_secret",
        r"\bFLWSECK",
        r"\bFLWSECK(?:_TEST)?-(?:[a-hA-H0-9]{32}-X|[a-hA-H0-9]{12})\b",
    ),
    _token("settlemint_token", r"\bsm_[pas]at_", r"\bsm_[pas]at_[A-Za-z0-9]{16}\b"),
    _token(
        "docker_token",
        r"\bdckr_(?:pat|oat)_",
        r"\bdckr_(?:pat|oat)_[A-Za-z0-9_\-]{27,60}(?![A-Za-z0-9_\-])",
    ),
    _token("supabase_token", r"\bsbp_[0-9a-f]", r"\bsbp_[a-f0-9]{40}\b"),
    _token(
        "supabase_secret",
        r"\bsb_secret_",
        r"\bsb_secret_[A-Za-z0-9_\-]{31,60}(?![A-Za-z0-9_\-])",
    ),
    _token("pinecone_api_key", r"\bpcsk_", r"\bpcsk_[A-Za-z0-9_]{40,120}\b"),
    _token(
        "langsmith_api_key", r"\blsv2_(?:pt|sk)_", r"\blsv2_(?:pt|sk)_[a-f0-9]{32}_[a-f0-9]{10}\b"
    ),
    _token("tavily_api_key", r"\btvly-", r"\btvly-(?:dev-|prod-)?[A-Za-z0-9]{32}\b"),
    _token("openrouter_api_key", r"\bsk-or-v1-", r"\bsk-or-v1-[a-f0-9]{64}\b"),
    _token("nvidia_api_key", r"\bnvapi-", r"\bnvapi-[A-Za-z0-9_\-]{64}(?![A-Za-z0-9_\-])"),
    _token("render_api_key", r"\brnd_[A-Za-z0-9]", r"\brnd_[A-Za-z0-9]{32}\b"),
    _token("figma_token", r"\bfigd_", r"\bfigd_[A-Za-z0-9_\-]{40,}(?![A-Za-z0-9_\-])"),
    _token("clickup_token", r"\bpk_[0-9]", r"\bpk_[0-9]{3,12}_[A-Z0-9]{32}\b"),
    _token(
        "braintree_token",
        r"access_token\$(?:production|sandbox)\$",
        r"access_token\$(?:production|sandbox)\$[a-z0-9]{16}\$[a-f0-9]{32}\b",
    ),
    Family(
        r":APA91b",
        (
            Rule(
                "google_fcm_key",
                r"AAAA[A-Za-z0-9_\-]{7}:APA91b[A-Za-z0-9_\-]{130,140}(?![A-Za-z0-9_\-])",
                PREFIXED,
                _random(PREFIXED),
            ),
        ),
        lead=r"(?<![A-Za-z0-9_\-])AAAA[A-Za-z0-9_\-]{7}$",
    ),
    _token("intra42_secret", r"\bs-s4t2(?:ud|af)-", r"\bs-s4t2(?:ud|af)-[a-fA-F0-9]{64}\b"),
    _token("clickhouse_secret", r"\b4b1d[A-Za-z0-9]", r"\b4b1d[A-Za-z0-9]{38}\b"),
    _token(
        "lob_api_key",
        r"\b(?:live|test)_(?:pub_)?[0-9a-f][0-9a-f][0-9a-f][0-9a-f]",
        r"\b(?:live|test)_(?:pub_[a-f0-9]{31}|[a-f0-9]{35})\b",
        confidence=0.9,
    ),
)


# --- Azure: keys in connection strings and SAS URLs, AD client secrets ---------------


def _sas_signature(value: str) -> float | None:
    # A SAS signature is base64 of an HMAC; other signed URLs' sig= in hex are not SAS.
    return None if is_hex(value) else _random(0.9)(value)


_AZURE: tuple[Family, ...] = (
    Family(
        r"[Aa]ccount[Kk]ey=",
        (
            Rule(
                "azure_storage_key",
                r"[Aa]ccount[Kk]ey=(?P<secret>[A-Za-z0-9+/]{86}==)",
                PREFIXED,
                _random(PREFIXED),
                group="secret",
            ),
        ),
    ),
    Family(
        r"[Ss]hared[Aa]ccess[Kk]ey=",
        (
            Rule(
                "azure_shared_access_key",
                r"[Ss]hared[Aa]ccess[Kk]ey=(?P<secret>[A-Za-z0-9+/]{43}=)",
                PREFIXED,
                _random(PREFIXED),
                group="secret",
            ),
        ),
    ),
    Family(
        r"[?&;]sig=",
        (
            Rule(
                "azure_sas_token",
                r"[?&;]sig=(?P<secret>(?:[A-Za-z0-9+/]|%2[Bb]|%2[Ff]){40,90}(?:=|%3[Dd]){0,2})"
                r"(?![A-Za-z0-9+/%])",
                0.9,
                _sas_signature,
                group="secret",
            ),
        ),
    ),
    Family(
        r"[0-9]Q~[A-Za-z0-9_~.\-]",
        (
            Rule(
                "azure_client_secret",
                r"[A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.\-]{31,34}(?![A-Za-z0-9_~.\-])",
                PREFIXED,
                _random(PREFIXED),
            ),
        ),
        lead=r"(?<![A-Za-z0-9_~.])[A-Za-z0-9_~.]{3}$",
    ),
)


# --- Discord webhooks ------------------------------------------------------------------

_DISCORD_WEBHOOK = Family(
    r"discord(?:app)?\.com/api/webhooks/",
    (
        Rule(
            "discord_webhook",
            r"https?://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/[0-9]{17,20}/"
            r"[A-Za-z0-9_\-]{60,68}(?![A-Za-z0-9_\-])",
            PREFIXED,
            _random(PREFIXED),
        ),
    ),
    lead=r"https?://(?:ptb\.|canary\.)?$",
)

_TEAMS_WEBHOOK = Family(
    r"\.webhook\.office\.com/webhookb2/",
    (
        Rule(
            "microsoftteams_webhook",
            r"https://[A-Za-z0-9\-]+\.webhook\.office\.com/webhookb2/"
            + _UUID
            + "@"
            + _UUID
            + r"/IncomingWebhook/[A-Za-z0-9]{32}/"
            + _UUID,
            PREFIXED,
            _random(PREFIXED),
        ),
    ),
    lead=r"https://[A-Za-z0-9\-]{1,24}$",
)

_KUBEADM_TOKEN = Family(
    r"--(?:discovery-)?token[ =]",
    (
        Rule(
            "kubernetes_token",
            r"--(?:discovery-)?token[ =](?P<secret>[a-z0-9]{6}\.[a-z0-9]{16})(?![A-Za-z0-9_\-])",
            PREFIXED,
            _random(PREFIXED),
            group="secret",
        ),
    ),
)
"""A cluster's bootstrap token, as ``kubeadm join … --token abcdef.0123456789abcdef``."""

_NUGET_CONFIG = Family(
    r"[Cc]lear[Tt]ext[Pp]assword",
    (
        Rule(
            "nuget_password",
            r"[Cc]lear[Tt]ext[Pp]assword\"\s+value=\"(?P<secret>[^\"\s]{8,})\"",
            0.9,
            _random(0.9),
            group="secret",
        ),
    ),
)


# --- Shapeless values, next to the provider's name -----------------------------------

NAMED_FAMILIES: tuple[Family, ...] = (
    _named(("twilio",), ("twilio_auth_token", _HEX32)),
    _named(
        ("atlassian", "confluence", "jira"),
        ("atlassian_api_token", r"[A-Za-z0-9]{20}[a-f0-9]{4}"),
    ),
    _named(
        ("azure",),
        ("azure_storage_key", r"[A-Za-z0-9+/]{86}=="),
        ("azure_client_secret", r"[A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.\-]{31,34}"),
        ("azure_devops_token", r"[a-z2-7]{52}"),
        ("azure_api_key", _HEX32),
    ),
    _named(
        ("discord",),
        ("discord_token", r"[MNO][A-Za-z0-9_\-]{23,25}\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27,38}"),
        ("discord_token", r"[a-fA-F0-9]{64}"),
        ("discord_secret", _extended(32)),
    ),
    _named(
        ("mailgun",),
        ("mailgun_api_key", r"(?:pub)?key-[a-f0-9]{32}"),
        ("mailgun_api_key", r"[a-h0-9]{32}-[a-h0-9]{8}-[a-h0-9]{8}"),
    ),
    _named(("heroku",), ("heroku_api_key", _UUID)),
    _named(
        ("datadog", "dd_api_key", "dd_app_key", "dd_application_key"),
        ("datadog_api_key", _alnum(40)),
        ("datadog_api_key", _HEX32),
    ),
    _named(
        ("mailchimp",),
        ("mailchimp_api_key", r"[0-9a-fA-F]{32}-us[0-9]{1,2}"),
    ),
    _named(("[Oo]kta", "OKTA"), ("okta_token", r"00[A-Za-z0-9_=\-]{40}"), cased=True),
    _named(
        ("cloudflare", "cf_api"),
        ("cloudflare_api_key", r"[a-fA-F0-9]{37}"),
        ("cloudflare_api_token", r"[A-Za-z0-9_\-]{40}"),
    ),
    _named(
        ("vault",),
        ("hashicorp_vault_token", r"s\.[A-Za-z0-9]{24}"),
    ),
    _named(("linear",), ("linear_secret", _HEX32)),
    _named(
        ("new[_\\-.]?relic", "nr_license", "nria_license"),
        ("newrelic_key", r"[a-fA-F0-9]{36}NRAL"),
        ("newrelic_key", r"[a-fA-F0-9]{40}"),
    ),
    _named(("sentry",), ("sentry_token", r"[a-fA-F0-9]{64}")),
    _named(("alibaba", "aliyun"), ("alibaba_secret_key", _alnum(30))),
    _named(("airtable",), ("airtable_api_key", r"key[A-Za-z0-9]{14}|" + _alnum(17))),
    _named(("algolia",), ("algolia_api_key", r"[a-zA-Z0-9]{32}")),
    _named(
        ("asana",),
        ("asana_token", r"[0-9]/[0-9]{10,20}(?:/[0-9]{10,20})?:[A-Za-z0-9]{32}"),
        ("asana_secret", _alnum(32)),
    ),
    _named(
        ("bitbucket",),
        ("bitbucket_secret", _extended(64)),
        ("bitbucket_key", _alnum(32)),
    ),
    _named(("contentful",), ("contentful_token", _extended(43))),
    _named(("facebook", "fb_app_secret"), ("facebook_secret", _HEX32)),
    _named(
        ("gocardless",),
        ("gocardless_token", r"(?:live|sandbox)_[A-Za-z0-9_=\-]{40}"),
    ),
    _named(("intercom",), ("intercom_api_key", _extended(60))),
    _named(
        ("jfrog", "artifactory", "bintray", "xray"),
        ("jfrog_api_key", _alnum(73)),
        ("jfrog_token", _alnum(64)),
    ),
    _named(("launch[_\\-.]?darkly",), ("launchdarkly_token", _extended(40))),
    _named(
        ("mapbox",),
        ("mapbox_token", r"[ps]k\.[A-Za-z0-9_\-]{60,}\.[A-Za-z0-9_\-]{22}"),
    ),
    _named(
        ("notion",),
        ("notion_token", r"secret_[A-Za-z0-9]{43}"),
    ),
    _named(("snyk",), ("snyk_token", _UUID)),
    _named(("sonar",), ("sonar_token", r"(?:sq[pua]_)?" + _extended(40))),
    _named(("sourcegraph",), ("sourcegraph_token", r"[a-fA-F0-9]{40}")),
    _named(
        ("telegr",),
        ("telegram_token", r"[0-9]{5,16}:A[A-Za-z0-9_\-]{34}"),
    ),
    _named(("twitch",), ("twitch_token", _alnum(30))),
    _named(
        ("twitter",),
        ("twitter_token", r"[0-9]{15,25}-[A-Za-z0-9]{20,40}"),
        ("twitter_token", r"A{22}[A-Za-z0-9%]{80,100}"),
        ("twitter_secret", _alnum(50)),
        ("twitter_secret", _alnum(45)),
        ("twitter_api_key", _alnum(25)),
    ),
    _named(
        ("yandex",),
        ("yandex_token", r"t1\.[A-Za-z0-9_\-]+={0,2}\.[A-Za-z0-9_\-]{86}={0,2}"),
        ("yandex_secret", r"YC[A-Za-z0-9_\-]{38}"),
        ("yandex_api_key", r"AQVN[A-Za-z0-9_\-]{35,38}"),
    ),
    _named(("zendesk",), ("zendesk_token", _alnum(40))),
    _named(("cohere", "co_api_key"), ("cohere_api_key", _alnum(40))),
    _named(("mistral",), ("mistral_api_key", _alnum(32))),
    _named(("deepseek",), ("deepseek_api_key", r"sk-[a-f0-9]{32}")),
    _named(("adobe",), ("adobe_api_key", _HEX32)),
    _named(("travis",), ("travisci_token", _alnum(22))),
    _named(
        ("confluent",),
        ("confluent_secret", _alnum(64)),
        ("confluent_api_key", _alnum(16)),
    ),
    _named(("fastly",), ("fastly_token", _extended(32))),
    _named(
        ("aws_session_token", "aws_security_token", "awssessiontoken"),
        ("aws_session_token", r"[A-Za-z0-9+/]{100,2000}={0,2}"),
    ),
    _named(
        ("dropbox",),
        ("dropbox_token", r"sl\.[A-Za-z0-9_=\-]{130,150}"),
        ("dropbox_token", r"[A-Za-z0-9]{11}AAAAAAAAAA[A-Za-z0-9_=\-]{43}"),
        ("dropbox_token", _alnum(15)),
    ),
    _named(("hubspot",), ("hubspot_api_key", _UUID)),
    _named(("netlify",), ("netlify_token", r"[A-Za-z0-9_=\-]{40,46}")),
    _named(("trello",), ("trello_token", r"[A-Za-z0-9\-]{32}")),
    _named(
        ("bundle_enterprise__contribsys__com", "bundle_gems__contribsys__com"),
        ("sidekiq_secret", r"[a-fA-F0-9]{8}:[a-fA-F0-9]{8}"),
    ),
    _named(("[Ss]umo", "SUMO"), ("sumologic_token", _alnum(64)), cased=True),
    _named(("adafruit",), ("adafruit_api_key", r"[A-Za-z0-9_\-]{32}")),
    _named(("beamer",), ("beamer_api_key", r"b_[A-Za-z0-9=_\-]{44}")),
    _named(("codecov",), ("codecov_token", _alnum(32)), ("codecov_token", _UUID)),
    _named(("coinbase",), ("coinbase_token", _extended(64))),
    _named(("droneci", "drone"), ("droneci_token", _alnum(32))),
    _named(("[Ee]tsy", "ETSY"), ("etsy_token", _alnum(24)), cased=True),
    _named(("finicity",), ("finicity_token", _HEX32), ("finicity_secret", _alnum(20))),
    _named(("finnhub",), ("finnhub_token", _alnum(20))),
    _named(("flickr",), ("flickr_token", _alnum(32))),
    _named(("freshbooks",), ("freshbooks_token", _alnum(64))),
    _named(("gitter",), ("gitter_token", r"[A-Za-z0-9_\-]{40}")),
    _named(("kraken",), ("kraken_token", r"[A-Za-z0-9/=_+\-]{80,90}")),
    _named(("kucoin",), ("kucoin_secret", _UUID), ("kucoin_token", r"[a-fA-F0-9]{24}")),
    _named(("looker",), ("looker_secret", _alnum(24))),
    _named(("mattermost",), ("mattermost_token", _alnum(26))),
    _named(("[Mm]eraki", "MERAKI"), ("meraki_api_key", r"[0-9a-f]{40}"), cased=True),
    _named(("message[_\\-]?bird",), ("messagebird_token", _alnum(25))),
    _named(("nytimes", "new[_\\-]?york[_\\-]?times"), ("nytimes_token", _extended(32))),
    _named(
        ("plaid",),
        ("plaid_token", r"access-(?:sandbox|development|production)-" + _UUID),
        ("plaid_secret", _alnum(30)),
    ),
    _named(("private[_\\-]?ai",), ("privateai_token", r"[A-Za-z0-9]{32}")),
    _named(("rapidapi",), ("rapidapi_token", r"[A-Za-z0-9_\-]{50}")),
    _named(("sendbird",), ("sendbird_token", r"[a-fA-F0-9]{40}")),
    _named(("squarespace",), ("squarespace_token", _UUID)),
    _named(("linked[_\\-]?in",), ("linkedin_secret", _alnum(16))),
    _named(("pagerduty",), ("pagerduty_token", r"[A-Za-z0-9_+\-]{20}")),
    _named(("vercel",), ("vercel_token", _alnum(24))),
    _named(("auth0",), ("auth0_secret", r"[A-Za-z0-9_\-]{64}")),
    _named(("postmark",), ("postmark_token", _UUID)),
    _named(("elevenlabs", "xi_api_key"), ("elevenlabs_api_key", r"(?:sk_)?[a-f0-9]{32,48}")),
)
"""The families whose prefix is a provider's name: they fire on the name alone, and
match only where a value in the provider's shape is assigned to it."""

FAMILIES: tuple[Family, ...] = (
    *_PREFIXED,
    *_AZURE,
    _DISCORD_WEBHOOK,
    _TEAMS_WEBHOOK,
    _KUBEADM_TOKEN,
    _NUGET_CONFIG,
    *NAMED_FAMILIES,
)
"""The providers' families, read with ``rules.FAMILIES`` by ``matching.py``."""

TYPES: tuple[str, ...] = tuple(
    dict.fromkeys(rule.type for family in FAMILIES for rule in family.rules)
)
"""Every type these families report (each is in ``findings.SECRET_TYPES``)."""
