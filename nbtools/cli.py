"""The ``nbtools`` command: serve the dashboards, show versions and paths.

Usage::

    nbtools serve [--port 8866] [--ip 127.0.0.1] [--open-browser] [PATH]
    nbtools serve --workshop [--ip 0.0.0.0] [--pool N] [--preheat NAME] [--data-dir DIR] [--max-upload-mb MB] [PATH]
    nbtools list [PATH]
    nbtools info
    nbtools batch RECIPE.json INPUT... --out DIR [--blank FILE | --blanks MAP.csv] [--conditions MAP.csv]
                  [--scheduler tcp://HOST:PORT] [--workers N] [--option KEY=VALUE ...] [--force]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

__all__ = ["main"]

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"


def _notebooks_dir(path: str | None) -> Path:
    from .dashboards import default_notebooks_dir

    if path:
        folder = Path(path).expanduser().resolve()
        if not folder.is_dir():
            raise SystemExit(f"nbtools: {path!r} is not a folder; give the folder that holds the dashboard notebooks.")
        return folder
    folder = default_notebooks_dir()
    if folder is None:
        raise SystemExit(
            "nbtools: no notebooks/ folder found next to the nbtools package or in the current folder; "
            "run from the project checkout or give the folder: nbtools serve PATH"
        )
    return folder


def _offline_page_template(template_paths):
    """A copy of Voila's dashboard page without its Font Awesome CDN links.

    Voila 0.5's lab template links Font Awesome from a CDN, which fails offline
    (a console error on every page) although its own JavaScript bundle already
    carries the icons. Returns a list holding one temporary folder with the
    filtered ``index.html.j2`` (to put first on the template path), or an empty
    list when the page template is not found.
    """
    import tempfile

    for folder in template_paths:
        page = Path(folder) / "index.html.j2"
        if page.is_file() and Path(folder).name == "lab":
            text = page.read_text(encoding="utf-8")
            kept = [line for line in text.splitlines(keepends=True) if "@fortawesome" not in line]
            out = Path(tempfile.mkdtemp(prefix="nbtools-voila-"))
            (out / "index.html.j2").write_text("".join(kept), encoding="utf-8")
            return [str(out)]
    return []


def _voila_app_class():
    """A Voila application whose tree page lists dashboards with their descriptions."""
    from voila.app import Voila

    from .dashboards import list_dashboards

    class NbtoolsVoila(Voila):
        name = "nbtools-voila"

        def setup_template_dirs(self):
            super().setup_template_dirs()
            # our tree.html first: it overrides Voila's classic tree page only
            self.template_paths = [str(TEMPLATE_DIR), *_offline_page_template(self.template_paths),
                                   *self.template_paths]

        def init_settings(self):
            settings = super().init_settings()
            root = self.root_dir
            settings["voila_jinja2_env"].globals["nbtools_dashboards"] = (
                lambda subpath="": list_dashboards(root, subpath or "")
            )
            return settings

    return NbtoolsVoila


def _check_port(ip: str, port: int) -> None:
    """Exit with a clear message when the address cannot be bound (port in use, bad address)."""
    import socket

    try:
        with socket.socket(socket.AF_INET6 if ":" in ip else socket.AF_INET) as s:
            s.bind((ip, port))
    except OSError as exc:
        raise SystemExit(
            f"nbtools: cannot listen on {ip}:{port} ({exc.strerror or exc}). Is another `nbtools serve` "
            f"running? Stop it, or choose another port: nbtools serve --port {port + 1} "
            f"(make run PORT={port + 1})."
        ) from None


def serve(args) -> int:
    from .server import serve as run_server

    return run_server(args, _notebooks_dir(args.path))


def list_cmd(args) -> int:
    from .dashboards import list_dashboards

    folder = _notebooks_dir(args.path)
    for d in list_dashboards(folder):
        print(f"{d['path']:<32} {d['title']}: {d['description']}")
    return 0


def info(args) -> int:
    from importlib import metadata

    from . import __version__
    from .dashboards import default_notebooks_dir

    print(f"nbtools {__version__} (distribution nbtools-nanoechem)")
    print(f"python {sys.version.split()[0]} at {sys.executable}")
    for dist in ("numpy", "scipy", "pandas", "lmfit", "bokeh", "jupyter_bokeh", "ipywidgets",
                 "voila", "jupyterlab", "numba", "tsdownsample", "pyabf", "npTDMS", "h5py"):
        try:
            version = metadata.version(dist)
        except metadata.PackageNotFoundError:
            version = "not installed"
        print(f"  {dist:<14} {version}")
    pkg = Path(__file__).resolve().parent
    print(f"package   {pkg}")
    print(f"notebooks {default_notebooks_dir() or 'not found'}")
    data = pkg.parent / "data"
    print(f"examples  {data if data.is_dir() else 'not found'}")
    print(f"NBTOOLS_SMALL={os.environ.get('NBTOOLS_SMALL', '')!s}")
    return 0


def _option(text: str):
    """``KEY=VALUE`` of --option, the value as a number, true/false or text."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE (e.g. fs=100000), found {text!r}")
    v = value.strip()
    for conv in (int, float):
        try:
            return key.strip(), conv(v)
        except ValueError:
            pass
    return key.strip(), {"true": True, "false": False, "none": None}.get(v.lower(), v)


