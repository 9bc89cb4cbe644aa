"""What the scanner reports: one ``Finding`` for each secret, never the secret itself."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["LEAKED_SECRET", "SECRET_TYPES", "Finding", "LeakSet"]

SECRET_TYPES = (
    "charter_token",
    "aws_access_key",
    "aws_secret_key",
    "github_token",
    "gitlab_token",
    "slack_token",
    "slack_webhook",
    "stripe_key",
    "openai_key",
    "anthropic_key",
    "google_api_key",
    "npm_token",
    "pypi_token",
    "jwt",
    "private_key",
    "url_password",
    "authorization_header",
    "generic_secret",
    # The providers' formats (``providers.py``), as <provider>_<kind>.
    "twilio_api_key",
    "sendgrid_api_key",
    "huggingface_token",
    "shopify_token",
    "shopify_secret",
    "databricks_token",
    "digitalocean_token",
    "atlassian_api_token",
    "heroku_api_key",
    "google_oauth_secret",
    "google_oauth_token",
    "hashicorp_vault_token",
    "hashicorp_terraform_token",
    "doppler_token",
    "dynatrace_token",
    "postman_api_key",
    "pulumi_token",
    "linear_api_key",
    "linear_token",
    "newrelic_api_key",
    "newrelic_key",
    "newrelic_token",
    "grafana_token",
    "grafana_api_key",
    "sentry_token",
    "square_token",
    "square_secret",
    "age_secret_key",
    "alibaba_access_key",
    "airtable_token",
    "artifactory_api_key",
    "artifactory_token",
    "bitbucket_token",
    "facebook_token",
    "flyio_token",
    "harness_api_key",
    "launchdarkly_api_key",
    "mapbox_token",
    "notion_token",
    "nuget_api_key",
    "octopus_api_key",
    "openshift_token",
    "perplexity_api_key",
    "planetscale_password",
    "planetscale_token",
    "prefect_api_key",
    "readme_api_key",
    "rubygems_api_key",
    "sendinblue_api_key",
    "shippo_api_key",
    "sonar_token",
    "sourcegraph_token",
    "stripe_webhook_secret",
    "telegram_token",
    "twitter_token",
    "typeform_token",
    "yandex_api_key",
    "onepassword_token",
    "onepassword_secret_key",
    "groq_api_key",
    "xai_api_key",
    "replicate_token",
    "adobe_secret",
    "clojars_token",
    "easypost_api_key",
    "frameio_token",
    "infracost_api_key",
    "scalingo_token",
    "cloudflare_origin_ca_key",
    "mailgun_api_key",
    "aws_bedrock_key",
    "aws_session_token",
    "definednetworking_token",
    "duffel_token",
    "flutterwave_secret",
    "settlemint_token",
    "docker_token",
    "supabase_token",
    "supabase_secret",
    "pinecone_api_key",
    "langsmith_api_key",
    "tavily_api_key",
    "openrouter_api_key",
    "nvidia_api_key",
    "render_api_key",
    "figma_token",
    "clickup_token",
    "braintree_token",
    "google_fcm_key",
    "intra42_secret",
    "clickhouse_secret",
    "lob_api_key",
    "azure_storage_key",
    "azure_shared_access_key",
    "azure_sas_token",
    "azure_client_secret",
    "discord_webhook",
    "microsoftteams_webhook",
    "kubernetes_token",
    "nuget_password",
    "twilio_auth_token",
    "azure_devops_token",
    "azure_api_key",
    "discord_token",
    "discord_secret",
    "datadog_api_key",
    "mailchimp_api_key",
    "okta_token",
    "cloudflare_api_key",
    "cloudflare_api_token",
    "linear_secret",
    "alibaba_secret_key",
    "airtable_api_key",
    "algolia_api_key",
    "asana_token",
    "asana_secret",
    "bitbucket_secret",
    "bitbucket_key",
    "contentful_token",
    "facebook_secret",
    "gocardless_token",
    "intercom_api_key",
    "jfrog_api_key",
    "jfrog_token",
    "launchdarkly_token",
    "snyk_token",
    "twitch_token",
    "twitter_secret",
    "twitter_api_key",
    "yandex_token",
    "yandex_secret",
    "zendesk_token",
    "cohere_api_key",
    "mistral_api_key",
    "deepseek_api_key",
    "adobe_api_key",
    "travisci_token",
    "confluent_secret",
    "confluent_api_key",
    "fastly_token",
    "dropbox_token",
    "hubspot_api_key",
    "netlify_token",
    "trello_token",
    "sidekiq_secret",
    "sumologic_token",
    "adafruit_api_key",
    "beamer_api_key",
    "codecov_token",
    "coinbase_token",
    "droneci_token",
    "etsy_token",
    "finicity_token",
    "finicity_secret",
    "finnhub_token",
    "flickr_token",
    "freshbooks_token",
    "gitter_token",
    "kraken_token",
    "kucoin_secret",
    "kucoin_token",
    "looker_secret",
    "mattermost_token",
    "meraki_api_key",
    "messagebird_token",
    "nytimes_token",
    "plaid_token",
    "plaid_secret",
    "privateai_token",
    "rapidapi_token",
    "sendbird_token",
    "squarespace_token",
    "linkedin_secret",
    "pagerduty_token",
    "vercel_token",
    "auth0_secret",
    "postmark_token",
    "elevenlabs_api_key",
)
"""Every type a detector reports."""

LEAKED_SECRET = "leaked_secret"
"""The type of a registered leak that no detector recognised (a password, say)."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One secret found: where, what kind, how sure, and its fingerprint."""

    type: str
    path: str
    """Where the string holding it is: ``$`` for plain text, ``$.input.headers[0]`` in JSON."""
    start: int
    end: int
    """Character offsets in that string (of the encoded form, for an encoded secret)."""
    confidence: float
    fingerprint: str | None = None
    """HMAC of the secret under the server's key; None from a scanner without a key."""
    encoding: str | None = None
    """``base64`` or ``url`` when the secret was found only once decoded."""
    leaked: bool = False
    """The fingerprint is in the leaked-secret registry."""
    key: bool = False
    """The secret is in a JSON key (the one ``path`` ends with, shown masked)."""

    def to_json(self) -> dict[str, Any]:
        """The finding as the API, the audit log and CEL see it: no value, ever (``key``
        only when the secret is in a key)."""
        shown = {
            "type": self.type,
            "path": self.path,
            "start": self.start,
            "end": self.end,
            "confidence": self.confidence,
            "fingerprint": self.fingerprint,
            "encoding": self.encoding,
            "leaked": self.leaked,
        }
        if self.key:
            shown["key"] = True
        return shown


