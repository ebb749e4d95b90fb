"""The official Convex clients, for the server tests (``shared/recipes/official-convex-clients.md``).

- npm ``convex``: installed by ``.ci/run`` into ``.cache/convex-npm`` (or the folder in
  ``NBR_CONVEX_NPM_DIR``); tests run small node scripts from ``tests/clients/`` with the
  server's URL and read the JSON lines they print.
- PyPI ``convex``: the ``test`` extra installs it. Its WebSocket client must run in
  another process than the server (it holds the GIL while it waits).

Missing clients skip the tests, or fail them under ``NBR_REQUIRE_CLIENTS=1`` (CI).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPTS = Path(__file__).resolve().parent / "clients"
NPM_CONVEX_VERSION = "1.48.0"


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("NBR_REQUIRE_CLIENTS") == "1":
        pytest.fail(f"{reason} (NBR_REQUIRE_CLIENTS=1)", pytrace=False)
    pytest.skip(reason)


def npm_modules() -> Path:
    """The node_modules folder holding npm ``convex`` (or skip/fail)."""
    base = Path(os.environ.get("NBR_CONVEX_NPM_DIR") or REPO / ".cache" / "convex-npm")
    modules = base / "node_modules"
    if shutil.which("node") is None:
        _skip_or_fail("node is not installed")
    if not (modules / "convex" / "package.json").is_file():
        _skip_or_fail(
            f"npm convex is not installed in {base}: (cd {base} && npm install convex@{NPM_CONVEX_VERSION})"
        )
    return modules


def run_node(script: str, *args: str, timeout: float = 60.0) -> list[dict[str, Any]]:
    """Run ``tests/clients/<script>`` with ``args``; the JSON lines it printed."""
    modules = npm_modules()
    env = {**os.environ, "NODE_PATH": str(modules)}
    proc = subprocess.run(["node", str(SCRIPTS / script), *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=SCRIPTS)
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0:
        raise AssertionError(f"{script} exited with {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return lines


def pypi_convex() -> Any:
    try:
        import convex
    except ImportError:
        _skip_or_fail('PyPI convex is not installed: pip install "convex==0.8.1"')
    return convex
