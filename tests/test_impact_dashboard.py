"""The nanoimpact, trace viewer and particle-on-a-stick dashboards in a real browser: what issue 11 changed.

- nanoimpact: 'auto' event kind and sign, said in words; one noise SD; the false-event rates (Rice and
  the blank) explained together; a real step recording detected as steps; the export with units in
  the headers; an unreadable file named as what it is, without reader arguments;
- trace viewer: a file without a current label offers the Channel list;
- particle on a stick: the fit report in plain parameter names and the residuals' SD, not a reduced
  chi-square in A^2.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

import pandas as pd
import pytest

from test_dashboards import RENDER_TIMEOUT, assert_clean

pytestmark = [pytest.mark.browser, pytest.mark.timeout(1200)]

REAL = Path(os.environ.get("NBTOOLS_REALDATA",
                           Path(__file__).resolve().parents[1].parent / "shared" / "realdata")) / "nanoimpact"
PNG = Path(__file__).resolve().parents[1] / "data" / "seccm_example_sem.png"
FORBIDDEN = ("channel=", "current_unit", "format=", "codec", "Pass channel", "reduced chi-square")


def _open(page, server, notebook):
    page.goto(f"{server.url}voila/render/{notebook}", timeout=RENDER_TIMEOUT)
    page.locator(".jupyter-widgets").first.wait_for(timeout=RENDER_TIMEOUT)
    page.locator(".bk-Canvas").first.wait_for(timeout=RENDER_TIMEOUT)
    page.wait_for_timeout(1000)


def _type_path(page, path, button="Open file", nth=0):
    box = page.locator("input[placeholder^='/full/path']").nth(nth)
    box.fill(str(path))
    box.press("Enter")
    page.locator(f"button:has-text('{button}')").first.click()


def _no_forbidden(page):
    body = page.inner_text("body")
    for bad in FORBIDDEN:
        assert bad not in body, bad


def test_nanoimpact_dashboard_decides_explains_and_exports(voila_server, page, artifacts, tmp_path):
    _open(page, voila_server, "nanoimpact.ipynb")
    assert_clean(page)
    page.get_by_text("Detected as spikes (transients): the current returns to its level").first.wait_for()
    page.get_by_text("False events: Gaussian noise of this bandwidth").first.wait_for()
    assert page.get_by_text("Rice's formula").count() >= 1 and page.get_by_text("Load a blank recording").count() >= 1
    sign = page.locator("select").filter(has_text="auto (the recording's sign)").first
    assert sign.input_value() == "auto (the recording's sign)"  # ipywidgets: the label is the DOM value
    assert page.locator(".nbtools-summary").first.inner_text().count("σ =") == 1  # one noise SD

    # the export: units in every header, the radius the table shows
    folder = tmp_path / "exports"
    box = page.locator(".widget-text:has-text('Export to folder') input").first
    box.fill(str(folder))
    box.press("Enter")
    page.locator("button:has-text('Export')").first.click()
    page.get_by_text("download the events CSV").first.wait_for(timeout=120_000)
    csv = pd.read_csv(glob.glob(str(folder / "*_events.csv"))[0])
    for head in ("t peak / s", "peak / pA", "charge / fC", "radius / nm", "duration / ms", "SNR", "accepted", "flags"):
        assert head in csv.columns, (head, list(csv.columns))
    assert pd.read_parquet(glob.glob(str(folder / "*_events.parquet"))[0])["charge"].abs().max() < 1e-9  # SI

    # an image is named as what it is; the page says what to do, in its own words
    _type_path(page, PNG)
    page.get_by_text("is not a recording nbtools can read (it looks like a PNG image)").first.wait_for()
    _no_forbidden(page)
    if REAL.is_dir():  # a real step recording: 'auto' detects steps and says why
        _type_path(page, REAL / "beads_steps_chi760e.txt")
        page.get_by_text("Detected as steps: the current keeps its new level").first.wait_for(timeout=120_000)
        _type_path(page, REAL / "AuNPs_NIE_gamry.txt")
        page.get_by_text("Opened AuNPs_NIE_gamry.txt").first.wait_for(timeout=120_000)
        _type_path(page, REAL / "AuNPs_blank_gamry.txt", button="Open blank", nth=1)
        page.get_by_text("3.9 x as noisy as this recording").first.wait_for(timeout=120_000)
        page.get_by_text("so the blank's count is the one to trust").first.wait_for()
    page.set_viewport_size({"width": 1280, "height": 3000})
    page.evaluate("document.querySelectorAll('*').forEach(e => { if (e.scrollTop) e.scrollTop = 0; })")
    page.screenshot(path=str(artifacts / "nanoimpact_issue11.png"))
    _no_forbidden(page)
    if REAL.is_dir():
        assert_clean(page)


def test_trace_viewer_offers_the_channel_list(voila_server, page, artifacts, tmp_path):
    f = tmp_path / "two.csv"
    f.write_text("Time,Alpha,Beta\n0,1,2\n0.1,2,3\n0.2,3,4\n0.3,4,5\n")
    _open(page, voila_server, "trace_viewer.ipynb")
    _type_path(page, f)
    page.get_by_text("has the columns Time, Alpha, Beta, but none is labelled as a current").first.wait_for()
    _no_forbidden(page)
    page.locator("select").filter(has_text="choose…").first.select_option("Beta")
    page.get_by_text("Unit list below").first.wait_for()
    page.locator("select").filter(has_text="fA").first.select_option("pA")
    page.get_by_text("Opened two.csv").first.wait_for()
    page.screenshot(path=str(artifacts / "trace_viewer_issue11.png"), full_page=True)


def test_particle_fit_report_in_plain_words(voila_server, page, artifacts):
    _open(page, voila_server, "particle_on_a_stick.ipynb")
    page.locator(".nbtools-fit-button").first.click()
    page.get_by_text("Fit converged").first.wait_for(timeout=300_000)
    report = page.locator(".nbtools-fit-report").first.inner_text()
    assert "residuals" in report and "(SD, " in report and "times the data's noise" in report and "diffusion time r²/D, τ" in report
    assert "charge, Q" in report and "Biot number, L" in report
    _no_forbidden(page)
    page.set_viewport_size({"width": 1280, "height": 3000})
    page.screenshot(path=str(artifacts / "particle_issue11.png"), full_page=True)