def batch(args) -> int:
    from .errors import NbtoolsError
    from .study import run

    blanks = args.blanks if args.blanks else (None if args.no_blanks else "auto")
    try:
        study = run(args.recipe, args.inputs, out=args.out, scheduler=args.scheduler, workers=args.workers,
                    blank=args.blank, blanks=blanks, blank_pattern=args.blank_pattern,
                    conditions=args.conditions or "folders", options=dict(args.option or []), force=args.force,
                    retry_failed=args.retry_failed, detection_limit=args.detection_limit,
                    hash_limit=int(args.hash_limit * 2**20),
                    progress=not args.quiet, report=not args.no_report)
    except NbtoolsError as exc:
        print(f"nbtools batch: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the scheduler cannot be reached, the folder cannot be written
        print(f"nbtools batch: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    print(f"nbtools batch: {study.summary()}")
    if not args.no_report:
        print(f"nbtools batch: report {study.report}")
    return 0


def _batch_parser(sub) -> None:
    b = sub.add_parser(
        "batch", help="apply a recipe to many files (Dask), with a population table, statistics and a report",
        description="Apply one recipe (saved by a dashboard's Save recipe, or written by hand) to files, folders "
                    "or glob patterns, on a local Dask cluster or an existing one. Outputs go to --out only; "
                    "a rerun reuses what is done and recomputes what changed.")
    b.add_argument("recipe", metavar="RECIPE.json", help="the recipe (nanoimpact, SECCM, particle-on-a-stick or GITT)")
    b.add_argument("inputs", nargs="+", metavar="INPUT", help="files, folders (searched recursively) or globs")
    b.add_argument("--out", required=True, metavar="DIR", help="study folder (created; nothing is written elsewhere)")
    g = b.add_mutually_exclusive_group()
    g.add_argument("--blank", metavar="FILE", help="nanoimpact: one blank recording for every recording")
    g.add_argument("--blanks", metavar="MAP.csv", help="nanoimpact: CSV with columns file,blank")
    g.add_argument("--no-blanks", action="store_true", help="nanoimpact: do not pair recordings with blanks")
    b.add_argument("--blank-pattern", default="*blank*", metavar="GLOB",
                   help="nanoimpact: names of blank files (default *blank*); each recording takes its folder's")
    b.add_argument("--conditions", metavar="MAP.csv",
                   help="CSV with a column file and one per label (e.g. 'concentration / pM'); default: folder names")
    b.add_argument("--scheduler", metavar="ADDRESS",
                   help="an existing Dask scheduler (tcp://HOST:PORT), its workers seeing the same files; "
                        "'sync': in this process, one file after another")
    b.add_argument("--workers", type=int, metavar="N", help="worker processes of the local cluster (default: cores; 1: in this process, no cluster)")
    b.add_argument("--option", type=_option, action="append", metavar="KEY=VALUE",
                   help="reader option for the files that take it, e.g. --option fs=100000 for .npy (repeatable)")
    b.add_argument("--force", action="store_true", help="recompute every file")
    b.add_argument("--hash-limit", type=float, default=256, metavar="MiB",
                   help="inputs up to this size are identified by SHA-256, larger ones by size and time (256)")
    b.add_argument("--retry-failed", action="store_true", help="recompute files that failed before")
    b.add_argument("--detection-limit", action="store_true",
                   help="nanoimpact: injection-recovery detection limit of every recording (slow)")
    b.add_argument("--no-report", action="store_true", help="do not write report.html")
    b.add_argument("--quiet", action="store_true", help="no progress bar")
    b.set_defaults(func=batch)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="nbtools",
        description="Dashboards for single-entity (nano)electrochemistry.",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND", title="commands")

    s = sub.add_parser("serve", help="serve the dashboards with Voila (http://127.0.0.1:8866)",
                       description="Serve the notebooks folder as Voila dashboards with an index page.")
    s.add_argument("path", nargs="?", metavar="PATH",
                   help="folder of dashboard notebooks (default: notebooks/ of the checkout)")
    s.add_argument("--port", type=int, default=8866, help="port (default 8866)")
    s.add_argument("--cull-after", type=int, default=300, metavar="SECONDS",
                   help="stop a kernel left idle this long with no page connected (default 300; closing a "
                        "page stops its kernel at once)")
    s.add_argument("--ip", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1: only this computer can connect)")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--no-browser", dest="open_browser", action="store_false",
                   help="do not open a web browser (default)")
    g.add_argument("--open-browser", dest="open_browser", action="store_true",
                   help="open the index in a web browser")
    w = s.add_argument_group("workshop (a shared server: see README 'Running a workshop')")
    w.add_argument("--workshop", action="store_true",
                   help="many people on one server: pre-heated kernels, a token, files only in --data-dir")
    w.add_argument("--pool", type=int, metavar="N",
                   help="kernels kept ready (notebook already run) for each dashboard (--workshop; default 2)")
    w.add_argument("--preheat", action="append", metavar="NAME",
                   help="dashboard to keep kernels ready for, e.g. nanoimpact (repeatable; default: all)")
    w.add_argument("--max-kernels", type=int, metavar="N",
                   help="never more kernels than this (default: what two thirds of the memory holds)")
    w.add_argument("--warm-at-once", type=int, metavar="N",
                   help="pool kernels warmed at the same time (default: the number of cores)")
    w.add_argument("--data-dir", metavar="DIR",
                   help="the only folder the dashboards read and write (--workshop default: ./workshop-data)")
    w.add_argument("--token", metavar="TOKEN",
                   help="the token people need (default: generated and printed when --workshop or not 127.0.0.1)")
    w.add_argument("--max-upload-mb", type=float, metavar="MB",
                   help="largest upload, refused in the page with a message (default 100; --workshop 20)")
    s.set_defaults(func=serve, open_browser=False)

    ls = sub.add_parser("list", help="list the dashboards with their descriptions")
    ls.add_argument("path", nargs="?", metavar="PATH", help="folder of dashboard notebooks")
    ls.set_defaults(func=list_cmd)

    i = sub.add_parser("info", help="show versions and data paths")
    i.set_defaults(func=info)
    _batch_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``nbtools`` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())

