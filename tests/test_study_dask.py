"""Studies on real Dask clusters: a LocalCluster, a worker killed mid-run, a `dask scheduler` + `dask worker`
pair started as processes on 127.0.0.1 (the --scheduler path of `nbtools batch`), and a batch command killed
mid-run then resumed. One cluster of each kind for the whole module (clusters are slow to start)."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from study_helpers import FS, REPO, impact_folder, many_recordings

from nbtools.impact import EventRecipe, find_events
from nbtools.io import load_trace
from nbtools.errors import DataError
from nbtools.study import Study, run

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

OPTIONS = {"fs": FS}


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                           silence_logs=logging.ERROR)
    c = Client(cluster, set_as_default=False)
    yield c
    c.close()
    cluster.close()


def _dask(*args):
    exe = Path(sys.executable).with_name("dask")
    return [str(exe), *args] if exe.exists() else [sys.executable, "-m", "dask", *args]


@pytest.fixture(scope="module")
def scheduler_address(tmp_path_factory):
    """A `dask scheduler` and one `dask worker` started as separate processes on 127.0.0.1."""
    folder = tmp_path_factory.mktemp("dask")
    sfile = folder / "scheduler.json"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    logs = [open(folder / n, "wb") for n in ("scheduler.log", "worker.log")]
    procs = [subprocess.Popen(_dask("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                    "--scheduler-file", str(sfile)), stdout=logs[0], stderr=subprocess.STDOUT,
                              env=env, start_new_session=True)]
    try:
        deadline = time.monotonic() + 60
        while not sfile.exists():
            assert procs[0].poll() is None, (folder / "scheduler.log").read_text()
            assert time.monotonic() < deadline, "the dask scheduler did not start within 60 s"
            time.sleep(0.2)
        address = json.loads(sfile.read_text())["address"]
        procs.append(subprocess.Popen(_dask("worker", "--scheduler-file", str(sfile), "--nworkers", "1",
                                            "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"),
                                      stdout=logs[1], stderr=subprocess.STDOUT, env=env, start_new_session=True))
        from distributed import Client

        with Client(address, timeout="30s", set_as_default=False) as c:
            c.wait_for_workers(1, timeout=60)
        yield address
    finally:
        for p in procs[::-1]:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
        for fh in logs:
            fh.close()


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return impact_folder(tmp_path_factory.mktemp("impact_in"), seed=50)


def _same_as_single_file(study, recipe):
    for _, row in study.files[study.files["status"] != "failed"].iterrows():
        opts = OPTIONS if row["file"].endswith(".npy") else {}
        ev = find_events(load_trace(row["file"], **opts), recipe)
        got = study.tables(row["file"])["events"]
        pd.testing.assert_frame_equal(got[list(ev.columns)], ev.reset_index(drop=True), check_exact=True)


def test_local_cluster_study(client, folder, tmp_path):
    recipe = EventRecipe(threshold=6)
    study = run(recipe, folder, out=tmp_path / "out", scheduler=client, options=OPTIONS, progress=False,
                report=False)
    f = study.files.set_index("name")
    assert f.loc["20pM/broken.npz", "status"] == "failed" and "FormatError" in f.loc["20pM/broken.npz", "message"]
    assert (f.drop("20pM/broken.npz")["status"] != "failed").all() and len(f) == 7
    workers = {json.loads((study.out / "files" / u / "result.json").read_text())["worker"] for u in f["unit"]}
    assert len(workers) == 2  # both worker processes took files
    _same_as_single_file(study, recipe)


def test_a_worker_killed_mid_run(client, tmp_path):
    src = many_recordings(tmp_path / "in", 8)
    pids = client.run(os.getpid)
    killed = []

    def kill_one(done, total, record):
        if killed or record is None:
            return
        busy = [w for w, keys in client.processing().items() if keys]
        if busy:
            killed.append(pids[busy[0]])
            os.kill(pids[busy[0]], signal.SIGKILL)

    study = run(EventRecipe(threshold=6), src, out=tmp_path / "out", scheduler=client, progress=kill_one,
                report=False)
    assert killed, "no worker was busy when the first file finished"
    assert (study.files["status"] == "ok").all() and study.counts()["computed"] == 8
    client.wait_for_workers(2, timeout=60)
    assert killed[0] not in client.run(os.getpid).values()  # the nanny started a new worker


def test_dask_scheduler_and_worker_processes(scheduler_address, folder, tmp_path):
    from nbtools.cli import main

    recipe = tmp_path / "nanoimpact_recipe.json"
    EventRecipe(threshold=6).to_json(recipe)
    out = tmp_path / "out"
    code = main(["batch", str(recipe), str(folder), "--out", str(out), "--scheduler", scheduler_address,
                 "--option", f"fs={FS}", "--quiet", "--no-report"])
    assert code == 0
    manifest = json.loads((out / "study.json").read_text())
    assert manifest["settings"]["scheduler"] == scheduler_address and manifest["counts"]["files"] == 7
    assert manifest["counts"]["failed"] == 1
    _same_as_single_file(Study.open(out), EventRecipe(threshold=6))


def test_batch_killed_mid_run_then_resumed(scheduler_address, tmp_path):
    src = many_recordings(tmp_path / "in", 6, seed=300)
    recipe = tmp_path / "recipe.json"
    EventRecipe(threshold=6).to_json(recipe)
    out = tmp_path / "out"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen([sys.executable, "-m", "nbtools.cli", "batch", str(recipe), str(src), "--out", str(out),
                             "--scheduler", scheduler_address, "--quiet"], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list(out.glob("files/*/result.json")):
        assert proc.poll() is None, "the batch command ended before it could be interrupted"
        assert time.monotonic() < deadline, "no file finished within 120 s"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    time.sleep(1.0)  # a task already on the worker finishes and writes its outputs: still whole files
    done = {p.parent.name: p.stat().st_mtime_ns for p in out.glob("files/*/result.json")}
    assert 1 <= len(done) < 6 and not (out / "population.parquet").exists()
    with pytest.raises(DataError, match="did not finish"):
        Study.open(out)
    study = run(recipe, src, out=out, scheduler="sync", progress=False, report=False)
    assert (study.files["status"] == "ok").all() and len(study.files) == 6
    reused = set(study.files.loc[study.files["reused"], "unit"])
    assert reused == set(done) and study.counts()["computed"] == 6 - len(done)
    assert {p.parent.name: p.stat().st_mtime_ns for p in out.glob("files/*/result.json") if p.parent.name in done} \
        == done  # the outputs of the files done before were not touched
    assert not list(out.rglob("*.part"))
    shutil.rmtree(out)
