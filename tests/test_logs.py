"""Request ids on every response and error, and JSON log lines, through the real app."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from charter.server.app import create_app
from charter.server.logs import AccessLines, JsonFormatter, _whole_lines, request_id_from
from charter.service import Services
from charter.settings import Settings, read_env
from tests.helpers import Admin, bearer
from tests.servers import free_port

GENERATED = re.compile(r"[0-9a-f]{16}")
CHARTER = [sys.executable, "-c", "from charter.cli.main import main; main()"]


def _boom() -> None:
    raise RuntimeError("the route failed")


def _app(services: Services, settings: Settings | None = None) -> FastAPI:
    app = create_app(services, settings)
    app.add_api_route("/boom", _boom, methods=["GET"])
    return app


def test_every_response_has_a_request_id_and_every_error_body_repeats_it(
    services: Services, admin: Admin
) -> None:
    with TestClient(_app(services), raise_server_exceptions=False) as api:
        ok = api.get("/healthz")
        assert GENERATED.fullmatch(ok.headers["x-request-id"])
        assert api.get("/healthz").headers["x-request-id"] != ok.headers["x-request-id"]
        answers = [
            api.get("/v1/agents"),  # 401
            api.get("/v1/agents/nope", headers=admin.headers),  # 404 from a route
            api.get("/no/such/page"),  # 404 from the router
            api.post("/v1/agents", content=b"{", headers=admin.headers),  # 422
            api.post("/v1/agents", content=b"x" * (2 * 1024 * 1024)),  # 413, before any route
            api.get("/boom"),  # 500
        ]
        assert [answer.status_code for answer in answers] == [401, 404, 404, 422, 413, 500]
        for answer in answers:
            rid = answer.headers["x-request-id"]
            assert GENERATED.fullmatch(rid), answer
            if answer.status_code != 413:
                assert answer.json()["error"]["request_id"] == rid, answer.text
        assert "the route failed" not in answers[-1].text


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("abc-123", True),
        ("A.b_c-9", True),
        ("x" * 64, True),
        ("x" * 65, False),
        ("", False),
        ("has space", False),
        ("semi;colon", False),
        ("caf\u00e9", False),
        ("line\\nbreak", False),
        ("0f8e4d2c-5b6a-4c3d-9e8f-7a6b5c4d3e2f", True),
        # Secrets are logged with every line of the request: never kept as its id.
        ("cht_bufsdzoox2ysdp6s_p8A-GNu2HnRhKSZo0NuIqODjHw9fYaqIgYNv_xKXbeU", False),
        ("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", False),
        ("sk_live_4eC39HqLyjWDarjtT1zdp7dc", False),
    ],
)
def test_a_client_request_id_is_kept_only_if_well_formed(
    services: Services, sent: str, kept: bool
) -> None:
    with TestClient(_app(services), raise_server_exceptions=False) as api:
        answer = api.get("/v1/whoami", headers=[(b"X-Request-ID", sent.encode("utf-8"))])
    rid = answer.headers["x-request-id"]
    assert (rid == sent) is kept, rid
    if not kept:
        assert GENERATED.fullmatch(rid)
    assert answer.json()["error"]["request_id"] == rid


def test_request_ids_are_checked_as_bytes() -> None:
    assert request_id_from(b"ok-1") == "ok-1"
    assert GENERATED.fullmatch(request_id_from(b"ok-1\n"))
    assert GENERATED.fullmatch(request_id_from(None))


def _lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_json_logs_have_one_object_a_line_and_an_access_line_a_request(
    services: Services, admin: Admin, capsys: pytest.CaptureFixture[str]
) -> None:
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    settings = Settings(log_format="json")
    with TestClient(_app(services, settings), raise_server_exceptions=False) as api:
        capsys.readouterr()
        found = api.get(
            "/v1/agents/nope?token=query-secret",
            headers={**admin.headers, "X-Request-ID": "trace-me-1"},
        )
        assert found.status_code == 404
        failed = api.get("/boom", headers=bearer("ch_0123.header-secret"))
        assert failed.status_code == 500
        written = capsys.readouterr().err
    assert (list(root.handlers), root.level) == before, "logging is put back at shutdown"
    lines = _lines(written)
    for line in lines:
        assert {"time", "level", "logger", "message", "request_id"} <= set(line)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"])
    access = [line for line in lines if line["logger"] == "charter.access"]
    assert [(a["method"], a["route"], a["status"]) for a in access] == [
        ("GET", "/v1/agents/{agent_id}", 404),
        ("GET", "/boom", 500),
    ]
    assert access[0]["request_id"] == "trace-me-1"
    assert access[1]["request_id"] == failed.headers["x-request-id"]
    assert all(isinstance(a["duration_ms"], float) and a["duration_ms"] >= 0 for a in access)
    # The unhandled error's line (with its traceback) carries the request's id.
    [crash] = [line for line in lines if "exception" in line]
    assert crash["level"] == "error"
    assert crash["request_id"] == failed.headers["x-request-id"]
    assert "RuntimeError: the route failed" in crash["exception"]
    # Neither tokens nor query strings reach the server's log (the test client's own
    # lines, which log its URLs, are not the server's).
    served = json.dumps([line for line in lines if not line["logger"].startswith("httpx")])
    assert "charter.access" in served
    for secret in ("query-secret", "header-secret", admin.token):
        assert secret not in served


def test_access_lines_can_be_turned_off_and_errors_are_still_logged(
    services: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings.layered(
        read_env({"CHARTER_LOG_FORMAT": "json", "CHARTER_ACCESS_LOG": "false"})
    )
    assert settings.access_log is False
    with TestClient(_app(services, settings), raise_server_exceptions=False) as api:
        capsys.readouterr()
        assert api.get("/healthz").status_code == 200
        failed = api.get("/boom")
        assert failed.status_code == 500
        written = capsys.readouterr().err
    lines = _lines(written)
    assert [line for line in lines if line["logger"] == "charter.access"] == []
    [crash] = [line for line in lines if "exception" in line]
    assert crash["request_id"] == failed.headers["x-request-id"]


def test_text_logs_are_left_alone(services: Services, capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    with TestClient(_app(services), raise_server_exceptions=False) as api:
        assert list(root.handlers) == before
        capsys.readouterr()
        api.get("/healthz")
        written = capsys.readouterr().err
    assert "charter.access" not in written


def test_the_formatter_keeps_extra_fields_and_tracebacks() -> None:
    try:
        raise ValueError("bad")
    except ValueError:
        record = logging.getLogger("charter.test").makeRecord(
            "charter.test",
            logging.WARNING,
            __file__,
            1,
            "saw %s",
            ("it",),
            exc_info=__import__("sys").exc_info(),
            extra={"route": "/v1/x"},
        )
    line = json.loads(JsonFormatter().format(record))
    assert (line["level"], line["logger"], line["message"]) == ("warning", "charter.test", "saw it")
    assert line["route"] == "/v1/x"
    assert line["request_id"] is None
    assert "ValueError: bad" in line["exception"]


def _serve(tmp_path: Path, *options: str) -> subprocess.Popen[bytes]:
    """``charter serve`` in JSON mode, its standard error in ``serve.log``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CHARTER_")}
    env |= {"CHARTER_DATA_DIR": str(tmp_path / "data"), "CHARTER_LOG_FORMAT": "json"}
    with (tmp_path / "serve.log").open("wb") as log:
        return subprocess.Popen([*CHARTER, "serve", *options], env=env, stderr=log)


