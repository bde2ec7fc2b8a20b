"""Per-channel scores from tuning arrays: mu1 (frequency), mu2 (orientation), PE.

All equations, and the reasons for each choice, are in ``docs/method.md``. In brief, for a
channel with phase-averaged response ``r(f, theta)`` at the chosen contrast:

* best stimulus ``(f*, theta*) = argmax r``; frequency curve ``a(f) = r(f, theta*)``
  (``frequency_curve='preferred'``, default), the orientation mean, or the orientation max;
* **mu1** ``'csf_logslope'`` (default): CSF-weighted mean of ``|d a~ / d ln f|`` with
  ``a~ = a / max|a|``, trapezoid weights in ``ln f``: independent of the channel's gain and,
  to first order, of how densely frequencies are sampled; ``'vfss_v1'``: the authors' v1
  formula ``sum_i CSF_v1(f_i) |gradient(a)(i)|`` with MATLAB's index gradient, verbatim;
* **mu2** ``'circular'`` (default): ``1 - circular variance`` of the rectified orientation
  curve at ``f*`` (angles doubled, period 180 deg); ``'peak'``: ``(R_pref - R_orth) /
  (R_pref + R_orth)``;
* **PE** ``'product_layer_max'`` (default): ``(mu1 / max_layer mu1) * (mu2 / max_layer mu2)``;
  ``'product_layer_rank'``: product of within-layer percentile ranks; ``'product'``: raw
  ``mu1 * mu2``.

Dead channels (no response to any stimulus) get NaN scores and ``dead=True``: they are
reported, never silently scored as 0.
"""

from .compute import compute_scores, score_layer
from .config import (
    COLUMNS,
    DEFAULT_CSF,
    FLAG_COLUMNS,
    FREQUENCY_CURVES,
    MU1_VARIANTS,
    MU2_VARIANTS,
    PE_VARIANTS,
    SCHEMA_VERSION,
    ScoreConfig,
)
from .flags import border_shares
from .frequency import (
    DISPLAY_LUMINANCE,
    bandwidth_octaves,
    matlab_gradient,
    mu1_csf_logslope,
    mu1_vfss_v1,
    resolve_csf_params,
)
from .orientation import circular_selectivity, peak_selectivity
from .table import ChannelScores

__all__ = [
    "COLUMNS",
    "DEFAULT_CSF",
    "DISPLAY_LUMINANCE",
    "FLAG_COLUMNS",
    "FREQUENCY_CURVES",
    "MU1_VARIANTS",
    "MU2_VARIANTS",
    "PE_VARIANTS",
    "SCHEMA_VERSION",
    "ChannelScores",
    "ScoreConfig",
    "bandwidth_octaves",
    "border_shares",
    "circular_selectivity",
    "compute_scores",
    "matlab_gradient",
    "mu1_csf_logslope",
    "mu1_vfss_v1",
    "peak_selectivity",
    "resolve_csf_params",
    "score_layer",
]
