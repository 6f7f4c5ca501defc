"""Every dashboard in notebooks/ opened in a real browser (Voila + system Chromium).

For the index page and for each notebook (discovered when the tests are
collected): the page renders, shows widgets and a Bokeh canvas, has no error
output and no JavaScript error, and reacts to the interaction declared in the
notebook's metadata ``nbtools.browser_test`` = ``{"click": <selector>, "expect": <text>}``:
the text must be absent before the click and appear after it.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import pytest

from nbtools.dashboards import list_dashboards

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]

DASHBOARDS = list_dashboards(NOTEBOOKS)
RENDER_TIMEOUT = 300_000  # ms: kernel start + execution + ~8 MB of inline BokehJS on 2 shared cores

ERROR_SELECTORS = {
    "stderr or error output": '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]',
    "Voila error page": ".voila-error",
    "nbtools error message": ".nbtools-error",
}
ERROR_TEXTS = ["Traceback", "There was an error when executing cell", "Execution error"]


def _bokeh_show_calls(path) -> int:
    """How many ``show(p)`` lines (``bokeh.plotting.show``) the notebook's code cells hold."""
    import nbformat

    nb = nbformat.read(NOTEBOOKS / path, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    return len(re.findall(r"^show\(", code, flags=re.M))


def assert_plots_drawn(page, dash):
    """Every plain ``show(p)`` figure is embedded and drawn (under ``nbtools serve`` the page, not the
    kernel, loads BokehJS: a figure shown outside a widget once stayed blank)."""
    roots = page.evaluate("() => [...document.querySelectorAll('[data-root-id]')].map(e => e.childElementCount)")
    expected = _bokeh_show_calls(dash["path"])
    drawn = sum(1 for n in roots if n > 0)
    assert drawn >= expected and all(roots), (
        f"{dash['name']}: {expected} show(p) figures in the code, {drawn} Bokeh roots drawn, "
        f"{roots.count(0)} empty")


@contextlib.contextmanager
def explain(server, page, what):
    """Turn any failure into one message with the page's errors and the server log."""
    try:
        yield
    except Exception as exc:
        details = "\n".join(page.nbtools_errors) or "(none)"
        pytest.fail(
            f"{what}: {type(exc).__name__}: {exc}\n"
            f"--- browser errors ---\n{details}\n"
            f"--- external requests blocked ---\n{page.nbtools_external}\n"
            f"--- Voila log (tail) ---\n{server.log()}",
            pytrace=False,
        )


def assert_clean(page):
    """No error output, no traceback text, no JavaScript error, no network use."""
    for what, sel in ERROR_SELECTORS.items():
        n = page.locator(sel).count()
        assert n == 0, f"{n} {what} element(s) on the page: {page.locator(sel).first.inner_text()[:2000]!r}"
    body = page.inner_text("body")
    for text in ERROR_TEXTS:
        assert text not in body, f"{text!r} on the page: ...{body[max(body.find(text) - 300, 0):body.find(text) + 1500]}..."
    assert not page.nbtools_errors, "JavaScript errors:\n" + "\n".join(page.nbtools_errors)
    assert not page.nbtools_external, f"the page tried to reach the network: {page.nbtools_external}"


def test_every_notebook_has_index_metadata():
    assert DASHBOARDS, f"no notebooks found in {NOTEBOOKS}"
    for d in DASHBOARDS:
        assert d["description"], f"{d['name']}: metadata nbtools.description is missing (one line for the index page)"
        bt = d["browser_test"]
        assert isinstance(bt, dict) and bt.get("click") and bt.get("expect"), (
            f"{d['name']}: metadata nbtools.browser_test must be "
            '{"click": "<Playwright selector>", "expect": "<text that appears after the click>"}'
        )


def test_index_lists_every_dashboard(voila_server, page, artifacts):
    with explain(voila_server, page, "index page"):
        page.goto(voila_server.url, timeout=60_000)
        page.get_by_text("nbtools dashboards").first.wait_for()
        for d in DASHBOARDS:
            item = page.locator(f'li.nbtools-dashboard[data-notebook="{d["path"]}"]')
            assert item.count() == 1, f"{d['name']} is not listed on the index page"
            text = item.inner_text()
            assert d["title"] in text and d["description"] in text, f"{d['name']}: index shows {text!r}"
            href = item.locator("a").get_attribute("href")
            assert href.endswith(f"voila/render/{d['path']}"), href
        page.screenshot(path=str(artifacts / "index.png"), full_page=True)
        assert_clean(page)


@pytest.mark.parametrize("dash", DASHBOARDS, ids=[d["name"] for d in DASHBOARDS])
def test_dashboard_renders_and_reacts(voila_server, page, artifacts, dash):
    url = f"{voila_server.url}voila/render/{dash['path']}"
    stem = re.sub(r"\W+", "_", dash["name"].removesuffix(".ipynb"))
    with explain(voila_server, page, f"{dash['name']} ({url})"):
        page.goto(url, timeout=RENDER_TIMEOUT)
        page.locator(".jupyter-widgets").first.wait_for(timeout=RENDER_TIMEOUT)
        page.locator(".bk-Canvas").first.wait_for(timeout=RENDER_TIMEOUT)
        page.wait_for_timeout(1000)  # let late widget messages arrive
        assert_clean(page)
        assert_plots_drawn(page, dash)

        bt = dash["browser_test"] or {}
        click, expect = bt.get("click"), bt.get("expect")
        assert click and expect, f"{dash['name']}: no nbtools.browser_test in the notebook metadata"
        assert page.get_by_text(expect).count() == 0, (
            f"browser_test.expect {expect!r} is on the page before the click: "
            "choose a text that only the click produces"
        )
        target = page.locator(click).first
        target.wait_for(state="visible")
        target.click()
        page.get_by_text(expect).first.wait_for(state="visible", timeout=120_000)
        page.wait_for_timeout(500)
        page.set_viewport_size({"width": 1280, "height": 3000})  # Voila scrolls inside the page: show it all
        page.evaluate("document.querySelectorAll('*').forEach(e => { if (e.scrollTop) e.scrollTop = 0; })")
        page.wait_for_timeout(500)
        page.screenshot(path=str(artifacts / f"{stem}.png"))
        assert_clean(page)
