"""SI units of the columns a study writes (Parquet metadata, CSV headers ``name / unit``).

``'SD'`` marks a multiple of the noise standard deviation (a threshold);
columns without a unit (counts, flags, text) are not listed.
"""

from __future__ import annotations

__all__ = ["EVENT_UNITS", "IMPACT_FILE_UNITS", "STICK_UNITS", "GITT_FILE_UNITS", "FILE_UNITS", "units_for"]

#: nanoimpact events (nbtools.impact.find_events) plus the radius of the particle
EVENT_UNITS = {"t_start": "s", "t_peak": "s", "t_end": "s", "peak": "A", "charge": "C", "charge_sd": "C",
               "duration": "s", "rise_time": "s", "decay_tau": "s", "fwhm": "s", "baseline": "A",
               "step_height": "A", "radius": "m", "snr": "SD"}

#: the per-file summary of a nanoimpact recording
IMPACT_FILE_UNITS = {"duration": "s", "observed_time": "s", "fs": "Hz", "noise": "A", "noise_estimate": "A",
                     "threshold": "SD", "threshold_A": "A", "expected_false_per_s": "1/s", "frequency": "1/s",
                     "frequency_low": "1/s", "frequency_high": "1/s", "blank_false_per_s": "1/s",
                     "blank_false_high": "1/s", "blank_duration": "s", "detection_limit_charge": "C",
                     "detection_limit_radius": "m", "false_events": "", "noise_bandwidth": "Hz"}

#: a particle on a stick (nbtools.stick.analyse_particle)
STICK_UNITS = {"charge": "C", "capacity_Ah": "Ah", "radius": "m", "mass": "kg", "E0": "V", "tau": "s",
               "tau_spread": "s", "D": "m2/s", "ks": "1/s", "ks_app": "1/s", "k0": "m/s", "slope_stderr": "",
               "v_min": "V/s", "v_max": "V/s"}

#: the per-file summary of a GITT record (nbtools.gitt.analyze)
GITT_FILE_UNITS = {"noise": "V", "D_mean": "m2/s", "D_err": "m2/s", "tau_mean": "s", "tau_err": "s",
                   "D_min": "m2/s", "D_max": "m2/s"}

#: columns of every files table
FILE_UNITS = {"elapsed_s": "s", "size": "B", "peak_rss": "B"}


def units_for(technique: str) -> dict:
    """Units of the files table of a technique (the summary columns and the common ones)."""
    extra = {"impact": IMPACT_FILE_UNITS, "stick": STICK_UNITS, "gitt": GITT_FILE_UNITS}.get(technique, {})
    return {**FILE_UNITS, **extra}
