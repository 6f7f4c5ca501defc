"""The exercises of the workshop notebooks, each with the way its answer is computed.

An :class:`Exercise` names its question, the kind of quantity and the unit a
bare number is read in, a tolerance, a hint (what to look at, never the
answer) and a function that computes the answer from the seeded simulation of
:mod:`nbtools.workshop.data` with the public nbtools functions. The answers
are computed on first use and cached.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

import numpy as np

from . import data

__all__ = ["Exercise", "EXERCISES", "NOTEBOOKS", "answer_of"]

NOTEBOOKS = {
    "1": "1_nanoimpact.ipynb",
    "2": "2_trust.ipynb",
    "3": "3_seccm.ipynb",
    "4": "4_kinetics.ipynb",
}


@dataclass(frozen=True)
class Exercise:
    """One exercise: question, how to read and judge an answer, and how to compute the right one."""

    id: str
    question: str
    kind: str  # a key of answers.KINDS, or "choice"
    unit: str  # the unit a bare number is read in ("" for counts and pure numbers)
    compute: Callable[[], object] = field(repr=False)
    hint: str
    rtol: float = 0.0
    atol: float = 0.0
    choices: dict = field(default_factory=dict, repr=False)  # word -> accepted spellings
    explain: str = ""  # said with a right answer: the point of the exercise

    @property
    def notebook(self) -> str:
        return NOTEBOOKS[self.id.split(".")[0]]


# ---------------------------------------------------------------- shared analyses (cached)
@lru_cache(maxsize=None)
def _events():
    from .. import impact

    return impact.find_events(data.recording()[0])


def _abs_charges():
    return np.abs(_events()["charge"].to_numpy())


@lru_cache(maxsize=None)
def _median_radius():
    from .. import impact

    return float(impact.charge_to_radius(np.median(_abs_charges()), material=data.MATERIAL))


@lru_cache(maxsize=None)
def _frequency():
    from .. import impact

    return impact.impact_frequency(_events())


def _concentration():
    from .. import impact

    return float(impact.concentration_from_frequency(_frequency()["frequency"], _median_radius(),
                                                     data.ELECTRODE_RADIUS))


def _expected_false():
    from .. import impact

    ev = _events()
    return float(impact.summarize(ev)["expected_false_per_s"] * impact.observed_time(ev))


@lru_cache(maxsize=None)
def _blank_count():
    from .. import impact

    return len(impact.find_events(data.blank(), threshold=data.BLANK_THRESHOLD, polarity="positive", kind="spike"))


@lru_cache(maxsize=None)
def _recovery():
    from .. import impact

    ev = _events()
    return impact.injection_recovery(data.recording()[0], recipe=ev.attrs["recipe"], material=data.MATERIAL,
                                     **data.RECOVERY)


@lru_cache(maxsize=None)
def _seccm():
    from .. import seccm

    ds = data.scan()[0]
    q = seccm.charge(ds, window=data.CHARGE_WINDOW)
    mask = seccm.classify(ds)
    return ds, q, mask


def _landed_median(values, mask):
    ds = _seccm()[0]
    from ..seccm import from_grid

    v = np.asarray(from_grid(values, ds).values, dtype=float)
    m = np.asarray(from_grid(mask, ds).values, dtype=bool) & (ds.status.values == "landed") & np.isfinite(v)
    return float(np.median(v[m]))


def _substrate_kind():
    ds, q, mask = _seccm()
    particle = _landed_median(q, mask)
    substrate = _landed_median(q, ~mask)
    return "capacitive" if abs(substrate) < 0.1 * abs(particle) else "faradaic"


@lru_cache(maxsize=None)
def _peak_potential():
    from .. import seccm

    ds, q, mask = _seccm()
    return _landed_median(seccm.peak(ds, window=data.PEAK_WINDOW).potential, mask)


@lru_cache(maxsize=None)
def _particle():
    from .. import stick

    return stick.analyse_particle(list(data.particle_cvs()), data.particle_steps())


def _limit():
    res = _particle()
    ks, tau = res["laviron"].attrs["ks"], res["pitt"].attrs["tau"]
    # the mean delays add: 1/ks (surface) and tau/15 (solid diffusion)
    return "surface" if 1.0 / ks > tau / 15.0 else "diffusion"


_SURFACE = ("surface", "surface reaction", "the surface", "surface kinetics", "kinetics", "charge transfer",
            "electron transfer", "interfacial", "interface", "reaction", "ks", "k_s")
_DIFFUSION = ("diffusion", "solid diffusion", "solid-state diffusion", "solid state diffusion", "mass transport",
              "transport", "d", "tau")

# ---------------------------------------------------------------- the exercises
_LIST = [
    # 1: what a nanoimpact is
    Exercise("1.1", "How many events does impact.find_events find in the recording with its default settings?",
             "count", "", lambda: len(_events()),
             "Count the rows of the events table (len(events)), with the default settings.",
             explain="Each row is one particle that hit the electrode."),
    Exercise("1.2", "What charge did the largest event carry? Answer in fC.", "charge", "fC",
             lambda: float(_abs_charges().max()),
             "Look at the 'charge' column of the events table (in coulombs): take the largest value; "
             "1 fC = 1e-15 C.", rtol=0.02,
             explain="The charge is the area under the spike: the electrons the particle exchanged."),
    Exercise("1.3", "What is the radius (nm) of a LiMn2O4 particle that passes the MEDIAN charge of the events?",
             "length", "nm", _median_radius,
             "Take the median of the absolute charges and convert it with impact.charge_to_radius(q, "
             "material='LiMn2O4'), which returns metres.", rtol=0.03,
             explain="Radius grows as the cube root of the charge: 8 times the charge is only twice the radius."),
    Exercise("1.4", "What is the impact frequency (events per second)?", "frequency", "1/s",
             lambda: _frequency()["frequency"],
             "Number of events divided by the observed time: impact.impact_frequency(events).", rtol=0.02,
             explain="The frequency is proportional to the particle concentration."),
    Exercise("1.5", "Which particle concentration (pM) gives this frequency at a disk electrode of radius "
                    f"{data.ELECTRODE_RADIUS * 1e6:g} µm (data.ELECTRODE_RADIUS) for particles of the median radius "
                    "of exercise 1.3?", "concentration", "pM",
             _concentration,
             "impact.concentration_from_frequency(frequency, particle_radius, electrode_radius) returns mol/m³; "
             "1 pM = 1e-9 mol/m³. Use radii in metres.", rtol=0.05,
             explain="Impacts are a way of counting particles: a few pM give a few events per second."),
    # 2: how far to trust it
    Exercise("2.1", "What is the noise σ of the recording (pA)?", "current", "pA",
             lambda: float(_events().attrs["noise"]),
             "find_events estimates it and stores it with the table: events.attrs['noise'] (amperes).", rtol=0.05,
             explain="Everything about trust starts from the noise: threshold, false events, detection limit."),
    Exercise("2.2", "What is the detection threshold in pA (how far above the baseline a spike must go)?",
             "current", "pA", lambda: float(_events().attrs["threshold_A"]),
             "The threshold is given in noise σ (events.attrs['threshold']); in amperes it is "
             "events.attrs['threshold_A'].", rtol=0.03,
             explain="The automatic threshold sits about 5 σ above the baseline for this recording."),
    Exercise("2.3", "How many events does find_events find in the BLANK at a threshold of "
                    f"{data.BLANK_THRESHOLD:g} σ (threshold=data.BLANK_THRESHOLD, polarity='positive', kind='spike')?", "count", "", _blank_count,
             "Run impact.find_events on the blank with threshold=data.BLANK_THRESHOLD, polarity='positive', "
             "kind='spike' and count the rows.",
             explain="The blank has no particles: every one of these events is noise."),
    Exercise("2.4", "How many false events do you expect in the whole recording at the automatic threshold "
                    "(Rice's formula)?", "number", "", _expected_false,
             "impact.summarize(events)['expected_false_per_s'] is a rate: multiply it by the observed time "
             "(impact.observed_time(events)).", rtol=0.05,
             explain="Far less than one false event in the recording: at this threshold every event is real."),
    Exercise("2.5", "What is the UPPER end of the 95 % confidence interval of the impact frequency (events/s)?",
             "frequency", "1/s", lambda: _frequency()["high"],
             "impact.impact_frequency(events) gives the frequency with its exact Poisson interval "
             "('low', 'high').", rtol=0.02,
             explain="With a few dozen events the frequency is known only to about ±30 %."),
    Exercise("2.6", "How many times longer must you record to make the confidence interval of the frequency half "
                    "as wide (relative to the frequency)?", "number", "", lambda: 4.0,
             "A count of N events scatters by about √N: the relative width goes as 1/√N, and N grows in "
             "proportion to the recording time.", rtol=0.1,
             explain="Precision is expensive: twice as precise costs four times as long."),
    Exercise("2.7", "What is the 90 % detection limit as a particle RADIUS (nm), from the injection-recovery test "
                    "(run with the settings data.RECOVERY)?", "length", "nm",
             lambda: float(_recovery().attrs["detection_limit_radius"]),
             "impact.injection_recovery(trace, recipe=events.attrs['recipe'], material='LiMn2O4', "
             "**data.RECOVERY); the limit is in its attrs (metres).", rtol=0.03,
             explain="Smaller particles are under-counted: the low end of the size histogram is incomplete."),
    # 3: SECCM
    Exercise("3.1", "How many landings of the scan are left out of the statistics (status other than 'landed')?",
             "count", "", lambda: int((_seccm()[0].status.values != "landed").sum()),
             "Count the values of ds.status that are not 'landed' (ds.status.to_series().value_counts()).",
             explain="Failed landings, landings without contact and noisy or saturated curves are excluded."),
    Exercise("3.2", "How many pixels does seccm.classify(ds) label as particle?", "count", "",
             lambda: int(_seccm()[2].sum()),
             "mask = seccm.classify(ds) is a True/False map: count the True values (int(mask.sum())).",
             explain="The split lies between the two populations of the charge map: carbon near zero, particles above."),
    Exercise("3.3", "What is the median charge (pC) of the landed particle pixels (charge map in the window "
                    f"{data.CHARGE_WINDOW[0]:g} to {data.CHARGE_WINDOW[1]:g} V, data.CHARGE_WINDOW)?", "charge", "pC",
             lambda: _landed_median(_seccm()[1], _seccm()[2]),
             "Make q = seccm.charge(ds, window=data.CHARGE_WINDOW) and take the median of q over the particle "
             "mask (seccm.summary(ds, q, mask=mask) gives it, in coulombs).", rtol=0.03,
             explain="The charge under the meniscus measures how much active material the pipette touched."),
    Exercise("3.4", "What is the median anodic peak potential (V) of the lower couple on the particle pixels "
                    f"(seccm.peak in the window {data.PEAK_WINDOW[0]:g} to {data.PEAK_WINDOW[1]:g} V, "
                    "data.PEAK_WINDOW)?", "potential", "V", _peak_potential,
             "seccm.peak(ds, window=data.PEAK_WINDOW).potential is a map in volts; take its median over the "
             "particle pixels.", atol=0.003,
             explain="A peak a little above the formal potential (4.00 V): the reaction is not infinitely fast."),
    Exercise("3.5", "Is the current of the substrate pixels mainly 'capacitive' or 'faradaic'?", "choice", "",
             _substrate_kind,
             "Compare the charge map (with its linear baseline, which removes the double-layer current) on the "
             "substrate and on the particles.",
             choices={"capacitive": ("capacitive", "double layer", "double-layer", "charging", "capacitance"),
                      "faradaic": ("faradaic", "redox", "faradic")},
             explain="Carbon only charges its double layer here: its charge after the baseline is close to zero."),
    # 4: kinetics of one particle
    Exercise("4.1", "What charge (nC) does the particle exchange in one sweep (median over all peaks)?",
             "charge", "nC", lambda: float(_particle()["size"]["charge"]),
             "stick.cv_peak_table(cvs) gives Q_a and Q_c per scan rate (coulombs): take the median of their "
             "absolute values.", rtol=0.02,
             explain="At these slow scans the whole particle converts: the charge is its capacity."),
    Exercise("4.2", "What is the radius (µm) of the particle, from that charge (LiMn2O4)?", "length", "um",
             lambda: float(_particle()["size"]["radius"]),
             "stick.particle_size(charge, 'LiMn2O4') returns the radius in metres.", rtol=0.02,
             explain="Charge and density give the volume, hence the radius of the equivalent sphere."),
    Exercise("4.3", "What is the slope of log|i_pa| against log v?", "number", "",
             lambda: float(_particle()["slope"]["slope"]),
             "stick.scan_rate_verdict(peaks['v'], peaks['i_pa']) fits the log-log slope.", atol=0.03,
             explain="A slope near 1 means the particle reacts as a thin layer at these scan rates."),
    Exercise("4.4", "What is the solid-state diffusion coefficient D (m²/s) from the potential steps (PITT)?",
             "diffusion", "m2/s", lambda: float(_particle()["pitt"].attrs["D"]),
             "stick.pitt_table(steps, radius=r) fits each step; D = r²/τ with the mean τ is in attrs['D'].",
             rtol=0.05,
             explain="One step gives only τ = r²/D: the radius from the charge turns it into D."),
    Exercise("4.5", "What is the surface rate constant k_s (1/s) from Laviron's analysis, corrected for solid "
                    "diffusion?", "rate", "1/s", lambda: float(_particle()["laviron"].attrs["ks"]),
             "stick.laviron_table(peaks, tau=tau, radius=r) uses the peak separations; the mean corrected k_s "
             "is attrs['ks'].", rtol=0.05,
             explain="k_s = 3 k0 / r: here about 0.3 per second."),
    Exercise("4.6", "What limits the rate of this particle: the 'surface' reaction or solid 'diffusion'?",
             "choice", "", _limit,
             "Compare the two delays: 1/k_s for the surface reaction and τ/15 for diffusion inside the sphere.",
             choices={"surface": _SURFACE, "diffusion": _DIFFUSION},
             explain="1/k_s is several times τ/15: speeding up the surface reaction (coatings, catalysts) would "
                     "help more than smaller particles."),
]

EXERCISES: dict[str, Exercise] = {ex.id: ex for ex in _LIST}


def answer_of(exercise_id: str):
    """The right answer of an exercise (SI units, or the word of a choice), computed from the seeded data.

    For instructors and tests; :func:`nbtools.workshop.check` never shows it.
    """
    from .check import _exercise

    return _exercise(exercise_id).compute()
