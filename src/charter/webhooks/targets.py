"""Which addresses a webhook may be sent to.

A webhook URL is chosen by an admin, but a request Charter sends on its own behalf from
inside a network can reach what the admin cannot: the cloud's instance metadata service
(credentials), the server's own loopback interfaces, private services. So:

- link-local and metadata addresses (``169.254.0.0/16``, ``fe80::/10``,
  ``fd00:ec2::254``, ...) are refused always;
- private, loopback, unspecified and other non-global addresses are refused unless the
  server allows private targets (``CHARTER_WEBHOOK_ALLOW_PRIVATE_TARGETS``);
- an IPv6 address that embeds an IPv4 one (IPv4-mapped, IPv4-compatible, 6to4, NAT64,
  Teredo) is judged by the IPv4 address it reaches.

Hosts are read the way HTTP clients and the C resolver read them: ``2852039166``,
``0xa9fea9fe``, ``0251.0376.0251.0376`` and ``169.254.43518`` are all
``169.254.169.254``. A name is judged by what it resolves to, at delivery time, just
before connecting (``charter.server.outbound``); at registration only names that are
always local (``localhost``, ``*.localhost``) and metadata names are refused.
"""

from __future__ import annotations

import ipaddress
import unicodedata
from urllib.parse import unquote

from charter.codes import ErrorCode
from charter.errors import InvalidInput

__all__ = ["Address", "address_problem", "check_target", "host_address", "host_problem"]

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_ALWAYS_REFUSED = tuple(
    ipaddress.ip_network(network)
    for network in (
        "169.254.0.0/16",  # IPv4 link-local: AWS, GCP, Azure, OpenStack metadata
        "fe80::/10",  # IPv6 link-local
        "fd00:ec2::254/128",  # AWS metadata over IPv6
        "100.100.100.200/32",  # Alibaba Cloud metadata
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_METADATA_NAMES = frozenset(
    {"metadata", "metadata.google.internal", "instance-data", "instance-data.ec2.internal"}
)
_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})


def host_address(host: str) -> Address | None:
    """The IP address ``host`` (as in a URL, brackets optional) spells, or None for a
    name. A host that looks numeric but is no valid address is ``InvalidInput``."""
    text = unicodedata.normalize("NFKC", unquote(host)).translate(_DOTS).strip().lower()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if ":" in text:
        try:
            return ipaddress.IPv6Address(text.split("%", 1)[0])
        except ValueError:
            raise _bad_host(host) from None
    name = text[:-1] if text.endswith(".") else text
    parts = name.split(".")
    if not parts or not _numeric(parts[-1]):
        return None
    # The last label is a number: clients read the whole host as an IPv4 address, in
    # the C library's forms (1 to 4 parts; decimal, 0-octal or 0x-hex).
    numbers = [_number(part) for part in parts]
    if len(numbers) > 4 or any(number is None for number in numbers):
        raise _bad_host(host)
    values = [number for number in numbers if number is not None]
    *leading, last = values
    if any(value > 255 for value in leading) or last >= 256 ** (5 - len(values)):
        raise _bad_host(host)
    packed = 0
    for value in leading:
        packed = packed * 256 + value
    packed = (packed << (8 * (5 - len(values)))) | last
    return ipaddress.IPv4Address(packed)


def _numeric(label: str) -> bool:
    return label.isascii() and (
        label.isdigit() or (label[:2] == "0x" and all(c in "0123456789abcdef" for c in label[2:]))
    )


def _number(label: str) -> int | None:
    if not _numeric(label) or len(label) > 34:
        return None
    if label[:2] == "0x":
        return int(label[2:] or "0", 16)
    if len(label) > 1 and label[0] == "0":
        return int(label, 8) if all(c in "01234567" for c in label) else None
    return int(label)


def _bad_host(host: str) -> InvalidInput:
    return InvalidInput(
        f"invalid webhook URL: the host {host[:100]!r} is not a valid address",
        code=ErrorCode.INVALID_WEBHOOK_URL,
        help="give an absolute URL such as https://hooks.example.com/charter",
    )


def _reached(address: Address) -> Address:
    """The IPv4 address an IPv6 one embeds and reaches, or the address itself."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address.teredo is not None:
            return address.teredo[1]
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if int(address) >> 32 == 0 and int(address) > 1:
            return ipaddress.IPv4Address(int(address))  # IPv4-compatible ::a.b.c.d
    return address


def address_problem(address: Address, *, allow_private: bool) -> str | None:
    """Why a webhook may not be sent to ``address``, or None if it may."""
    for candidate in {address, _reached(address)}:
        if any(candidate in network for network in _ALWAYS_REFUSED) or candidate.is_link_local:
            return f"{address} is a link-local or metadata address"
        if candidate.is_multicast:
            return f"{address} is a multicast address"
        if not candidate.is_global and not allow_private:
            return (
                f"{address} is a private, loopback or reserved address "
                "(CHARTER_WEBHOOK_ALLOW_PRIVATE_TARGETS is off)"
            )
    return None


def host_problem(host: str, *, allow_private: bool) -> str | None:
    """Why a webhook may not be sent to ``host`` as written (an address, or a name that is
    always local or a metadata service), or None. Other names are judged by what they
    resolve to. A host that looks numeric but is no valid address is ``InvalidInput``."""
    address = host_address(host)
    problem = None
    if address is not None:
        problem = address_problem(address, allow_private=allow_private)
    else:
        name = unicodedata.normalize("NFKC", host).translate(_DOTS).lower().rstrip(".")
        if name in _METADATA_NAMES:
            problem = f"{name} is a metadata service"
        elif (name in _LOCAL_NAMES or name.endswith(".localhost")) and not allow_private:
            problem = f"{name} is the server itself (CHARTER_WEBHOOK_ALLOW_PRIVATE_TARGETS is off)"
    return problem


def check_target(host: str, *, allow_private: bool) -> None:
    """Refuse a webhook host that is, or always names, a forbidden address
    (``webhook_target_forbidden``). Other names are checked when delivering."""
    problem = host_problem(host, allow_private=allow_private)
    if problem is not None:
        raise InvalidInput(
            f"webhooks may not be sent to {host[:100]!r}: {problem}",
            code=ErrorCode.WEBHOOK_TARGET_FORBIDDEN,
            help="give a public address; link-local and metadata addresses are never allowed",
        )