@dataclass(frozen=True, slots=True)
class LeakSet:
    """The registered leaks a scan looks for: their fingerprints, and their lengths, so
    that only strings of a leaked length are fingerprinted at all."""

    fingerprints: frozenset[str] = frozenset()
    lengths: frozenset[int] | None = frozenset()
    """None: some leak was registered by fingerprint alone, so every length counts."""
    count: int = 0
    """How many leaks were registered when this view was read (never fewer later)."""

    @classmethod
    def of(cls, leaks: Iterable[tuple[str, int | None]]) -> LeakSet:
        """From ``(fingerprint, length or None)`` pairs."""
        pairs = list(leaks)
        lengths = [length for _, length in pairs]
        return cls(
            fingerprints=frozenset(fingerprint for fingerprint, _ in pairs),
            lengths=None if None in lengths else frozenset(n for n in lengths if n is not None),
            count=len(pairs),
        )

    def __bool__(self) -> bool:
        return bool(self.fingerprints)

    def shortest(self) -> int:
        """The length of the shortest registered leak (1 when some length is unknown)."""
        return 1 if self.lengths is None or not self.lengths else min(self.lengths)

    def wants(self, length: int) -> bool:
        """Whether a candidate of ``length`` characters could be a registered leak."""
        return self.lengths is None or length in self.lengths
