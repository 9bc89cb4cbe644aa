"""``charter serve --ssl-certfile/--ssl-keyfile``: HTTPS without a proxy, checked before
the server starts so a wrong file is one line, not a traceback from deep in uvicorn."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Annotated

import typer

from charter.codes import ErrorCode
from charter.errors import InvalidInput
from charter.settings import Settings

__all__ = ["SslCertfile", "SslKeyfile", "check_tls_files"]

SslCertfile = Annotated[
    Path | None,
    typer.Option(
        "--ssl-certfile",
        envvar="CHARTER_SSL_CERTFILE",
        help="PEM certificate (chain) to serve HTTPS with; needs --ssl-keyfile.",
        show_default=False,
    ),
]
SslKeyfile = Annotated[
    Path | None,
    typer.Option(
        "--ssl-keyfile",
        envvar="CHARTER_SSL_KEYFILE",
        help="PEM private key of --ssl-certfile (unencrypted, mode 0600).",
        show_default=False,
    ),
]


def check_tls_files(settings: Settings) -> None:
    """Refuse one of the pair without the other, or a pair TLS cannot use."""
    cert, key = settings.ssl_certfile, settings.ssl_keyfile
    if cert is None and key is None:
        return
    if cert is None or key is None:
        raise InvalidInput(
            "HTTPS needs both a certificate and its key",
            code=ErrorCode.INVALID_SETTING,
            help="give --ssl-certfile and --ssl-keyfile (or ssl_certfile and ssl_keyfile), "
            "or neither",
        )
    for path in (cert, key):
        if not path.is_file():
            raise InvalidInput(f"no such file: {path}", code=ErrorCode.INVALID_SETTING)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(cert, key)
    except (ssl.SSLError, OSError) as error:
        reason = getattr(error, "reason", None) or getattr(error, "strerror", None) or "unusable"
        raise InvalidInput(
            f"cannot serve HTTPS with {cert} and {key}: {reason}",
            code=ErrorCode.INVALID_SETTING,
            help="give a PEM certificate and the unencrypted PEM key that matches it",
        ) from None
