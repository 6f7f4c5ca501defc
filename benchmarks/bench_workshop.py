"""Load benchmark of ``nbtools serve --workshop``: N people open a dashboard at the same time.

Starts the workshop server on 127.0.0.1 (a free port) with a pool of N
pre-heated kernels for one dashboard, waits until the pool has warmed, then
opens N sessions concurrently as a browser would, over plain HTTP and the
kernel websocket (no browser): log in with the token, GET the page (the
notebook already run in a pooled kernel), connect to the page's kernel,
ask for the widgets' state (``jupyter.widget.control`` ``request_states``,
what Voila's page does when it loads) and wait for the answer. A session is
*ready* (interactive) when the kernel has answered. Reports time to ready per
session (median, max), page size, the peak memory of the kernels (RSS sum of
the server's child processes, sampled every 0.5 s), that closing the pages
(the shutdown request a page sends on unload) stops their kernels, and the
single-user server's time for one page of the same dashboard for comparison.

Usage::

    python benchmarks/bench_workshop.py [--sessions 30] [--dashboard nanoimpact.ipynb] [--pool N]
                                         [--notebooks DIR] [--small] [--no-single-user]

The numbers depend on what else runs on the machine: say so with them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """An ``nbtools serve`` subprocess; ``.url``, ``.token``, ``.log()``, ``.kernel_rss()``."""

    def __init__(self, args: list[str], *, env: dict | None = None, folder: Path | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.logfile = Path(tempfile.mkstemp(prefix="nbtools_serve_", suffix=".log")[1])
        cmd = [sys.executable, "-m", "nbtools.cli", "serve", "--port", str(self.port), "--ip", "127.0.0.1",
               *args, str(folder or REPO / "notebooks")]
        self._fh = open(self.logfile, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self._fh, stderr=subprocess.STDOUT, cwd=REPO,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
                                     start_new_session=True)
        self.token = None

    def log(self) -> str:
        return self.logfile.read_text(errors="replace")

    def wait_for(self, pattern: str, timeout: float) -> re.Match:
        """Wait until the log matches ``pattern`` (regex); raise with the log tail otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, self.log())
            if m:
                return m
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited ({self.proc.returncode}):\n{self.log()[-4000:]}")
            time.sleep(0.2)
        raise TimeoutError(f"no {pattern!r} in the server log within {timeout:.0f} s:\n{self.log()[-4000:]}")

    def start(self, timeout: float = 120) -> "Server":
        m = self.wait_for(r"open http://\S+?/(?:\?token=([0-9a-f]+))?[ \n]", timeout)
        self.token = m.group(1)
        self.wait_for(r"Voil. is running at", timeout)
        return self

    def kernel_rss(self) -> int:
        """Resident memory of the server's child processes (the kernels), bytes."""
        import psutil

        try:
            kids = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.Error:
            return 0
        total = 0
        for k in kids:
            try:
                total += k.memory_info().rss
            except psutil.Error:
                pass
        return total

    def kernel_count(self) -> int:
        import psutil

        try:
            return len(psutil.Process(self.proc.pid).children(recursive=False))
        except psutil.Error:
            return 0

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._fh.close()
        self.logfile.unlink(missing_ok=True)


def _cookies(headers) -> dict:
    jar = {}
    for h in headers.get_list("Set-Cookie"):
        name, _, rest = h.partition("=")
        jar[name.strip()] = rest.split(";", 1)[0]
    return jar


def _cookie_header(jar: dict) -> str:
    return "; ".join(f"{k}={v}" for k, v in jar.items())


