"""Fake credentials of many providers, in each provider's published shape.

Each `Provider` names the finding type a scanner should report (``<slug>_<noun>``, or one
of Charter's first seventeen types), makes a random value of the provider's shape
(prefix, alphabet, length; a checksum where the format has one) from the caller's seeded
``random.Random``, and gives the words people name it by (``("twilio", "auth", "token")``
becomes ``TWILIO_AUTH_TOKEN``, ``twilioAuthToken``...). ``prefixed`` says whether the value
alone identifies the provider: a value without a distinctive prefix (a Twilio auth token
is 32 hex digits, a Heroku key a UUID) is only ever written next to its provider's name,
as people write it. The shapes come from the providers' documentation and the public
rule sets of gitleaks and trufflehog (facts only; no value or pattern is copied). None of
these values is a real secret.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from dataclasses import dataclass

from bench import secrets_formats as fmt

ALNUM = string.ascii_letters + string.digits
LOWER_ALNUM = string.ascii_lowercase + string.digits
UPPER_ALNUM = string.ascii_uppercase + string.digits
BECH32 = "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L"

Make = Callable[[random.Random], str]


@dataclass(frozen=True, slots=True)
class Provider:
    """One kind of credential: its type, its shape, and the words it is named by."""

    type: str
    make: Make
    words: tuple[str, ...]
    prefixed: bool
    forms: tuple[str, ...] = ()
    """The only forms it is written in (a PEM key needs lines); empty: every form."""

    @property
    def slug(self) -> str:
        """The provider part of the type (`twilio` of `twilio_api_key`)."""
        return self.type.split("_", 1)[0]


def _p(alphabet: str, length: int) -> Make:
    return lambda rng: fmt.pick(rng, alphabet, length)


def _cat(*parts: str | Make) -> Make:
    """A maker joining literal strings and other makers' values."""

    def make(rng: random.Random) -> str:
        return "".join(part if isinstance(part, str) else part(rng) for part in parts)

    return make


def _one_of(*makers: Make) -> Make:
    return lambda rng: rng.choice(makers)(rng)


def _uuid(rng: random.Random) -> str:
    return fmt.uuid4(rng)


def _b64_json(text: str) -> str:
    return fmt.b64(text).rstrip("=")


def _sentry_org_token(rng: random.Random) -> str:
    claims = (
        f'{{"iat":{1_700_000_000 + rng.randint(0, 9_000_000)}.0,"url":"https://sentry.io",'
        f'"region_url":"https://us.sentry.io","org":"acme-{fmt.pick(rng, LOWER_ALNUM, 5)}"}}'
    )
    return "sntrys_" + _b64_json(claims) + "_" + fmt.pick(rng, fmt.BASE64, 43)


def _mapbox_secret(rng: random.Random) -> str:
    claims = f'{{"u":"{fmt.pick(rng, LOWER_ALNUM, 8)}","a":"{fmt.pick(rng, LOWER_ALNUM, 25)}"}}'
    return "sk." + _b64_json(claims) + "." + fmt.pick(rng, fmt.BASE64URL, 22)


def _onepassword_service(rng: random.Random) -> str:
    claims = (
        f'{{"signInAddress":"acme-{fmt.pick(rng, LOWER_ALNUM, 6)}.1password.com",'
        f'"userAuth":{{"method":"SRPg-4096","alg":"PBES2g-HS256","iterations":650000,'
        f'"salt":"{fmt.pick(rng, fmt.BASE64URL, 22)}"}},"email":"{fmt.pick(rng, LOWER_ALNUM, 26)}'
        f'@1passwordserviceaccounts.com","srpX":"{fmt.pick(rng, fmt.HEX, 64)}",'
        f'"muk":{{"alg":"A256GCM","ext":true,"k":"{fmt.pick(rng, fmt.BASE64URL, 43)}",'
        f'"key_ops":["encrypt","decrypt"],"kty":"oct","kid":"mp"}}}}'
    )
    return "ops_" + _b64_json(claims)


