"""The providers' token formats (``charter.secrets.providers``): each found with its type
and exact span in the surroundings it turns up in, and its look-alikes left alone.

Values are made here from a seeded generator in each provider's published shape (random
content, never a real credential), so a detector that knew only one literal would fail.
Formats with a prefix of their own are tried in prose, JSON, .env, code and a URL query;
shapeless ones next to the provider's name, in every way a config or program assigns one.
"""

from __future__ import annotations

import base64
import inspect
import random
import string
from collections.abc import Callable
from urllib.parse import quote

import pytest

from charter.secrets import SECRET_TYPES, Finding, Scanner, matching, providers

ALNUM = string.ascii_letters + string.digits
UPPER = string.ascii_uppercase + string.digits
LOWER = string.ascii_lowercase + string.digits
HEX = "0123456789abcdef"
URLSAFE = ALNUM + "-_"
B64 = ALNUM + "+/"
BECH32 = "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L"

Make = Callable[[random.Random], str]


def _c(alphabet: str, length: int) -> Make:
    return lambda r: "".join(r.choice(alphabet) for _ in range(length))


def _join(*parts: str | Make) -> Make:
    return lambda r: "".join(p if isinstance(p, str) else p(r) for p in parts)


def _uuid(r: random.Random) -> str:
    return "-".join(_c(HEX, n)(r) for n in (8, 4, 4, 4, 12))