def _init(tmp_path: Path) -> None:
    env = {**os.environ, "CHARTER_DATA_DIR": str(tmp_path / "data")}
    subprocess.run([*CHARTER, "init", "--json"], env=env, check=True, capture_output=True)


def _json_lines(tmp_path: Path) -> list[dict[str, Any]]:
    text = (tmp_path / "serve.log").read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_json_mode_covers_serves_own_lines_from_the_first(tmp_path: Path) -> None:
    # charter serve's own lines (where it serves, what stops it) and uvicorn's start-up
    # lines come before the app starts: in JSON mode they are JSON too.
    assert _serve(tmp_path).wait(timeout=60) == 1  # not initialised
    (line,) = _json_lines(tmp_path)
    assert line["level"] == "error"
    assert "[signing_key_missing]" in line["message"]
    _init(tmp_path)
    port = free_port()
    server = _serve(tmp_path, "--port", str(port))
    try:
        deadline = time.monotonic() + 60
        while "Uvicorn running on" not in (tmp_path / "serve.log").read_text():
            assert server.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    messages = [line["message"] for line in _json_lines(tmp_path)]  # fails on plain text
    assert any("serving on http://127.0.0.1" in message for message in messages)
    assert any("Application startup complete" in message for message in messages)
    assert any("Shutting down" in message for message in messages)


