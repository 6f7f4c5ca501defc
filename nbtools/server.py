"""The Voila server behind ``nbtools serve``: single-user, or a workshop on a shared machine.

``nbtools serve`` (single user, 127.0.0.1) serves the dashboards as before:
any local path, a fresh kernel per page. ``nbtools serve --workshop`` adds
what a course on one shared server needs:

- **pages ready fast**: Voila's pre-heated kernel pool (``--pool N`` kernels
  per dashboard, each has already run its notebook), warmed a few at a time
  (``--warm-at-once``, default the number of cores) so that warming never
  starves the pages being served, and capped (``--max-kernels``, default from
  the machine's memory) so that refilling the pool never exhausts memory;
- **kernels stopped when a page closes**: Voila's page sends a shutdown
  request on ``beforeunload`` with the ``_xsrf`` cookie, which Voila 0.5
  never sets (the request got 403); the pages here set it. Idle kernels are
  culled (``--cull-after``);
- **safety on a network**: a token is required (generated and printed unless
  ``--token`` is given) and a warning is printed when listening beyond
  127.0.0.1; files are confined to ``--data-dir`` (the kernels inherit
  ``NBTOOLS_DATA_DIR``, see :mod:`nbtools.safety`); uploads over
  ``--max-upload-mb`` are stopped in the page with a message before the
  transfer (both modes).
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import secrets
import socket
from pathlib import Path

__all__ = ["serve", "is_loopback", "default_max_kernels", "UPLOAD_LIMIT_JS"]

KERNEL_MIB = 450  # memory of one dashboard kernel, rounded up (nanoimpact ~356 MiB, SECCM ~437 MiB)

# Checks the size of files chosen in an upload button before ipywidgets reads and sends them (a
# message bigger than the websocket limit drops the page's kernel connection without a word).
# ipywidgets 8 keeps its <input type=file> outside the document, so the check wraps the input's
# own 'change' listeners; the message goes after the upload button that was clicked.
UPLOAD_LIMIT_JS = r"""
<script>
(function () {
  var LIMIT = __LIMIT__, LIMIT_TEXT = "__LIMIT_TEXT__", ADVICE = "__ADVICE__";
  var lastButton = null;
  window.addEventListener("click", function (ev) {
    var el = ev.target && ev.target.closest ? ev.target.closest(".widget-upload") : null;
    if (el) { lastButton = el; }
  }, true);
  function say(text) {
    var anchor = lastButton || document.querySelector(".widget-upload");
    var box = anchor && anchor.parentElement && anchor.parentElement.querySelector(".nbtools-upload-limit");
    if (!box) {
      box = document.createElement("div");
      box.className = "nbtools-upload-limit nbtools-error";
      box.style.cssText = "color:#b00020;font-weight:600;margin:4px 0";
      if (anchor && anchor.parentElement) { anchor.parentElement.insertBefore(box, anchor.nextSibling); }
      else { document.body.insertBefore(box, document.body.firstChild); }
    }
    box.textContent = text;
    box.style.display = text ? "" : "none";
  }
  var add = EventTarget.prototype.addEventListener;
  EventTarget.prototype.addEventListener = function (type, listener, options) {
    if (type === "change" && this instanceof HTMLInputElement && typeof listener === "function") {
      var inner = listener;
      listener = function (ev) {
        if (this.type === "file" && this.files) {
          for (var i = 0; i < this.files.length; i++) {
            var f = this.files[i];
            if (f.size > LIMIT) {
              say(f.name + " is " + (f.size / 1048576).toFixed(1) + " MB; this server accepts uploads up to "
                  + LIMIT_TEXT + ". " + ADVICE);
              this.value = "";
              return undefined;
            }
          }
          say("");
        }
        return inner.apply(this, arguments);
      };
    }
    return add.call(this, type, listener, options);
  };
})();
</script>
"""

BOKEHJS_BUNDLES = ("bokeh", "bokeh-gl", "bokeh-widgets", "bokeh-tables", "bokeh-mathjax")
BOKEHJS_ENV = "NBTOOLS_BOKEHJS"  # "page": the page loads BokehJS, kernels do not inline it (nbtools.widgets.display)


def bokehjs_tags(version: str) -> str:
    """Script tags loading BokehJS once per page from this server (cached by the browser), instead of
    ~4 MB inlined twice into every page by ``output_notebook``."""
    return "\n".join(f'<script src="{{{{ resources.base_url }}}}nbtools/bokehjs/{name}.min.js?v={version}"></script>'
                      for name in BOKEHJS_BUNDLES)


ADVICE_CONFINED = ("Ask whoever runs the server to put the file in the data folder (then type its name), "
                   "or crop the recording.")
ADVICE_LOCAL = "Type the file's path in the path box instead (no upload needed on this computer)."


def is_loopback(ip: str) -> bool:
    """True for an address only this computer can reach (127.x, ::1, localhost)."""
    if ip in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False


def _total_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def default_max_kernels() -> int:
    """Kernels that fit in two thirds of the machine's memory (40 on 24 GB), at least 4."""
    total = _total_memory()
    if not total:
        return 40
    return max(4, int(total * 2 / 3 / (KERNEL_MIB * 2**20)))