# (type, how to make one): found in any surroundings.
PREFIXED: list[tuple[str, Make]] = [
    ("twilio_api_key", _join("SK", _c(HEX, 32))),
    ("sendgrid_api_key", _join("SG.", _c(URLSAFE, 22), ".", _c(URLSAFE, 43))),
    ("sendgrid_api_key", _join("SG.", _c(URLSAFE + "=.", 66))),
    ("huggingface_token", _join("hf_", _c(string.ascii_letters, 34))),
    ("huggingface_token", _join("api_org_", _c(string.ascii_letters, 34))),
    ("shopify_token", _join("shpat_", _c(HEX, 32))),
    ("shopify_token", _join("shpca_", _c(HEX, 32))),
    ("shopify_secret", _join("shpss_", _c(HEX, 32))),
    ("databricks_token", _join("dapi", _c(HEX, 32))),
    ("digitalocean_token", _join("dop_v1_", _c(HEX, 64))),
    ("digitalocean_token", _join("dor_v1_", _c(HEX, 64))),
    ("atlassian_api_token", _join("ATATT3", _c(URLSAFE, 186))),
    ("heroku_api_key", _join("HRKU-AA", _c(URLSAFE, 58))),
    ("google_oauth_secret", _join("GOCSPX-", _c(URLSAFE, 28))),
    ("google_oauth_token", _join("ya29.a0", _c(URLSAFE, 120))),
    ("hashicorp_vault_token", _join("hvs.", _c(URLSAFE, 95))),
    ("hashicorp_vault_token", _join("hvb.", _c(URLSAFE, 150))),
    ("hashicorp_terraform_token", _join(_c(ALNUM, 14), ".atlasv1.", _c(URLSAFE, 67))),
    ("doppler_token", _join("dp.pt.", _c(ALNUM, 43))),
    ("doppler_token", _join("dp.st.", _c(ALNUM, 40))),
    ("dynatrace_token", _join("dt0c01.", _c(UPPER, 24), ".", _c(UPPER, 64))),
    ("postman_api_key", _join("PMAK-", _c(HEX, 24), "-", _c(HEX, 34))),
    ("pulumi_token", _join("pul-", _c(HEX, 40))),
    ("linear_api_key", _join("lin_api_", _c(ALNUM, 40))),
    ("newrelic_api_key", _join("NRAK-", _c(UPPER, 27))),
    ("newrelic_api_key", _join("NRAK-", _c(LOWER, 27))),
    ("newrelic_key", _join("NRII-", _c(URLSAFE.replace("_", ""), 32))),
    ("newrelic_token", _join("NRJS-", _c(HEX, 19))),
    ("grafana_token", _join("glc_", _c(B64, 80), "==")),
    ("grafana_token", _join("glsa_", _c(ALNUM, 32), "_", _c(HEX, 8))),
    ("grafana_api_key", _join("eyJrIjoi", _c(ALNUM, 90))),
    ("sentry_token", _join("sntryu_", _c(HEX, 64))),
    ("square_token", _join("sq0atp-", _c(URLSAFE, 22))),
    ("square_secret", _join("sq0csp-", _c(URLSAFE, 43))),
    ("square_token", _join("EAAA", _c(URLSAFE, 60))),
    ("square_token", _join("EAAA", _c(URLSAFE, 22))),
    ("age_secret_key", _join("AGE-SECRET-KEY-1", _c(BECH32, 58))),
    ("alibaba_access_key", _join("LTAI", _c(ALNUM, 20))),
    ("airtable_token", _join("pat", _c(ALNUM, 14), ".", _c(HEX, 64))),
    ("artifactory_api_key", _join("AKCp", _c(ALNUM, 69))),
    ("artifactory_token", _join("cmVmd", _c(ALNUM, 59))),
    ("bitbucket_token", _join("ATBB", _c(ALNUM, 32))),
    ("facebook_token", _join("EAAB", _c(ALNUM, 150))),
    ("facebook_token", _join(_c("123456789", 15), "|", _c(URLSAFE, 30))),
    ("facebook_token", _join(_c("123456789", 16), "%7C", _c(URLSAFE, 40))),
    ("flyio_token", _join("fo1_", _c(URLSAFE, 43))),
    ("flyio_token", _join("fm2_", _c(B64, 140))),
    ("harness_api_key", _join("pat.", _c(URLSAFE, 22), ".", _c(ALNUM, 24), ".", _c(ALNUM, 20))),
    ("launchdarkly_api_key", _join("sdk-", _uuid)),
    ("mapbox_token", _join("sk.eyJ", _c(URLSAFE, 60), ".", _c(URLSAFE, 22))),
    ("notion_token", _join("ntn_", _c(string.digits, 11), _c(ALNUM, 35))),
    ("nuget_api_key", _join("oy2", _c(LOWER, 43))),
    ("octopus_api_key", _join("API-", _c(UPPER, 26))),
    ("openshift_token", _join("sha256~", _c(URLSAFE, 43))),
    ("perplexity_api_key", _join("pplx-", _c(ALNUM, 48))),
    ("planetscale_password", _join("pscale_pw_", _c(URLSAFE, 43))),
    ("planetscale_token", _join("pscale_tkn_", _c(URLSAFE, 43))),
    ("prefect_api_key", _join("pnu_", _c(ALNUM, 36))),
    ("readme_api_key", _join("rdme_", _c(LOWER, 70))),
    ("rubygems_api_key", _join("rubygems_", _c(HEX, 48))),
    ("sendinblue_api_key", _join("xkeysib-", _c(HEX, 64), "-", _c(ALNUM, 16))),
    ("shippo_api_key", _join("shippo_live_", _c(HEX, 40))),
    ("sonar_token", _join("squ_", _c(HEX, 40))),
    ("sourcegraph_token", _join("sgp_", _c(HEX, 16), "_", _c(HEX, 40))),
    ("stripe_webhook_secret", _join("whsec_", _c(ALNUM, 32))),
    ("telegram_token", _join(_c("123456789", 10), ":AA", _c(URLSAFE, 33))),
    ("twitter_token", _join("A" * 22, _c(ALNUM, 90))),
    ("typeform_token", _join("tfp_", _c(URLSAFE, 59))),
    ("yandex_api_key", _join("AQVN", _c(URLSAFE, 36))),
    ("onepassword_token", _join("ops_eyJ", _c(B64, 280))),
    (
        "onepassword_secret_key",
        _join("A3-", _c(UPPER, 6), "-", _c(UPPER, 11), "-", *(_join(_c(UPPER, 5), "-"),) * 3),
    ),
    ("groq_api_key", _join("gsk_", _c(ALNUM, 52))),
    ("xai_api_key", _join("xai-", _c(ALNUM, 80))),
    ("replicate_token", _join("r8_", _c(ALNUM, 37))),
    ("adobe_secret", _join("p8e-", _c(ALNUM, 32))),
    ("clojars_token", _join("CLOJARS_", _c(LOWER, 60))),
    ("easypost_api_key", _join("EZAK", _c(ALNUM, 54))),
    ("frameio_token", _join("fio-u-", _c(URLSAFE, 64))),
    ("infracost_api_key", _join("ico-", _c(ALNUM, 32))),
    ("scalingo_token", _join("tk-us-", _c(URLSAFE, 48))),
    ("cloudflare_origin_ca_key", _join("v1.0-", _c(HEX, 24), "-", _c(HEX, 146))),
    ("mailgun_api_key", _join("key-", _c(HEX, 32))),
    ("aws_bedrock_key", _join("ABSK", _c(B64, 130))),
    ("aws_access_key", _join("A3TX", _c(string.ascii_uppercase + "234567", 16))),
    ("aws_session_token", _join("IQoJb3JpZ2luX2Vj", _c(B64, 300))),
    ("aws_session_token", _join("FwoGZXIvYXdzE", _c(B64, 200))),
    ("definednetworking_token", _join("dnkey-", _c(LOWER, 26), "-", _c(LOWER, 52))),
    ("duffel_token", _join("duffel_test_", _c(URLSAFE, 43))),
    ("flutterwave_secret", _join("FLWSECK_TEST-", _c("abcdefgh0123456789", 32), "-X")),
    ("flutterwave_secret", _join("FLWSECK_TEST-", _c("abcdefgh0123456789", 12))),
    ("settlemint_token", _join("sm_pat_", _c(ALNUM, 16))),
    ("intra42_secret", _join("s-s4t2ud-", _c(HEX, 64))),
    ("docker_token", _join("dckr_pat_", _c(URLSAFE, 27))),
    ("supabase_token", _join("sbp_", _c(HEX, 40))),
    ("supabase_secret", _join("sb_secret_", _c(URLSAFE, 31))),
    ("pinecone_api_key", _join("pcsk_", _c(ALNUM, 6), "_", _c(ALNUM, 64))),
    ("langsmith_api_key", _join("lsv2_pt_", _c(HEX, 32), "_", _c(HEX, 10))),
    ("tavily_api_key", _join("tvly-dev-", _c(ALNUM, 32))),
    ("openrouter_api_key", _join("sk-or-v1-", _c(HEX, 64))),
    ("nvidia_api_key", _join("nvapi-", _c(URLSAFE, 64))),
    ("render_api_key", _join("rnd_", _c(ALNUM, 32))),
    ("figma_token", _join("figd_", _c(URLSAFE, 40))),
    ("clickup_token", _join("pk_", _c(string.digits, 8), "_", _c(UPPER, 32))),
    ("braintree_token", _join("access_token$production$", _c(LOWER, 16), "$", _c(HEX, 32))),
    ("google_fcm_key", _join("AAAA", _c(URLSAFE, 7), ":APA91b", _c(URLSAFE, 134))),
    ("atlassian_api_token", _join("ATCTT3", _c(URLSAFE, 186))),
    ("clickhouse_secret", _join("4b1d", _c(ALNUM, 38))),
    ("lob_api_key", _join("live_", _c(HEX, 35))),
    ("lob_api_key", _join("test_pub_", _c(HEX, 31))),
]
# The last onepassword group has no dash after it.
PREFIXED = [
    (kind, (lambda m: lambda r: m(r).rstrip("-"))(make)) if kind == "onepassword_secret_key"
    else (kind, make)
    for kind, make in PREFIXED
]  # fmt: skip