def _onepassword_secret_key(rng: random.Random) -> str:
    groups = [fmt.pick(rng, UPPER_ALNUM, n) for n in (6, 6, 5, 5, 5, 5)]
    return "A3-" + "-".join(groups)


def _azure_storage(rng: random.Random) -> str:
    return fmt.b64(rng.randbytes(64))


def _discord_bot(rng: random.Random) -> str:
    user = str(rng.randint(10**17, 10**19 - 1))
    return (
        fmt.b64(user).rstrip("=")
        + "."
        + fmt.pick(rng, fmt.BASE64URL, 6)
        + "."
        + fmt.pick(rng, fmt.BASE64URL, 38)
    )


def _discord_webhook(rng: random.Random) -> str:
    host = rng.choice(["discord.com", "discordapp.com"])
    return f"https://{host}/api/webhooks/{rng.randint(10**17, 10**19 - 1)}/" + fmt.pick(
        rng, fmt.BASE64URL, 68
    )


def _aws_session(rng: random.Random) -> str:
    head = rng.choice(["IQoJb3JpZ2luX2Vj", "FwoGZXIvYXdzE", "IQoJb3JpZ2luX2VjE"])
    return head + fmt.b64(rng.randbytes(rng.randint(230, 420))).rstrip("=")


def _intercom(rng: random.Random) -> str:
    return fmt.b64(f"tok:{fmt.uuid4(rng)}:1:0")


PASSWORD = ALNUM + "!*-_~^"


def _password(rng: random.Random) -> str:
    """A generated password with symbols that need no quoting in any of the forms."""
    while True:
        value = fmt.pick(rng, PASSWORD, rng.randint(14, 26))
        if any(c.isdigit() for c in value) and any(c.isalpha() for c in value):
            return value


def _bearer(rng: random.Random) -> str:
    return fmt.opaque_token(rng)


