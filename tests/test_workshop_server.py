"""``nbtools serve --workshop``: token, files confined to the data folder, upload limit, pages that stop
their kernel when closed, sessions opened at once (server side, no browser) — and the single-user server
keeping its freedom.

The servers serve a one-cell notebook (an upload button) from a temporary folder so that they start in a
few seconds; the dashboards themselves are covered by test_dashboards.py and benchmarks/bench_workshop.py.
"""

from __future__ import annotations

import datetime
import importlib.util
import os
import re
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest

from nbtools import safety
from nbtools.errors import NbtoolsError, PathRefusedError

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("bench_workshop", REPO / "benchmarks" / "bench_workshop.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

TINY_SOURCE = ("import os, ipywidgets as W, nbtools\n"
               "W.VBox([W.HTML('tiny page ready, data: ' + str(bool(os.environ.get('NBTOOLS_DATA_DIR')))"
               " + ', nbtools from ' + os.path.dirname(os.path.dirname(nbtools.__file__))),"
               " W.FileUpload(description='Upload a file')])")


# --------------------------------------------------------------------- confinement (nbtools.safety)
@pytest.fixture
def data(tmp_path, monkeypatch):
    """A data folder with one file and a sub-folder, confinement on (as a workshop kernel sees it)."""
    root = tmp_path / "srv" / "workshop-data"
    (root / "day2").mkdir(parents=True)
    (root / "run1.csv").write_text("0,1\n1,2\n")
    (root / "day2" / "run2.csv").write_text("0,1\n1,2\n")
    outside = tmp_path / "secret"
    outside.mkdir()
    (outside / "passwords.txt").write_text("root:x:0:0\n")
    monkeypatch.setenv(safety.DATA_DIR_ENV, str(root))
    return root, outside


def test_relative_names_resolve_inside(data):
    root, _ = data
    assert safety.user_path("run1.csv") == (root / "run1.csv").resolve()
    assert safety.user_path(" day2/run2.csv ") == (root / "day2" / "run2.csv").resolve()
    assert safety.user_path(str(root / "run1.csv")) == (root / "run1.csv").resolve()  # absolute, but inside


@pytest.mark.parametrize("typed", ["../secret/passwords.txt", "day2/../../secret/passwords.txt", "..",
                                   "/etc/passwd", "~/x.csv", "", "   "])
def test_paths_leading_out_are_refused(data, typed):
    root, _ = data
    with pytest.raises(PathRefusedError) as info:
        safety.user_path(typed)
    msg = str(info.value)
    assert str(root) not in msg and str(root.parent) not in msg, msg  # no server folder in the message
    assert isinstance(info.value, NbtoolsError) and isinstance(info.value, ValueError)


def test_absolute_path_outside_names_the_file_only(data):
    _, outside = data
    with pytest.raises(PathRefusedError, match="passwords.txt") as info:
        safety.user_path(str(outside / "passwords.txt"))
    assert str(outside) not in str(info.value)


def test_symlinks_pointing_out_are_refused(data):
    root, outside = data
    (root / "link.txt").symlink_to(outside / "passwords.txt")
    (root / "linkdir").symlink_to(outside, target_is_directory=True)
    (root / "inner.csv").symlink_to(root / "run1.csv")
    for typed in ("link.txt", "linkdir/passwords.txt", str(root / "linkdir" / "passwords.txt")):
        with pytest.raises(PathRefusedError, match="outside"):
            safety.user_path(typed)
    assert safety.user_path("inner.csv") == (root / "run1.csv").resolve()  # a link that stays inside is fine
    kept = safety.keep_inside([root / "run1.csv", root / "link.txt", root / "inner.csv"])
    assert kept == [root / "run1.csv", root / "inner.csv"]


def test_single_user_keeps_local_paths(monkeypatch, tmp_path):
    monkeypatch.delenv(safety.DATA_DIR_ENV, raising=False)
    assert not safety.confined()
    assert safety.user_path("/etc/passwd") == Path("/etc/passwd")
    assert safety.user_path("~/x.csv") == Path.home() / "x.csv"
    assert safety.export_dir(str(tmp_path)) == str(tmp_path)  # as typed: the exporter creates it
    assert safety.redact("/home/me/run1.abf: too short") == "/home/me/run1.abf: too short"


def test_exports_go_to_the_session_folder(data):
    root, _ = data
    folder = safety.export_dir("")
    assert folder.parent == root / "exports" and folder.name.startswith("session-") and folder.is_dir()
    assert safety.export_dir("/tmp/anywhere") == folder  # an absolute folder means this page's folder
    assert safety.export_dir("fits") == folder / "fits" and (folder / "fits").is_dir()
    with pytest.raises(PathRefusedError):
        safety.export_dir("../../elsewhere")


def test_messages_lose_server_folders_and_listings(data):
    root, _ = data
    assert safety.redact(f"{root}/day2/run2.csv: too short") == "day2/run2.csv: too short"
    text = safety.redact("/etc/shadow: not a recording; found e.g. ['a.csv', 'b.csv', 'c.csv']")
    assert text.startswith("shadow: not a recording") and "a.csv" not in text and "/etc" not in text


def test_upload_limit_message(monkeypatch):
    monkeypatch.setenv(safety.MAX_UPLOAD_ENV, "1")
    safety.check_upload("small.abf", 2**20)
    with pytest.raises(PathRefusedError, match=r"big\.abf is 1\.5 MB; this server accepts uploads up to 1 MB"):
        safety.check_upload("/tmp/x/big.abf", int(1.5 * 2**20))


def test_trace_loader_path_box_is_confined(data, monkeypatch):
    """The dashboards' path box: outside files refused (no content, no server folder), inside files open."""
    from nbtools.widgets.trace_loader import TraceLoader

    root, outside = data
    loader = TraceLoader()
    for typed in (str(outside / "passwords.txt"), "../secret/passwords.txt", "/etc/passwd"):
        loader.path.value = typed
        loader.open_button.click()
        shown = loader.status.value
        assert "nbtools-error" in shown and "root:" not in shown and str(root.parent) not in shown, shown
        assert loader.trace is None
    (root / "rec.csv").write_text("time / s,current / pA\n"
                                  + "\n".join(f"{i * 1e-3},{i % 7}" for i in range(2000)))
    loader.path.value = "rec.csv"
    loader.open_button.click()
    assert loader.trace is not None and len(loader.trace) == 2000, loader.status.value
    assert str(root) not in loader.status.value


def test_upload_over_limit_is_refused_in_the_kernel(monkeypatch):
    from nbtools.widgets.trace_loader import TraceLoader

    monkeypatch.setenv(safety.MAX_UPLOAD_ENV, "0.001")
    loader = TraceLoader()
    loader.upload.value = ({"name": "big.txt", "content": memoryview(b"0 1\n" * 1000), "type": "text/plain",
                            "size": 4000,
                            "last_modified": datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)},)
    assert "big.txt is 4 kB; this server accepts uploads up to 0.001 MB" in loader.status.value
    assert loader.trace is None