SURROUNDINGS = {
    "prose": "the new one is {} - rotate it on friday.",
    "json": '{{"tool": "deploy", "arguments": {{"config": "{}", "dry_run": false}}}}',
    "dotenv": "SERVICE_CREDENTIAL={}\nDEBUG=false\n",
    "code": 'client = Client(\n    "{}",\n    retries=3,\n)',
    "query": "GET https://api.internal.net/v1/items?auth={}&page=2 HTTP/1.1",
}


@pytest.fixture(scope="module")
def scanner() -> Scanner:
    return Scanner(key=b"\x00" * 32)


def _only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, findings
    return findings[0]


def _found_at(scanner: Scanner, text: str, secret: str, kind: str) -> None:
    finding = _only(scanner.scan(text))
    start = text.index(secret)
    assert (finding.type, finding.start, finding.end) == (kind, start, start + len(secret)), text
    assert finding.confidence >= 0.9


@pytest.mark.parametrize("where", list(SURROUNDINGS))
@pytest.mark.parametrize(
    ("kind", "make"), PREFIXED, ids=[f"{p[0]}-{n}" for n, p in enumerate(PREFIXED)]
)
def test_a_prefixed_format_is_found_anywhere(
    scanner: Scanner, kind: str, make: Make, where: str
) -> None:
    for seed in range(3):
        secret = make(random.Random(f"{kind}-{where}-{seed}"))
        _found_at(scanner, SURROUNDINGS[where].format(secret), secret, kind)


