"""ipywidgets for notebooks and Voila dashboards (thin: the numerics live elsewhere).

Imported on first use so that ``import nbtools`` stays light:

- :func:`bokeh_widget`, :class:`ErrorDisplay` (:mod:`nbtools.widgets.display`)
- :class:`TraceView` (:mod:`nbtools.widgets.trace_view`)
- :class:`TraceLoader` (:mod:`nbtools.widgets.trace_loader`)
- :class:`SpikePicker` (:mod:`nbtools.widgets.spike_picker`), :class:`RecoveryPanel` (:mod:`nbtools.widgets.recovery_panel`)
- :class:`FitPanel` (:mod:`nbtools.widgets.fit_panel`)
- :class:`PixelSelector` (:mod:`nbtools.widgets.pixel_selector`), :class:`FitMapPanel` (:mod:`nbtools.widgets.fit_map_panel`)
- :class:`RecipeBar` (:mod:`nbtools.widgets.recipe_bar`): Save / Load recipe buttons
"""

from .._lazy import lazy_module

_WHERE = {
    "bokeh_widget": "display",
    "load_bokehjs": "display",
    "ErrorDisplay": "display",
    "TraceView": "trace_view",
    "TraceLoader": "trace_loader",
    "SpikePicker": "spike_picker",
    "RecoveryPanel": "recovery_panel",
    "FitPanel": "fit_panel",
    "ParticleOnAStick": "particle_stick",
    "PixelSelector": "pixel_selector",
    "FitMapPanel": "fit_map_panel",
    "RecipeBar": "recipe_bar",
    "StudyPanel": "study_panel",
}

__getattr__, __dir__, __all__ = lazy_module(__name__, _WHERE)
