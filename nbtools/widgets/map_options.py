"""Controls that edit SECCM recipes: the map and its options, the particle/substrate split, a potential window.

Each control set is a view over one recipe (a ``recipe`` traitlet): a
changed control replaces the recipe (validated by the recipe itself), and a
recipe set from outside (a loaded file) moves the controls. The controls a
map shows are the settings it reads (:data:`nbtools.seccm.MAPS` entry
``options``): nothing here branches on a map's name.
"""

from __future__ import annotations

import ipywidgets as W
import traitlets

from ..seccm.recipe import BRANCHES, MAP_OPTIONS, ClassifyRecipe, MapRecipe
from ..seccm.registry import MAPS

__all__ = ["WindowBox", "MapOptions", "ClassifyOptions"]


class WindowBox(W.HBox):
    """A potential window: a tick box (off: the whole sweep) and the two limits in V; ``window`` trait."""

    window = traitlets.Any(None, allow_none=True)

    def __init__(self, label="Window", low=3.9, high=4.3, **kwargs):
        self.use = W.Checkbox(value=False, description=label, indent=False, layout=W.Layout(width="90px"))
        self.low = W.FloatText(value=low, step=0.01, description="from / V:", layout=W.Layout(width="150px"),
                               style={"description_width": "initial"})
        self.high = W.FloatText(value=high, step=0.01, description="to / V:", layout=W.Layout(width="130px"),
                                style={"description_width": "initial"})
        super().__init__([self.use, self.low, self.high], **kwargs)
        for w in (self.use, self.low, self.high):
            w.observe(self._from_controls, names="value")
        self.observe(self._to_controls, names="window")
        self._enable()

    def _from_controls(self, _):
        self._enable()
        self.window = (float(self.low.value), float(self.high.value)) if self.use.value else None

    def _to_controls(self, change):
        w = change["new"]
        with self.hold_trait_notifications():  # one notification of the final window, not of each box
            if w is not None:
                self.low.value, self.high.value = float(w[0]), float(w[1])
            self.use.value = w is not None

    def _enable(self):
        self.low.disabled = self.high.disabled = not self.use.value


