"""Event detection: :func:`find_events`.

Pipeline (every stage works on sample ranges, so a memory-mapped file is
processed chunk by chunk with results identical to the in-memory run):

1. block means of the trace (one pass, also finds NaN/Inf);
2. baseline = running median of the block means (``baseline='auto'``);
3. noise = robust SD of the residual on a sample of the trace; threshold;
4. hysteresis detection (one pass, numba), events' blocks masked, 2-3 again;
5. rejections (charging transient, range switches, too short, too close);
6. features of each event (only samples near events are read).

Where each part lives: the settings in :mod:`.recipe`; sample access in
:mod:`.source`; steps 1-4 (threshold-independent) in :mod:`.background`;
the prepared trace in :mod:`.prepared`; the stages in :mod:`.stages`; spikes
at one threshold in :mod:`.spikes`, steps in :mod:`.steps`; the table in
:mod:`.table`.
"""

from __future__ import annotations

import pandas as pd

from .prepared import PreparedTrace, legacy_rate, prepare
from .recipe import EventRecipe
from .table import EVENT_COLUMNS

__all__ = ["find_events", "prepare", "PreparedTrace", "EVENT_COLUMNS", "DEFAULTS"]

#: Default settings of :func:`find_events` as keywords (``EventRecipe().as_params()``).
DEFAULTS = EventRecipe().as_params()


def find_events(trace, recipe=None, *, fs=None, workers=None, **params) -> pd.DataFrame:
    """Detect impact events (spikes or steps) in a current trace.

    Parameters
    ----------
    trace : Trace or array_like
        Current in amperes (A); a 1-D array needs ``fs``. A memory-mapped
        array is read chunk by chunk.
    recipe : EventRecipe, dict, JSON text or path, optional
        The settings (:class:`~nbtools.impact.EventRecipe`); keyword
        ``params`` override them. ``find_events(trace, events.attrs["recipe"])``
        reproduces ``events``.
    fs : float, optional
        Sampling rate (Hz); only for plain arrays (must match a Trace's).
        ``find_events(x, fs)`` (the rate in second place, as before recipes)
        still works.
    workers : int, optional
        Threads that share the passes over the samples (block statistics,
        hysteresis scan, mains fits, features); default the environment
        variable ``NBTOOLS_NUM_THREADS``, else every core. The table is the
        same for any number (1 = serial); a run setting, not part of the recipe.

    Other Parameters
    ----------------
    threshold : float or 'auto'
        Detection threshold in noise SDs. ``'auto'`` (default) picks the level
        whose expected false-event rate for Gaussian noise of the measured
        bandwidth (Rice formula) is ``false_rate`` per sample (about 5-5.6 SD).
    polarity : {'both', 'positive', 'negative'}
        Sign of the events (IUPAC: anodic = positive). Default 'both'.
    kind : {'spike', 'step'}
        Transients returning to the baseline, or current steps (staircase);
        the recipe's ``event_kind``.
    baseline : {'auto', 'median', 'poly', 'constant', 'none'}
        Background model: running median of block means with events masked
        ('auto' = 'median'), a polynomial of degree ``baseline_degree``, a
        constant (median), or none (trace already baseline-subtracted).
    baseline_window : float or 'auto'
        Running-median window in seconds; 'auto' = max(1 s, 300 samples),
        at most a quarter of the trace. Must exceed the event durations.
    hysteresis : float
        An event ends when the residual falls back within this many noise
        SDs (default 1).
    min_duration, min_separation : float
        Seconds. Shorter events are rejected ('too short'); events of the
        same sign closer than ``min_separation`` are merged (``merge=True``)
        or the later one rejected ('too close').
    mask_start : float, 'auto' or None
        Seconds at the start to ignore (charging transient). 'auto' rejects
        an excursion that starts at the first sample. None masks nothing.
    range_mask : float or 'auto'
        Seconds masked on each side of current-range switches listed in the
        Trace meta ``'range_changes'`` (s); 'auto' = max(10 samples, 10 ms).
    noise : float, optional
        Noise SD in amperes, instead of estimating it from the trace.
    blank : Trace, array or path, optional
        Blank recording (same electrode, no particles): its noise SD and
        bandwidth are used. A path is the recipe's ``blank`` (read with
        :func:`nbtools.io.load_trace`); a Trace or array is used as given.
        The returned recipe then holds ``noise`` and ``threshold`` as numbers
        and no blank, so it reproduces the table without the blank.
    false_rate : float
        Target false events per sample for ``threshold='auto'`` (1e-7).
    iterations : int
        Baseline/noise re-estimations with event blocks masked (3).
    mains : 'auto', float or None
        Mains pickup (Hz) subtracted from each event's local baseline so it
        does not bias the charge: 3 harmonics fitted once per segment of 10
        periods holding events (events excluded from the fit). 'auto'
        tests 50 and 60 Hz in the residual and models the one that stands
        out as a spectral line (2x the neighbouring frequencies, > 0.05
        noise SD); None: a line only.
    chunk_size : int, optional
        Samples per chunk; default whole array in memory, 2**24 for memory
        maps. Results do not depend on it.
    material, conversion
        The particles' material and conversion that size the events
        (:func:`~nbtools.impact.event_radii`); detection ignores them.

    Returns
    -------
    pandas.DataFrame
        One row per event: ``t_start``, ``t_peak``, ``t_end`` (s from the
        trace start), ``peak`` (A, baseline-subtracted, signed), ``charge`` (C,
        signed), ``charge_sd`` (C, the SD that the recording's own noise gives
        a charge integrated over this event's range, measured on its
        event-free samples; spikes only), ``duration`` (s, between the
        lower-level crossings), ``snr``
        (|peak|/noise), ``rise_time`` (10-90 %, s), ``decay_tau`` (s),
        ``fwhm`` (s), ``baseline`` (A, background at the peak), ``polarity``,
        ``kind``, ``step_height`` (A, steps only), sample indices ``i_start``,
        ``i_peak``, ``i_end``, ``i_int_start``, ``i_int_end`` (charge
        integration range). ``attrs``: ``recipe`` (the
        :class:`~nbtools.impact.EventRecipe` that reproduces the table),
        ``params`` (the same as keywords, JSON-serialisable;
        ``find_events(trace, **params)`` reproduces it), ``noise`` (A),
        ``threshold`` (SD), ``threshold_A``, ``hysteresis_A``,
        ``baseline_method``, ``resolved`` (values chosen for 'auto'), ``n_samples``,
        ``fs``, ``t0``, ``duration``, ``noise_bandwidth`` (mean-level
        up-crossings per s), ``expected_false_per_s``, ``masked`` (list of
        [start, stop] s), ``rejected`` (DataFrame of rejected candidates with a
        ``reason`` column), ``source``, ``noise_bandwidth_estimate`` (the
        recording's own, also with ``blank``), ``noise_model_check`` and
        ``opposite_polarity_count`` (spikes; see
        :func:`nbtools.impact.stats.noise_model_check`).

    Examples
    --------
    >>> from nbtools.simulate import impact_trace
    >>> from nbtools.impact import find_events
    >>> tr, truth = impact_trace(duration=2.0, fs=20e3, rate=5.0, seed=1)
    >>> ev = find_events(tr)
    >>> abs(len(ev) - len(truth)) <= 2
    True
    """
    recipe, fs = legacy_rate(recipe, fs)
    return prepare(trace, recipe, fs=fs, workers=workers, **params).detect()
