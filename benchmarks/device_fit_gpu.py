"""The batch fitting engine on a GPU machine (CuPy) and its CPU scaling on many cores.

Run on a machine with a CUDA GPU and CuPy (pure-Python dependencies such as
lmfit may be given on PYTHONPATH):  python benchmarks/device_fit_gpu.py [--n-gpu 1000000]

Prints, in one run on the same machine:
- Butler-Volmer, 200 points per curve: fit_batch on the GPU (CuPy) in curves/s,
  its parameters against the NumPy engine on the same curves;
- fit_batch on the CPU with 1 thread and with all cores (curves/s, ratio);
- a plain serial lmfit loop (on a subset) and the ratios against it;
- SECCM two-couple pixels (benchmarks/_out/seccm_pixels.npz, written from the bundled
  example) with the batch engine on 1, 2 and all numba threads.
"""

import argparse
import os
import time
import traceback

import numpy as np


def curves(n, m=200, seed=1):
    from nbtools.kinetics import butler_volmer

    rng = np.random.default_rng(seed)
    eta = np.linspace(-0.15, 0.15, m)
    i0 = 10 ** rng.uniform(-10, -8, n)
    al = rng.uniform(0.3, 0.7, n)
    Y = butler_volmer(eta[None, :], i0[:, None], al[:, None])
    Y += rng.normal(0, 0.01, Y.shape) * np.abs(Y).max(axis=1, keepdims=True)
    return eta, Y, i0, al