P = Provider
PROVIDERS: tuple[Provider, ...] = (
    # Charter's own first types, in new surroundings.
    P("aws_access_key", fmt.aws_access_key, ("aws", "access", "key", "id"), True),
    P("aws_secret_key", fmt.aws_secret_key, ("aws", "secret", "access", "key"), False),
    P("aws_session_token", _aws_session, ("aws", "session", "token"), True),
    P("github_token", fmt.github_token, ("github", "token"), True),
    P("gitlab_token", fmt.gitlab_token, ("gitlab", "token"), True),
    P("slack_token", fmt.slack_token, ("slack", "bot", "token"), True),
    P("slack_webhook", fmt.slack_webhook, ("slack", "webhook", "url"), True),
    P("stripe_key", fmt.stripe_key, ("stripe", "secret", "key"), True),
    P("openai_key", fmt.openai_key, ("openai", "api", "key"), True),
    P("anthropic_key", fmt.anthropic_key, ("anthropic", "api", "key"), True),
    P("google_api_key", fmt.google_api_key, ("google", "api", "key"), True),
    P("npm_token", fmt.npm_token, ("npm", "token"), True),
    P("pypi_token", fmt.pypi_token, ("pypi", "token"), True),
    P("jwt", fmt.jwt, ("access", "token"), True),
    P("generic_secret", _password, ("db", "password"), False),
    P(
        "private_key",
        fmt.private_key,
        ("private", "key"),
        True,
        ("json", "json_env_string", "yaml_block", "env_double_escaped", "chat", "markdown"),
    ),
    P(
        "url_password",
        _password,
        ("database", "url"),
        False,
        ("url_userinfo", "jdbc", "cli_mysql", "curl_user"),
    ),
    P(
        "authorization_header",
        _bearer,
        ("authorization",),
        False,
        ("curl_bearer", "header_go", "header_python", "nginx_header", "har_header", "http_dump"),
    ),
    # The providers the issue names.
    P("twilio_api_key", _cat("SK", _p(fmt.HEX, 32)), ("twilio", "api", "key"), True),
    P("twilio_token", _p(fmt.HEX, 32), ("twilio", "auth", "token"), False),
    P(
        "sendgrid_api_key",
        _cat("SG.", _p(fmt.BASE64URL, 22), ".", _p(fmt.BASE64URL, 43)),
        ("sendgrid", "api", "key"),
        True,
    ),
    P(
        "huggingface_token",
        _one_of(
            _cat("hf_", _p(string.ascii_letters, 34)),
            _cat("api_org_", _p(string.ascii_letters, 34)),
        ),
        ("hf", "token"),
        True,
    ),
    P(
        "shopify_token",
        _cat(lambda rng: rng.choice(["shpat_", "shpca_", "shppa_", "shpss_"]), _p(fmt.HEX, 32)),
        ("shopify", "access", "token"),
        True,
    ),
    P(
        "databricks_token",
        _cat("dapi", _p(fmt.HEX, 32), lambda rng: rng.choice(["", "", "-2", "-3"])),
        ("databricks", "token"),
        True,
    ),
    P(
        "digitalocean_token",
        _cat(lambda rng: rng.choice(["dop_v1_", "doo_v1_", "dor_v1_"]), _p(fmt.HEX, 64)),
        ("digitalocean", "token"),
        True,
    ),
    P(
        "atlassian_api_token",
        _cat("ATATT3", _p(fmt.BASE64URL, 174), "=", _p(fmt.HEX.upper(), 8)),
        ("atlassian", "api", "token"),
        True,
    ),
    P(
        "atlassian_token",
        _cat(_p(ALNUM, 20), _p(fmt.HEX, 4)),
        ("jira", "api", "token"),
        False,
    ),
    P("azure_storage_key", _azure_storage, ("azure", "storage", "account", "key"), False),
    P(
        "azure_client_secret",
        _cat(_p(ALNUM, 3), "8Q~", _p(ALNUM + "_~.-", 34)),
        ("azure", "client", "secret"),
        True,
    ),
    P("discord_token", _discord_bot, ("discord", "bot", "token"), False),
    P("discord_webhook", _discord_webhook, ("discord", "webhook", "url"), True),
    P(
        "mailgun_api_key",
        _one_of(
            _cat("key-", _p(fmt.HEX, 32)),
            _cat(_p(fmt.HEX, 32), "-", _p(fmt.HEX, 8), "-", _p(fmt.HEX, 8)),
        ),
        ("mailgun", "api", "key"),
        True,
    ),
    # Widely deployed SaaS and cloud credentials.
    P("heroku_api_key", _uuid, ("heroku", "api", "key"), False),
    P("heroku_token", _cat("HRKU-AA", _p(fmt.BASE64URL, 58)), ("heroku", "token"), True),
    P("datadog_api_key", _p(fmt.HEX, 32), ("datadog", "api", "key"), False),
    P("datadog_key", _p(fmt.HEX, 40), ("datadog", "app", "key"), False),
    P(
        "mailchimp_api_key",
        _cat(_p(fmt.HEX, 32), "-us", lambda rng: str(rng.randint(1, 21))),
        ("mailchimp", "api", "key"),
        True,
    ),
    P("okta_token", _cat("00", _p(fmt.BASE64URL, 40)), ("okta", "api", "token"), False),
    P("cloudflare_api_key", _p(fmt.HEX, 37), ("cloudflare", "api", "key"), False),
    P("cloudflare_token", _p(fmt.BASE64URL, 40), ("cloudflare", "api", "token"), False),
    P("google_oauth_secret", _cat("GOCSPX-", _p(fmt.BASE64URL, 28)), ("client", "secret"), True),
    P(
        "hashicorp_vault_token",
        _one_of(_cat("hvs.", _p(fmt.BASE64URL, 90)), _cat("hvb.", _p(fmt.BASE64URL, 138))),
        ("vault", "token"),
        True,
    ),
    P(
        "hashicorp_terraform_token",
        _cat(_p(ALNUM, 14), ".atlasv1.", _p(ALNUM, 67)),
        ("tfe", "token"),
        True,
    ),
    P("doppler_token", _cat("dp.pt.", _p(ALNUM, 43)), ("doppler", "token"), True),
    P(
        "dynatrace_token",
        _cat("dt0c01.", _p(UPPER_ALNUM, 24), ".", _p(UPPER_ALNUM, 64)),
        ("dynatrace", "api", "token"),
        True,
    ),
    P(
        "postman_api_key",
        _cat("PMAK-", _p(fmt.HEX, 24), "-", _p(fmt.HEX, 34)),
        ("postman", "api", "key"),
        True,
    ),
    P("pulumi_token", _cat("pul-", _p(fmt.HEX, 40)), ("pulumi", "access", "token"), True),
    P("linear_api_key", _cat("lin_api_", _p(ALNUM, 40)), ("linear", "api", "key"), True),
    P(
        "newrelic_api_key",
        _cat(lambda rng: rng.choice(["NRAK-", "NRJS-", "NRII-"]), _p(UPPER_ALNUM, 27)),
        ("new", "relic", "api", "key"),
        True,
    ),
    P(
        "grafana_token",
        _one_of(
            _cat("glc_", _p(ALNUM, 80)),
            _cat("glsa_", _p(ALNUM, 32), "_", _p(fmt.HEX, 8)),
        ),
        ("grafana", "token"),
        True,
    ),
    P(
        "sentry_token",
        _one_of(_sentry_org_token, _cat("sntryu_", _p(fmt.HEX, 64))),
        ("sentry", "auth", "token"),
        True,
    ),
    P(
        "square_token",
        _one_of(_cat("EAAA", _p(fmt.BASE64URL, 60)), _cat("sq0atp-", _p(fmt.BASE64URL, 22))),
        ("square", "access", "token"),
        True,
    ),
    P("square_secret", _cat("sq0csp-", _p(fmt.BASE64URL, 43)), ("square", "app", "secret"), True),
    P("age_secret", _cat("AGE-SECRET-KEY-1", _p(BECH32, 58)), ("age", "key"), True),
    P("alibaba_key", _cat("LTAI", _p(ALNUM, 20)), ("alibaba", "access", "key", "id"), True),
    P("alibaba_secret", _p(ALNUM, 30), ("alibaba", "access", "key", "secret"), False),
    P(
        "airtable_token",
        _cat("pat", _p(ALNUM, 14), ".", _p(fmt.HEX, 64)),
        ("airtable", "token"),
        True,
    ),
    P("algolia_api_key", _p(fmt.HEX, 32), ("algolia", "admin", "key"), False),
    P("artifactory_api_key", _cat("AKCp", _p(ALNUM, 69)), ("artifactory", "api", "key"), True),
    P("jfrog_token", _cat("cmVmdGtuOjAxOj", _p(ALNUM, 50)), ("jfrog", "access", "token"), True),
    P(
        "asana_token",
        _cat(lambda rng: rng.choice(["1/", "2/"]), _p(string.digits, 16), ":", _p(fmt.HEX, 32)),
        ("asana", "pat"),
        False,
    ),
    P(
        "bitbucket_password",
        _cat("ATBB", _p(ALNUM, 28), _p(fmt.HEX.upper(), 8)),
        ("bitbucket", "app", "password"),
        True,
    ),
    P("contentful_token", _cat("CFPAT-", _p(fmt.BASE64URL, 43)), ("contentful", "token"), True),
    P(
        "facebook_token",
        _cat("EAA", _p(ALNUM, 3), "ZC", _p(ALNUM, 150)),
        ("facebook", "access", "token"),
        True,
    ),
    P("facebook_secret", _p(fmt.HEX, 32), ("facebook", "app", "secret"), False),
    P("flyio_token", _cat("fo1_", _p(fmt.BASE64URL, 43)), ("fly", "api", "token"), True),
    P(
        "gocardless_token",
        _cat("live_", _p(fmt.BASE64URL, 40)),
        ("gocardless", "access", "token"),
        False,
    ),
    P(
        "harness_token",
        _cat(
            lambda rng: rng.choice(["pat.", "sat."]),
            _p(fmt.BASE64URL, 22),
            ".",
            _p(ALNUM, 24),
            ".",
            _p(ALNUM, 20),
        ),
        ("harness", "token"),
        True,
    ),
    P("intercom_token", _intercom, ("intercom", "access", "token"), False),
    P(
        "launchdarkly_key",
        _cat(lambda rng: rng.choice(["api-", "sdk-"]), _uuid),
        ("launchdarkly", "sdk", "key"),
        True,
    ),
    P("mapbox_token", _mapbox_secret, ("mapbox", "secret", "token"), True),
    P(
        "notion_token",
        _one_of(
            _cat("ntn_", _p(string.digits, 11), _p(ALNUM, 35)),
            _cat("secret_", _p(ALNUM, 43)),
        ),
        ("notion", "token"),
        True,
    ),
    P("nuget_api_key", _cat("oy2", _p(LOWER_ALNUM, 43)), ("nuget", "api", "key"), True),
    P("octopus_api_key", _cat("API-", _p(UPPER_ALNUM, 27)), ("octopus", "api", "key"), True),
    P("openshift_token", _cat("sha256~", _p(fmt.BASE64URL, 43)), ("openshift", "token"), True),
    P("perplexity_api_key", _cat("pplx-", _p(ALNUM, 48)), ("perplexity", "api", "key"), True),
    P(
        "planetscale_password",
        _cat(lambda rng: rng.choice(["pscale_pw_", "pscale_tkn_"]), _p(fmt.BASE64URL, 43)),
        ("planetscale", "password"),
        True,
    ),
    P("prefect_api_key", _cat("pnu_", _p(ALNUM, 36)), ("prefect", "api", "key"), True),
    P("readme_api_key", _cat("rdme_", _p(LOWER_ALNUM, 70)), ("readme", "api", "key"), True),
    P("rubygems_api_key", _cat("rubygems_", _p(fmt.HEX, 48)), ("gem", "host", "api", "key"), True),
    P(
        "sendinblue_api_key",
        _cat("xkeysib-", _p(fmt.HEX, 64), "-", _p(ALNUM, 16)),
        ("brevo", "api", "key"),
        True,
    ),
    P(
        "shippo_token",
        _cat(lambda rng: rng.choice(["shippo_live_", "shippo_test_"]), _p(fmt.HEX, 40)),
        ("shippo", "api", "token"),
        True,
    ),
    P("snyk_token", _uuid, ("snyk", "token"), False),
    P(
        "sonar_token",
        _cat(lambda rng: rng.choice(["squ_", "sqp_", "sqa_"]), _p(fmt.HEX, 40)),
        ("sonar", "token"),
        True,
    ),
    P(
        "sourcegraph_token",
        _cat("sgp_", _p(fmt.HEX, 16), "_", _p(fmt.HEX, 40)),
        ("src", "access", "token"),
        True,
    ),
    P(
        "telegram_token",
        _cat(lambda rng: str(rng.randint(10**8, 10**10 - 1)), ":AA", _p(fmt.BASE64URL, 33)),
        ("telegram", "bot", "token"),
        True,
    ),
    P("twitch_token", _p(LOWER_ALNUM, 30), ("twitch", "oauth", "token"), False),
    P(
        "twitter_token",
        _cat("AAAAAAAAAAAAAAAAAAAAA", _p(ALNUM, 20), "%3D", _p(ALNUM, 50)),
        ("twitter", "bearer", "token"),
        True,
    ),
    P(
        "typeform_token",
        _cat("tfp_", _p(fmt.BASE64URL, 44), "_", _p(ALNUM, 14)),
        ("typeform", "token"),
        True,
    ),
    P(
        "yandex_api_key",
        _one_of(_cat("AQVN", _p(fmt.BASE64URL, 36)), _cat("y0_", _p(fmt.BASE64URL, 55))),
        ("yandex", "api", "key"),
        True,
    ),
    P("zendesk_token", _p(ALNUM, 40), ("zendesk", "api", "token"), False),
    P(
        "onepassword_token",
        _one_of(_onepassword_service, _onepassword_secret_key),
        ("op", "service", "account", "token"),
        True,
    ),
    P("groq_api_key", _cat("gsk_", _p(ALNUM, 52)), ("groq", "api", "key"), True),
    P("xai_api_key", _cat("xai-", _p(ALNUM, 80)), ("xai", "api", "key"), True),
    P("replicate_token", _cat("r8_", _p(ALNUM, 37)), ("replicate", "api", "token"), True),
    P("cohere_api_key", _p(ALNUM, 40), ("cohere", "api", "key"), False),
    P("mistral_api_key", _p(ALNUM, 32), ("mistral", "api", "key"), False),
    P("deepseek_api_key", _cat("sk-", _p(fmt.HEX, 32)), ("deepseek", "api", "key"), False),
    P("adobe_secret", _cat("p8e-", _p(ALNUM, 32)), ("adobe", "client", "secret"), True),
    P("clojars_token", _cat("CLOJARS_", _p(LOWER_ALNUM, 60)), ("clojars", "token"), True),
    P(
        "easypost_api_key",
        _cat(lambda rng: rng.choice(["EZAK", "EZTK"]), _p(ALNUM, 54)),
        ("easypost", "api", "key"),
        True,
    ),
    P("frameio_token", _cat("fio-u-", _p(fmt.BASE64URL, 64)), ("frameio", "token"), True),
    P("infracost_api_key", _cat("ico-", _p(ALNUM, 32)), ("infracost", "api", "key"), True),
    P("scalingo_token", _cat("tk-us-", _p(fmt.BASE64URL, 48)), ("scalingo", "api", "token"), True),
    P("travisci_token", _p(ALNUM, 22), ("travis", "api", "token"), False),
    P("confluent_secret", _p(ALNUM + "+/", 64), ("confluent", "api", "secret"), False),
    P("fastly_api_key", _p(fmt.BASE64URL, 32), ("fastly", "api", "key"), False),
    P("netlify_token", _cat("nfp_", _p(ALNUM, 36)), ("netlify", "auth", "token"), True),
    P("hubspot_token", _cat("pat-na1-", _uuid), ("hubspot", "access", "token"), True),
    P(
        "dropbox_token",
        _cat("sl.", _p(fmt.BASE64URL, 135)),
        ("dropbox", "access", "token"),
        True,
    ),
    P(
        "plaid_token",
        _cat(lambda rng: rng.choice(["access-sandbox-", "access-production-"]), _uuid),
        ("plaid", "access", "token"),
        True,
    ),
    P(
        "flutterwave_secret",
        _cat("FLWSECK_TEST-", _p(fmt.HEX, 32), "-X"),
        ("flutterwave", "secret", "key"),
        True,
    ),
    P(
        "duffel_token",
        _cat("duffel_live_", _p(fmt.BASE64URL, 43)),
        ("duffel", "access", "token"),
        True,
    ),
    P("codecov_token", _uuid, ("codecov", "token"), False),
    P("mattermost_token", _p(LOWER_ALNUM, 26), ("mattermost", "access", "token"), False),
    P("sumologic_key", _p(ALNUM, 64), ("sumo", "access", "key"), False),
)
"""Every provider of the corpus; each gets the same share of secrets."""
