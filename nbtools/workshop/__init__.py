"""Hands-on workshop: guided notebooks (``notebooks/workshop/``) and their exercise checks.

Public API
----------
check
    ``check(exercise_id, answer)``: right, or wrong with a hint (never the answer);
    a plain number is read in the unit the question asks for, text may carry its
    own unit (``"25 fC"``).
Verdict
    What :func:`check` returns (true when right; shows itself as a coloured message,
    and as an answer box while the exercise is unanswered).
exercise_ids, EXERCISES
    The exercises (id -> :class:`~nbtools.workshop.exercises.Exercise`).
answer_box
    An ipywidget to type an answer and check it (for Voila pages).
data
    The seeded simulations the notebooks and the checks share.
plots
    Small Bokeh figures used by the notebooks.
"""

from . import data, plots
from .check import Verdict, check, exercise_ids
from .exercises import EXERCISES, answer_of
from .widget import answer_box

__all__ = ["check", "Verdict", "exercise_ids", "EXERCISES", "answer_of", "answer_box", "data", "plots"]
