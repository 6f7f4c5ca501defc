"""``check(exercise_id, answer)``: a friendly right-or-wrong with a hint."""

from __future__ import annotations

import html
import math

from ..errors import NbtoolsError, ParameterError
from .answers import Unanswered, parse_answer
from .exercises import EXERCISES, Exercise

__all__ = ["check", "Verdict", "exercise_ids"]

_COLOURS = {"right": ("#1b5e20", "#e8f5e9"), "wrong": ("#8a1c1c", "#fdecea"), "unanswered": ("#5d4037", "#fff8e1"),
            "unreadable": ("#8a1c1c", "#fdecea")}


def exercise_ids(notebook: str | None = None) -> list[str]:
    """Ids of the exercises (of one notebook, ``"1"`` .. ``"4"``, when given), in order."""
    return [k for k in EXERCISES if notebook is None or k.split(".")[0] == str(notebook)]


def _exercise(exercise_id) -> Exercise:
    key = str(exercise_id).strip() if isinstance(exercise_id, (str, int, float)) else None
    if key not in EXERCISES:
        raise ParameterError(f"exercise_id {exercise_id!r} is not a workshop exercise; valid ids: "
                             f"{', '.join(EXERCISES)} (as text, e.g. check('1.2', answer))")
    return EXERCISES[key]


class Verdict:
    """The result of :func:`check`: true when the answer is right; shows itself as a short message.

    Attributes
    ----------
    exercise : str
        The exercise id.
    status : {'right', 'wrong', 'unanswered', 'unreadable'}
    message : str
        What a student reads: right, or wrong with a hint (never the answer).
    """

    def __init__(self, exercise: str, status: str, message: str):
        self.exercise, self.status, self.message = exercise, status, message

    @property
    def correct(self) -> bool:
        return self.status == "right"

    def __bool__(self) -> bool:
        return self.correct

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return self.message

    def _repr_html_(self) -> str:
        fg, bg = _COLOURS[self.status]
        icon = {"right": "✔", "wrong": "✘", "unanswered": "✎", "unreadable": "?"}[self.status]
        return (f"<div class='nbtools-verdict nbtools-verdict-{self.status}' style='border-left:4px solid {fg};"
                f"background:{bg};color:{fg};padding:6px 10px;margin:4px 0'>{icon} "
                f"{html.escape(self.message)}</div>")


def _close(x: float, ref: float, ex: Exercise) -> bool:
    return abs(x - ref) <= max(ex.atol, ex.rtol * abs(ref), 1e-300 if ex.kind == "count" else 0.0)


def _numeric_hint(x: float, ref: float, ex: Exercise) -> str:
    """What is wrong besides the value itself: the sign, a unit's power of ten, or just high/low."""
    if ref != 0 and x != 0 and _close(-x, ref, ex):
        return "The size is right but the sign is not: check the sign convention (anodic current positive)."
    if ref != 0 and x != 0 and ex.kind not in ("count", "number"):
        for p in (3, 6, 9, 12, 15, 18, -3, -6, -9, -12, -15, -18, 2, -2, 4, -4):
            if _close(x * 10.0 ** -p, ref, ex):
                unit = ex.unit or "SI units"
                return (f"The digits look right but the power of ten does not (off by 10^{p}): check the unit. "
                        f"A plain number is read in {unit}; or write the unit yourself, e.g. '2.5 {unit}'.")
    if ref != 0 and math.isfinite(x / ref):
        ratio = x / ref
        where = "higher" if ratio > 1 else "lower"
        if 0.8 < ratio < 1.25:
            return f"Close, but not within the tolerance: your value is a little {where} than expected."
        return f"Your value is {where} than expected."
    return ""


def check(exercise_id, answer) -> Verdict:
    """Check a workshop exercise: right, or wrong with a hint of what to look at.

    Parameters
    ----------
    exercise_id : str
        The exercise, e.g. ``"1.2"`` (the notebooks say which).
    answer : number, str or (number, str)
        A plain number is read in the unit the question asks for; text or a pair
        may carry its own unit: ``25``, ``"25 fC"``, ``"2.5e-14 C"``, ``(25, "fC")``.
        Words for questions that ask for one (``"surface"``). ``...`` or ``None``:
        not answered yet.

    Returns
    -------
    Verdict
        True when right; shown in a notebook as a coloured message. An answer
        that cannot be read (no number, an unknown unit) is a ``'unreadable'``
        verdict that says what was expected.

    Raises
    ------
    nbtools.errors.ParameterError
        When ``exercise_id`` is not an exercise (the message lists the valid ids).

    Examples
    --------
    >>> from nbtools.workshop import check
    >>> check("2.6", 4).correct
    True
    >>> check("2.6", 2).correct
    False
    """
    ex = _exercise(exercise_id)
    try:
        given, shown = parse_answer(answer, ex.kind, ex.unit, exercise=ex.id)
    except NbtoolsError as exc:
        return Verdict(ex.id, "unreadable", f"Exercise {ex.id}: I could not read this answer. {exc}")
    if given is Unanswered:
        return Verdict(ex.id, "unanswered", f"Exercise {ex.id}: not answered yet. {ex.question} "
                                            "Replace the ... with your answer and run the cell again.")
    try:
        ref = ex.compute()
    except Exception as exc:  # never a traceback in a student's notebook: say what happened, whom to tell
        return Verdict(ex.id, "unreadable", f"Exercise {ex.id}: the expected answer could not be computed "
                                            f"({type(exc).__name__}: {exc}). Please tell the instructor.")
    if ex.kind == "choice":
        accepted = {w: {s.lower() for s in syn} | {w} for w, syn in ex.choices.items()}
        picked = [w for w, syn in accepted.items() if given in syn]
        if not picked:
            return Verdict(ex.id, "unreadable", f"Exercise {ex.id}: {shown} is not one of the possible answers: "
                                                f"{', '.join(repr(w) for w in ex.choices)}.")
        if picked[0] == ref:
            return Verdict(ex.id, "right", f"Exercise {ex.id}: right! {ex.explain}".strip())
        return Verdict(ex.id, "wrong", f"Exercise {ex.id}: not this one. Hint: {ex.hint}")
    if _close(given, float(ref), ex):
        return Verdict(ex.id, "right", f"Exercise {ex.id}: right ({shown})! {ex.explain}".strip())
    extra = _numeric_hint(given, float(ref), ex)
    return Verdict(ex.id, "wrong", f"Exercise {ex.id}: not quite ({shown}). {extra} Hint: {ex.hint}".replace("  ", " "))


def _display_verdict(self):
    """In a notebook or Voila page: an unanswered exercise shows a box to type the answer in."""
    from IPython.display import HTML, display

    if self.status == "unanswered":
        from .widget import answer_box

        display(answer_box(self.exercise, note=_exercise(self.exercise).question
                            + " Type your answer here, or replace the ... in the code and run the cell again."))
    else:
        display(HTML(self._repr_html_()))


Verdict._ipython_display_ = _display_verdict