def _pool_kernel_manager(base, *, max_kernels: int, warm_at_once: int, pools: dict):
    """``base`` (Voila's pre-heating kernel manager) warming ``warm_at_once`` kernels at a time,
    never holding more than ``max_kernels`` kernels, with the pool sizes ``pools``."""
    from traitlets import default

    class NbtoolsPoolKernelManager(base):
        _starting = 0  # pool kernels asked for but not started yet
        _warm_gate = None

        @default("kernel_pools_config")
        def _nbtools_pools(self):
            return {name: {"pool_size": n, "kernel_env_variables": {}} for name, n in pools.items()}

        def fill_if_needed(self, delay=None, notebook_name=None, extra_kernel_env_variables=None, **kwargs):
            config = self.kernel_pools_config
            want = config.get(notebook_name, config.get("default", {})).get("pool_size", 0)
            have = len(self._pools.get(notebook_name, []))
            room = max_kernels - len(self.list_kernel_ids()) - self._starting
            n = max(0, min(want - have, room))
            if want > have and n < want - have:
                self.log.warning("nbtools: %s: %d pre-heated kernel(s) not started (at most %d kernels, "
                                 "--max-kernels)", notebook_name, want - have - n, max_kernels)
            if n == 0:
                return
            self._starting += n
            saved = config
            self.kernel_pools_config = {**config, notebook_name: {**config.get(notebook_name, {}),
                                                                  "pool_size": have + n}}
            try:
                super().fill_if_needed(delay=delay, notebook_name=notebook_name,
                                       extra_kernel_env_variables=extra_kernel_env_variables or {}, **kwargs)
            finally:
                self.kernel_pools_config = saved

        async def _initialize(self, notebook_path, kernel_id=None, **kwargs):
            if kernel_id is not None:  # a restart: not a pool kernel
                return await super()._initialize(notebook_path, kernel_id, **kwargs)
            if self._warm_gate is None:
                self._warm_gate = asyncio.Semaphore(warm_at_once)
            async with self._warm_gate:
                try:
                    content = await super()._initialize(notebook_path, None, **kwargs)
                finally:
                    self._starting = max(0, self._starting - 1)
                try:  # hold the gate until the notebook has run: warming is the expensive part
                    await asyncio.shield(content["task"])
                except Exception:  # noqa: BLE001 - the page shows the notebook's own error
                    pass
            return content

        async def shutdown_all(self, *args, **kwargs):
            self._closing = True
            return await super().shutdown_all(*args, **kwargs)

        async def shutdown_kernel(self, kernel_id, *args, **kwargs):
            out = await super().shutdown_kernel(kernel_id, *args, **kwargs)
            if getattr(self, "_closing", False):
                return out
            for name in list(self._pools):  # room again: refill pools the cap had left short
                self.fill_if_needed(notebook_name=name)
            return out

    return NbtoolsPoolKernelManager


