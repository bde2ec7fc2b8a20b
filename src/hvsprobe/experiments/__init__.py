"""The experiments: each module writes generated results to a folder and a page named explicitly.

Claims: :mod:`.claim1` (+ ``claim1_data``, ``claim1_datasets``, ``claim1_stats``,
``claim1_report``, ``claim1_command``) and
:mod:`.claim2` (+ ``claim2_config``, ``claim2_runs``, ``claim2_stats``, ``claim2_report``),
run by ``hvsprobe experiment claim1|claim2``. Measurement studies: :mod:`.border_study`
(+ ``border_routes``), :mod:`.ppd_study`, :mod:`.csf_study`, :mod:`.phase_study`,
:mod:`.inversion`. Each runs as ``python -m hvsprobe.experiments.NAME --help``;
:mod:`.provenance` records when, how and where a page was made.
"""
