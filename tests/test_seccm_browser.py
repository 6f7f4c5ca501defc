"""The SECCM dashboard in a real browser (Voila + system Chromium): landing labels on hover, marks, Auto (classify).

Issue 11: every landing's label has its reason on hover; landings are marked
by hand; Auto (classify) never changes a group the user made and says in
words why it does not split a scan. Screenshots go to tests/_artifacts/.
"""

from __future__ import annotations

import pytest

from test_dashboards import RENDER_TIMEOUT, assert_clean, explain

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]


def _open(voila_server, page):
    page.set_viewport_size({"width": 1400, "height": 3200})  # Voila scrolls inside the page: show it all
    page.goto(f"{voila_server.url}voila/render/seccm.ipynb", timeout=RENDER_TIMEOUT)
    page.locator(".bk-Canvas").first.wait_for(timeout=RENDER_TIMEOUT)
    page.get_by_text("Opened seccm_example.nc").first.wait_for(timeout=RENDER_TIMEOUT)
    page.wait_for_timeout(1500)
    return page.locator(".bk-Canvas").nth(0).bounding_box()


def _status_line(page, text):
    """The dashboard's status line (not the notes) holding ``text``."""
    line = page.locator(".nbtools-status", has_text=text).first
    line.wait_for(state="visible", timeout=120_000)
    return line.inner_text()


def test_hover_marks_and_auto_classify(voila_server, page, artifacts):
    with explain(voila_server, page, "SECCM dashboard: hover, marks, Auto (classify)"):
        box = _open(voila_server, page)
        # hover: the pixel's value and why its landing got its label
        page.mouse.move(box["x"] + box["width"] * 0.35, box["y"] + box["height"] * 0.5)
        tip = page.get_by_text("contact evidence").first
        tip.wait_for(state="visible", timeout=30_000)
        assert "needed" in tip.inner_text()
        page.screenshot(path=str(artifacts / "seccm_hover.png"),
                        clip={"x": 0, "y": box["y"] - 60, "width": 1400, "height": box["height"] + 120})
        # box-select a few pixels, mark them failed, put them in the user's own group
        x0, y0 = box["x"] + box["width"] * 0.30, box["y"] + box["height"] * 0.45
        page.mouse.move(x0, y0)
        page.mouse.down()
        page.mouse.move(x0 + 30, y0 + 30, steps=6)
        page.mouse.up()
        page.get_by_text("Selection:").first.wait_for(timeout=30_000)
        page.get_by_role("button", name="Mark failed").click()
        text = _status_line(page, "by hand")
        assert "as failed landing by hand" in text and "left out of statistics" in text
        page.get_by_role("button", name="Add selection to group").click()
        _status_line(page, "particle:")
        # Auto (classify) leaves the user's 'particle' group alone
        page.get_by_role("button", name="Auto (classify)").click()
        text = _status_line(page, "Auto (classify)")
        assert "particle (auto):" in text and "Your group(s) 'particle' were left as they are" in text
        assert "Otsu" not in text and "=" not in text
        page.wait_for_timeout(1000)
        page.screenshot(path=str(artifacts / "seccm_marks_auto.png"),
                        clip={"x": 0, "y": box["y"] - 200, "width": 1400, "height": box["height"] + 700})
        assert_clean(page)


def test_real_wecspm_file_labels_and_no_split_in_words(voila_server, page, artifacts, tdms):
    with explain(voila_server, page, "SECCM dashboard: the real WEC-SPM file"):
        _open(voila_server, page)
        path = page.get_by_placeholder("/path/to/scan.tdms, a folder of per-landing files, .csv or .nc")
        path.fill(str(tdms))
        page.locator("button:has-text('Open')").first.click()
        page.get_by_text(f"Opened {tdms.name}").first.wait_for(timeout=120_000)
        page.get_by_text("landed: 4").first.wait_for(timeout=30_000)
        page.wait_for_timeout(1500)
        page.get_by_role("button", name="Auto (classify)").click()
        text = _status_line(page, "Auto (classify)")
        assert "no particle/substrate split" in text and "only 4 usable landing(s)" in text
        assert "Your groups were left as they are" in text
        for jargon in ("mask left all False", "min_pixels", "all False"):
            assert jargon not in text
        page.screenshot(path=str(artifacts / "seccm_real_file.png"))
        assert_clean(page)