async def open_session(base: str, notebook: str, token: str | None, *, timeout: float = 300) -> dict:
    """One person opening ``notebook``: the page, then the widgets' state from its kernel.

    Returns ``{"ready_s", "page_s", "bytes", "kernel_id", "cookies", "error"}``.
    """
    from tornado.httpclient import AsyncHTTPClient, HTTPRequest
    from tornado.websocket import websocket_connect

    client = AsyncHTTPClient()
    t0 = time.perf_counter()
    out = {"ready_s": None, "page_s": None, "bytes": 0, "kernel_id": None, "cookies": {}, "error": None}
    try:
        jar: dict = {}
        if token:  # the link students get: the index with ?token=, which sets the login cookie
            r = await client.fetch(f"{base}?token={token}", request_timeout=timeout, follow_redirects=False)
            jar.update(_cookies(r.headers))
        r = await client.fetch(HTTPRequest(f"{base}voila/render/{notebook}", headers={"Cookie": _cookie_header(jar)},
                                           request_timeout=timeout, follow_redirects=False))
        jar.update(_cookies(r.headers))
        page = r.body.decode("utf-8", "replace")
        out["bytes"], out["page_s"], out["cookies"] = len(r.body), time.perf_counter() - t0, jar
        m = re.search(r'"kernelId":\s*"([0-9a-f-]+)"', page)
        if not m:
            raise RuntimeError(f"no kernel id in the page (HTTP {r.code}, {len(page)} bytes)")
        kid = out["kernel_id"] = m.group(1)
        ws_url = base.replace("http", "ws", 1) + f"api/kernels/{kid}/channels?session_id={uuid.uuid4()}"
        ws = await websocket_connect(HTTPRequest(ws_url, headers={"Cookie": _cookie_header(jar)},
                                                 request_timeout=timeout), max_message_size=256 * 2**20)
        session = str(uuid.uuid4())

        def message(msg_type, content, metadata=None):
            return json.dumps({
                "header": {"msg_id": str(uuid.uuid4()), "msg_type": msg_type, "session": session,
                           "username": "bench", "date": "", "version": "5.3"},
                "parent_header": {}, "metadata": metadata or {}, "content": content, "channel": "shell",
                "buffers": []})

        comm_id = str(uuid.uuid4())
        await ws.write_message(message("comm_open", {"comm_id": comm_id, "target_name": "jupyter.widget.control",
                                                     "data": {}}, {"version": "1.0.0"}))
        await ws.write_message(message("comm_msg", {"comm_id": comm_id, "data": {"method": "request_states"}}))
        deadline = time.perf_counter() + timeout
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                raise TimeoutError("no widget state from the kernel")
            raw = await asyncio.wait_for(ws.read_message(), left)
            if raw is None:
                raise RuntimeError("the kernel websocket closed")
            if isinstance(raw, bytes):  # binary (buffers): the v1 protocol; look inside the header part
                if b"update_states" in raw:
                    break
                continue
            msg = json.loads(raw)
            if (msg.get("msg_type") == "comm_msg" and msg["content"].get("comm_id") == comm_id
                    and msg["content"].get("data", {}).get("method") == "update_states"):
                break
        out["ready_s"] = time.perf_counter() - t0
        ws.close()
    except Exception as exc:  # noqa: BLE001 - reported per session
        out["error"] = f"{type(exc).__name__}: {exc}"
    return out


