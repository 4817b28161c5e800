"""Browser tier fixtures: Debian's Chromium driven by Playwright, and a private JupyterLab.

Outside CI the tier skips, with the reason printed, when Chromium or Playwright is missing; in
CI (``CI=true``) a missing browser fails, because ``.ci/run`` installs both.

JupyterLab runs on 127.0.0.1 at a free port with a random token, as its own process with its
own configuration, settings, workspace and runtime folders, serving a temporary copy of
``notebooks/`` (so running cells never writes outputs into the committed files). Its kernels
inherit ``GOPHERLITE_SMOKE=1``.
"""

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVER_START_TIMEOUT_S = 90
CHROMIUM_NAMES = ("chromium", "chromium-browser")

# JupyterLab user settings: render every cell (no virtual scrolling), and no news or update
# pop-ups that could cover the notebook.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def _missing(reason: str) -> None:
    """Skip outside CI (printing why); fail in CI, where the browser must be installed."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"browser tier cannot run in CI: {reason}")
    print(f"\nbrowser tier skipped: {reason}", file=sys.stderr)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Path of Debian's Chromium."""
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    _missing("Chromium not found on PATH (Debian: apt-get install chromium)")
    return ""  # unreachable: _missing skips or fails


@pytest.fixture(scope="session")
def browser(chromium_path):
    """A headless Chromium browser (Playwright, sync API)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright is not installed (pip install playwright)")
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=args
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory):
    """A running JupyterLab; yields ``(base_url, token, root_dir)`` and stops it afterwards."""
    base = tmp_path_factory.mktemp("lab")
    root = base / "root"
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    settings = base / "settings"
    for name, values in LAB_SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    port, token = _free_port(), secrets.token_hex(16)
    env = os.environ | {
        "GOPHERLITE_SMOKE": "1",
        "JUPYTER_CONFIG_DIR": str(base / "config"),
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces"),
    }
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
    ]  # fmt: skip
    if os.geteuid() == 0:
        command.append("--allow-root")
    log_path = base / "jupyterlab.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(f"{base_url}/api/status?token={token}", process, log_path)
        yield base_url, token, root
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def lab(lab_server):
    """The JupyterLab of `lab_server` for one test; its kernels are shut down afterwards.

    Closing a page leaves its kernel running with everything the chapter computed; eleven
    chapters' kernels held several GB on the 2-core machine and slowed the rest of the suite.
    """
    yield lab_server
    base_url, token, _ = lab_server
    for session in _api(base_url, token, "sessions"):
        _api(base_url, token, f"sessions/{session['id']}", method="DELETE")
    deadline = time.monotonic() + 30
    while _api(base_url, token, "kernels"):
        assert time.monotonic() < deadline, "JupyterLab's kernels did not shut down in 30 s"
        time.sleep(0.5)


def _api(base_url: str, token: str, path: str, method: str = "GET"):
    request = urllib.request.Request(
        f"{base_url}/api/{path}", method=method, headers={"Authorization": f"token {token}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        body = response.read()
    return json.loads(body) if body else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"JupyterLab exited early:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    pytest.fail(f"JupyterLab did not start in {SERVER_START_TIMEOUT_S} s:\n{log_path.read_text()}")