def _b64(r: random.Random, size: int) -> str:
    return base64.b64encode(r.randbytes(size)).decode()


# (type, how to make one, its usual surroundings)
AZURE_AND_OTHERS: list[tuple[str, Make, str]] = [
    (
        "azure_storage_key",
        lambda r: _b64(r, 64),
        "DefaultEndpointsProtocol=https;AccountName=acmelogs;AccountKey={};"
        "EndpointSuffix=core.windows.net",
    ),
    (
        "azure_shared_access_key",
        lambda r: _b64(r, 32),
        "Endpoint=sb://acme.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;"
        "SharedAccessKey={}",
    ),
    (
        "azure_sas_token",
        lambda r: quote(_b64(r, 32), safe=""),
        "https://acme.blob.core.windows.net/exports/q3.csv?sv=2022-11-02&ss=b&srt=o&sp=r"
        "&se=2026-12-31T00:00:00Z&sig={}",
    ),
    (
        "azure_client_secret",
        _join(_c(ALNUM, 3), _c(string.digits, 1), "Q~", _c(ALNUM + "_~.-", 34)),
        '{{"tenant": "acme", "clientSecret": "{}"}}',
    ),
    (
        "azure_client_secret",
        _join(_c(ALNUM, 3), _c(string.digits, 1), "Q~", _c(ALNUM + "_~.-", 31)),
        "az login --service-principal -u app -p {} --tenant acme",
    ),
    (
        "discord_webhook",
        _join("https://discord.com/api/webhooks/", _c(string.digits, 18), "/", _c(URLSAFE, 68)),
        "notify: curl -X POST {} -d @payload.json",
    ),
    (
        "microsoftteams_webhook",
        _join(
            "https://acme.webhook.office.com/webhookb2/",
            _uuid,
            "@",
            _uuid,
            "/IncomingWebhook/",
            _c(ALNUM, 32),
            "/",
            _uuid,
        ),
        '{{"channel": "ops", "webhook_url": "{}"}}',
    ),
    (
        "kubernetes_token",
        _join(_c(LOWER, 6), ".", _c(LOWER, 16)),
        "kubeadm join 10.0.0.5:6443 --token {} --discovery-token-ca-cert-hash sha256:abc",
    ),
    (
        "sidekiq_secret",
        _join(_c(HEX, 8), ":", _c(HEX, 8)),
        "export BUNDLE_ENTERPRISE__CONTRIBSYS__COM={}\nbundle install\n",
    ),
    (
        "nuget_password",
        _c(ALNUM + "!#", 16),
        '<packageSourceCredentials><acme>\n  <add key="Username" value="ci" />\n'
        '  <add key="ClearTextPassword" value="{}" />\n</acme></packageSourceCredentials>',
    ),
]


@pytest.mark.parametrize(
    ("kind", "make", "template"),
    AZURE_AND_OTHERS,
    ids=[f"{p[0]}-{n}" for n, p in enumerate(AZURE_AND_OTHERS)],
)
def test_keys_in_connection_strings_urls_and_configs(
    scanner: Scanner, kind: str, make: Make, template: str
) -> None:
    for seed in range(3):
        secret = make(random.Random(f"{kind}-{seed}"))
        text = template.format(secret)
        finding = _only(scanner.scan(text))
        start = text.index(secret)
        assert (finding.type, finding.start, finding.end) == (kind, start, start + len(secret))


