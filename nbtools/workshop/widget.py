"""A box to type an exercise's answer in and check it (works in Voila, where code cells are hidden)."""

from __future__ import annotations

import html

__all__ = ["answer_box"]


def answer_box(exercise_id, *, note: str | None = None):
    """An ipywidget: the question, a text box, a *Check* button and the verdict.

    Parameters
    ----------
    exercise_id : str
        The exercise (see :func:`nbtools.workshop.exercise_ids`).
    note : str, optional
        Text shown above the box (default: the question).

    Returns
    -------
    ipywidgets.VBox
        With attributes ``text``, ``button`` and ``verdict`` (an HTML widget); pressing
        *Check* or Enter calls :func:`nbtools.workshop.check` on the text.
    """
    import ipywidgets as W

    from .check import _exercise, check

    ex = _exercise(exercise_id)
    example = {"count": "a whole number", "number": "a number", "choice": "a word"}.get(
        ex.kind, f"a number in {ex.unit}, or with its unit" if ex.unit else "a number")
    question = W.HTML(f"<b>Exercise {html.escape(ex.id)}.</b> {html.escape(note or ex.question)}")
    text = W.Text(placeholder=example, continuous_update=False, layout=W.Layout(width="340px"),
                  description="Answer:")
    button = W.Button(description="Check", button_style="primary", icon="check",
                      tooltip="Check this answer").add_class("nbtools-check-button")
    verdict = W.HTML()

    def run(_=None):
        if not text.value.strip():
            verdict.value = "<i>Type an answer first.</i>"
            return
        verdict.value = check(ex.id, text.value)._repr_html_()

    button.on_click(run)
    text.observe(run, names="value")
    box = W.VBox([question, W.HBox([text, button]), verdict])
    box.text, box.button, box.verdict = text, button, verdict
    return box
