"""ImageOverlay: a microscope image registered onto a PixelSelector's map.

The panel gathers an image (path or upload) and control points, and draws
the image over the map; the numerics are :func:`nbtools.seccm.load_image`,
:func:`~nbtools.seccm.register_image` and :func:`~nbtools.seccm.warp_to_map`.
Pixels are then selected "on the image" with the map's lasso or box tool:
the pixel centres under the drawn region are selected.

Control points, one per line: ``column_px, row_px, x_um, y_um`` (image
column and row counted from the top-left pixel; map position in µm, as on
the map's axes). Clicking the map shows the clicked position to copy.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import ipywidgets as W
import numpy as np

from ..errors import ParameterError

__all__ = ["ImageOverlay", "parse_points", "as_rgba"]


def as_rgba(image):
    """An image array as RGBA ``uint8`` (rows, cols, 4) for display.

    Greyscale of any numeric type is stretched between its 0.5 and 99.5
    percentiles; RGB gets an opaque alpha channel.
    """
    a = np.asarray(image)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim == 2:
        if a.dtype != np.uint8:
            f = a.astype(np.float64)
            fin = np.isfinite(f)
            if not fin.any():
                raise ParameterError("image: no finite pixel value")
            lo, hi = np.percentile(f[fin], [0.5, 99.5])
            if not hi > lo:
                lo, hi = float(f[fin].min()), float(f[fin].max()) + 1e-12
            a = (np.clip((np.nan_to_num(f, nan=lo) - lo) / (hi - lo), 0, 1) * 255).round().astype(np.uint8)
        return np.dstack([a, a, a, np.full_like(a, 255)])
    if a.ndim == 3 and a.shape[2] in (3, 4):
        a = a if a.dtype == np.uint8 else np.clip(a, 0, 255).astype(np.uint8)
        if a.shape[2] == 3:
            a = np.dstack([a, np.full(a.shape[:2], 255, np.uint8)])
        return np.ascontiguousarray(a)
    raise ParameterError(f"image: expected (rows, cols), (rows, cols, 3) or (rows, cols, 4); found shape {a.shape}")


def parse_points(text):
    """Control points from text lines ``column_px, row_px, x_um, y_um``.

    Returns
    -------
    (src, dst) : numpy.ndarray (n, 2) each
        Image (column, row) in px and map (x, y) in metres.
    """
    rows = []
    for k, line in enumerate(str(text).splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = [p for p in line.replace(";", ",").replace("\t", ",").replace(" ", ",").split(",") if p]
        try:
            vals = [float(p) for p in parts]
        except ValueError:
            raise ParameterError(f"control point line {k} {line!r}: expected four numbers "
                                 "'column_px, row_px, x_um, y_um'") from None
        if len(vals) != 4:
            raise ParameterError(f"control point line {k} {line!r}: expected four numbers "
                                 f"'column_px, row_px, x_um, y_um', found {len(vals)}")
        rows.append(vals)
    a = np.asarray(rows, dtype=np.float64).reshape(-1, 4)
    return a[:, :2], a[:, 2:] * 1e-6


def format_points(src, dst):
    """Text for the control-point box (inverse of :func:`parse_points`)."""
    lines = ["# column_px, row_px, x_um, y_um"]
    for (c, r), (x, y) in zip(np.asarray(src), np.asarray(dst)):
        lines.append(f"{c:g}, {r:g}, {x * 1e6:.4g}, {y * 1e6:.4g}")
    return "\n".join(lines)


class ImageOverlay:
    """Load, register and draw a microscope image over a :class:`PixelSelector` map.

    Parameters
    ----------
    selector : PixelSelector
        The selector whose map receives the image.
    image : str or pathlib.Path, optional
        Image to put in the path box (not loaded until :meth:`load`).
    """

    def __init__(self, selector, image=None):
        from .display import ErrorDisplay

        self.sel = selector
        self.status = ErrorDisplay()  # in the panel, next to its controls
        self.image = None  # RGBA (rows, cols, 4)
        self.image_path = None
        self._trusted = set()  # paths this panel put in the box itself (uploads, set_params)
        self.registration = None  # nbtools.seccm.Registration
        g = self.status.guard
        self.path = W.Text(value=str(image) if image else "", placeholder="/path/to/sem_image.png (PNG, TIFF)",
                           description="Image:", layout=W.Layout(width="520px"))
        self.load_button = W.Button(description="Load image", icon="image", layout=W.Layout(width="120px"))
        self.upload = W.FileUpload(accept=".png,.tif,.tiff,.jpg,.jpeg,.bmp", multiple=False,
                                   description="Upload image")
        self.points = W.Textarea(value="# column_px, row_px, x_um, y_um\n", rows=6,
                                 layout=W.Layout(width="420px"),
                                 placeholder="one control point per line: column_px, row_px, x_um, y_um")
        self.register_button = W.Button(description="Register and overlay", button_style="primary",
                                        layout=W.Layout(width="180px"),
                                        tooltip="Fit the affine map image -> scan through the control points")
        self.corners_button = W.Button(description="Stretch over scan area", layout=W.Layout(width="180px"),
                                       tooltip="Control points at three image corners -> scan corners "
                                               "(when the image shows exactly the scanned area)")
        self.opacity = W.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.05, description="Opacity:",
                                     continuous_update=True, layout=W.Layout(width="320px"))
        self.visible = W.Checkbox(value=True, description="Show image", indent=False)
        self.info = W.HTML("<span style='color:#555'>No image loaded.</span>")
        self.tap_info = W.HTML("")
        self.load_button.on_click(g(lambda b: self.load(self._typed(self.path.value))))
        self.upload.observe(g(self._on_upload), names="value")
        self.register_button.on_click(g(lambda b: self.register()))
        self.corners_button.on_click(g(lambda b: self.stretch_to_scan()))
        self.opacity.observe(g(lambda c: self._apply_style()), names="value")
        self.visible.observe(g(lambda c: self._apply_style()), names="value")
        self.add_point_button = W.Button(description="Add control point", icon="plus",
                                         layout=W.Layout(width="180px"),
                                         tooltip="Append the last click on the image and the last click on the "
                                                 "map as one control point")
        self.add_point_button.on_click(g(lambda b: self.add_clicked_point()))
        self.last_image_click = None
        self.image_box = W.VBox([])
        self.widget = W.VBox([
            W.HTML("<span style='color:#555'>Load an SEM or optical image and give three or more control points: "
                   "click a feature on the image (shown below once loaded), click the same feature on the map, "
                   "press <b>Add control point</b>; or type lines <i>column_px, row_px, x_um, y_um</i>. "
                   "Then <b>Register and overlay</b>. Draw a lasso on the map to select the pixels under a region "
                   "of the image.</span>"),
            W.HBox([self.path, self.load_button, self.upload]),
            W.HBox([self.points, W.VBox([self.register_button, self.corners_button, self.add_point_button,
                                         self.tap_info])]),
            W.HBox([self.opacity, self.visible]),
            self.status,
            self.info,
            self.image_box,
        ])

    # ------------------------------------------------------------ image
    def _typed(self, text):
        """The image path typed in the box (inside the data folder on a workshop server), or the path
        the panel itself put there (an upload's copy, the bundled example)."""
        from ..safety import user_path

        text = str(text).strip()
        return text if text and text in self._trusted else user_path(text)

    def load(self, source):
        """Load an image: a path (str, Path) or an array (greyscale, RGB or RGBA; row 0 at the top)."""
        import warnings

        from ..seccm.overlay import load_image

        if isinstance(source, np.ndarray):
            self.image, self.image_path = as_rgba(source), None
        else:
            text = str(source).strip()
            if not text:
                raise ParameterError("type the path of an image file (PNG or TIFF) first")
            path = Path(text).expanduser()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # Pillow's notes on odd metadata
                self.image = as_rgba(load_image(path))
            self.image_path = str(path)
        self.registration = None
        self.sel.map_view.overlay_renderer.visible = False
        self.last_image_click = None
        self._show_image()
        rows, cols = self.image.shape[:2]
        self.info.value = (f"Image {cols} x {rows} px loaded. Give control points and press "
                           "<b>Register and overlay</b>.")
        self.status.info(f"Image loaded: {cols} x {rows} px")
        return self.image

    def _on_upload(self, change):
        files = change["new"]
        if not files:
            return
        f = files[0] if isinstance(files, (list, tuple)) else next(iter(files.values()))
        name = Path(f["name"] if isinstance(f, dict) else f.name).name
        content = f["content"] if isinstance(f, dict) else f.content
        from ..safety import check_upload

        check_upload(name, len(content))
        tmp = Path(tempfile.mkdtemp(prefix="nbtools_img_")) / name
        tmp.write_bytes(bytes(content))
        self._trusted.add(str(tmp))
        self.path.value = str(tmp)
        self.load(tmp)

    # ------------------------------------------------------------ registration
    def set_points(self, src, dst):
        """Control points: image (column, row) px and map (x, y) m, (n, 2) each."""
        self.points.value = format_points(src, dst)

    def stretch_to_scan(self):
        """Control points mapping three image corners onto the scan area's corners."""
        if self.image is None:
            raise ParameterError("load an image first")
        rows, cols = self.image.shape[:2]
        x0, x1, y0, y1, _, _ = self.sel.map_view.extent
        # image top-left -> map top-left (x0, y1): image rows grow downwards, map y upwards
        src = [[-0.5, -0.5], [cols - 0.5, -0.5], [-0.5, rows - 0.5]]  # outer corners of the corner pixels
        dst = [[x0, y1], [x1, y1], [x0, y0]]
        self.set_points(src, dst)
        return self.register()

    def register(self):
        """Fit the control points and draw the image over the map; returns the Registration."""
        from ..seccm.overlay import register_image, warp_to_map

        if self.image is None:
            raise ParameterError("load an image first (path or upload), then register it")
        src, dst = parse_points(self.points.value)
        reg = register_image(self.image, src, dst)
        self.registration = reg
        x0, x1, y0, y1, _, _ = self.sel.map_view.extent
        n = 500
        w, h = (n, max(2, int(n * (y1 - y0) / (x1 - x0)))) if x1 - x0 >= y1 - y0 else \
            (max(2, int(n * (x1 - x0) / (y1 - y0))), n)
        xs = x0 + (np.arange(w) + 0.5) * (x1 - x0) / w
        ys = y0 + (np.arange(h) + 0.5) * (y1 - y0) / h
        rgba = np.ascontiguousarray(warp_to_map(self.image, reg, xs, ys).values, dtype=np.uint8)
        self.sel.map_view.overlay_source.data = dict(image=[rgba.view(np.uint32).reshape(h, w)], x=[x0 * 1e6], y=[y0 * 1e6],
                                          dw=[(x1 - x0) * 1e6], dh=[(y1 - y0) * 1e6])
        self._apply_style()
        covered = float((rgba[..., 3] > 0).mean())
        pitch = min(self.sel.map_view.extent[4:])
        self.info.value = (f"Registered with {len(src)} control points: residual {reg.rms * 1e6:.3g} µm rms "
                           f"({reg.rms / pitch:.2f} pixel pitch); the image covers {covered:.0%} of the map.")
        if reg.rms > pitch:
            self.status.warning(f"the control points disagree by {reg.rms * 1e6:.3g} µm rms, more than one "
                                "pixel pitch: check them")
        else:
            self.status.info("Image registered and drawn over the map.")
        return reg

    def _apply_style(self):
        r = self.sel.map_view.overlay_renderer
        r.glyph.global_alpha = float(self.opacity.value)
        r.visible = bool(self.visible.value and self.registration is not None)

    def _show_image(self):
        """A small plot of the raw image (row 0 at the top) whose clicks give image coordinates."""
        from bokeh.events import Tap
        from bokeh.models import ColumnDataSource, Range1d
        from bokeh.plotting import figure

        from .display import bokeh_widget

        rows, cols = self.image.shape[:2]
        w = 320
        h = int(np.clip(w * rows / cols, 80, 480))
        f = figure(frame_width=w, frame_height=h, x_range=Range1d(-0.5, cols - 0.5),
                   y_range=Range1d(rows - 0.5, -0.5), tools="pan,wheel_zoom,reset,tap",
                   x_axis_label="column / px", y_axis_label="row / px", title="image: click a feature",
                   output_backend="canvas")
        f.toolbar.logo = None
        f.grid.visible = False
        # row 0 at the top: the reversed y range puts y=-0.5 (image row 0) at the top
        f.image_rgba(image=[np.ascontiguousarray(self.image).view(np.uint32).reshape(rows, cols)],
                     x=-0.5, y=-0.5, dw=cols, dh=rows)
        self._click_src = ColumnDataSource(dict(x=[], y=[]))
        f.scatter("x", "y", source=self._click_src, marker="cross", size=14, line_color="#ff2d55", line_width=2)
        f.on_event(Tap, self.status.guard(self._on_image_tap))
        self.image_figure = f
        self.image_box.children = [bokeh_widget(f)]

    def _on_image_tap(self, event):
        self.last_image_click = (float(event.x), float(event.y))
        self._click_src.data = dict(x=[self.last_image_click[0]], y=[self.last_image_click[1]])
        self._tap_text()

    def show_tap(self, xy):
        """Show the last clicked map position (m) for typing control points."""
        self._tap_text()

    def _tap_text(self):
        parts = []
        if self.last_image_click is not None:
            c, r = self.last_image_click
            parts.append(f"image: column {c:.1f}, row {r:.1f} px")
        if self.sel.last_tap is not None:
            x, y = self.sel.last_tap
            parts.append(f"map: x = {x * 1e6:.4g} µm, y = {y * 1e6:.4g} µm")
        self.tap_info.value = "<span style='color:#555'>last clicks:<br>" + "<br>".join(parts) + "</span>"

    def add_clicked_point(self):
        """Append (last image click, last map click) as a control point."""
        if self.image is None:
            raise ParameterError("load an image first")
        if self.last_image_click is None or self.sel.last_tap is None:
            raise ParameterError("click a feature on the image and the same feature on the map first")
        c, r = self.last_image_click
        x, y = self.sel.last_tap
        text = self.points.value.rstrip("\n")
        self.points.value = f"{text}\n{c:.1f}, {r:.1f}, {x * 1e6:.4g}, {y * 1e6:.4g}\n"
        n = len(parse_points(self.points.value)[0])
        self.status.info(f"Control point {n} added" + ("; add at least 3, then Register." if n < 3 else
                                                        "; press Register and overlay (more points: better)."))

    # ------------------------------------------------------------ params
    @property
    def params(self):
        src, dst = parse_points(self.points.value)
        return {"image": self.image_path, "control_points": np.column_stack([src, dst]).tolist(),
                "opacity": float(self.opacity.value), "visible": bool(self.visible.value)}

    def set_params(self, p):
        pts = np.asarray(p.get("control_points") or np.zeros((0, 4)), dtype=np.float64).reshape(-1, 4)
        self.set_points(pts[:, :2], pts[:, 2:])
        self.opacity.value = float(p.get("opacity", 0.5))
        self.visible.value = bool(p.get("visible", True))
        if p.get("image"):
            self._trusted.add(str(p["image"]))
            self.path.value = str(p["image"])
            self.load(p["image"])
            if len(pts) >= 3:
                self.register()