def step(name, fn):
    print(f"\n== {name}", flush=True)
    t0 = time.perf_counter()
    try:
        fn()
    except Exception:
        traceback.print_exc()
    print(f"   ({time.perf_counter() - t0:.1f} s)", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n-gpu", type=int, default=1_000_000)
    ap.add_argument("--n-cpu", type=int, default=40_000)
    ap.add_argument("--n-lmfit", type=int, default=200)
    ap.add_argument("--n-pixels", type=int, default=20_000)
    a = ap.parse_args()
    from nbtools.fitting import fit_batch, gpu_available

    print(f"cores: {os.cpu_count()}, GPU with CuPy: {gpu_available()}", flush=True)
    out = {}

    def lmfit_loop():
        from nbtools.kinetics import ButlerVolmerModel

        eta, Y, _, _ = curves(a.n_lmfit, seed=7)
        m = ButlerVolmerModel()
        t0 = time.perf_counter()
        for y in Y:
            m.fit(y, m.guess(y, eta), eta=eta)
        out["lmfit"] = a.n_lmfit / (time.perf_counter() - t0)
        print(f"plain serial lmfit loop: {out['lmfit']:.0f} curves/s ({a.n_lmfit} curves)")

    def cpu():
        eta, Y, i0, _ = curves(a.n_cpu, seed=2)
        fit_batch("ButlerVolmer", eta, Y[:2000], backend="numpy")  # warm
        for w in (1, os.cpu_count()):
            t0 = time.perf_counter()
            df = fit_batch("ButlerVolmer", eta, Y, backend="numpy", n_workers=w)
            dt = time.perf_counter() - t0
            out[f"cpu{w}"] = a.n_cpu / dt
            print(f"fit_batch numpy, {w} threads: {a.n_cpu} curves in {dt:.2f} s = {a.n_cpu / dt:,.0f} curves/s; "
                  f"converged {(df.fit_status == 'converged').mean():.4f}; "
                  f"median |i0 err| {np.median(np.abs(df.i0 / i0 - 1)):.3%}")
        print(f"all cores / 1 thread: {out[f'cpu{os.cpu_count()}'] / out['cpu1']:.2f}x")

    def gpu():
        import cupy

        dev = cupy.cuda.runtime.getDeviceProperties(0)
        print("GPU:", dev["name"].decode() if isinstance(dev["name"], bytes) else dev["name"],
              f"{dev['totalGlobalMem'] / 2**30:.0f} GiB")
        eta, Y, i0, _ = curves(20_000, seed=3)
        t0 = time.perf_counter()
        fit_batch("ButlerVolmer", eta, Y, backend="cupy")  # warm: kernel compilation
        print(f"first (compiling) call, 20,000 curves: {time.perf_counter() - t0:.2f} s")
        ref = fit_batch("ButlerVolmer", eta, Y[:5000], backend="numpy")
        g = fit_batch("ButlerVolmer", eta, Y[:5000], backend="cupy")
        ok = (ref.fit_status == "converged") & (g.fit_status == "converged")
        for c in ("i0", "alpha", "i0_stderr", "alpha_stderr"):
            print(f"GPU vs NumPy on 5,000 curves, {c}: max rel diff {np.max(np.abs(g[c][ok] / ref[c][ok] - 1)):.2e}")
        for n in (100_000, a.n_gpu):
            eta, Y, i0, _ = curves(n, seed=4)
            cupy.cuda.Device().synchronize()
            t0 = time.perf_counter()
            df = fit_batch("ButlerVolmer", eta, Y, backend="cupy")
            dt = time.perf_counter() - t0
            out["gpu"] = n / dt
            print(f"fit_batch cupy: {n:,} curves in {dt:.2f} s = {n / dt:,.0f} curves/s (incl. transfers, "
                  f"guess and checks on the CPU); converged {(df.fit_status == 'converged').mean():.4f}; "
                  f"median |i0 err| {np.median(np.abs(df.i0 / i0 - 1)):.3%}", flush=True)
            del Y, df

    def seccm_cpu():
        """SECCM two-couple pixels (the bundled example's particle pixels, repeated with fresh noise)
        on 2 numba threads (the target machine's cores) and on all, against MINPACK per pixel."""
        import numba

        from nbtools.batch import fit_many

        path = os.path.join(os.path.dirname(__file__), "_out", "seccm_pixels.npz")
        d = np.load(path)
        E, Y0, v = d["E"], d["Y"], float(d["v"])
        rng = np.random.default_rng(5)
        reps = int(np.ceil(a.n_pixels / Y0.shape[0]))
        Y = np.tile(Y0, (reps, 1))[:a.n_pixels]
        Y = Y + rng.normal(0, 0.01 * np.abs(Y0).max(), Y.shape)
        pr = {"v": {"value": v, "vary": False}}
        fit_many("CouplesCV", E, Y[:50], pr)  # compile / load the kernels
        t0 = time.perf_counter()
        ref = fit_many("CouplesCV", E, Y[:200], pr, engine="fast", scheduler="sync")
        t_ref = (time.perf_counter() - t0) / 200
        print(f"MINPACK per pixel, one core (new kernel): {1 / t_ref:.1f} pixels/s")
        for th in (1, 2, os.cpu_count()):
            numba.set_num_threads(th)
            t0 = time.perf_counter()
            df = fit_many("CouplesCV", E, Y, pr)
            dt = time.perf_counter() - t0
            ok = (df.fit_status == "converged").mean()
            print(f"fit_many batch engine, {th} numba threads: {a.n_pixels} pixels in {dt:.1f} s = "
                  f"{a.n_pixels / dt:,.0f} pixels/s (converged {ok:.3f}); 40,000 pixels: {40_000 / (a.n_pixels / dt):.0f} s")
        numba.set_num_threads(os.cpu_count())
        both = (df.fit_status[:200] == "converged").to_numpy() & (ref.status != "failed").to_numpy()
        for c in ("E01", "ks", "Q1"):
            print(f"  {c}: max rel diff vs MINPACK {np.max(np.abs(df[c][:200][both] / ref[c][both] - 1)):.1e}")

    step("plain serial lmfit loop", lmfit_loop)
    step("SECCM pixels on the CPU", seccm_cpu)
    step("CPU engine scaling", cpu)
    step("GPU engine", gpu)
    if "lmfit" in out:
        for k in ("cpu1", f"cpu{os.cpu_count()}", "gpu"):
            if k in out:
                print(f"{k}: {out[k] / out['lmfit']:.0f}x the serial lmfit loop")


if __name__ == "__main__":
    main()
