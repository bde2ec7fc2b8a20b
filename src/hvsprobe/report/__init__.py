"""A self-contained HTML report of a results folder written by :func:`hvsprobe.analyze.analyze`.

>>> from hvsprobe.report import build_report
>>> build_report("hvsprobe-results/vgg16-imagenet")  # doctest: +SKIP
PosixPath('hvsprobe-results/vgg16-imagenet/report.html')

The report is ``report.html`` plus PNG figures in ``figures/`` and one channel-browser page
per layer in ``channels/`` beside it, referenced by relative paths; it loads nothing from the
network. The page is rendered from jinja2 templates (``templates/``); figures whose inputs did
not change since the last build are reused (:mod:`hvsprobe.report.cache`), and a rebuild
gives the same bytes. Contents: run and configuration header (with the response method),
per-layer summary and flag tables (top channels link to the browser), example stimuli, score
distributions, shares of selective / weak / border-dominated / edge-of-grid / dead channels,
best frequencies against the CSF peak, mu1-vs-mu2 scatter with flagged channels marked,
tuning curves at both ends of the ranking, the selections, and optional sections
(:data:`DEFAULT_SECTIONS`). Several folders: :func:`hvsprobe.report.compare.build_comparison`.
How to read each figure: ``docs/report.md``.

Modules: :mod:`~hvsprobe.report.build` (the builder's steps), :mod:`~hvsprobe.report.page_figures`
(which figures, captions), :mod:`~hvsprobe.report.figures` and
:mod:`~hvsprobe.report.tuning_figures` (drawing), :mod:`~hvsprobe.report.tables`,
:mod:`~hvsprobe.report.sections` (optional sections), :mod:`~hvsprobe.report.channels` (the
channel browser), :mod:`~hvsprobe.report.inputs`, :mod:`~hvsprobe.report.html`,
:mod:`~hvsprobe.report.cache`, :mod:`~hvsprobe.report.compare`.
"""

from .build import build_report
from .sections import DEFAULT_SECTIONS, INVERSION_SECTION, Section

__all__ = ["DEFAULT_SECTIONS", "INVERSION_SECTION", "Section", "build_report"]
