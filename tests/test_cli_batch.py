"""`nbtools batch` from the command line (in this process; the Dask paths are in test_study_dask.py)."""

from __future__ import annotations

import json

import pytest
from study_helpers import impact_folder

from nbtools.cli import main
from nbtools.impact import EventRecipe


def test_batch_help_lists_the_options(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["batch", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for opt in ("--out", "--blank", "--blanks", "--conditions", "--scheduler", "--workers", "--force", "--option"):
        assert opt in text


def test_batch_runs_and_reruns(tmp_path, capsys):
    folder = impact_folder(tmp_path / "in", duration=1.0, seed=90)
    recipe = tmp_path / "recipe.json"
    EventRecipe(threshold=6).to_json(recipe)
    args = ["batch", str(recipe), str(folder), "--out", str(tmp_path / "out"), "--scheduler", "sync",
            "--option", "fs=20000", "--no-report"]
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert "7 file(s): 6 ok" in out and "1 failed" in out and "broken.npz" in err  # the failure is named
    assert main(args + ["--quiet"]) == 0
    assert "7 reused from an earlier run, 0 analysed" in capsys.readouterr().out
    manifest = json.loads((tmp_path / "out" / "study.json").read_text())
    assert manifest["settings"]["options"] == {"fs": 20000}


def test_batch_errors_name_the_fix(tmp_path, capsys):
    assert main(["batch", str(tmp_path / "none.json"), str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "no such recipe file" in capsys.readouterr().err
    recipe = tmp_path / "r.json"
    recipe.write_text('{"recipe": "impact.events", "params": {"threshold": -1}}')
    assert main(["batch", str(recipe), str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "threshold must be > 0" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["batch", str(recipe), str(tmp_path), "--out", str(tmp_path / "o"), "--option", "fs"])
    assert exc.value.code == 2 and "KEY=VALUE" in capsys.readouterr().err
