"""What to score and how: the variant names, the score table's columns and :class:`ScoreConfig`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from .._validation import check_choice

__all__ = [
    "COLUMNS",
    "DEFAULT_CSF",
    "FLAG_COLUMNS",
    "FREQUENCY_CURVES",
    "MU1_VARIANTS",
    "MU2_VARIANTS",
    "PE_VARIANTS",
    "SCHEMA_VERSION",
    "ScoreConfig",
]

SCHEMA_VERSION = 2
MU1_VARIANTS = ("csf_logslope", "vfss_v1")
MU2_VARIANTS = ("circular", "peak")
PE_VARIANTS = ("product_layer_max", "product_layer_rank", "product")
FREQUENCY_CURVES = ("preferred", "mean", "max")
COLUMNS = (
    "layer",
    "channel",
    "dead",
    "mu1",
    "mu2",
    "pe",
    "best_frequency_cpd",
    "preferred_orientation_deg",
    "osi_peak",
    "orientation_selective",
    "orientation_selective_peak",
    "bandwidth_oct",
    "bandwidth_censored",
    "peak_response",
    "peak_rel_median",
    "weak",
    "border_share",
    "border_dominated",
    "peak_at_top",
    "peak_at_bottom",
    "selectable",
)
#: Boolean columns of the score table.
FLAG_COLUMNS = (
    "dead",
    "orientation_selective",
    "orientation_selective_peak",
    "bandwidth_censored",
    "weak",
    "border_dominated",
    "peak_at_top",
    "peak_at_bottom",
    "selectable",
)
#: The CSF weighting mu1 'csf_logslope' by default: the model with the lowest
#: leave-one-dataset-out error on the castleCSF data (docs/human.md, "Held-out error").
DEFAULT_CSF = "barten"


@dataclass(frozen=True)
class ScoreConfig:
    """Which variant of each score to compute, and with which human CSF.

    Attributes
    ----------
    mu1, mu2, pe : str
        Variant names (see module docstring).
    csf : str, optional
        CSF name for :func:`hvsprobe.human.get_csf`, weighting mu1 ``'csf_logslope'``.
        Default (``None``) :data:`DEFAULT_CSF` = ``'barten'``, the model with the lowest
        held-out (leave-one-dataset-out) error against the castleCSF data (docs/human.md).
        ``'vfss_v1'`` always uses the v1 Mannos–Sakrison variant, as the authors' code did,
        so a CSF given with it is refused rather than recorded as if used.
    csf_params : dict
        Extra parameters of the CSF. Viewing-condition parameters that are left out are
        filled from the stimulus grid (see :func:`resolve_csf_params`): field area or size
        from the grid's size and ppd, and a 100 cd/m^2 display luminance.
    frequency_curve : {'preferred', 'mean', 'max'}
        How the frequency curve is taken from ``r(f, theta)``.
    contrast_index : int
        Which contrast of the grid to score (default: the last, i.e. highest).
    selective_osi : float
        Threshold of the peak index ``(R_pref - R_orth) / (R_pref + R_orth)`` for the
        ``orientation_selective_peak`` column (1/3: a 2:1 preferred-to-orthogonal ratio).
    selective_circular : float
        Threshold of ``1 - circular variance`` (mu2 'circular') for the
        ``orientation_selective`` column. 1/6 is the same 2:1 criterion for a sinusoidal
        orientation curve ``a + b cos 2(theta - theta0)`` (docs/method.md section 5). With
        ``mu2='peak'`` the column uses ``selective_osi``: it always uses mu2's own index.
    dead_rtol, dead_atol : float
        A channel is dead when ``max |response| <= dead_atol + dead_rtol * layer max``.
    weak_fraction : float
        A live channel is weak when its peak (best-stimulus) response is below this fraction
        of the median peak of its layer's live channels (default 0.1), or below
        ``weak_max_fraction`` of the layer's largest peak.
    weak_max_fraction : float
        See ``weak_fraction`` (default 0.001).
    border_max_share : float
        A channel is border dominated when the zero-padded border changes its whole-map
        response to its best stimulus by more than this share (default 0.5; needs a
        border-free probe, see :mod:`hvsprobe.response`).

    Examples
    --------
    >>> ScoreConfig().csf_name
    'barten'
    >>> ScoreConfig(mu1="vfss_v1", csf="barten")
    Traceback (most recent call last):
    ...
    ValueError: csf='barten' does not apply to mu1='vfss_v1', which always uses the authors' v1 Mannos-Sakrison CSF; leave csf unset
    """

    mu1: str = "csf_logslope"
    mu2: str = "circular"
    pe: str = "product_layer_max"
    csf: str | None = None
    csf_params: dict[str, Any] = field(default_factory=dict)
    frequency_curve: str = "preferred"
    contrast_index: int = -1
    selective_osi: float = 1.0 / 3.0
    selective_circular: float = 1.0 / 6.0
    dead_rtol: float = 1e-6
    dead_atol: float = 1e-12
    weak_fraction: float = 0.1
    weak_max_fraction: float = 0.001
    border_max_share: float = 0.5

    def __post_init__(self) -> None:
        check_choice(self.mu1, "mu1 variant", MU1_VARIANTS)
        check_choice(self.mu2, "mu2 variant", MU2_VARIANTS)
        check_choice(self.pe, "PE variant", PE_VARIANTS)
        check_choice(self.frequency_curve, "frequency_curve", FREQUENCY_CURVES)
        for name in ("selective_osi", "selective_circular", "weak_fraction", "border_max_share"):
            v = getattr(self, name)
            if not 0.0 < v < 1.0:
                raise ValueError(f"{name} must lie in (0, 1), got {v}")
        if not 0.0 <= self.weak_max_fraction < 1.0:
            raise ValueError(f"weak_max_fraction must lie in [0, 1), got {self.weak_max_fraction}")
        if self.mu1 == "vfss_v1" and (
            self.csf not in (None, "mannos_sakrison_v1") or self.csf_params
        ):
            what = (
                f"csf={self.csf!r}"
                if self.csf not in (None, "mannos_sakrison_v1")
                else "csf_params"
            )
            raise ValueError(
                f"{what} does not apply to mu1='vfss_v1', which always uses the authors' v1 "
                "Mannos-Sakrison CSF; leave csf unset"
            )
        if self.csf is not None:
            from ..human import list_csfs

            check_choice(self.csf, "csf", list_csfs())

    @property
    def csf_name(self) -> str:
        """The CSF actually used: ``csf``, or the default of the mu1 variant."""
        if self.mu1 == "vfss_v1":
            return "mannos_sakrison_v1"
        return self.csf or DEFAULT_CSF

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (``csf`` resolved to the CSF actually used)."""
        return {**asdict(self), "csf": self.csf_name}
