"""The ``nbtools`` command: serve the dashboards, show versions and paths.

Usage::

    nbtools serve [--port 8866] [--ip 127.0.0.1] [--open-browser] [PATH]
    nbtools list [PATH]
    nbtools info
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
    folder = _notebooks_dir(args.path)
    _check_port(args.ip, args.port)
    url = f"http://{args.ip}:{args.port}/"
    print(f"nbtools: serving the dashboards of {folder}")
    print(f"nbtools: open {url} in your browser (Ctrl+C to stop)", flush=True)
    argv = [
        str(folder),
        f"--port={args.port}",
        f"--Voila.ip={args.ip}",
        "--Voila.port_retries=0",
        "--VoilaConfiguration.classic_tree=True",
        "--theme=light",
        # a closed tab's kernel is not shut down by Voila 0.5.13 (its shutdown request fails the
        # XSRF check, voila-dashboards/voila#1458): cull kernels idle with no page connected
        f"--MappingKernelManager.cull_idle_timeout={args.cull_after}",
        "--MappingKernelManager.cull_interval=30",
        "--MappingKernelManager.cull_connected=False",
    ]
    if not args.open_browser:
        argv.append("--no-browser")
    app_class = _voila_app_class()
    app_class.launch_instance(argv=argv)
    return 0


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
                   help="stop a dashboard's kernel this long after its page was closed (default 300)")
    s.add_argument("--ip", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1: only this computer can connect)")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--no-browser", dest="open_browser", action="store_false",
                   help="do not open a web browser (default)")
    g.add_argument("--open-browser", dest="open_browser", action="store_true",
                   help="open the index in a web browser")
    s.set_defaults(func=serve, open_browser=False)

    ls = sub.add_parser("list", help="list the dashboards with their descriptions")
    ls.add_argument("path", nargs="?", metavar="PATH", help="folder of dashboard notebooks")
    ls.set_defaults(func=list_cmd)

    i = sub.add_parser("info", help="show versions and data paths")
    i.set_defaults(func=info)
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

