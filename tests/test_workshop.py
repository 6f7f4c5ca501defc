"""The workshop: notebooks run, solutions pass their checks, every check tells right from wrong.

The student notebooks (``notebooks/workshop/``) and their solutions (``solutions/``) differ only in
the exercise cells. Each pair is executed in ONE kernel, cell by cell in notebook order, the
student's version of an exercise cell right before the solution's: every cell of both notebooks
runs (half the time of two kernels), the student's cells must give "not answered yet" (an
answer box), the solution's cells "right".
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat
import pytest

from nbtools.dashboards import list_dashboards
from nbtools.errors import ParameterError
from nbtools.workshop import EXERCISES, Verdict, answer_box, answer_of, check, exercise_ids
from nbtools.workshop.answers import parse_answer

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
WORKSHOP = NOTEBOOKS / "workshop"
NAMES = ["1_nanoimpact.ipynb", "2_trust.ipynb", "3_seccm.ipynb", "4_kinetics.ipynb"]


def _exercise_id(cell):
    return cell.metadata.get("nbtools_exercise")


# ------------------------------------------------------------------ notebook files
@pytest.mark.parametrize("name", NAMES)
def test_student_and_solution_differ_only_in_exercises(name):
    student = nbformat.read(WORKSHOP / name, as_version=4)
    solution = nbformat.read(WORKSHOP / "solutions" / name, as_version=4)
    nbformat.validate(student)
    nbformat.validate(solution)
    assert len(student.cells) == len(solution.cells)
    ids = []
    for s, t in zip(student.cells, solution.cells):
        for cell in (s, t):
            if cell.cell_type == "code":
                assert not cell.get("outputs") and cell.get("execution_count") is None, (
                    f"{name}: commit notebooks without outputs (Clear All Outputs)")
        assert _exercise_id(s) == _exercise_id(t)
        if _exercise_id(s):
            ids.append(_exercise_id(s))
            assert "answer = ...  # your answer" in s.source, f"{name}: the student's cell must hold 'answer = ...'"
            assert "answer = ..." not in t.source, f"{name}: exercise {_exercise_id(t)} has no solution"
            assert f'check("{_exercise_id(s)}", answer)' in s.source and f'check("{_exercise_id(t)}", answer)' in t.source
        else:
            assert s.source == t.source, f"{name}: a cell that is not an exercise differs from the solution"
    # every exercise of this notebook is in it, once
    assert sorted(ids) == exercise_ids(name[0])
    assert student.metadata["nbtools"]["title"] and student.metadata["nbtools"]["description"]


@pytest.mark.parametrize("name", NAMES)
def test_student_notebook_is_built_from_the_solution(name, tmp_path):
    """`python -m nbtools.workshop.build` keeps the student notebooks in step with the solutions."""
    import shutil

    from nbtools.workshop.build import build, student_version

    solution = nbformat.read(WORKSHOP / "solutions" / name, as_version=4)
    assert student_version(solution) == nbformat.read(WORKSHOP / name, as_version=4), (
        f"{name}: run python -m nbtools.workshop.build after editing the solutions")
    (tmp_path / "solutions").mkdir()
    shutil.copy(WORKSHOP / "solutions" / name, tmp_path / "solutions" / name)
    assert build(tmp_path) == [tmp_path / name]
    assert nbformat.read(tmp_path / name, as_version=4) == nbformat.read(WORKSHOP / name, as_version=4)


def test_listing_with_the_workshop_folder():
    top = list_dashboards(NOTEBOOKS)
    assert top and all("/" not in d["path"] for d in top), "the index of notebooks/ lists only its own dashboards"
    ws = list_dashboards(NOTEBOOKS, "workshop")
    assert [d["name"] for d in ws] == NAMES, "workshop notebooks in order 1..4"
    assert all(d["path"] == f"workshop/{d['name']}" and d["description"] for d in ws)
    # the Voila tree page passes the sub-folder as in its URL, with a leading slash
    assert list_dashboards(NOTEBOOKS, "/workshop") == ws == list_dashboards(NOTEBOOKS, "/workshop/")
    assert list_dashboards(NOTEBOOKS, "/..") == [] and list_dashboards(NOTEBOOKS, "workshop/../..") == []
    assert list_dashboards(NOTEBOOKS, "/no_such_folder") == []
    sol = list_dashboards(NOTEBOOKS, "workshop/solutions")
    assert [d["name"] for d in sol] == NAMES and all("(solutions)" in d["title"] for d in sol)


# ------------------------------------------------------------------ executing the notebooks
def _verdict_of(cell):
    """'right' / 'wrong' / 'unanswered' / 'unreadable' from a cell's outputs."""
    for out in cell.get("outputs", []):
        data = out.get("data", {})
        m = re.search(r"nbtools-verdict-(\w+)", data.get("text/html", ""))
        if m:
            return m.group(1)
        if "application/vnd.jupyter.widget-view+json" in data:
            return "unanswered"  # the answer box of an unanswered exercise
    return None


