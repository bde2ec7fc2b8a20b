"""The sections of ``benchmarks/run.py``, one module each, and what they share."""
