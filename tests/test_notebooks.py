"""Every notebook in notebooks/ runs top to bottom (nbclient, NBTOOLS_SMALL=1, cwd = notebooks/)."""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PATHS = sorted(p for p in NOTEBOOKS.glob("*.ipynb") if not p.name.startswith((".", "_")))

pytestmark = [pytest.mark.notebook, pytest.mark.timeout(900)]


@pytest.mark.parametrize("path", PATHS, ids=[p.name for p in PATHS])
def test_notebook_executes(path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    monkeypatch.setenv("NBTOOLS_SMALL", "1")
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.get("outputs"), f"{path.name}: commit notebooks without outputs (nbstripout or Clear All Outputs)"
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}})
    try:
        client.execute()
    except CellExecutionError as exc:
        pytest.fail(f"{path.name} failed:\n{exc}", pytrace=False)
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                text = out.get("text", "")
                assert "Traceback" not in text, f"{path.name} cell {i} printed a traceback:\n{text}"
    # errors caught by an ErrorDisplay do not raise: look for them in the saved widget state
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    shown = [m.get("state", {}).get("value") for m in state.values()]
    errors = [v for v in shown if isinstance(v, str) and "nbtools-error" in v]
    assert not errors, f"{path.name} shows an error in the dashboard: {errors}"
