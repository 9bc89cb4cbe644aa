"""A server process tunes CPython's garbage collector once its policy is loaded; an app
built any other way (tests, a program embedding Charter) leaves it alone.

Run in a child process each: the collector's settings are process-wide.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from charter.server.app import YOUNG_COLLECTION_EVERY

_CHILD = """
import gc, json, sys
from fastapi.testclient import TestClient
from charter.server.app import create_app
from charter.service import Services
from charter.storage.sql import open_store

store = open_store(sys.argv[1])
before = (gc.get_threshold(), gc.get_freeze_count())
app = create_app(Services.build(store), server_process=sys.argv[2] == "1")
with TestClient(app) as api:
    during = (gc.get_threshold(), gc.get_freeze_count())
    status = api.get("/healthz").status_code
store.close()
print(json.dumps({"before": before, "during": during, "status": status}))
"""


def _collector(tmp_path: Path, server_process: bool) -> dict[str, Any]:
    url = f"sqlite:///{tmp_path / 'charter.db'}"
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_CHILD), url, "1" if server_process else "0"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    seen: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return seen


@pytest.mark.parametrize("server_process", [True, False])
def test_only_a_server_process_tunes_the_collector(tmp_path: Path, server_process: bool) -> None:
    seen = _collector(tmp_path, server_process)
    assert seen["status"] == 200
    (threshold_before, frozen_before) = seen["before"]
    (threshold_during, frozen_during) = seen["during"]
    assert isinstance(threshold_before, list)
    assert isinstance(threshold_during, list)
    assert isinstance(frozen_during, int)
    if server_process:
        # The app, the modules and the loaded policy are frozen out of every later scan.
        assert threshold_during[0] == YOUNG_COLLECTION_EVERY
        assert frozen_during > 10_000
    else:
        assert threshold_during == threshold_before
        assert frozen_during == frozen_before == 0