class MapOptions(traitlets.HasTraits):
    """The map chooser and the options of the chosen map.

    Traits: ``recipe`` (:class:`~nbtools.seccm.recipe.MapRecipe`) and
    ``custom`` (name of an added map shown instead, '' for a registry map).
    ``defaults`` give the settings a map needs when the recipe has none
    (``potential``, ``onset_current``). ``current_unit``/``current_scale``:
    the display unit of currents (the onset threshold box).
    """

    recipe = traitlets.Instance(MapRecipe)
    custom = traitlets.Unicode("")

    def __init__(self, recipe, *, defaults, current_unit="pA", current_scale=1e12, guard=lambda f: f):
        super().__init__(recipe=recipe)
        self.defaults = dict(defaults)
        self.scale = current_scale
        self.customs: list[str] = []
        self.choice = W.Dropdown(options=self._menu(), value=recipe.map, description="Map:",
                                 layout=W.Layout(width="330px"))
        self.controls = {
            "potential": W.FloatText(description="E / V:", step=0.01, layout=W.Layout(width="160px")),
            "onset_current": W.FloatText(description=f"at / {current_unit}:", layout=W.Layout(width="170px")),
            "direction": W.Dropdown(options=["anodic", "cathodic"], description="Peak:",
                                    layout=W.Layout(width="180px")),
            "branch": W.Dropdown(options=BRANCHES + ("both",), description="Branch:",
                                 layout=W.Layout(width="190px")),
            "window": WindowBox(),
            # the current-density map's footprint radius in µm (0: the scan's own, or its pipette radius)
            "droplet_radius": W.BoundedFloatText(description="footprint r / µm:", min=0.0, max=1000.0, step=0.1,
                                                 layout=W.Layout(width="210px"), style={"description_width": "initial"}),
        }
        self._sync()
        self.choice.observe(guard(lambda c: self.choose(c["new"])), names="value")
        for name, w in self.controls.items():
            w.observe(guard(lambda c, name=name: self._edit(name, c["new"])),
                      names="window" if name == "window" else "value")
        self.observe(lambda c: self._sync(), names=["recipe", "custom"])
        self.widget = W.HBox([self.choice, *self.controls.values()], layout=W.Layout(flex_flow="row wrap"))

    def _menu(self):
        return [(e.label, k) for k, e in MAPS.items()] + [(c, c) for c in self.customs]

    @property
    def shown(self) -> str:
        """The key of the map shown: a registry map's name or an added map's name."""
        return self.custom or self.recipe.map

    def add_custom(self, name):
        """Offer an added map (fit results ...) in the chooser."""
        if name not in self.customs:
            self.customs.append(name)
            self.choice.options = self._menu()
        self._sync()

    def choose(self, key):
        """Show map ``key``: a registry map (the recipe's map changes) or an added one."""
        if key in self.customs:
            self.custom = key
            return
        changes = {"map": key}
        changes.update({k: v for k, v in self.defaults.items()
                        if k in MAP_OPTIONS[key] and getattr(self.recipe, k) is None})
        if self.recipe.branch == "both" and key not in ("current_at", "current_density"):
            changes["branch"] = "anodic"
        with self.hold_trait_notifications():
            self.recipe = self.recipe.replace(**changes)
            self.custom = ""

    def _edit(self, name, value):
        if name == "onset_current":
            value = value / self.scale
        if name == "droplet_radius":
            value = value * 1e-6 if value else None
        if name == "branch" and value == "both" and self.recipe.map not in ("current_at", "current_density"):
            return  # offered for current_at only
        if not _same(getattr(self.recipe, name), value):
            self.recipe = self.recipe.replace(**{name: value})

    def _sync(self):
        """Controls follow the recipe: values, and which options the shown map reads."""
        r = self.recipe
        self.choice.value = self.shown
        values = {"potential": r.potential, "onset_current": None if r.onset_current is None
                  else r.onset_current * self.scale, "direction": r.direction, "branch": r.branch,
                  "window": r.window, "droplet_radius": 0.0 if r.droplet_radius is None else r.droplet_radius * 1e6}
        for name, w in self.controls.items():
            v = values[name]
            if name == "window":
                w.window = v
            elif v is not None and not _same(w.value, v):
                w.value = v
            uses = not self.custom and name in MAP_OPTIONS[r.map]
            w.layout.display = None if uses else "none"


def _same(a, b):
    """Equal, floats to 1e-9 relative (a value shown in another unit and read back)."""
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= 1e-9 * max(abs(a), abs(b))
    return a == b


class ClassifyOptions(traitlets.HasTraits):
    """What *Auto (classify)* thresholds: the activity map and its potential window (``recipe`` trait)."""

    recipe = traitlets.Instance(ClassifyRecipe)

    def __init__(self, recipe, *, guard=lambda f: f):
        super().__init__(recipe=recipe)
        self.activity = W.Dropdown(options=[("charge", "charge"), ("peak height", "peak_current"),
                                            ("the map shown", "given")],
                                   description="Classify on:", style={"description_width": "initial"},
                                   layout=W.Layout(width="230px"),
                                   tooltip="the map thresholded by Auto (classify)")
        self.window = WindowBox("Window", layout=W.Layout(width="400px"))
        self._sync()
        self.activity.observe(guard(lambda c: self._edit("activity", c["new"])), names="value")
        self.window.observe(guard(lambda c: self._edit("window", c["new"])), names="window")
        self.observe(lambda c: self._sync(), names="recipe")
        self.widget = W.HBox([self.activity, self.window])

    def _edit(self, name, value):
        if getattr(self.recipe, name) != value:
            self.recipe = self.recipe.replace(**{name: value})

    def _sync(self):
        self.activity.value = self.recipe.activity
        self.window.window = self.recipe.window