# (type, the identifier as a program spells it, how to make one)
NAMED: list[tuple[str, str, Make]] = [
    ("twilio_auth_token", "twilio", _c(HEX, 32)),
    ("atlassian_api_token", "atlassian", _join(_c(LOWER, 20), _c(HEX, 4))),
    ("atlassian_api_token", "jira", _join(_c(LOWER, 20), _c(HEX, 4))),
    ("azure_storage_key", "azure", lambda r: _b64(r, 64)),
    ("discord_token", "discord", _c(HEX, 64)),
    (
        "discord_token",
        "discord",
        _join("MT", _c(ALNUM, 22), ".", _c(URLSAFE, 6), ".", _c(URLSAFE, 38)),
    ),
    ("discord_secret", "discord", _c(URLSAFE, 32)),
    ("discord_secret", "discord", _c(string.digits, 32)),
    ("mailgun_api_key", "mailgun", _join(_c(HEX, 32), "-", _c(HEX, 8), "-", _c(HEX, 8))),
    ("heroku_api_key", "heroku", _uuid),
    ("datadog_api_key", "datadog", _c(HEX, 32)),
    ("datadog_api_key", "datadog", _c(LOWER, 40)),
    ("mailchimp_api_key", "mailchimp", _join(_c(HEX, 32), "-us", _c(string.digits, 2))),
    ("okta_token", "okta", _join("00", _c(URLSAFE, 40))),
    ("cloudflare_api_key", "cloudflare", _c(HEX, 37)),
    ("cloudflare_api_token", "cloudflare", _c(URLSAFE, 40)),
    ("hashicorp_vault_token", "vault", _join("s.", _c(ALNUM, 24))),
    ("linear_secret", "linear", _c(HEX, 32)),
    ("newrelic_key", "newrelic", _join(_c(HEX, 36), "NRAL")),
    ("newrelic_key", "new_relic", _c(HEX, 40)),
    ("sentry_token", "sentry", _c(HEX, 64)),
    ("alibaba_secret_key", "alibaba", _c(ALNUM, 30)),
    ("airtable_api_key", "airtable", _c(ALNUM, 17)),
    ("algolia_api_key", "algolia", _c(LOWER, 32)),
    ("asana_secret", "asana", _c(ALNUM, 32)),
    ("asana_token", "asana", _join("1/", _c(string.digits, 16), ":", _c(HEX, 32))),
    ("bitbucket_key", "bitbucket", _c(ALNUM, 32)),
    ("bitbucket_secret", "bitbucket", _c(URLSAFE, 64)),
    ("contentful_token", "contentful", _c(URLSAFE, 43)),
    ("facebook_secret", "facebook", _c(HEX, 32)),
    ("gocardless_token", "gocardless", _join("live_", _c(URLSAFE, 40))),
    ("intercom_api_key", "intercom", _c(URLSAFE, 60)),
    ("jfrog_api_key", "jfrog", _c(ALNUM, 73)),
    ("jfrog_token", "artifactory", _c(ALNUM, 64)),
    ("launchdarkly_token", "launchdarkly", _c(URLSAFE, 40)),
    ("mapbox_token", "mapbox", _join("pk.", _c(LOWER, 60), ".", _c(LOWER, 22))),
    ("notion_token", "notion", _join("secret_", _c(ALNUM, 43))),
    ("snyk_token", "snyk", _uuid),
    ("sonar_token", "sonar", _c(ALNUM, 40)),
    ("sourcegraph_token", "sourcegraph", _c(HEX, 40)),
    ("telegram_token", "telegram", _join(_c(string.digits, 9), ":A", _c(URLSAFE, 34))),
    ("twitch_token", "twitch", _c(LOWER, 30)),
    ("twitter_api_key", "twitter", _c(ALNUM, 25)),
    ("twitter_secret", "twitter", _c(ALNUM, 50)),
    ("twitter_secret", "twitter", _c(ALNUM, 45)),
    ("twitter_token", "twitter", _join(_c(string.digits, 19), "-", _c(ALNUM, 30))),
    ("yandex_secret", "yandex", _join("YC", _c(URLSAFE, 38))),
    ("yandex_token", "yandex", _join("t1.", _c(URLSAFE, 20), ".", _c(URLSAFE, 86))),
    ("zendesk_token", "zendesk", _c(ALNUM, 40)),
    ("cohere_api_key", "cohere", _c(ALNUM, 40)),
    ("mistral_api_key", "mistral", _c(ALNUM, 32)),
    ("deepseek_api_key", "deepseek", _join("sk-", _c(HEX, 32))),
    ("adobe_api_key", "adobe", _c(HEX, 32)),
    ("travisci_token", "travis", _c(ALNUM, 22)),
    ("confluent_secret", "confluent", _c(ALNUM, 64)),
    ("confluent_api_key", "confluent", _c(UPPER, 16)),
    ("fastly_token", "fastly", _c(URLSAFE, 32)),
    ("dropbox_token", "dropbox", _join("sl.", _c(URLSAFE, 135))),
    ("hubspot_api_key", "hubspot", _uuid),
    ("netlify_token", "netlify", _c(URLSAFE, 43)),
    ("trello_token", "trello", _c(ALNUM + "-", 32)),
    ("azure_devops_token", "azure", _c("abcdefghijklmnopqrstuvwxyz234567", 52)),
    ("azure_api_key", "azure", _c(HEX, 32)),
    ("pagerduty_token", "pagerduty", _join("u+", _c(URLSAFE, 18))),
    ("vercel_token", "vercel", _c(ALNUM, 24)),
    ("auth0_secret", "auth0", _c(URLSAFE, 64)),
    ("postmark_token", "postmark", _uuid),
    ("elevenlabs_api_key", "elevenlabs", _join("sk_", _c(HEX, 48))),
    ("dropbox_token", "dropbox", _c(LOWER, 15)),
    ("dropbox_token", "dropbox", _join(_c(LOWER, 11), "A" * 10, _c(URLSAFE, 43))),
    ("sumologic_token", "sumo", _c(ALNUM, 64)),
    ("adafruit_api_key", "adafruit", _c(URLSAFE, 32)),
    ("beamer_api_key", "beamer", _join("b_", _c(URLSAFE, 44))),
    ("codecov_token", "codecov", _c(ALNUM, 32)),
    ("coinbase_token", "coinbase", _c(URLSAFE, 64)),
    ("droneci_token", "droneci", _c(ALNUM, 32)),
    ("etsy_token", "etsy", _c(ALNUM, 24)),
    ("finicity_token", "finicity", _c(HEX, 32)),
    ("finicity_secret", "finicity", _c(ALNUM, 20)),
    ("finnhub_token", "finnhub", _c(ALNUM, 20)),
    ("flickr_token", "flickr", _c(ALNUM, 32)),
    ("freshbooks_token", "freshbooks", _c(ALNUM, 64)),
    ("gitter_token", "gitter", _c(URLSAFE, 40)),
    ("kraken_token", "kraken", _c(B64, 86)),
    ("kucoin_token", "kucoin", _c(HEX, 24)),
    ("kucoin_secret", "kucoin", _uuid),
    ("looker_secret", "looker", _c(ALNUM, 24)),
    ("mattermost_token", "mattermost", _c(LOWER, 26)),
    ("meraki_api_key", "meraki", _c(HEX, 40)),
    ("messagebird_token", "messagebird", _c(ALNUM, 25)),
    ("nytimes_token", "nytimes", _c(URLSAFE, 32)),
    ("plaid_secret", "plaid", _c(LOWER, 30)),
    ("plaid_token", "plaid", _join("access-sandbox-", _uuid)),
    ("privateai_token", "privateai", _c(LOWER, 32)),
    ("rapidapi_token", "rapidapi", _c(URLSAFE, 50)),
    ("sendbird_token", "sendbird", _c(HEX, 40)),
    ("squarespace_token", "squarespace", _uuid),
    ("linkedin_secret", "linkedin", _c(ALNUM, 16)),
]

