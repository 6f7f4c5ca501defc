"""Student notebooks from the solutions: edit ``notebooks/workshop/solutions/``, then run

    python -m nbtools.workshop.build            # rewrites notebooks/workshop/*.ipynb

Each exercise cell of a solution (cell metadata ``nbtools_exercise``) keeps its comment lines and its
``check(...)`` line; the lines between them (the solution) become ``answer = ...  # your answer``.
Every other cell is copied as it is; outputs are never written.
"""

from __future__ import annotations

import copy
from pathlib import Path

__all__ = ["student_version", "build"]

ANSWER_LINE = "answer = ...  # your answer"
BROWSER_TEST = {"click": ".nbtools-check-button", "expect": "Type an answer first"}


def student_version(solution):
    """The student's notebook (an ``nbformat`` node) made from a solution notebook."""
    nb = copy.deepcopy(solution)
    meta = nb.metadata.setdefault("nbtools", {})
    meta["title"] = str(meta.get("title", "")).removesuffix(" (solutions)")
    meta["browser_test"] = dict(BROWSER_TEST)  # the first answer box says so when Check is pressed empty
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        if not cell.metadata.get("nbtools_exercise"):
            continue
        lines = cell.source.splitlines()
        head = [line for line in lines if line.startswith("#")]
        tail = [line for line in lines if line.startswith("check(")]
        cell.source = "\n".join(head + [ANSWER_LINE] + tail)
    return nb


def build(folder=None) -> list[Path]:
    """Write the student version of every notebook of ``folder/solutions`` into ``folder``."""
    import nbformat

    folder = Path(folder) if folder else Path(__file__).resolve().parents[2] / "notebooks" / "workshop"
    written = []
    for path in sorted((folder / "solutions").glob("*.ipynb")):
        solution = nbformat.read(path, as_version=4)
        for cell in solution.cells:  # a solution is committed without outputs too
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        nbformat.write(solution, path)
        nbformat.write(student_version(solution), folder / path.name)
        written.append(folder / path.name)
    return written


if __name__ == "__main__":  # pragma: no cover
    for p in build():
        print("wrote", p)
