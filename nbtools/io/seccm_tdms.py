"""WEC-SPM hopping-mode SECCM recordings (LabVIEW TDMS) -> the nbtools.seccm Dataset (scan kind).

File layout (as found in the real file of the test data): one group ``Data``
with channels ``X (um)``, ``Y (um)``, ``Z (um)``, ``V1 (V)``, ``V2 (V)``,
``Current1 (A)``, ``Current 2 (A)``, ``Current 3 (A)``, ``FeedbackType ``
(trailing space), ``Line Number``, ``Lockin Amplitude``, ``Lockin  Phase``,
``dt(s)``: one continuous stream sampled every ``dt``.

How landings are delimited (read from the real test file, 8,194 samples):
``FeedbackType`` is 1 during the first (slow) approach, 2 during each later
approach, 3 while the tip retracts, and 0 otherwise: both while the tip is in
contact running the potential programme (Z constant at its approach end) and
while it moves laterally to the next point (Z retracted, X or Y changing).
A landing is therefore the run of samples between the end of an approach
(FeedbackType 1 or 2) and the start of the next retract (3). In the test file:
5 approaches (samples 0-5127 slow, then 4 at y = 0.19, 10.1, 10.1 and 19.8
um), 4 retracts, 4 lateral moves of ~10 um (serpentine 2 x 2 hop); the 5th
approach runs to the end of the file, so there are 4 landings of 277-282
samples (a hold at -0.9 V after the first approach only, 6 sweeps at ~5 V/s
between -0.9 and -0.18 V, then 2 sweeps at ~1 V/s). While retracted the
current reads a constant +0.24 nA: the amplifier offset, kept in
``attrs['current_offset']`` (not subtracted). ``Line Number``
numbers the steps of the programme (hold, sweeps): it becomes the per-sample
``segment`` (0, 1, ... within each landing). An approach with no sample before
the file ends is not a landing (reported in ``attrs['skipped']``).

Which channel is the potential: by default the ``V*`` channel that varies
during the landings (``V1`` in the test file, where ``V2`` is constantly 0);
the WEC-SPM programme writes the working-electrode potential against the
pipette's quasi-reference counter electrode there, with cathodic current
negative, which the test file confirms (reduction wave: current -25 nA at
-0.9 V decaying to ~0 at -0.2 V). Override with ``potential_channel``.
"""

from __future__ import annotations

import re

import numpy as np

from .. import units as _units
from ..errors import DataError, FormatError, NbtoolsError, ParameterError
from ._common import check_path, reader_boundary
from .limits import check_budget
from .tdms import channel_size
from .scan import build_scan

__all__ = ["read_wecspm_tdms", "sniff"]


def _norm(name):
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _find(chans, *keys):
    """First channel whose normalised name starts with one of keys."""
    for k in keys:
        for nm in chans:
            if _norm(nm).startswith(k):
                return nm
    return None


def _runs(b):
    """Start and end (exclusive) of runs of True in a 1-D bool array."""
    d = np.diff(np.r_[0, b.astype(np.int8), 0])
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)


def _data_group(groups):
    """The group holding the WEC-SPM channels (FeedbackType, a current, X), or None."""
    for g in groups:
        names = [c.name for c in g.channels()]
        if _find(names, "feedbacktype") and _find(names, "current") and _find(names, "x"):
            return g
    return None


def sniff(head: bytes, text, path=None) -> int:
    """3 for a TDMS file whose channels are the WEC-SPM layout (metadata only is read), else 0."""
    if head[:4] != b"TDSm" or path is None:
        return 0
    try:
        from nptdms import TdmsFile

        return 3 if _data_group(TdmsFile.read_metadata(str(path)).groups()) is not None else 0
    except Exception:  # a sniffer never fails: the reader will say what is wrong
        return 0