async def close_session(base: str, s: dict) -> int:
    """The shutdown request a page sends when it is closed (multipart form with the _xsrf cookie)."""
    from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

    boundary = uuid.uuid4().hex
    xsrf = s["cookies"].get("_xsrf", "")
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"_xsrf\"\r\n\r\n{xsrf}\r\n"
            f"--{boundary}--\r\n").encode()
    req = HTTPRequest(f"{base}voila/api/shutdown/{s['kernel_id']}", method="POST", body=body,
                      headers={"Cookie": _cookie_header(s["cookies"]), "Origin": base.rstrip("/"),
                               "Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        r = await AsyncHTTPClient().fetch(req)
        return r.code
    except HTTPClientError as exc:
        return exc.code


async def kernel_alive(base: str, s: dict) -> bool:
    from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

    try:
        await AsyncHTTPClient().fetch(HTTPRequest(f"{base}api/kernels/{s['kernel_id']}",
                                                  headers={"Cookie": _cookie_header(s["cookies"])}))
        return True
    except HTTPClientError as exc:
        return exc.code != 404


def _run(make_coro):
    """``asyncio.run`` of ``make_coro()``, in a thread of its own when this thread already runs an event loop
    (inside a test session whose browser fixtures keep one running)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make_coro())
    out = {}

    def target():
        try:
            out["value"] = asyncio.run(make_coro())
        except BaseException as exc:  # re-raised in the caller's thread
            out["error"] = exc

    t = threading.Thread(target=target)
    t.start()
    t.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


def run_sessions(base: str, notebook: str, token: str | None, n: int, *, timeout: float = 300) -> list[dict]:
    """Open ``n`` sessions at once; returns their results."""
    from tornado.httpclient import AsyncHTTPClient

    async def main():
        AsyncHTTPClient.configure(None, max_clients=max(10, 2 * n))
        return await asyncio.gather(*(open_session(base, notebook, token, timeout=timeout) for _ in range(n)))

    return _run(main)


def close_sessions(base: str, sessions: list[dict], *, wait: float = 30) -> tuple[list[int], int]:
    """Close every page; returns (status codes of the shutdown requests, kernels still alive after ``wait``)."""

    async def main():
        codes = await asyncio.gather(*(close_session(base, s) for s in sessions if s["kernel_id"]))
        deadline = time.monotonic() + wait
        while True:
            alive = sum(await asyncio.gather(*(kernel_alive(base, s) for s in sessions if s["kernel_id"])))
            if alive == 0 or time.monotonic() > deadline:
                return list(codes), alive
            await asyncio.sleep(1)

    return _run(main)


class MemorySampler(threading.Thread):
    def __init__(self, server: Server, every: float = 0.5):
        super().__init__(daemon=True)
        self.server, self.every, self.peak, self.peak_kernels = server, every, 0, 0
        self._stop_event = threading.Event()

    def run(self):
        while not self._stop_event.is_set():
            self.peak = max(self.peak, self.server.kernel_rss())
            self.peak_kernels = max(self.peak_kernels, self.server.kernel_count())
            self._stop_event.wait(self.every)

    def stop(self):
        self._stop_event.set()
        self.join()


def _summary(label: str, results: list[dict]) -> dict:
    ok = [r["ready_s"] for r in results if r["ready_s"] is not None]
    errors = [r["error"] for r in results if r["error"]]
    row = {"sessions": len(results), "ready": len(ok),
           "median_s": statistics.median(ok) if ok else None, "max_s": max(ok) if ok else None,
           "page_MB": statistics.median([r["bytes"] for r in results]) / 1e6 if results else 0.0,
           "errors": errors[:3]}
    med = f"{row['median_s']:.2f}" if ok else "-"
    mx = f"{row['max_s']:.2f}" if ok else "-"
    print(f"{label}: {row['ready']}/{row['sessions']} ready; time to ready median {med} s, max {mx} s; "
          f"page {row['page_MB']:.2f} MB" + (f"; errors: {errors[:3]}" if errors else ""), flush=True)
    return row


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sessions", type=int, default=30)
    p.add_argument("--dashboard", default="nanoimpact.ipynb")
    p.add_argument("--pool", type=int, help="pre-heated kernels (default: --sessions)")
    p.add_argument("--notebooks", type=Path, default=REPO / "notebooks")
    p.add_argument("--small", action="store_true", help="NBTOOLS_SMALL=1 (the test's smaller work)")
    p.add_argument("--no-single-user", action="store_true", help="skip the single-user comparison")
    p.add_argument("--warm-timeout", type=float, default=900)
    args = p.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the servers on the way out
    pool = args.pool if args.pool is not None else args.sessions
    env = {"NBTOOLS_SMALL": "1"} if args.small else {}
    print(f"machine: {os.cpu_count()} cores, {_mem_gb():.1f} GB; load average {os.getloadavg()[0]:.2f} "
          "(shared machine: other work changes these numbers)", flush=True)

    data = Path(tempfile.mkdtemp(prefix="nbtools_bench_data_"))
    server = Server(["--workshop", "--pool", str(pool), "--preheat", args.dashboard, "--data-dir", str(data)],
                    env=env, folder=args.notebooks)
    sampler = MemorySampler(server)
    try:
        t0 = time.perf_counter()
        server.start()
        sampler.start()
        server.wait_for(rf"Kernel pool of {re.escape(args.dashboard)} is filled with {pool} kernel", args.warm_timeout)
        warm = time.perf_counter() - t0
        rss_warm = server.kernel_rss()
        print(f"workshop server: pool of {pool} warmed in {warm:.0f} s; kernels hold {rss_warm / 2**30:.2f} GiB "
              f"({rss_warm / max(pool, 1) / 2**20:.0f} MiB each)", flush=True)
        results = run_sessions(server.url, args.dashboard, server.token, args.sessions)
        row = _summary(f"workshop, {args.sessions} sessions at once", results)
        time.sleep(2)
        codes, alive = close_sessions(server.url, results)
        sampler.stop()
        print(f"peak kernel memory {sampler.peak / 2**30:.2f} GiB (RSS sum of {sampler.peak_kernels} kernels at most)")
        print(f"closing the pages: shutdown requests answered {sorted(set(codes))}; kernels still running "
              f"after 30 s: {alive} of {len(codes)}", flush=True)
        lost = sum(1 for r in results if r["error"])
        print(f"kernels lost or pages not ready: {lost}")
    finally:
        if sampler.is_alive():
            sampler.stop()
        server.stop()
        shutil.rmtree(data, ignore_errors=True)

    if not args.no_single_user:
        single = Server([], env=env, folder=args.notebooks)
        try:
            single.start()
            one = run_sessions(single.url, args.dashboard, single.token, 1)
            _summary("single-user server, one page (fresh kernel)", one)
        finally:
            single.stop()
    return 0 if row["ready"] == row["sessions"] else 1


def _mem_gb() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    except (ValueError, OSError):
        return float("nan")


if __name__ == "__main__":
    sys.exit(main())
