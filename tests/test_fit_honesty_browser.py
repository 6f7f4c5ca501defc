"""The SECCM fit panel in a real browser (Voila + system Chromium) on the real WEC-SPM file.

Issue 11: fits say how far to trust them. On the real scan (-0.9 to -0.18 V) the potential
window starts at the scan's range, the status line names the parameters the data do not
determine instead of a plain success, the fitted curve is drawn over a pixel's data, and two
models fitted to the same data are compared. Screenshots go to tests/_artifacts/.
"""

from __future__ import annotations

import pytest

from test_dashboards import assert_clean, explain
from test_seccm_browser import _open, _status_line

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]


def test_real_file_fit_status_curve_and_comparison(voila_server, page, artifacts, tdms):
    with explain(voila_server, page, "SECCM fit panel: the real WEC-SPM file"):
        _open(voila_server, page)
        page.get_by_placeholder("/path/to/scan.tdms, a folder of per-landing files, .csv or .nc").fill(str(tdms))
        page.locator("button:has-text('Open')").first.click()
        page.get_by_text(f"Opened {tdms.name}").first.wait_for(timeout=120_000)
        page.wait_for_timeout(1500)
        panel = page.locator(".nbtools-fit-map-panel").last
        fit_button = panel.get_by_role("button", name="Fit pixels")
        fit_button.scroll_into_view_if_needed()
        # the window's starting values are the scan's range, not the bundled example's 3.7-4.4 V
        low = panel.locator(".widget-text:has-text('from / V') input").first
        assert float(low.input_value()) == pytest.approx(-0.9, abs=0.001)
        model = panel.locator(".widget-dropdown:has-text('Model:') select").first
        model.select_option("FrumkinCV")
        page.wait_for_timeout(500)
        fit_button.click()
        text = _status_line(page, "Fitted 4 of 4 pixels")
        assert "not determined in" in text and "interaction parameter g" in text
        panel.locator(".nbtools-pixel-fit").first.wait_for(state="visible", timeout=60_000)
        model.select_option("LavironCV")
        page.wait_for_timeout(500)
        fit_button.click()
        page.get_by_text("AIC prefers LavironCV").first.wait_for(timeout=120_000)
        page.wait_for_timeout(1500)
        panel.locator(".nbtools-model-comparison").first.scroll_into_view_if_needed()
        page.wait_for_timeout(1000)
        panel.screenshot(path=str(artifacts / "seccm_fit_honesty.png"))
        assert_clean(page)