# --------------------------------------------------------------------- the server
@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nb")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(TINY_SOURCE)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, folder / "tiny.ipynb")
    (folder / "solutions").mkdir()
    nbformat.write(nb, folder / "solutions" / "tiny.ipynb")  # the instructor's copy
    return folder


@pytest.fixture(scope="module")
def workshop(tiny_folder, tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    server = bench.Server(["--workshop", "--pool", "3", "--data-dir", str(data), "--max-upload-mb", "1"],
                          folder=tiny_folder)
    try:
        server.start()
        server.wait_for(r"Kernel pool of tiny.ipynb is filled with 3 kernel", 90)
        yield server
    finally:
        server.stop()


def _get(url, headers=None):
    req = urllib.request.Request(url, headers=headers or {})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None

    try:
        with urllib.request.build_opener(NoRedirect).open(req, timeout=30) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, ""


def test_workshop_needs_the_token(workshop):
    assert workshop.token and len(workshop.token) >= 32
    assert f"?token={workshop.token}" in workshop.log()  # printed for the instructor
    for path in ("", "voila/render/tiny.ipynb", "voila/tree"):
        code, body = _get(workshop.url + path)
        assert code in (302, 403), (path, code)  # to the login page, never the dashboard
        assert "tiny page ready" not in body
    code, body = _get(workshop.url + "voila/render/tiny.ipynb?token=" + "0" * 48)
    assert code in (302, 403)
    code, body = _get(workshop.url + f"voila/render/tiny.ipynb?token={workshop.token}")
    assert code == 200 and "tiny page ready, data: True" in body  # pre-heated kernel, confined
    assert f"nbtools from {REPO}" in body  # the kernels run the server's nbtools (this checkout)
    code, _ = _get(workshop.url + "voila/render/tiny.ipynb", {"Authorization": f"token {workshop.token}"})
    assert code == 200
    assert "only inside" in workshop.log() and "uploads up to 1 MB" in workshop.log()


def test_workshop_hides_the_solutions(workshop):
    auth = {"Authorization": f"token {workshop.token}"}
    code, _ = _get(workshop.url + "voila/render/solutions/tiny.ipynb", auth)
    assert code == 404
    code, body = _get(workshop.url + "voila/tree", auth)
    assert code == 200 and "tiny.ipynb" in body and "solutions" not in body
    assert "Kernel pool of solutions/tiny.ipynb" not in workshop.log()


def test_page_carries_the_upload_limit(workshop):
    code, body = _get(workshop.url + f"voila/render/tiny.ipynb?token={workshop.token}")
    assert code == 200
    assert "var LIMIT = 1048576" in body and "this server accepts uploads up to" in body
    assert "put the file in the data folder" in body


def test_sessions_at_once_and_closing_a_page_stops_its_kernel(workshop):
    sessions = bench.run_sessions(workshop.url, "tiny.ipynb", workshop.token, 3, timeout=60)
    assert [s["error"] for s in sessions] == [None] * 3
    assert all(s["ready_s"] is not None and s["cookies"].get("_xsrf") for s in sessions)
    assert len({s["kernel_id"] for s in sessions}) == 3
    # a shutdown request without the _xsrf value is refused, and leaves the kernel running
    bad = dict(sessions[0], cookies={k: v for k, v in sessions[0]["cookies"].items() if k != "_xsrf"})
    codes, alive = bench.close_sessions(workshop.url, [bad], wait=0)
    assert codes == [403] and alive == 1
    # what the browser sends on closing the page: multipart _xsrf from the cookie
    codes, alive = bench.close_sessions(workshop.url, sessions, wait=20)
    assert codes == [204, 204, 204] and alive == 0


def test_preheat_names_a_dashboard(tiny_folder):
    from nbtools.server import _pool_plan

    with pytest.raises(SystemExit, match="--preheat 'nope'"):
        _pool_plan(tiny_folder, 2, ["nope"])
    assert _pool_plan(tiny_folder, 2, ["tiny"]) == {"default": 0, "tiny.ipynb": 2}
    assert _pool_plan(tiny_folder, 2, None) == {"default": 0, "tiny.ipynb": 2}
    assert _pool_plan(tiny_folder, 0, None) == {"default": 0}


def test_single_user_serve_has_no_token_and_the_upload_message(tiny_folder):
    server = bench.Server(["--max-upload-mb", "3"], folder=tiny_folder, env={"NBTOOLS_DATA_DIR": ""})
    try:
        server.start()
        assert server.token is None and "WARNING" not in server.log()
        code, body = _get(server.url + "voila/render/tiny.ipynb")
        assert code == 200 and "tiny page ready, data: False" in body  # no token, no confinement
        assert f"var LIMIT = {3 * 2**20}" in body and "Type the file's path in the path box" in body
    finally:
        server.stop()


def test_listening_beyond_localhost_requires_a_token():
    from nbtools.server import is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.20")


@pytest.mark.browser
def test_upload_over_the_limit_says_so_in_the_page(workshop, page, tmp_path):
    """In Chromium: choosing a 1.5 MB file under a 1 MB limit shows the message and sends nothing."""
    big = tmp_path / "big_recording.abf"
    big.write_bytes(os.urandom(int(1.5 * 2**20)))
    page.goto(workshop.url + f"?token={workshop.token}")
    page.goto(workshop.url + "voila/render/tiny.ipynb")
    page.get_by_text("tiny page ready").first.wait_for(timeout=60_000)
    button = page.locator(".widget-upload").first
    button.wait_for()
    with page.expect_file_chooser() as chooser:
        button.click()
    chooser.value.set_files(str(big))
    msg = page.locator(".nbtools-upload-limit").first
    msg.wait_for(timeout=10_000)
    text = msg.inner_text()
    assert re.search(r"big_recording\.abf is 1\.5 MB; this server accepts uploads up to 1 MB", text), text
    page.wait_for_timeout(500)
    assert "(1)" not in button.inner_text()  # the button counts files sent: none


@pytest.mark.browser
def test_closing_the_page_in_a_browser_stops_its_kernel(workshop, browser):
    """Chromium's own unload-time shutdown request (sendBeacon with the _xsrf cookie) stops the kernel when
    the page is left."""
    context = browser.new_context()  # no request routing: Playwright's routes would hold the beacon back
    page = context.new_page()
    page.goto(workshop.url + f"?token={workshop.token}")
    page.goto(workshop.url + "voila/render/tiny.ipynb")
    page.get_by_text("tiny page ready").first.wait_for(timeout=60_000)
    kid = re.search(r'"kernelId":\s*"([0-9a-f-]+)"', page.content()).group(1)
    assert "_xsrf" in {c["name"] for c in page.context.cookies()}  # set by the page, sent back on unload
    session = {"kernel_id": kid}
    assert _kernel_alive(workshop, session)
    page.close(run_before_unload=True)  # its beforeunload handler sends the shutdown request
    deadline = time.monotonic() + 20
    while _kernel_alive(workshop, session) and time.monotonic() < deadline:
        time.sleep(0.5)
    shutdowns = [line for line in workshop.log().splitlines() if "shutdown" in line.lower()]
    context.close()
    assert not _kernel_alive(workshop, session), (f"kernel {kid} still running 20 s after its page was closed; "
                                                  f"server log: {shutdowns[-5:]}")


def _kernel_alive(server, session) -> bool:
    code, _ = _get(server.url + f"api/kernels/{session['kernel_id']}", {"Authorization": f"token {server.token}"})
    return code != 404


def test_pool_never_exceeds_max_kernels(tiny_folder, tmp_path):
    """Pages beyond the cap still open (fresh kernels), but the pool is not refilled past --max-kernels."""
    server = bench.Server(["--workshop", "--pool", "1", "--max-kernels", "2", "--data-dir", str(tmp_path)],
                          folder=tiny_folder)
    try:
        server.start()
        server.wait_for(r"Kernel pool of tiny.ipynb is filled with 1 kernel", 60)
        auth = {"Authorization": f"token {server.token}"}
        for _ in range(3):
            code, body = _get(server.url + "voila/render/tiny.ipynb", auth)
            assert code == 200 and "tiny page ready" in body
        server.wait_for(r"pre-heated kernel\(s\) not started \(at most 2 kernels", 30)
        assert server.kernel_count() <= 3  # two pool kernels at most, plus the page opened past the cap
    finally:
        server.stop()