# The ways a config file or a program assigns a value to a name ({i}: the identifier as
# written in code, {I}: in capitals), after the forms gitleaks generates its tests in.
FORMS = {
    "ini-quoted": '{i}Token="{s}"',
    "ini-spaced": '{i}Token = "{s}"',
    "ini-bare": "{i}Token={s}",
    "ini-bare-spaced": "{i}Token = {s}",
    "json": '{{\n    "{i}_token": "{s}"\n}}',
    "json-escaped-newline": '{{"config.ini": "{I}_TOKEN={s}\\nBACKUP_ENABLED=true"}}',
    "xml": "<{i}Token>{s}</{i}Token>",
    "xml-multiline": "<{i}Token>\n    {s}\n</{i}Token>",
    "yaml": "{i}_token: {s}",
    "yaml-single": "{i}_token: '{s}'",
    "yaml-double": '{i}_token: "{s}"',
    "yaml-nested": "{i}:\n  api_token: {s}\n",
    "csharp": 'string {i}Token = "{s}";',
    "go": 'var {i}Token string = "{s}"',
    "go-short": '{i}Token := "{s}"',
    "go-backticks": "{i}Token := `{s}`",
    "java": 'String {i}Token = "{s}";',
    "kotlin": 'var {i}Token = "{s}"',
    "kotlin-typed": 'val {i}Token: String = "{s}"',
    "php-concat": '${i}Token .= "{s}"',
    "php-coalesce": '${i}Token ??= "{s}"',
    "python-single": "{i}Token = '{s}'",
    "python-double": '{i}Token = "{s}"',
    "set-property": 'System.setProperty("{I}_TOKEN", "{s}")',
    "logstash": '  "{i}Token" => "{s}"',
    "make-recursive": '{I}_TOKEN = "{s}"',
    "make-simple": '{I}_TOKEN := "{s}"',
    "make-shell": '{I}_TOKEN ::= "{s}"',
    "make-evaluated": '{I}_TOKEN :::= "{s}"',
    "make-conditional": '{I}_TOKEN ?= "{s}"',
    "cli-flag": "deploy --{i}-token {s} --verbose",
    "header": "X-{i}-Token: {s}\r\n",
    "header-in-code": 'req.Header.Set("X-{I}-Token", "{s}")',
    "hcl-default": 'variable "{i}_token" {{\n  default = "{s}"\n}}',
}


