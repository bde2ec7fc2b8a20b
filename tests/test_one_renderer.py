"""One grating renderer: the grid, the torus route and the psychophysics stimuli draw through
:func:`hvsprobe.stimuli.grating_wave`, which is checked against the textbook formula."""

from __future__ import annotations

import math

import numpy as np
import torch

from hvsprobe.evaluate.psychophysics.castle_csf import castle_stimulus
from hvsprobe.evaluate.psychophysics.waveforms import gabor_wave
from hvsprobe.response import render_torus
from hvsprobe.stimuli import StimulusGrid
from hvsprobe.stimuli.patterns import gaussian_window, grating_wave, luminance, square_window

# float64 pixels from different operation orders agree to a few ulps of the cosine's argument
# (|arg| <= 2 pi * 0.5 * 64 px ~ 200, ulp 3e-14): 1e-12 is far below any visible change.
TOL = 1e-12


def _formula(h: int, w: int, kx: float, ky: float, phase_deg: float) -> np.ndarray:
    """cos(2 pi (kx x + ky y) + phase), x right and y up from the centre, written out directly."""
    rows, cols = np.mgrid[0:h, 0:w].astype(np.float64)
    x, y = cols - (w - 1) / 2, (h - 1) / 2 - rows
    return np.cos(2 * math.pi * (kx * x + ky * y) + math.radians(phase_deg))


def test_grating_wave_matches_formula_in_both_backends() -> None:
    ref = _formula(9, 12, 0.13, -0.07, 30.0)
    a = grating_wave((9, 12), 0.13, -0.07, 30.0)
    t = grating_wave((9, 12), 0.13, -0.07, 30.0, backend="torch")
    assert np.abs(a[0] - ref).max() < TOL
    assert np.abs(t[0].numpy() - ref).max() < TOL


def test_grid_pixels_are_the_renderer() -> None:
    grid = StimulusGrid.default(size=(20, 26), n_frequencies=3, n_orientations=4, n_phases=2)
    imgs = grid.render(slice(None), dtype=torch.float64)
    for i in range(len(grid)):
        f, o, ph, c = _grid_params(grid, i)
        k = f / grid.ppd
        ref = luminance(
            _formula(20, 26, k * math.cos(math.radians(o)), k * math.sin(math.radians(o)), ph)[
                None
            ],
            c,
            grid.mean,
        )[0]
        assert np.abs(imgs[i, 0].numpy() - ref).max() < TOL
        assert torch.equal(imgs[i, 0], imgs[i, 2])
    assert np.abs(grid.render_array(slice(None)) - imgs[:, 0].numpy()).max() < TOL


def _grid_params(grid: StimulusGrid, i: int) -> tuple[float, float, float, float]:
    n_f, n_o, n_p, n_k = grid.shape
    fi, rest = divmod(i, n_o * n_p * n_k)
    oi, rest = divmod(rest, n_p * n_k)
    pi, ki = divmod(rest, n_k)
    return (
        float(grid.frequencies[fi]),
        float(grid.orientations[oi]),
        float(grid.phases[pi]),
        float(grid.contrasts[ki]),
    )


def test_torus_pixels_are_the_renderer() -> None:
    phases, contrasts = [0.0, 90.0], [0.25, 1.0]
    imgs = render_torus(16, 24, 0.125, -1 / 12, phases, contrasts, 0.5, dtype=torch.float64)
    n = 0
    for ph in phases:
        for c in contrasts:
            ref = luminance(_formula(16, 24, 0.125, -1 / 12, ph)[None], c, 0.5)[0]
            assert np.abs(imgs[n, 1].numpy() - ref).max() < TOL
            n += 1
    # periodic on the torus: rolling by a whole period in x leaves the image unchanged
    assert (imgs[0, 0] - imgs[0, 0].roll(8, dims=1)).abs().max() < TOL


def test_psychophysics_stimuli_are_the_renderer() -> None:
    ppd, size = 60.0, 64
    # castleCSF Gabor: isotropic envelope sigma = sqrt(area / pi) deg, vertical bars
    area, f = 0.05, 4.0
    sigma_px = math.sqrt(area / math.pi) * ppd
    img = castle_stimulus(f, area, 0.3, ppd=ppd, size=size, dtype=torch.float64)[0, 0].numpy()
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float64)
    x, y = cols - (size - 1) / 2, (size - 1) / 2 - rows
    env = np.exp(-0.5 * (x * x + y * y) / sigma_px**2)
    ref = 0.5 * (1 + 0.3 * env * _formula(size, size, f / ppd, 0.0, 0.0))
    assert np.abs(img - ref).max() < TOL
    # castleCSF grating patch: square aperture of side sqrt(area)
    img = castle_stimulus(f, 0.25, 0.3, kind="grating", ppd=ppd, size=size, dtype=torch.float64)
    win = square_window((size, size), 0.5 * ppd)[0]
    assert win[size // 2, size // 2] == 1.0 and win[0, 0] == 0.0
    ref = 0.5 * (1 + 0.3 * win * _formula(size, size, f / ppd, 0.0, 0.0))
    assert np.abs(img[0, 0].numpy() - ref).max() < TOL
    # ModelFest-style oriented Gabor (wave vector at 45 deg, elongated envelope)
    w = gabor_wave(size, ppd, 3.0, 45.0, 0.2, 0.4)
    env = gaussian_window((size, size), 45.0, 0.2 * ppd, 0.4 * ppd)[0]
    k = 3.0 / ppd / math.sqrt(2)
    assert np.abs(w - env * _formula(size, size, k, k, 0.0)).max() < TOL