@pytest.mark.notebook
@pytest.mark.timeout(600)
@pytest.mark.parametrize("name", NAMES)
def test_notebook_and_solution_execute(name, monkeypatch):
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    monkeypatch.setenv("PYTHONPATH", str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    student = nbformat.read(WORKSHOP / name, as_version=4)
    solution = nbformat.read(WORKSHOP / "solutions" / name, as_version=4)
    run = nbformat.v4.new_notebook(metadata=solution.metadata)
    roles = []
    for s, t in zip(student.cells, solution.cells):
        if _exercise_id(s):
            run.cells += [s, t]
            roles += ["student", "solution"]
        else:
            run.cells.append(t)
            roles.append("both")
    client = NotebookClient(run, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(WORKSHOP)}})
    try:
        client.execute()
    except CellExecutionError as exc:
        pytest.fail(f"{name} failed:\n{exc}", pytrace=False)
    for cell, role in zip(run.cells, roles):
        for out in cell.get("outputs", []):
            assert out.get("output_type") != "error", f"{name}: {out}"
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                assert "Traceback" not in out["text"], f"{name}: {out['text']}"
        if role == "student":
            assert _verdict_of(cell) == "unanswered", f"{name} {_exercise_id(cell)}: student cell gave {_verdict_of(cell)}"
        elif role == "solution":
            assert _verdict_of(cell) == "right", f"{name} {_exercise_id(cell)}: the solution is judged {_verdict_of(cell)}"


# ------------------------------------------------------------------ the checks
# One right and one wrong answer for every exercise, as a student would type them.
def _right_and_wrong(ex):
    ref = answer_of(ex.id)
    if ex.kind == "choice":
        other = next(w for w in ex.choices if w != ref)
        return ref, other
    if ex.kind == "count":
        return int(ref), int(ref) + 1
    from nbtools.workshop.answers import unit_factor

    shown = ref / (unit_factor(ex.unit, ex.kind) if ex.unit else 1.0)
    wrong = shown * 1.5 if shown else 1.0
    return shown, wrong


@pytest.mark.parametrize("eid", list(EXERCISES))
def test_check_right_and_wrong(eid):
    ex = EXERCISES[eid]
    right, wrong = _right_and_wrong(ex)
    v = check(eid, right)
    assert isinstance(v, Verdict) and v.correct and v.status == "right", v.message
    assert "right" in str(v) and eid in str(v)
    w = check(eid, wrong)
    assert not w and w.status == "wrong", w.message
    assert "Hint:" in w.message
    # the hint never gives the answer away
    if ex.kind not in ("choice", "count"):
        for digits in (f"{right:.3g}", f"{right:.4g}"):
            if len(digits.replace(".", "").replace("-", "")) >= 3:
                assert digits not in w.message, f"{eid}: the hint shows the answer {digits}"
    elif ex.kind == "count":
        assert not re.search(rf"\b{right}\b", w.message.replace(f"({wrong})", "")), w.message
    # (a choice question names its possible words in the question itself)


def test_units_and_forms_of_an_answer():
    q = answer_of("1.2")  # C
    fc = q * 1e15
    assert check("1.2", fc)  # a plain number: in the unit of the question (fC)
    assert check("1.2", f"{fc:.2f} fC") and check("1.2", f"{q:.4e} C") and check("1.2", (fc / 1e3, "pC"))
    assert check("1.2", f"{fc:.2f}fC") and check("1.2", f"{fc / 1e3:.5f} pC")
    wrong_unit = check("1.2", q)  # SI value given as a plain number
    assert not wrong_unit and "power of ten" in wrong_unit.message and "fC" in wrong_unit.message
    assert not check("1.2", -fc) and "sign" in check("1.2", -fc).message
    d = answer_of("4.4")
    assert check("4.4", f"{d * 1e4:.4g} cm²/s") and check("4.4", f"{d * 1e4:.4g} cm^2/s") and check("4.4", d)
    assert check("1.3", f"{answer_of('1.3') * 1e9:.3f} nm") and check("1.3", f"{answer_of('1.3') * 1e6:.5f} µm")
    assert check("1.5", f"{answer_of('1.5') * 1e6:.5f} nM")
    assert check("4.6", "Surface reaction") and check("4.6", " SURFACE ")
    # tolerance: inside passes, outside fails
    assert check("1.2", fc * 1.015) and not check("1.2", fc * 1.03)
    assert check("4.3", answer_of("4.3") + 0.02) and not check("4.3", answer_of("4.3") + 0.05)


def test_answers_that_cannot_be_read():
    for bad in ("twelve", "12 furlongs", [1, 2], float("nan"), {"a": 1}, True):
        v = check("1.2", bad)
        assert v.status == "unreadable" and not v, bad
        assert "could not read" in v.message
    assert check("1.1", 38.5).status == "unreadable"  # a count must be whole
    assert check("4.6", "quantum").status == "unreadable" and "'surface'" in check("4.6", "quantum").message
    assert check("4.6", 3).status == "unreadable"
    for nothing in (..., None):
        v = check("2.1", nothing)
        assert v.status == "unanswered" and not v and "not answered" in v.message


