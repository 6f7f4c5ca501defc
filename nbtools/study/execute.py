"""Running a study's tasks: in this process ('sync'), on a local Dask cluster, or on an existing one.

One task per unit (:func:`nbtools.study.tasks.run_unit`), the largest inputs
first. The default is a ``dask.distributed.LocalCluster`` with one worker
process per core (one thread each); ``workers=1`` (and no scheduler) runs in
this process, as ``'sync'`` does, with no cluster to start (detection then uses
``NBTOOLS_NUM_THREADS`` threads, default every core; a crash ends the run, and
running it again reuses the files already done); ``scheduler='tcp://host:port'`` or a
``distributed.Client`` runs on an existing cluster, whose workers read the
inputs and write the outputs themselves: paths must name the same files on
every worker (a shared file system). A worker that dies mid-task (killed,
out of memory) has its task run again on another worker (by Dask up to its
``allowed-failures``, then here ``retries`` more times); a unit whose
workers keep dying becomes a failed row.
"""

from __future__ import annotations

import logging
import os
import uuid

from .tasks import failed_record, run_unit

__all__ = ["execute", "connect", "default_workers"]

#: Dask sets MALLOC_TRIM_THRESHOLD_=65536 in its workers, which turns off glibc's dynamic mmap threshold: every
#: NumPy temporary above 128 kB is then a fresh mmap, and find_events runs 1.5x slower. The local cluster of a
#: study leaves the variable unset (its workers' memory is still watched by Dask's memory limit).
LOCAL_ENVIRON = "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"
_DEATHS = ("KilledWorker", "CommClosedError", "FutureCancelledError", "CancelledError")


def default_workers() -> int:
    """Worker processes of the default local cluster: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def connect(scheduler=None, workers=None):
    """``(client, close, where)`` for ``scheduler``: None (a new local cluster), an address or a Client."""
    from distributed import Client, LocalCluster

    if isinstance(scheduler, Client):
        return scheduler, (lambda: None), f"the cluster at {scheduler.scheduler.address}"
    if isinstance(scheduler, str):
        client = Client(scheduler, timeout="30s", set_as_default=False)
        return client, client.close, f"the cluster at {scheduler}"
    import dask

    n = int(workers or default_workers())
    env = {LOCAL_ENVIRON: None}
    if "NBTOOLS_NUM_THREADS" not in os.environ:
        # one file per worker process already fills the cores: its detection runs on one thread
        env["distributed.nanny.pre-spawn-environ.NBTOOLS_NUM_THREADS"] = "1"
    with dask.config.set(env):  # read when the nannies are made, kept for restarts
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0",
                               silence_logs=logging.ERROR)
    client = Client(cluster, set_as_default=False)

    def close():
        client.close()
        cluster.close()

    return client, close, f"a local cluster of {n} worker process{'es' if n > 1 else ''}"


def _size(unit) -> int:
    total = 0
    for p in unit.paths:
        try:
            total += os.path.getsize(p)
        except OSError:
            pass
    return total


def execute(units, job, *, scheduler=None, workers=None, progress, retries: int = 2) -> dict:
    """Run ``units``; returns ``unit id -> record``. ``progress`` is a :class:`~nbtools.study.progress.Progress`."""
    records = {}
    if not units:
        return records
    order = sorted(units, key=_size, reverse=True)  # big files first: the last task is a short one
    if scheduler in ("sync", "synchronous") or (scheduler is None and workers is not None and int(workers) == 1):
        # one worker asked for: this process is that worker (no cluster to start, no second import of nbtools)
        progress.log(f"nbtools batch: {len(order)} file(s) in this process")
        for u in order:
            rec = run_unit(u, job)
            records[u.id] = rec
            progress.update(rec)
        return records
    from distributed import as_completed

    client, close, where = connect(scheduler, workers)
    try:
        progress.log(f"nbtools batch: {len(order)} file(s) on {where}; Dask dashboard: {client.dashboard_link}")
        tag = uuid.uuid4().hex[:8]
        pending = {}
        for u in order:
            pending[client.submit(run_unit, u, job, key=f"nbtools-study-{u.id}-{tag}", pure=False)] = (u, 0)
        queue = as_completed(list(pending), loop=client.loop)
        for fut in queue:
            u, tries = pending.pop(fut)
            try:
                rec = fut.result()
            except Exception as exc:  # the task itself never raises: its worker died or the cluster failed
                if type(exc).__name__ in _DEATHS and tries < retries:
                    again = client.submit(run_unit, u, job, key=f"nbtools-study-{u.id}-{tag}-{tries + 1}",
                                          pure=False)
                    pending[again] = (u, tries + 1)
                    queue.add(again)
                    continue
                rec = failed_record(u, job, _death_message(exc, tries), type(exc).__name__)
            records[u.id] = rec
            progress.update(rec)
    except BaseException:
        client.cancel(list(pending))
        raise
    finally:
        close()
    return records


def _death_message(exc, tries) -> str:
    if type(exc).__name__ == "KilledWorker":
        return (f"the workers analysing this file died {tries + 1} time(s) ({exc}); a file that needs more memory "
                "than a worker has kills it: use fewer workers (--workers; with 1 the files run in this process, "
                "and a rerun reuses the files already done) or a smaller chunk_size in the recipe")
    return f"{type(exc).__name__}: {exc}"