@pytest.mark.parametrize(
    ("kind", "name", "make"), NAMED, ids=[f"{p[0]}-{p[1]}-{n}" for n, p in enumerate(NAMED)]
)
def test_a_shapeless_value_is_found_next_to_its_provider_name(
    scanner: Scanner, kind: str, name: str, make: Make
) -> None:
    missed = []
    for n, (form, template) in enumerate(FORMS.items()):
        secret = make(random.Random(f"{kind}-{name}-{n}"))
        text = template.format(i=name, I=name.upper(), s=secret)
        start = text.index(secret)
        found = [(f.type, f.start, f.end, f.confidence) for f in scanner.scan(text)]
        if [f[:3] for f in found] != [(kind, start, start + len(secret))] or not all(
            f[3] >= providers.NAMED for f in found
        ):
            missed.append((form, found))
    assert not missed


def test_aws_session_tokens_under_their_names(scanner: Scanner) -> None:
    rng = random.Random(7)
    secret = base64.b64encode(rng.randbytes(250)).decode()
    for text in (
        f"[prod]\naws_session_token = {secret}\n",
        f'{{"AWS_SESSION_TOKEN": "{secret}"}}',
        f"export AWS_SECURITY_TOKEN={secret}",
    ):
        finding = _only(scanner.scan(text))
        start = text.index(secret)
        assert (finding.type, finding.start, finding.end) == (
            "aws_session_token",
            start,
            start + len(secret),
        )


