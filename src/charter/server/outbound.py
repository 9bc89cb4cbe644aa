"""Outbound HTTP for webhook deliveries: the dispatcher's ``Sender`` over httpx.

Short timeouts, no redirects followed (a redirect is a failed attempt: the receiver's
URL is what an admin configured), and the response body is never read: only the status
matters, and a receiver cannot make Charter download anything.

Every connection goes to an address checked just before connecting: the receiver's
host is resolved here, every address it resolves to must be an allowed webhook target
(``charter.webhooks.targets``), and the connection is made to the checked address, so a
name that resolves to a metadata or private address (or starts to, between two
deliveries) is never reached. Proxy settings from the environment are ignored: a proxy
would resolve the name itself.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Mapping

import httpcore
import httpx

from charter.errors import InvalidInput
from charter.service.dispatch import Outcome
from charter.version import __version__
from charter.webhooks.targets import Address, address_problem, host_address, host_problem

__all__ = ["HttpSender", "TargetRefused"]


class TargetRefused(httpcore.ConnectError):
    """The receiver's host is, or resolves to, an address webhooks may not reach."""


class _CheckedBackend(httpcore.SyncBackend):
    """Resolves the host, checks every address, and connects to a checked one."""

    def __init__(self, *, allow_private: bool) -> None:
        self.allow_private = allow_private

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            # Judged as registration judged it first (the C library may read it otherwise).
            problem = host_problem(host, allow_private=self.allow_private)
            literal = host_address(host)
        except InvalidInput as error:
            raise TargetRefused(error.message) from None
        if problem is not None:
            raise TargetRefused(problem)
        if literal is not None:
            addresses: list[Address] = [literal]
        else:
            try:
                found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except (OSError, UnicodeError) as error:
                raise httpcore.ConnectError(
                    f"cannot resolve the host ({type(error).__name__})"
                ) from None
            addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in found]
        if not addresses:
            raise httpcore.ConnectError("the host resolves to no address")
        for address in addresses:
            problem = address_problem(address, allow_private=self.allow_private)
            if problem is not None:
                raise TargetRefused(problem)
        refused: httpcore.ConnectError | None = None
        for address in dict.fromkeys(addresses):  # each checked address, in resolver order
            try:
                return super().connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as error:
                refused = error
        raise refused or httpcore.ConnectError("no address to connect to")


class _CheckedTransport(httpx.HTTPTransport):
    def __init__(self, *, allow_private: bool) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            network_backend=_CheckedBackend(allow_private=allow_private),
        )


class HttpSender:
    """POSTs deliveries with httpx; every network failure becomes an ``Outcome``.

    ``allow_private``: private and loopback receivers may be reached (link-local and
    metadata addresses never are).
    """

    def __init__(
        self,
        *,
        timeout: float = 5.0,
        allow_private: bool = False,
        http: httpx.Client | None = None,
    ) -> None:
        self._http = http or httpx.Client(
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
            transport=_CheckedTransport(allow_private=allow_private),
            headers={"User-Agent": f"Charter-Webhooks/{__version__}"},
        )

    def send(self, url: str, body: bytes, headers: Mapping[str, str]) -> Outcome:
        """POST ``body`` to ``url``."""
        try:
            with self._http.stream("POST", url, content=body, headers=dict(headers)) as answer:
                status = answer.status_code
        except httpx.TimeoutException:
            return Outcome(None, "timed out")
        except httpx.ConnectError as error:
            if isinstance(error.__cause__, TargetRefused):
                return Outcome(None, f"target refused: {error.__cause__}")
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
