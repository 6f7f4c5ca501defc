"""TraceLoader and ErrorDisplay wording: what a person on the page reads when a file cannot be read as it is."""

from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np
import pytest

from nbtools.widgets import ErrorDisplay, TraceLoader
from nbtools.widgets.display import plain_names

# Python argument names, codec names and reader hints that a page must not show
FORBIDDEN = ("channel=", "current_unit", "format=", "fs=", "time_unit", "codec", "load_trace", "Pass ", "\\x")


def _text(widget) -> str:
    return html.unescape(re.sub("<[^>]+>", " ", widget.value))


def _open(tmp_path, name, content) -> TraceLoader:
    path = tmp_path / name
    path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    loader = TraceLoader()
    loader.path.value = str(path)
    loader.open_button.click()
    return loader


def _clean(text):
    for bad in FORBIDDEN:
        assert bad not in text, (bad, text)


def test_an_image_is_named_as_what_it_is(tmp_path):
    png = (Path(__file__).resolve().parents[1] / "data" / "seccm_example_sem.png").read_bytes()
    for name in ("picture.png", "picture_named.csv"):
        loader = _open(tmp_path, name, png)
        text = _text(loader.status)
        assert f"{name} is not a recording nbtools can read (it looks like a PNG image)" in text
        assert "text table with time and current columns" in text
        _clean(text)
        assert loader.trace is None


def test_no_current_column_offers_the_channel_list_then_the_unit(tmp_path):
    loader = _open(tmp_path, "two.csv", "Time,Alpha,Beta\n0,1,2\n0.1,2,3\n0.2,3,4\n")
    text = _text(loader.status)
    assert "has the columns Time, Alpha, Beta" in text and "Channel list below" in text
    _clean(text)
    assert loader.channel.layout.display is None
    assert [v for _, v in loader.channel.options] == ["", "Alpha", "Beta"]  # not the time column
    loader.channel.value = "Beta"
    text = _text(loader.status)
    assert "The column 'Beta' of two.csv does not say in which unit" in text and "Unit list" in text
    assert loader.unit.layout.display is None
    loader.unit.value = "pA"
    assert loader.trace is not None and np.allclose(loader.trace.current, [2e-12, 3e-12, 4e-12])
    text = _text(loader.status)
    assert text.strip().startswith("Warning: Opened two.csv") and "taken as seconds" in text
    _clean(text)


def test_no_time_column_asks_for_the_rate(tmp_path):
    loader = _open(tmp_path, "bare.csv", "Current / pA\n1\n2\n3\n4\n")
    text = _text(loader.status)
    assert "no time column and does not say its sampling rate" in text and "Rate box" in text
    _clean(text)
    loader.rate.value = 1000.0
    assert loader.trace is not None and loader.trace.fs == 1000.0


def test_a_note_is_not_a_recording_and_the_shown_one_stays(tmp_path):
    loader = _open(tmp_path, "rec.csv", "t / s,I / pA\n0,1\n0.1,2\n0.2,3\n")
    assert loader.trace is not None
    note = tmp_path / "note.txt"
    note.write_text("Hello, this is a note\nnothing here\n")
    loader.path.value = str(note)
    loader.open_button.click()
    text = _text(loader.status)
    assert "note.txt has no columns of numbers" in text and "The page still shows rec.csv" in text
    _clean(text)


def test_setting_names_become_the_labels_of_their_controls():
    names = {"baseline_window": "Baseline window / s", "baseline": "Baseline"}
    text = plain_names("the trace is shorter than baseline_window=5 s; pass a shorter baseline_window or "
                       "baseline='constant'", names)
    assert text == ("the trace is shorter than 'Baseline window / s' = 5 s; choose a shorter 'Baseline window / s' "
                    "or 'Baseline' = 'constant'")
    assert plain_names("baseline_degree must be <= 12", names) == "baseline_degree must be <= 12"


def test_an_unexpected_error_is_said_in_words_with_the_details_folded():
    status = ErrorDisplay()
    status.guard(lambda: b"\x89".decode("utf-8"))()
    text = status.value
    before = text.split("<details")[0]
    assert "something unexpected went wrong" in before and "Please report it" in before
    assert "codec" not in before and "UnicodeDecodeError" in text.split("<details")[1]


@pytest.mark.parametrize("bad", ["\x00\x01binary", "a b c\n1 2\n"])
def test_other_unreadable_files_never_show_reader_arguments(tmp_path, bad):
    loader = _open(tmp_path, "odd.txt", bad)
    _clean(_text(loader.status))