def _app_class(*, upload_limit: int, confined: bool, pools: dict, max_kernels: int, warm_at_once: int):
    """The nbtools Voila application with the page and kernel-manager changes of this module."""
    import tornado.web
    import voila.app as voila_app
    from voila.tornado.handler import TornadoVoilaHandler

    from .cli import _voila_app_class
    from .safety import upload_limit_text

    base = _voila_app_class()

    class PageHandler(TornadoVoilaHandler):
        """A dashboard page that sets the ``_xsrf`` cookie its shutdown request sends back."""

        @tornado.web.authenticated
        async def get(self, path=None):
            if confined and hidden_on_workshop(path):  # the instructor's solutions stay off a workshop server
                raise tornado.web.HTTPError(404)
            self.xsrf_token  # noqa: B018 - reading it sets the cookie
            return await super().get(path=path)

    import bokeh
    from bokeh.util.paths import bokehjs_path

    class BokehJSHandler(tornado.web.StaticFileHandler):
        """BokehJS files, cached by the browser (a new Bokeh version changes the URL)."""

        def set_extra_headers(self, path):
            self.set_header("Cache-Control", "public, max-age=604800, immutable")

    script = bokehjs_tags(bokeh.__version__) + (UPLOAD_LIMIT_JS.replace("__LIMIT__", str(int(upload_limit)))
              .replace("__LIMIT_TEXT__", upload_limit_text(upload_limit))
              .replace("__ADVICE__", ADVICE_CONFINED if confined else ADVICE_LOCAL))

    class NbtoolsServer(base):
        name = "nbtools-serve"

        def setup_template_dirs(self):
            super().setup_template_dirs()
            for folder in self.template_paths:  # the page template copied by _offline_page_template
                page = Path(folder) / "index.html.j2"
                if Path(folder).name.startswith("nbtools-voila-") and page.is_file():
                    text = page.read_text(encoding="utf-8")
                    if "nbtools-upload-limit" not in text:
                        text = text.replace("{{ log.js() }}", "{{ log.js() }}\n" + script, 1)
                        page.write_text(text, encoding="utf-8")
                    break

        def init_settings(self):
            original = voila_app.voila_kernel_manager_factory

            def factory(base_class, preheat_kernel, default_pool_size, page_config_hook=None):
                cls = original(base_class, preheat_kernel, default_pool_size, page_config_hook=page_config_hook)
                if not preheat_kernel:
                    return cls
                return _pool_kernel_manager(cls, max_kernels=max_kernels, warm_at_once=warm_at_once, pools=pools)

            voila_app.voila_kernel_manager_factory = factory
            try:
                settings = super().init_settings()
            finally:
                voila_app.voila_kernel_manager_factory = original
            # the folder pages do not list the instructor's solutions either
            settings["voila_jinja2_env"].globals["nbtools_hidden_folders"] = WORKSHOP_HIDDEN if confined else ()
            # room for an upload of the limit (and its message framing) on the kernel websocket
            settings["websocket_max_message_size"] = max(10 * 2**20, int(upload_limit * 1.1) + 2**20)
            return settings

        def init_handlers(self):
            from jupyter_server.utils import url_path_join

            handlers = super().init_handlers()
            handlers.insert(0, (url_path_join(self.server_url, r"/nbtools/bokehjs/(.*)"), BokehJSHandler,
                                {"path": str(Path(bokehjs_path()) / "js")}))
            return [(h[0], PageHandler, *h[2:]) if len(h) > 1 and h[1] is TornadoVoilaHandler else h
                    for h in handlers]

    return NbtoolsServer


#: folders a workshop server neither lists, pre-heats nor renders: the instructor's solutions
WORKSHOP_HIDDEN = ("solutions",)


def hidden_on_workshop(path: str) -> bool:
    """True when the notebook ``path`` (relative to the served folder) is in a :data:`WORKSHOP_HIDDEN` folder."""
    return any(part in WORKSHOP_HIDDEN for part in Path(str(path or "")).parts[:-1])


def _pool_plan(folder: Path, pool: int, preheat: list[str] | None) -> dict:
    """``{notebook path relative to folder: pool size}`` (``default`` 0 for the others)."""
    plan = {"default": 0}
    if pool <= 0:
        return plan
    names = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts and not any(s.startswith((".", "_"))
                                                                       for s in p.relative_to(folder).parts)
                   and not hidden_on_workshop(p.relative_to(folder).as_posix()))
    if preheat:
        chosen = []
        for want in preheat:
            hits = [n for n in names if n == want or Path(n).name == want or Path(n).stem == want]
            if not hits:
                raise SystemExit(f"nbtools: --preheat {want!r}: no such dashboard in {folder.name}/ "
                                 f"(dashboards: {', '.join(names)})")
            chosen += hits
        names = list(dict.fromkeys(chosen))
    plan.update({n: pool for n in names})
    return plan


