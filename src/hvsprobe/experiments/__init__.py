"""Experiments that test the paper's claims; each writes generated results under docs/results."""
