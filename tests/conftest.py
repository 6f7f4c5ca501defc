"""Shared fixtures: real-data folder, a Voila server, a system Chromium driven by Playwright.

Fixtures
--------
realdata (session)
    Path of the real instrument files (``../shared/realdata`` beside the
    checkout, or env ``NBTOOLS_REALDATA``); the test is skipped when absent.
voila_server (session)
    A running ``nbtools serve --port <free> notebooks/`` with NBTOOLS_SMALL=1;
    ``.url`` (ends with "/"), ``.log()`` (its output so far).
browser (session)
    A Playwright Chromium browser (system Chromium). Skips without one,
    fails when env ``CI`` is set.
page
    A fresh page (1280x900) whose console errors and page errors are
    collected in ``page.nbtools_errors``; requests leaving 127.0.0.1 are
    answered locally (empty Font Awesome CSS from the Voila template, abort
    for anything else, recorded in ``page.nbtools_external``).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
DATA = REPO / "data"
ARTIFACTS = Path(__file__).resolve().parent / "_artifacts"
REALDATA = Path(os.environ.get("NBTOOLS_REALDATA") or REPO.parent / "shared" / "realdata")

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def realdata() -> Path:
    """Folder of real instrument files; skips the test when it is absent."""
    if not REALDATA.is_dir():
        pytest.skip(f"real instrument files not found at {REALDATA} (set NBTOOLS_REALDATA)")
    return REALDATA


@pytest.fixture(scope="session")
def tdms(realdata) -> Path:
    """The real WEC-SPM SECCM scan (TDMS); skips the test when it is absent."""
    p = realdata / "seccm" / "wecspm_x22500_y-4500.tdms"
    if not p.exists():
        pytest.skip(f"{p} absent")
    return p


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class VoilaServer:
    def __init__(self, proc: subprocess.Popen, url: str, logfile: Path):
        self.proc, self.url, self.logfile = proc, url, logfile

    def log(self, tail: int = 8000) -> str:
        """The server's output so far (last ``tail`` characters)."""
        try:
            text = self.logfile.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return text[-tail:]


@pytest.fixture(scope="session")
def voila_server():
    """``nbtools serve`` on the notebooks folder, on a free port, NBTOOLS_SMALL=1."""
    port = _free_port()
    logdir = Path(tempfile.mkdtemp(prefix="nbtools_voila_"))
    logfile = logdir / "voila.log"
    env = dict(os.environ, NBTOOLS_SMALL="1", PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "nbtools.cli", "serve", "--port", str(port), "--ip", "127.0.0.1",
           str(NOTEBOOKS)]
    with open(logfile, "wb") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, cwd=REPO,
                                start_new_session=True)
    server = VoilaServer(proc, f"http://127.0.0.1:{port}/", logfile)
    deadline = time.monotonic() + 120
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"nbtools serve exited with code {proc.returncode}:\n{server.log()}")
            try:
                with urllib.request.urlopen(server.url, timeout=5) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"nbtools serve did not answer on {server.url} within 120 s:\n{server.log()}")
            time.sleep(0.5)
        yield server
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        shutil.rmtree(logdir, ignore_errors=True)


def chromium_path() -> str | None:
    """System Chromium: env NBTOOLS_CHROMIUM, else ``chromium`` on PATH, else /usr/bin/chromium."""
    env = os.environ.get("NBTOOLS_CHROMIUM")
    if env:
        return env if Path(env).exists() else None
    found = shutil.which("chromium")
    if found:
        return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def _no_browser(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: browser tests must run; .ci/run installs Debian's chromium)")
    pytest.skip(reason)


@pytest.hookimpl(trylast=True)  # after any plugin that reorders
def pytest_collection_modifyitems(config, items):
    """Tests that drive Chromium run last. Playwright's sync API keeps its asyncio loop registered as
    *running* in the main thread while the browser is open, so widgets tested after it saw a running loop
    (nbtools.widgets.later.Later scheduled work there that never ran, e.g. a SpikePicker preview)."""
    items.sort(key=lambda item: "browser" in getattr(item, "fixturenames", ()))  # stable: order kept otherwise


@pytest.fixture(scope="session")
def browser():
    """A headless system Chromium driven by Playwright."""
    path = chromium_path()
    if path is None:
        _no_browser("no Chromium found: set NBTOOLS_CHROMIUM or install chromium (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _no_browser("playwright is not installed (pip install -e .[test])")
    pw = sync_playwright().start()
    try:
        try:
            browser = pw.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS, headless=True)
        except Exception as exc:  # a broken browser install: say which
            _no_browser(f"Chromium at {path} did not start: {exc}")
        yield browser
        browser.close()
    finally:
        pw.stop()


@pytest.fixture
def page(browser):
    """A new page collecting console errors and page errors, kept off the network."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.nbtools_errors = []
    page.nbtools_external = []

    def on_console(msg):
        if msg.type == "error":
            page.nbtools_errors.append(f"console: {msg.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: page.nbtools_errors.append(f"pageerror: {exc}"))

    def route(r):
        url = r.request.url
        if url.startswith(("http://127.0.0.1", "http://localhost", "data:", "blob:")):
            r.continue_()
        else:  # nothing may leave this computer (nbtools serve drops Voila's Font Awesome CDN links)
            page.nbtools_external.append(url)
            r.abort()

    page.route("**/*", route)
    yield page
    context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """tests/_artifacts/ (gitignored): screenshots of the dashboards."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