def _lan_address() -> str:
    """This machine's address on the local network (for the URL printed to students)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("10.255.255.255", 1))  # no packet is sent
            return s.getsockname()[0]
    except OSError:
        return socket.gethostname()


def _kernels_import_this_nbtools() -> None:
    """Put this nbtools first on the kernels' ``PYTHONPATH`` when it runs from a source checkout, so that the
    dashboards run the code of the server that serves them (a kernel's working folder is the notebook's)."""
    root = Path(__file__).resolve().parents[1]
    if not (root / "pyproject.toml").is_file():
        return  # an installed package: every kernel of this Python imports it
    parts = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if str(root) not in parts:
        os.environ["PYTHONPATH"] = os.pathsep.join([str(root), *parts])


def serve(args, folder: Path) -> int:
    """Run the Voila server for ``nbtools serve`` (see :func:`nbtools.cli.main`)."""
    from .cli import _check_port

    workshop = bool(getattr(args, "workshop", False))
    networked = not is_loopback(args.ip)
    _check_port(args.ip, args.port)

    data_dir = getattr(args, "data_dir", None)
    if workshop and not data_dir:
        data_dir = "workshop-data"
    if data_dir:
        root = Path(data_dir).expanduser().resolve()
        root.mkdir(parents=True, exist_ok=True)
        os.environ["NBTOOLS_DATA_DIR"] = str(root)  # inherited by every kernel
    max_mb = args.max_upload_mb if args.max_upload_mb is not None else (20.0 if workshop else 100.0)
    os.environ["NBTOOLS_MAX_UPLOAD_MB"] = f"{max_mb:g}"
    os.environ[BOKEHJS_ENV] = "page"
    _kernels_import_this_nbtools()
    if workshop:  # numba's compiled kernels on disk, shared by every kernel (also when site-packages is read-only)
        os.environ.setdefault("NUMBA_CACHE_DIR", str(Path.home() / ".cache" / "nbtools-numba"))

    token = getattr(args, "token", None)
    need_token = workshop or networked
    if need_token and not token:
        token = secrets.token_hex(24)

    pool = args.pool if args.pool is not None else (2 if workshop else 0)
    plan = _pool_plan(folder, pool, getattr(args, "preheat", None)) if workshop else {"default": 0}
    max_kernels = args.max_kernels or default_max_kernels()
    warm = args.warm_at_once or max(1, os.cpu_count() or 1)

    host = _lan_address() if args.ip in ("0.0.0.0", "::", "") else args.ip
    url = f"http://{host}:{args.port}/"
    print(f"nbtools: serving the dashboards of {folder}")
    if networked:
        print(f"nbtools: WARNING: listening on {args.ip}, reachable from other computers; only people "
              "with the token below can open the dashboards. Use it on a network you trust (no HTTPS).")
    if data_dir:
        print(f"nbtools: files: only inside {os.environ['NBTOOLS_DATA_DIR']} (exports in its exports/ folder, "
              "one sub-folder per page)")
    print(f"nbtools: uploads up to {max_mb:g} MB (--max-upload-mb)")
    pooled = {k: v for k, v in plan.items() if k != "default" and v > 0}
    if pooled:
        print(f"nbtools: {pool} pre-heated kernel(s) for each of {', '.join(pooled)}; at most {max_kernels} "
              f"kernels (~{max_kernels * KERNEL_MIB / 1024:.0f} GB); pages are fast once the pool has warmed")
        if pool * len(pooled) > max_kernels:
            print(f"nbtools: WARNING: {pool} x {len(pooled)} dashboards is more than --max-kernels {max_kernels}: "
                  "choose the dashboards of the session with --preheat NAME")
    if token:
        print(f"nbtools: open {url}?token={token} (Ctrl+C to stop)", flush=True)
    else:
        print(f"nbtools: open {url} in your browser (Ctrl+C to stop)", flush=True)

    argv = [
        str(folder),
        f"--port={args.port}",
        f"--Voila.ip={args.ip}",
        "--Voila.port_retries=0",
        "--VoilaConfiguration.classic_tree=True",
        "--theme=light",
        # kernels of closed pages are shut down by the page (its _xsrf cookie is set here); cull the
        # rest: idle, no page connected, for --cull-after seconds
        f"--MappingKernelManager.cull_idle_timeout={args.cull_after}",
        "--MappingKernelManager.cull_interval=30",
        "--MappingKernelManager.cull_connected=False",
    ]
    if token:
        argv.append(f"--Voila.token={token}")
    if pooled:
        argv += ["--VoilaConfiguration.preheat_kernel=True", f"--VoilaConfiguration.default_pool_size={pool}"]
    if not args.open_browser:
        argv.append("--no-browser")
    app_class = _app_class(upload_limit=int(max_mb * 2**20), confined=bool(data_dir), pools=plan,
                           max_kernels=max_kernels, warm_at_once=warm)
    app_class.launch_instance(argv=argv)
    return 0
