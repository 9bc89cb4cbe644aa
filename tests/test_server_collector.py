"""A server process tunes CPython's garbage collector once its policy is loaded; an app
built any other way (tests, a program embedding Charter) leaves it alone. A policy it
froze is still freed when another is activated.

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
from tests.helpers import PACK, charter_cli

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


_SWAP = """
import gc, json, sys, weakref
from pathlib import Path
from charter.policy.loader import read_files
from charter.server.app import settle_collector
from charter.service import SYSTEM, Services
from charter.storage.sql import open_store

store = open_store(sys.argv[1], migrate=False)
services = Services.build(store)
services.policies.load_active()
first = weakref.ref(services.policies.compiled.engine)
settle_collector()  # as a server does once its policy is loaded: the policy is frozen
files = read_files(Path(sys.argv[2]))
name = sorted(files)[0]
files[name] += "\\n# another revision\\n"
applied = services.policies.apply(SYSTEM, files)
swapped = services.policies.compiled.engine.revision == applied.revision
store.close()
print(json.dumps({"swapped": swapped, "activated": applied.activated, "freed": first() is None}))
"""


def test_a_frozen_policy_is_freed_when_another_is_activated(tmp_path: Path) -> None:
    # Frozen objects are never scanned by the cyclic collector again, so a policy swapped
    # out must be freed by reference counting alone: it must hold no reference cycle, or
    # every activation would leak the previous policy for the server's lifetime.
    data = tmp_path / "data"
    code, _, err = charter_cli("init", "--data-dir", str(data), "--demo", "--policy", str(PACK))
    assert code == 0, err
    url = f"sqlite:///{data / 'charter.db'}"
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_SWAP), url, str(PACK)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen == {"swapped": True, "activated": True, "freed": True}