LOOK_ALIKES = [
    # too short, too long, wrong alphabet
    "SK" + "3f9a0c71e2b84d56a9c0e1f27b3d4a5",
    "SK3F9A0C71E2B84D56A9C0E1F27B3D4A5G",
    "hf_" + "Qm3xV9" * 5,
    "dapi3f9a0c71e2b84d56a9c0e1f27b3d4a5",
    "dop_v1_" + "zq" * 32,
    "glsa_abc",
    "key-value store, key-3f9a0c71 rotation",
    "pul-3f9a0c71e2b84d56",
    "AGE-SECRET-KEY-1" + "b" * 58,
    "NRAK-short",
    "order SK83920174658392017465839201746583 shipped",
    "a hvs.short token",
    "ya29.short",
    # placeholders that keep the prefix
    "shpat_<access-token>",
    "hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "dop_v1_" + "0" * 64,
    "ATATT3" + "x" * 186,
    "GOCSPX-XXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    "pplx-" + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV",
    "sk.eyJxxxxxxxxxxxxxxxxxxxxxxxxxx.xxxxxxxxxxxxxxxxxxxxxxxxx",
    "AccountKey=" + "A" * 86 + "==",
    "whsec_" + "your_webhook_secret_goes_here_12345",
    "xkeysib-" + "0" * 64 + "-" + "x" * 16,
    # the provider's name next to a value that is not its secret
    "twilio_account_sid = AC3f9a0c71e2b84d56a9c0e1f27b3d4a5f",
    'TWILIO_ACCOUNT_SID="3f9a0c71e2b84d56a9c0e1f27b3d4a5f"',
    "heroku_app_id: 1f0e4a52-6a1b-4c3d-9e8f-7a6b5c4d3e2f",
    "sentry:\n  release: 9fceb02d0ae598e95dc970b74767f19372d61af8e3b0c44298fc1c149afbf4c8\n",
    "SENTRY_RELEASE=9fceb02d0ae598e95dc970b74767f19372d61af8e3b0c44298fc1c149afbf4c8",
    "datadog_api_key = ${DD_API_KEY}",
    'okta_token = "00xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"',
    "twilio token 3f9a0c71e2b8",
    "linear_layer = nn.Linear(512, 256)",
    "datadog: enabled",
    "rookTable = 0023452Lllk2KqjLBvaxANWEgTd7bqjsxjo8aZj0wd",
    "sgp_5555555dAAAAA7777777CcccCFaaaaaaaaaaaaaa",
    "https://cdn.example.net/img.png?w=300&sig=3f9a0c71e2b84d56a9c0e1f27b3d4a5f9e8d7c6b5a4f3e2d",
    "the global_settings = 3f9a0c71e2b84d56a9c0e1f27b3d4a5f; blob: 9e8d7c6b5a4f3e2d1c0b",
    # ordinary text that shares a prefix's first characters
    "API-first design; ASK the team; the pat.match(x) call; sig=abc; sha256~ delta",
    "ticket 2024:AAB and dp.pt.short; EAAA batteries; LTAI short; oy2 key",
]


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_look_alikes_are_not_reported(scanner: Scanner, text: str) -> None:
    assert scanner.scan(text) == []


def test_every_provider_type_is_declared() -> None:
    assert set(providers.TYPES) <= set(SECRET_TYPES)
    assert all("_" in kind and kind == kind.lower() for kind in providers.TYPES)


def _ordinary_text(size: int) -> str:
    """Python's own source and docstrings: English and code nobody here wrote."""
    import argparse
    import email.message
    import http.client
    import json.decoder
    import textwrap
    import urllib.parse

    modules = (argparse, textwrap, http.client, email.message, urllib.parse, json.decoder)
    return "".join(inspect.getsource(module) for module in modules)[:size]


_FAMILY_COUNT = len(matching.FAMILIES)


def test_the_automaton_does_not_fire_on_ordinary_text(scanner: Scanner) -> None:
    text = _ordinary_text(50_000)
    assert len(text) == 50_000
    named = {id(family) for family in providers.NAMED_FAMILIES}
    fired = [
        family.prefix
        for family in (matching.FAMILIES[i] for i in matching._present(text) if i < _FAMILY_COUNT)
        if family in providers.FAMILIES and id(family) not in named
    ]
    assert fired == []
    assert [f for f in scanner.scan(text) if f.type in providers.TYPES] == []