@reader_boundary("a WEC-SPM SECCM recording (LabVIEW TDMS)")
def read_wecspm_tdms(
    path,
    *,
    potential_channel="auto",
    current_channel="auto",
    reference_electrode="QRCE (pipette quasi-reference counter electrode, as recorded)",
    potential_offset=0.0,
    current_sign=1,
    segments=None,
    label=True,
):
    """Read a WEC-SPM TDMS file as one pixel per landing.

    Parameters
    ----------
    path : str or Path
        ``.tdms`` file.
    potential_channel : str
        Name (spaces/case ignored, e.g. ``'V2'``) or ``'auto'``: the ``V``
        channel that varies most during the landings.
    current_channel : str
        Name (e.g. ``'Current 2'``) or ``'auto'``: the current channel that
        varies most during the landings.
    reference_electrode : str
        Stored in ``attrs``.
    potential_offset : float
        Added to the potential (V), e.g. to convert the QRCE scale.
    current_sign : {1, -1}
        -1 flips the current if the set-up recorded cathodic positive.
    segments : list of int, optional
        Keep only these programme steps (``segment`` numbers within each
        landing; negative numbers count from the landing's last step, so
        ``[-2, -1]`` keeps the last two sweeps of every landing even when the
        first landing has an extra hold); default all samples in contact.
    label : bool
        Run the landing-quality labels.

    Returns
    -------
    xarray.Dataset
        :mod:`nbtools.seccm` layout plus ``segment`` and ``line_number``
        (pixel, sample; NaN-padded),
        ``t_start`` (pixel, s since the file start), ``z`` (pixel, m).
        ``attrs['scan_rate']`` (V/s) is derived from the recorded potential
        and time (:func:`nbtools.io.scan.derived_scan_rate`; ``attrs['scan_rate_source']``
        says so, ``attrs['scan_rate_note']`` when sweeps ran at several
        rates): the file does not state it.

    Raises
    ------
    MissingFileError
        The file does not exist.
    FormatError
        Not a TDMS file, or the expected channels are missing (the message
        lists the groups and channels found), or no landing in the file.
    """
    from nptdms import TdmsFile

    path = check_path(path, what="a WEC-SPM .tdms recording")
    if current_sign not in (1, -1):
        raise ParameterError(f"current_sign={current_sign!r}: expected 1 or -1")
    try:
        meta = TdmsFile.read_metadata(str(path))
        total = sum(channel_size(c, path) * 8 for g in meta.groups() for c in g.channels())
        check_budget(2.0 * total, path=path, what="the channels of the TDMS file")
        f = TdmsFile.read(str(path))
    except NbtoolsError:
        raise
    except Exception as exc:  # npTDMS raises plain ValueError/struct errors
        raise FormatError(f"{path}: not a readable TDMS file ({type(exc).__name__}: {exc})") from None

    groups = f.groups()
    found = {g.name: [c.name for c in g.channels()] for g in groups}
    group = _data_group(groups)
    if group is None:
        listing = "; ".join(f"group {g!r}: {c}" for g, c in found.items()) or "no groups"
        raise FormatError(
            f"{path}: not a WEC-SPM SECCM file: expected a group (usually 'Data') with channels "
            f"'X (um)', 'Y (um)', 'V1 (V)', 'Current1 (A)', 'FeedbackType', 'dt(s)'; found {listing}"
        )
    chans = {c.name: c for c in group.channels()}
    names = list(chans)
    need = {"X": _find(names, "xum", "x"), "Y": _find(names, "yum", "y"), "FeedbackType": _find(names, "feedbacktype"),
            "dt": _find(names, "dts", "dt")}
    missing = [k for k, v in need.items() if v is None]
    vch = [nm for nm in names if re.fullmatch(r"v\d*v?", _norm(nm))]
    ich = [nm for nm in names if _norm(nm).startswith("current")]
    if not vch:
        missing.append("V1 (potential)")
    if missing:
        raise FormatError(f"{path}: group {group.name!r} lacks channel(s) {missing}; found {names}")

    data = {}
    for nm in names:
        dtype = getattr(chans[nm], "dtype", None)
        if dtype is None or dtype.kind not in "fiub":
            continue  # text or untyped channels (comments): not used
        data[nm] = np.asarray(chans[nm][:], dtype=np.float64)
    used = [need["X"], need["Y"], need["FeedbackType"], need["dt"]] + vch + ich
    lacking = [nm for nm in used if nm not in data]
    if lacking:
        raise FormatError(f"{path}: channel(s) {lacking} hold no numbers; expected numeric WEC-SPM channels")
    lengths = {nm: len(data[nm]) for nm in used}
    if len(set(lengths.values())) != 1:
        raise FormatError(f"{path}: the WEC-SPM channels have different lengths ({lengths}); the file is truncated "
                          "or damaged (copy it again)")
    if not next(iter(lengths.values())):
        raise DataError(f"{path}: the WEC-SPM channels hold no samples")
    fb_raw = data[need["FeedbackType"]]
    if not np.isfinite(fb_raw).all():
        raise DataError(f"{path}: the FeedbackType channel holds NaN/Inf; the file is damaged")
    fb = np.rint(fb_raw).astype(np.int64)
    N = len(fb)
    approach = (fb == 1) | (fb == 2)
    a_start, a_end = _runs(approach)
    r_start, _ = _runs(fb == 3)
    landings, skipped = [], []
    for k, e in enumerate(a_end):
        nxt_a = a_start[k + 1] if k + 1 < len(a_start) else N
        nxt_r = r_start[r_start >= e]
        stop = min(nxt_a, nxt_r[0] if nxt_r.size else N)
        complete = bool(nxt_r.size) and nxt_r[0] <= nxt_a
        if stop <= e:
            skipped.append(f"approach {k + 1} (samples {a_start[k]}-{e}) has no sample in contact before "
                           + ("the file ends" if e >= N else "the next approach"))
            continue
        landings.append((e, stop, complete))
    if not landings:
        raise FormatError(
            f"{path}: no landing found: FeedbackType never shows an approach (1 or 2) followed by samples "
            f"in contact (values found: {sorted(set(fb.tolist()))})"
        )
    inland = np.zeros(N, bool)
    for s, e, _ in landings:
        inland[s:e] = True

    def pick(choice, cands, kind):
        if choice == "auto":
            return max(cands, key=lambda nm: np.nanstd(data[nm][inland]))
        hits = [nm for nm in cands if _norm(nm) == _norm(choice) or _norm(nm).startswith(_norm(choice))]
        exact = [nm for nm in hits if _norm(nm).rstrip("av") == _norm(choice).rstrip("av")]
        if not hits:
            raise ParameterError(f"{kind}_channel={choice!r}: no such channel; {kind} channels found: {cands}")
        return (exact or hits)[0]

    vname = pick(potential_channel, vch, "potential")
    iname = pick(current_channel, ich, "current")
    where = f"{path}, channel"
    u_i, s_i = _units.label_scale(iname, "current", default="A", where=f"{where} {iname!r}")
    u_v, s_v = _units.label_scale(vname, "potential", default="V", where=f"{where} {vname!r}")
    u_x, s_x = _units.label_scale(need["X"], "length", default="um", where=f"{where} {need['X']!r}")
    cur = data[iname] * s_i * current_sign
    pot = data[vname] * s_v + float(potential_offset)
    dt = data[need["dt"]]
    t_abs = np.cumsum(dt) - dt[0]
    zname = _find(names, "zum", "z")
    lname = _find(names, "linenumber")
    zname = zname if zname in data and len(data[zname]) == N else None  # optional channels: used when whole
    lname = lname if lname in data and len(data[lname]) == N else None
    s_z = _units.label_scale(zname, "length", default="um", where=f"{where} {zname!r}")[1] if zname else None

    # no-contact offset: samples while moving (feedback 0, not in a landing, not approaching)
    moving = (fb == 0) & ~inland
    offset = float(np.median(cur[moving])) if moving.sum() >= 3 else 0.0

    cs, ps, ts, segs, lines, xs, ys, zs, t0s = [], [], [], [], [], [], [], [], []
    for s, e, _ in landings:
        sl = slice(s, e)
        line = data[lname][sl] if lname else np.zeros(e - s)
        seg = np.cumsum(np.r_[0, np.diff(line) != 0])
        if segments is None:
            keep = np.ones(e - s, bool)
        else:
            want = np.asarray(segments, dtype=np.int64)
            keep = np.isin(seg, want[want >= 0]) | np.isin(seg - seg.max() - 1, want[want < 0])
        cs.append(cur[sl][keep])
        ps.append(pot[sl][keep])
        ts.append(t_abs[sl][keep] - t_abs[s])
        segs.append(seg[keep].astype(np.float32))
        lines.append(line[keep].astype(np.float32))
        xs.append(np.mean(data[need["X"]][sl]) * s_x)
        ys.append(np.mean(data[need["Y"]][sl]) * s_x)
        zs.append(np.mean(data[zname][sl]) * s_z if zname and s_z else np.nan)
        t0s.append(t_abs[s])
    if segments is not None and not any(len(c) for c in cs):
        raise ParameterError(f"segments={segments!r}: no sample of any landing has these segment numbers")

    stage = re.search(r"x(?:\s*position)?[\s_=]*(-?\d+(?:\.\d+)?)[\s_]+y(?:\s*position)?[\s_=]*(-?\d+(?:\.\d+)?)",
                      path.stem, re.I)
    attrs = {
        "instrument": "WEC-SPM (LabVIEW TDMS)",
        "potential_channel": vname,
        "current_channel": iname,
        "potential_offset": float(potential_offset),
        "current_sign_factor": int(current_sign),
        "current_offset": offset,
        "n_landings_complete": int(sum(c for _, _, c in landings)),
        "skipped": "; ".join(skipped),
        "landing_rule": "samples between the end of an approach (FeedbackType 1 or 2) and the next retract (3)",
    }
    if stage:
        attrs["stage_x_in_name"] = float(stage.group(1))
        attrs["stage_y_in_name"] = float(stage.group(2))
    ds = build_scan(
        cs,
        ps,
        np.array(xs),
        np.array(ys),
        time=ts,
        source=str(path),
        reference_electrode=reference_electrode,
        units_found={"current": u_i, "potential": u_v, "position": u_x, "time": "s"},
        attrs=attrs,
        label=False,
    )
    m = ds.sizes["sample"]
    seg = np.full((len(segs), m), np.nan, dtype=np.float32)
    lin = np.full((len(segs), m), np.nan, dtype=np.float32)
    for i, (s, ln) in enumerate(zip(segs, lines)):
        seg[i, : len(s)] = s
        lin[i, : len(ln)] = ln
    ds["segment"] = (("pixel", "sample"), seg, {"long_name": "programme step within the landing (0, 1, ...)"})
    ds["line_number"] = (("pixel", "sample"), lin, {"long_name": "instrument Line Number"})
    ds["t_start"] = ("pixel", np.array(t0s), {"units": "s", "long_name": "landing start since file start"})
    ds["z"] = ("pixel", np.array(zs, dtype=np.float64), {"units": "m", "long_name": "Z piezo position in contact"})
    if label:
        from ..seccm.quality import label_landings

        ds = label_landings(ds)
    return ds
