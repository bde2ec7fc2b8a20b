"""Contrast detection thresholds predicted by a metric: ModelFest and castleCSF.

A metric predicts a detection threshold the way a model observer does: the threshold of a
stimulus is the contrast ``c`` at which the distance between a uniform grey field and the
stimulus, ``D(c) = metric(grey, stimulus(c))``, reaches a criterion ``k``.  ``k`` is the only
free parameter: one value is fitted for the whole data set (minimising the RMSE between the
predicted and the human log10 sensitivity, ``-log10 c``), so the comparison tests the *shape*
of the metric's sensitivity across stimuli, not its absolute scale.

Conventions
-----------
* Images are achromatic (R = G = B), float in [0, 1], background (mean) luminance 0.5, not
  quantised to 8 bits.  A stimulus is ``L = mean * (1 + c * w(x, y))`` with a waveform ``w``
  whose nominal peak ``|w|`` is 1, so ``c`` is the **peak contrast** ``max |L - mean| / mean``
  of the continuous stimulus (ModelFest's definition; for a Gabor it is the Michelson contrast
  of the carrier).  Compound stimuli (plaids, compound Gabors) are sums of equal components
  of amplitude ``1 / (number of components)``, which add up to 1 at the centre.
* Metrics are used as distances: a metric with ``higher_is_better=True`` is negated.  The
  distance must increase with contrast; this is checked (see ``monotone_rtol``) and a
  violation is reported, never papered over.
* Coordinates follow :mod:`hvsprobe.stimuli`: centre at ``((W - 1) / 2, (H - 1) / 2)``, x to
  the right, y up; orientations are wave-vector directions (0 = vertical bars).  ModelFest's
  bar orientations are converted with ``wave = bar - 90``.

Modules
-------
* :mod:`.thresholds` — distance curves and the threshold of one stimulus;
* :mod:`.criterion` — the one criterion fitted for a whole data set;
* :mod:`.prediction` — the shared protocol core and its result, :class:`ThresholdPrediction`;
* :mod:`.waveforms` — stimuli as ``mean * (1 + c * w)``;
* :mod:`.modelfest`, :mod:`.castle_csf` — the two data sets: reading, rendering, predicting.
"""

from .castle_csf import castle_stimulus, castle_stimulus_size, predict_castle_csf
from .criterion import CriterionFit, fit_single_criterion
from .modelfest import (
    MODELFEST_MEAN,
    MODELFEST_PPD,
    MODELFEST_SIZE,
    SUPPORTED_MODELFEST_IDS,
    ModelFestData,
    ModelFestStimulus,
    load_modelfest,
    modelfest_stimulus,
    modelfest_waveform,
    predict_modelfest,
)
from .prediction import ThresholdPrediction
from .thresholds import (
    ThresholdError,
    distance_curves,
    threshold_contrast,
    thresholds_from_curves,
)

__all__ = [
    "MODELFEST_MEAN",
    "MODELFEST_PPD",
    "MODELFEST_SIZE",
    "SUPPORTED_MODELFEST_IDS",
    "CriterionFit",
    "ModelFestData",
    "ModelFestStimulus",
    "ThresholdError",
    "ThresholdPrediction",
    "castle_stimulus",
    "castle_stimulus_size",
    "distance_curves",
    "fit_single_criterion",
    "load_modelfest",
    "modelfest_stimulus",
    "modelfest_waveform",
    "predict_castle_csf",
    "predict_modelfest",
    "threshold_contrast",
    "thresholds_from_curves",
]
