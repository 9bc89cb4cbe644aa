"""Outbound HTTP for webhook deliveries: the dispatcher's ``Sender`` over httpx.

Short timeouts, no redirects followed (a redirect is a failed attempt: the receiver's
URL is what an admin configured), and the response body is never read: only the status
matters, and a receiver cannot make Charter download anything.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from charter import __version__
from charter.service.dispatch import Outcome

__all__ = ["HttpSender"]


class HttpSender:
    """POSTs deliveries with httpx; every network failure becomes an ``Outcome``."""

    def __init__(self, *, timeout: float = 5.0, http: httpx.Client | None = None) -> None:
        self._http = http or httpx.Client(
            timeout=timeout,
            follow_redirects=False,
            headers={"User-Agent": f"Charter-Webhooks/{__version__}"},
        )

    def send(self, url: str, body: bytes, headers: Mapping[str, str]) -> Outcome:
        """POST ``body`` to ``url``."""
        try:
            with self._http.stream("POST", url, content=body, headers=dict(headers)) as answer:
                status = answer.status_code
        except httpx.TimeoutException:
            return Outcome(None, "timed out")
        except httpx.ConnectError:
            return Outcome(None, "could not connect")
        except httpx.InvalidURL:
            return Outcome(None, "invalid URL")
        except httpx.HTTPError as error:
            # The class name only: exception text can quote the URL.
            return Outcome(None, f"request failed ({type(error).__name__})")
        if 200 <= status < 300:
            return Outcome(status)
        if 300 <= status < 400:
            return Outcome(status, f"HTTP {status} (redirects are not followed)")
        return Outcome(status, f"HTTP {status}")

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()