def test_a_busy_port_is_one_json_error_line(tmp_path: Path) -> None:
    _init(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert _serve(tmp_path, "--port", str(taken.getsockname()[1])).wait(timeout=60) == 1
    (line,) = _json_lines(tmp_path)
    assert line["level"] == "error"
    assert "cannot listen" in line["message"]


class _Writes(io.StringIO):
    """A stream that keeps each write apart."""

    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[str] = []

    @property
    def writes(self) -> int:
        return len(self.chunks)

    def write(self, text: str) -> int:
        self.chunks.append(text)
        return super().write(text)


def test_access_lines_are_kept_and_written_a_batch_at_a_time() -> None:
    stream = _Writes()
    like = logging.StreamHandler(stream)
    like.setFormatter(JsonFormatter())
    handler = AccessLines(like, most=3)
    logger = logging.getLogger("charter.test.batched")
    logger.propagate, logger.handlers = False, [handler]
    logger.setLevel(logging.INFO)
    for n in range(4):
        logger.info("line %d", n)
    # Three lines in one write once three were kept; the fourth waits for a flush.
    assert stream.writes == 1
    assert [line["message"] for line in _lines(stream.getvalue())] == ["line 0", "line 1", "line 2"]
    handler.flush()
    assert stream.writes == 2
    assert _lines(stream.getvalue())[-1]["message"] == "line 3"
    handler.flush()
    assert stream.writes == 2  # nothing kept, nothing written


def _served_lines(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> _Writes:
    """What a server process's logging writes, set up as configure_logs leaves it: one
    stream handler on the root, at INFO. Called in the test itself: pytest adds handlers
    of its own to the root while a test runs."""
    # The garbage collector is left alone here: it is this test process's.
    monkeypatch.setattr("charter.server.app.settle_collector", lambda: None)
    stream = _Writes()
    root = logging.getLogger()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    monkeypatch.setattr(root, "handlers", [handler])
    level = root.level
    root.setLevel(logging.INFO)
    request.addfinalizer(lambda: root.setLevel(level))
    return stream


def test_a_server_process_writes_its_access_lines_on_a_timer(
    services: Services, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    served_lines = _served_lines(monkeypatch, request)
    app = create_app(services, Settings(), server_process=True)
    with TestClient(app, raise_server_exceptions=False) as api:
        assert logging.getLogger("charter.access").propagate is False
        assert api.get("/healthz").status_code == 200
        # Written within a flush interval (a background timer: waited for, bounded).
        deadline = time.monotonic() + 10
        while "charter.access GET /healthz 200" not in served_lines.getvalue():
            assert time.monotonic() < deadline, served_lines.getvalue()
            time.sleep(0.05)


def test_a_server_process_writes_its_access_lines_in_batches(
    services: Services, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    served_lines = _served_lines(monkeypatch, request)
    # No timer fires during the test: what is kept is written when the server stops.
    monkeypatch.setattr("charter.server.observe.ACCESS_FLUSH_SECONDS", 3600.0)
    access = logging.getLogger("charter.access")
    app = create_app(services, Settings(), server_process=True)
    with TestClient(app, raise_server_exceptions=False) as api:
        for _ in range(5):
            assert api.get("/healthz").status_code == 200
        assert "charter.access" not in served_lines.getvalue()  # kept, not yet written
    # Stopping writes what was kept, the lines kept together in one write, and hands the
    # logger back.
    carrying = [chunk for chunk in served_lines.chunks if "charter.access" in chunk]
    assert len(carrying) == 1
    assert carrying[0].count("charter.access GET /healthz 200") == 5
    assert access.propagate is True
    assert access.handlers == []


def test_access_lines_are_written_under_the_stream_handlers_lock() -> None:
    stream = _Writes()
    like = logging.StreamHandler(stream)
    handler = AccessLines(like)
    logger = logging.getLogger("charter.test.locked")
    logger.propagate, logger.handlers = False, [handler]
    logger.setLevel(logging.INFO)
    logger.info("kept")
    like.acquire()  # as another thread writing a line of its own through the root handler
    try:
        writer = threading.Thread(target=handler.flush)
        writer.start()
        writer.join(0.2)
        assert writer.is_alive()
        assert stream.writes == 0
    finally:
        like.release()
    writer.join(10)
    assert not writer.is_alive()
    assert stream.writes == 1


def test_access_lines_are_written_in_whole_lines_a_pipe_takes_whole() -> None:
    lines = [f"line {n} " + "x" * 90 for n in range(100)] + ["é" * 3000, "short"]
    chunks = list(_whole_lines(lines, 4096))
    assert "".join(chunks) == "".join(line + "\n" for line in lines)
    assert all(chunk.endswith("\n") for chunk in chunks)
    # Under the bound in UTF-8 bytes, but for the one line longer than it.
    long_line = "é" * 3000 + "\n"
    assert long_line in chunks
    assert all(len(chunk.encode()) <= 4096 for chunk in chunks if chunk != long_line)
    assert len(chunks) < len(lines) // 10


class _Broken(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError("the reader went away")


def test_a_failed_write_of_access_lines_is_reported_not_raised(
    capsys: pytest.CaptureFixture[str],
) -> None:
    like = logging.StreamHandler(_Broken())
    handler = AccessLines(like, most=2)
    logger = logging.getLogger("charter.test.broken")
    logger.propagate, logger.handlers = False, [handler]
    logger.setLevel(logging.INFO)
    logger.info("one")
    logger.info("two")  # the batch is full: written, and the write fails
    handler.flush()
    assert "BrokenPipeError" in capsys.readouterr().err  # logging's own report
