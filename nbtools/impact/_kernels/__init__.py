"""numba kernels of the impact pipeline (one pass over the samples each).

The NumPy reference implementations live in ``tests/test_impact_kernels.py``.

- :mod:`.blocks`: block statistics, the piecewise-linear baseline (convention there);
- :mod:`.scan`: hysteresis detection, merging of split tails;
- :mod:`.mains`: mains pickup fits;
- :mod:`.features`: features of each event;
- :mod:`.tail`: the charge with the exponential tail modelled, and its noise.
"""

from .blocks import baseline_at, baseline_fill, block_means, block_stats, fill_base, sub_blocks
from .features import N_FEATURES, event_features
from .mains import MAINS_POINTS, mains_eval, mains_segments
from .scan import event_heights, hysteresis, merge_tails
from .tail import TAIL_TAUS, standard_geometry, standard_norm, standard_pieces, window_charges

__all__ = ["baseline_at", "baseline_fill", "block_means", "block_stats", "fill_base", "sub_blocks",
           "event_features", "event_heights", "N_FEATURES", "MAINS_POINTS", "mains_eval", "mains_segments", "hysteresis", "merge_tails",
           "TAIL_TAUS", "standard_geometry", "standard_norm", "standard_pieces", "window_charges"]