def test_unknown_exercise_lists_the_valid_ids():
    for bad in ("9.9", "", 12, None, "1.10"):
        with pytest.raises(ParameterError) as info:
            check(bad, 1)
        msg = str(info.value)
        assert repr(bad) in msg and "1.1" in msg and "4.6" in msg


def test_parse_answer():
    assert parse_answer("2.5 x 10^-14 C", "charge", "fC") == pytest.approx((2.5e-14, "2.5e-14 C"))
    assert parse_answer("25", "charge", "fC")[0] == pytest.approx(2.5e-14)
    assert parse_answer("3,5 pA", "current", "pA")[0] == pytest.approx(3.5e-12)
    assert parse_answer("2 events/min", "frequency", "1/s")[0] == pytest.approx(2 / 60)
    assert parse_answer("10 pM", "concentration", "pM")[0] == pytest.approx(1e-8)
    assert parse_answer(" 5 mV ", "potential", "V")[0] == pytest.approx(5e-3)
    import numpy as np
    assert parse_answer(np.array([4.0]), "number", "")[0] == 4.0


def test_answer_box_checks_what_is_typed():
    box = answer_box("2.6")
    box.text.value = "4"
    assert "nbtools-verdict-right" in box.verdict.value
    box.text.value = "2"
    assert "nbtools-verdict-wrong" in box.verdict.value
    box.text.value = "many"
    assert "nbtools-verdict-unreadable" in box.verdict.value
    with pytest.raises(ParameterError):
        answer_box("0.0")


def test_answers_follow_the_seeded_data():
    """The answers come from the simulations of nbtools.workshop.data, not from stored numbers."""
    from nbtools import impact
    from nbtools.workshop import data

    trace, truth = data.recording()
    events = impact.find_events(trace)
    assert answer_of("1.1") == len(events) and 0.7 * len(truth) <= len(events) <= len(truth)
    assert answer_of("4.2") == pytest.approx(data.PARTICLE["radius"], rel=0.02)  # the simulated truth
    assert answer_of("4.4") == pytest.approx(data.PARTICLE["D"], rel=0.25)
    assert answer_of("4.5") == pytest.approx(3 * data.PARTICLE["k0"] / data.PARTICLE["radius"], rel=0.15)


# ------------------------------------------------------------------ as a Voila page, in a real browser
@pytest.mark.browser
@pytest.mark.timeout(900)
def test_workshop_page_in_the_browser(voila_server, page, artifacts):
    """The index lists the workshop folder; notebook 1 renders as a page whose answer boxes check answers."""
    page.goto(voila_server.url + "voila/tree/workshop", timeout=60_000)
    for name in NAMES:
        assert page.locator(f'li.nbtools-dashboard[data-notebook="workshop/{name}"]').count() == 1, name
    page.goto(voila_server.url + "voila/render/workshop/1_nanoimpact.ipynb", timeout=300_000)
    page.locator(".nbtools-check-button").first.wait_for(timeout=300_000)
    page.locator(".bk-Canvas").first.wait_for(timeout=120_000)
    page.locator(".nbtools-check-button").first.click()
    page.get_by_text("Type an answer first").first.wait_for()
    page.locator(".widget-text input").first.fill(str(answer_of("1.1") + 1))
    page.locator(".nbtools-check-button").first.click()
    page.get_by_text("Exercise 1.1: not quite").first.wait_for(timeout=60_000)
    page.locator(".widget-text input").first.fill(str(answer_of("1.1")))
    page.locator(".nbtools-check-button").first.click()
    page.get_by_text("Exercise 1.1: right").first.wait_for(timeout=60_000)
    page.screenshot(path=str(artifacts / "workshop_1.png"), full_page=True)
    body = page.inner_text("body")
    assert "Traceback" not in body and page.locator(".jp-OutputArea-output[data-mime-type="
                                                    "'application/vnd.jupyter.stderr']").count() == 0
    assert not page.nbtools_errors, page.nbtools_errors
    assert not page.nbtools_external, f"the page tried to reach the network: {page.nbtools_external}"


def test_plots_show_readable_units():
    import numpy as np

    from nbtools import simulate
    from nbtools.workshop import plots

    trace, truth = simulate.impact_trace(duration=1.0, fs=10e3, rate=5, noise_rms=2e-12, seed=1)
    f = plots.trace_plot(trace, threshold=1e-11)
    y = np.asarray(f.renderers[0].data_source.data["y"])
    assert f.yaxis[0].axis_label == "current / pA" and 1 <= np.abs(y).max() < 1000
    assert f.renderers[-1].data_source.data["y"][0] == pytest.approx(np.median(y) + 10, abs=0.5)  # 10 pA threshold
    h = plots.histogram_plot([1e-9, 2e-9, 2e-9, 3e-9], scale=1e-9, bins=2, x_label="radius / nm")
    assert list(h.renderers[0].data_source.data["top"]) == [1, 3]
