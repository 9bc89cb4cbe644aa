"""``charter serve`` over HTTPS: a real server process, a self-signed certificate made
here, and a client that verifies it."""

from __future__ import annotations

import ipaddress
import os
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from typer.testing import CliRunner

from charter.cli.main import app
from tests.servers import free_port

runner = CliRunner()


@dataclass(frozen=True)
class Pair:
    cert: Path
    key: Path


def _self_signed(folder: Path, name: str = "server") -> Pair:
    """A certificate for 127.0.0.1 signed by its own key, valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "charter test")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pair = Pair(folder / f"{name}-cert.pem", folder / f"{name}-key.pem")
    pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pair.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    pair.key.chmod(0o600)
    return pair


def _init(data_dir: Path) -> None:
    result = runner.invoke(app, ["init", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.stderr


@contextmanager
def _serving(args: list[str], env: dict[str, str]) -> Iterator[list[str]]:
    """``charter serve`` in its own process until the block ends; yields the lines it
    wrote to stderr before uvicorn said it is listening."""
    process = subprocess.Popen(
        [sys.executable, "-c", "from charter.cli.main import main; main()", "serve", *args],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(60, process.kill)
    watchdog.start()
    lines: list[str] = []
    try:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line.rstrip())
            if "Uvicorn running on" in line:
                break
        assert any("Uvicorn running on" in line for line in lines), "\n".join(lines)
        yield lines
    finally:
        watchdog.cancel()
        process.terminate()
        process.communicate(timeout=30)


def test_serve_speaks_https_with_the_configured_certificate(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    _init(data_dir)
    pair = _self_signed(tmp_path)
    port = free_port()
    # The pair comes from the configuration file, with paths relative to it.
    config = tmp_path / "charter.toml"
    config.write_text(
        f'data_dir = "data"\nport = {port}\n[ssl]\n'
        f'certfile = "{pair.cert.name}"\nkeyfile = "{pair.key.name}"\n'
    )
    with _serving(["--config", str(config)], {}) as lines:
        assert any(f"serving on https://127.0.0.1:{port}" in line for line in lines), lines
        trusting = ssl.create_default_context(cafile=str(pair.cert))
        with httpx.Client(verify=trusting, timeout=10) as client:
            answer = client.get(f"https://127.0.0.1:{port}/healthz")
            assert answer.status_code == 200
            assert answer.url.scheme == "https"
        # A client that does not trust the certificate refuses the connection...
        other = _self_signed(tmp_path, "other")
        with (
            httpx.Client(verify=ssl.create_default_context(cafile=str(other.cert))) as client,
            pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
        ):
            client.get(f"https://127.0.0.1:{port}/healthz")
        # ...and plain HTTP gets no answer from the TLS port.
        with httpx.Client(timeout=10) as client, pytest.raises(httpx.HTTPError):
            client.get(f"http://127.0.0.1:{port}/healthz")


def test_options_beat_the_environment_for_the_pair(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    _init(data_dir)
    good = _self_signed(tmp_path, "good")
    port = free_port()
    env = {
        "CHARTER_DATA_DIR": str(data_dir),
        "CHARTER_PORT": str(port),
        "CHARTER_SSL_CERTFILE": str(tmp_path / "absent-cert.pem"),
        "CHARTER_SSL_KEYFILE": str(tmp_path / "absent-key.pem"),
    }
    args = ["--ssl-certfile", str(good.cert), "--ssl-keyfile", str(good.key)]
    with _serving(args, env):
        trusting = ssl.create_default_context(cafile=str(good.cert))
        with httpx.Client(verify=trusting, timeout=10) as client:
            assert client.get(f"https://127.0.0.1:{port}/readyz").status_code == 200


@pytest.mark.parametrize("problem", ["cert only", "key only", "mismatched", "missing", "not pem"])
def test_an_unusable_pair_is_refused_before_serving(tmp_path: Path, problem: str) -> None:
    data_dir = tmp_path / "data"
    _init(data_dir)
    pair, other = _self_signed(tmp_path), _self_signed(tmp_path, "other")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    args = {
        "cert only": ["--ssl-certfile", str(pair.cert)],
        "key only": ["--ssl-keyfile", str(pair.key)],
        "mismatched": ["--ssl-certfile", str(pair.cert), "--ssl-keyfile", str(other.key)],
        "missing": ["--ssl-certfile", str(tmp_path / "nope.pem"), "--ssl-keyfile", str(pair.key)],
        "not pem": ["--ssl-certfile", str(garbage), "--ssl-keyfile", str(pair.key)],
    }[problem]
    result = runner.invoke(
        app, ["serve", "--data-dir", str(data_dir), "--port", str(free_port()), *args]
    )
    assert result.exit_code == 1
    assert "[invalid_setting]" in result.stderr
    assert "Traceback" not in result.stderr
    assert "serving on" not in result.stderr
