"""Full-reference image quality assessment (IQA) datasets and their evaluation.

Readers return an :class:`IQADataset`: a list of :class:`IQAPair` tuples
``(ref_path, dist_path, score, dist_type, ref_id)`` plus ``higher_is_better``, the direction
of the human score.  :func:`evaluate_iqa` runs a metric over the pairs and correlates.

Sign convention
---------------
Both sides are oriented so that *higher means better quality* before correlating: the metric
value is negated when ``metric.higher_is_better`` is ``False`` (a distance), the human score
is negated when ``dataset.higher_is_better`` is ``False`` (a DMOS).  A good metric therefore
always gets a **positive** SRCC, KRCC and PLCC, whatever the directions of metric and score.
The logistic maps the oriented metric value onto the oriented human score; RMSE is in the
units of the human score.

Confidence intervals resample reference images (all distorted versions of a drawn reference
come along), see :mod:`hvsprobe.evaluate.stats`.

Modules: :mod:`.data` (pairs and data sets), :mod:`.readers` (one reader per data set
layout), :mod:`.metric_values` (running a metric, cached), :mod:`.evaluation`
(:func:`evaluate_iqa` and its result).
"""

from .data import DATASETS, KADID_TYPES, TID2013_TYPES, IQADataset, IQAPair
from .evaluation import IQAResult, evaluate_iqa
from .metric_values import compute_metric_values
from .readers import (
    load_iqa_dataset,
    read_csiq,
    read_csv_dataset,
    read_kadid10k,
    read_live,
    read_tid2013,
)

__all__ = [
    "DATASETS",
    "IQADataset",
    "IQAPair",
    "IQAResult",
    "KADID_TYPES",
    "TID2013_TYPES",
    "compute_metric_values",
    "evaluate_iqa",
    "load_iqa_dataset",
    "read_csiq",
    "read_csv_dataset",
    "read_kadid10k",
    "read_live",
    "read_tid2013",
]
