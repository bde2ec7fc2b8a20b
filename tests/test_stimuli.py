"""Tests for hvsprobe.stimuli: known answers for frequency, orientation, contrast and phase."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from hvsprobe._io import check_schema
from hvsprobe.stimuli import (
    DisplayGeometry,
    StimulusGrid,
    bar_orientation,
    concentric_grating,
    gabor,
    grating,
)

F64 = torch.float64


def lum(img: torch.Tensor) -> np.ndarray:
    """Single-channel float64 numpy view of a 3 x H x W stimulus (checks R = G = B)."""
    assert img.ndim == 3 and img.shape[0] == 3
    assert torch.equal(img[0], img[1]) and torch.equal(img[0], img[2])
    return img[0].double().numpy()


def fft_peak(a: np.ndarray) -> tuple[int, int]:
    """Signed (row, col) frequency bin of the strongest non-DC Fourier component."""
    h, w = a.shape
    spec = np.abs(np.fft.fft2(a - a.mean()))
    r, c = np.unravel_index(np.argmax(spec), spec.shape)
    return int(round(np.fft.fftfreq(h)[r] * h)), int(round(np.fft.fftfreq(w)[c] * w))


def structure_tensor_angle(a: np.ndarray) -> float:
    """Dominant gradient direction (= wave-vector orientation) in degrees in [0, 180), y up."""
    d_row, d_col = np.gradient(a)
    gx, gy = d_col, -d_row  # y points up, rows grow downward
    jxx, jyy, jxy = (gx * gx).sum(), (gy * gy).sum(), (gx * gy).sum()
    return math.degrees(0.5 * math.atan2(2 * jxy, jxx - jyy)) % 180.0


# ---------------------------------------------------------------------------------------------
# frequency


@pytest.mark.parametrize(
    ("size", "frequency", "orientation", "expected"),
    [
        # ppd 64: f cycles/degree = f / 64 cycles/pixel
        ((64, 64), 4.0, 0.0, (0, 4)),  # 64 columns * 4/64 = 4 cycles along x
        ((48, 80), 8.0, 0.0, (0, 10)),  # 80 columns * 8/64 = 10 cycles along x
        ((48, 80), 8.0, 90.0, (6, 0)),  # 48 rows * 8/64 = 6 cycles along y
    ],
)
def test_fft_peak_axis_aligned(size, frequency, orientation, expected):
    a = lum(grating(size, frequency, orientation, ppd=64.0, dtype=F64))
    assert a.shape == size
    r, c = fft_peak(a)
    assert (abs(r), abs(c)) == expected


@pytest.mark.parametrize(
    ("orientation", "allowed"),
    [
        # wave vector (fx, fy) = (8, 6)/64 cycles/pixel; y up means row frequency = -fy
        (math.degrees(math.atan2(6, 8)), {(-6, 8), (6, -8)}),
        # (fx, fy) = (-8, 6)/64: mirrored in x; a y-down convention would give the other pair
        (180.0 - math.degrees(math.atan2(6, 8)), {(-6, -8), (6, 8)}),
    ],
)
def test_fft_peak_oblique_follows_y_up_convention(orientation, allowed):
    # |f| = 10/64 cycles/pixel = 10 cycles/degree at 64 ppd
    a = lum(grating(64, 10.0, orientation, ppd=64.0, dtype=F64))
    assert fft_peak(a) in allowed
    # and essentially all the energy is in that pair of bins
    spec = np.abs(np.fft.fft2(a - a.mean())) ** 2
    assert np.sort(spec.ravel())[-2:].sum() / spec.sum() > 0.999


# ---------------------------------------------------------------------------------------------
# orientation


def test_orientation_0_gives_vertical_bars_and_90_horizontal():
    v = lum(grating((40, 50), 6.0, 0.0, phase=33.0, ppd=60.0, dtype=F64))
    assert np.abs(v - v[0:1, :]).max() == 0.0  # constant along each column
    assert v[0].std() > 0.1
    h = lum(grating((40, 50), 6.0, 90.0, phase=33.0, ppd=60.0, dtype=F64))
    assert np.abs(h - h[:, 0:1]).max() == 0.0  # constant along each row
    assert h[:, 0].std() > 0.1


@pytest.mark.parametrize("orientation", [30.0, 60.0, 120.0, 150.0])
def test_orientation_structure_tensor(orientation):
    # low frequency so that finite differences hardly bias the angle
    a = lum(grating(96, 2.4, orientation, ppd=60.0, dtype=F64))
    got = structure_tensor_angle(a)
    diff = (got - orientation + 90.0) % 180.0 - 90.0
    assert abs(diff) < 0.5


def test_bar_orientation():
    assert bar_orientation(0.0) == 90.0  # vertical bars
    assert bar_orientation(90.0) == 0.0  # horizontal bars
    assert bar_orientation(30.0) == 120.0
    np.testing.assert_allclose(bar_orientation(np.array([0.0, 150.0])), [90.0, 60.0])


# ---------------------------------------------------------------------------------------------
# contrast, mean, phase


@pytest.mark.parametrize(
    ("contrast", "mean"), [(1.0, 0.5), (0.3, 0.5), (0.5, 0.4), (0.2, 0.8), (1.0, 0.3)]
)
def test_michelson_contrast_and_mean(contrast, mean):
    # period 8 pixels (7.5 cpd at 60 ppd), odd width: x is an integer, cos hits +1 and -1
    a = lum(grating(33, 7.5, 0.0, contrast=contrast, mean=mean, ppd=60.0, dtype=F64))
    lmax, lmin = a.max(), a.min()
    assert lmax == pytest.approx(mean * (1 + contrast), abs=1e-12)
    assert lmin == pytest.approx(mean * (1 - contrast), abs=1e-12)
    assert (lmax - lmin) / (lmax + lmin) == pytest.approx(contrast, abs=1e-12)
    # whole number of cycles (64 px, period 8): space average is the mean
    b = lum(grating(64, 7.5, 0.0, contrast=contrast, mean=mean, ppd=60.0, dtype=F64))
    assert b.mean() == pytest.approx(mean, abs=1e-12)
    assert 0.0 <= a.min() and a.max() <= 1.0


@pytest.mark.parametrize("orientation", [0.0, 37.0, 90.0, 200.0])
def test_phase_at_centre(orientation):
    c = 16  # 33 x 33: the centre is pixel (16, 16)
    a0 = lum(grating(33, 5.0, orientation, phase=0.0, ppd=60.0, dtype=F64))
    assert a0[c, c] == a0.max() == pytest.approx(1.0)
    a180 = lum(grating(33, 5.0, orientation, phase=180.0, ppd=60.0, dtype=F64))
    assert a180[c, c] == a180.min() == pytest.approx(0.0, abs=1e-12)
    a90 = lum(grating(33, 5.0, orientation, phase=90.0, ppd=60.0, dtype=F64))
    assert a90[c, c] == pytest.approx(0.5, abs=1e-12)


def test_phase_sign_convention():
    # L = mean (1 + cos(2 pi f x + phase)); phase 90 -> -sin: darker right of the centre
    a = lum(grating(33, 5.0, 0.0, phase=90.0, ppd=60.0, dtype=F64))
    assert a[16, 17] < 0.5 < a[16, 15]
    # orientation 90, y up: darker above the centre (smaller row index)
    b = lum(grating(33, 5.0, 90.0, phase=90.0, ppd=60.0, dtype=F64))
    assert b[15, 16] < 0.5 < b[17, 16]


def test_even_size_is_symmetric_about_the_centre():
    a = lum(grating(32, 4.0, 0.0, ppd=60.0, dtype=F64))
    np.testing.assert_allclose(a, a[:, ::-1], atol=1e-12)


# ---------------------------------------------------------------------------------------------
# concentric and gabor


def angular_energy_shares(a: np.ndarray, n_bins: int = 12) -> np.ndarray:
    h, w = a.shape
    win = np.outer(np.hanning(h), np.hanning(w))
    power = np.abs(np.fft.fft2((a - a.mean()) * win)) ** 2
    fy = -np.fft.fftfreq(h)[:, None] * np.ones((1, w))  # y up
    fx = np.fft.fftfreq(w)[None, :] * np.ones((h, 1))
    angle = np.degrees(np.arctan2(fy, fx)) % 180.0
    keep = (fx**2 + fy**2) > 0
    bins = np.minimum((angle[keep] / (180.0 / n_bins)).astype(int), n_bins - 1)
    energy = np.bincount(bins, weights=power[keep], minlength=n_bins)
    return energy / energy.sum()


def test_concentric_contains_all_orientations():
    a = lum(concentric_grating(96, 9.0, ppd=60.0, dtype=F64))
    shares = angular_energy_shares(a)
    assert shares.min() > 0.5 / 12 and shares.max() < 2.0 / 12
    # a plain grating puts almost everything into one bin
    g = lum(grating(96, 9.0, 40.0, ppd=60.0, dtype=F64))
    assert angular_energy_shares(g).max() > 0.9


def test_concentric_centre_and_radial_profile():
    a = lum(concentric_grating(33, 7.5, ppd=60.0, dtype=F64))
    assert a[16, 16] == pytest.approx(1.0)
    # rotational symmetry on the pixel grid
    np.testing.assert_allclose(a, a.T, atol=1e-12)
    np.testing.assert_allclose(a, a[::-1, :], atol=1e-12)
    # radius 4 pixels = half a period (period 8 px): minimum
    assert a[16, 20] == pytest.approx(0.0, abs=1e-12)
    assert a[12, 16] == pytest.approx(0.0, abs=1e-12)


def test_gabor_envelope_is_gaussian():
    # 60 ppd; carrier period 8 px; sigma 0.1 deg = 6 px along x, 0.2 deg = 12 px along y
    mean, contrast = 0.5, 0.8
    a = lum(
        gabor(
            65, 7.5, 0.0, 0.0, contrast, mean, sigma_deg=0.1, sigma_y_deg=0.2, ppd=60.0, dtype=F64
        )
    )
    c = 32
    xs = np.arange(-32, 33, 8)  # carrier peaks on the central row
    expected_x = mean * contrast * np.exp(-(xs**2) / (2 * 6.0**2))
    np.testing.assert_allclose(a[c, c + xs] - mean, expected_x, atol=1e-12)
    ys = np.arange(-32, 33)  # along the bars (x = 0) the carrier is 1
    expected_y = mean * contrast * np.exp(-(ys**2) / (2 * 12.0**2))
    np.testing.assert_allclose(a[c - ys, c] - mean, expected_y, atol=1e-12)
    # one sigma out the envelope is exp(-1/2) of its peak
    assert (a[c, c + 6] - mean) / (a[c, c] - mean) == pytest.approx(
        math.exp(-0.5) * math.cos(2 * math.pi * 6 / 8), abs=1e-12
    )
    # far from the centre the patch fades to the mean luminance
    assert abs(a[0, 0] - mean) < 1e-6


def test_gabor_envelope_rotates_with_orientation():
    a = lum(gabor(65, 7.5, 90.0, sigma_deg=0.1, sigma_y_deg=0.2, ppd=60.0, dtype=F64))
    ys = np.arange(-32, 33, 8)
    np.testing.assert_allclose(
        a[32 - ys, 32] - 0.5, 0.5 * np.exp(-(ys**2) / (2 * 6.0**2)), atol=1e-12
    )


def test_gabor_with_wide_envelope_approaches_grating():
    g = grating(32, 5.0, 25.0, 45.0, 0.7, ppd=60.0, dtype=F64)
    gb = gabor(32, 5.0, 25.0, 45.0, 0.7, sigma_deg=1e4, ppd=60.0, dtype=F64)
    torch.testing.assert_close(gb, g, atol=1e-9, rtol=0)


def test_dtype_device_and_range():
    img = grating((20, 30), 3.0, 12.0, dtype=torch.float32)
    assert img.shape == (3, 20, 30) and img.dtype == torch.float32 and img.device.type == "cpu"
    assert img.is_contiguous()
    assert float(img.min()) >= 0.0 and float(img.max()) <= 1.0
    with pytest.raises(TypeError, match="floating-point"):
        grating(20, 3.0, dtype=torch.int64)


# ---------------------------------------------------------------------------------------------
# refusals


def test_nyquist_refusal_names_frequency_ppd_and_limit():
    with pytest.raises(ValueError, match="Nyquist") as info:
        grating(32, 30.0, ppd=60.0)
    msg = str(info.value)
    assert "30 cycles/degree" in msg and "60 pixels/degree" in msg
    with pytest.raises(ValueError, match="Nyquist"):
        gabor(32, 45.0, sigma_deg=0.1, ppd=60.0)
    with pytest.raises(ValueError, match="> 0"):
        concentric_grating(32, 0.0)
    with pytest.raises(ValueError, match="> 0"):
        grating(32, -1.0)
    with pytest.raises(ValueError, match="finite"):
        grating(32, float("nan"))
    with pytest.raises(ValueError, match="Nyquist"):
        StimulusGrid(frequencies=(1.0, 2.0, 40.0))
    geom = DisplayGeometry(60.0)
    assert geom.check_frequency(29.9) == 29.9
    with pytest.raises(ValueError, match="Nyquist limit of 30"):
        geom.check_frequency(30.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"contrast": 0.9, "mean": 0.7}, "largest Michelson contrast is 0.428571"),
        ({"contrast": 1.2}, "outside \\[0, 1\\]"),
        ({"contrast": -0.1}, ">= 0"),
        ({"contrast": float("nan")}, "finite"),
        ({"mean": 0.0}, "mean"),
        ({"mean": 1.0}, "mean"),
        ({"mean": float("nan")}, "finite"),
        ({"orientation": float("inf")}, "finite"),
        ({"phase": float("nan")}, "finite"),
        ({"ppd": -60.0}, "ppd"),
    ],
)
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        grating(16, 2.0, **kwargs)


@pytest.mark.parametrize("size", [0, -3, (16,), (16, 0), (16.0, 16), "16", True])
def test_bad_sizes_raise(size):
    with pytest.raises(ValueError, match="size"):
        grating(size, 2.0)


def test_gabor_needs_positive_sigma():
    with pytest.raises(ValueError, match="sigma_deg"):
        gabor(16, 2.0, sigma_deg=0.0)
    with pytest.raises(ValueError, match="sigma_y_deg"):
        gabor(16, 2.0, sigma_deg=0.1, sigma_y_deg=-1.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kind": "plaid"}, "choose one of: 'grating', 'gabor', 'concentric'"),
        ({"kind": "concentric"}, "exactly one orientation"),
        ({"kind": "gabor"}, "gabor_sigma_deg"),
        ({"gabor_sigma_deg": 0.2}, "only used with kind='gabor'"),
        ({"frequencies": (2.0, 1.0)}, "strictly increasing"),
        ({"frequencies": (1.0, 1.0)}, "unique"),
        ({"frequencies": ()}, "at least one"),
        ({"orientations": (0.0, 90.0, 0.0)}, "unique"),
        ({"phases": (0.0, float("nan"))}, "finite"),
        ({"contrasts": (0.5, 0.9), "mean": 0.6}, "contrasts\\[1\\]"),
        ({"size": 7}, "size"),
        ({"size": (224, 4)}, "size"),
        ({"mean": 1.5}, "mean"),
        ({"ppd": 0.0}, "ppd"),
    ],
)
def test_grid_validation(kwargs, match):
    args = {"frequencies": (1.0, 2.0)} | kwargs
    with pytest.raises(ValueError, match=match):
        StimulusGrid(**args)


# ---------------------------------------------------------------------------------------------
# StimulusGrid


def test_default_grid():
    grid = StimulusGrid.default()
    f = np.asarray(grid.frequencies)
    assert len(f) >= 24
    assert f[0] == pytest.approx(0.5) and f[-1] < 30.0 and f[-1] == pytest.approx(0.95 * 30)
    ratios = np.diff(np.log(f))
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-9)  # log-spaced
    assert grid.orientations == tuple(15.0 * i for i in range(12))
    assert grid.phases == (0.0, 90.0, 180.0, 270.0)
    assert grid.size == (224, 224) and grid.ppd == 60.0 and grid.kind == "grating"
    assert grid.shape == (len(f), 12, 4, 1) and len(grid) == len(f) * 48


def test_default_grid_variants():
    g = StimulusGrid.default(ppd=30.0, size=(64, 96), n_frequencies=5, n_orientations=4)
    assert g.frequencies[-1] == pytest.approx(0.95 * 15.0)
    assert g.orientations == (0.0, 45.0, 90.0, 135.0) and g.size == (64, 96)
    conc = StimulusGrid.default(kind="concentric", size=32, n_frequencies=3)
    assert conc.shape == (3, 1, 4, 1)
    gb = StimulusGrid.default(kind="gabor", gabor_sigma_deg=0.3, size=32, n_frequencies=3)
    assert gb.gabor_sigma_deg == 0.3
    with pytest.raises(ValueError, match="f_max"):
        StimulusGrid.default(f_max=31.0)
    with pytest.raises(ValueError, match="f_min must be below f_max"):
        StimulusGrid.default(f_min=10.0, f_max=5.0)


def test_constructor_normalises_inputs():
    g = StimulusGrid(frequencies=[1, 2.5], orientations=np.array([0, 90]), contrasts=0.5, size=16)
    assert g.frequencies == (1.0, 2.5) and isinstance(g.frequencies[0], float)
    assert g.orientations == (0.0, 90.0) and g.contrasts == (0.5,) and g.size == (16, 16)
    assert hash(g) == hash(
        StimulusGrid(frequencies=(1.0, 2.5), orientations=(0, 90), contrasts=(0.5,), size=(16, 16))
    )


def small_grid(**kw) -> StimulusGrid:
    args = {
        "frequencies": (1.5, 4.0),
        "orientations": (0.0, 30.0, 100.0),
        "phases": (0.0, 90.0),
        "contrasts": (0.25, 0.9),
        "ppd": 40.0,
        "size": (24, 20),
        "mean": 0.5,
    } | kw
    return StimulusGrid(**args)


def test_table_shape_and_order():
    grid = small_grid()
    assert grid.shape == (2, 3, 2, 2) and len(grid) == 24
    t = grid.table()
    assert set(t) == {
        "index",
        "i_frequency",
        "i_orientation",
        "i_phase",
        "i_contrast",
        "frequency_cpd",
        "frequency_cpp",
        "orientation_deg",
        "phase_deg",
        "contrast",
    }
    assert all(len(v) == 24 for v in t.values())
    np.testing.assert_array_equal(t["index"], np.arange(24))
    flat = np.ravel_multi_index(
        (t["i_frequency"], t["i_orientation"], t["i_phase"], t["i_contrast"]), grid.shape
    )
    np.testing.assert_array_equal(flat, t["index"])  # C order
    np.testing.assert_array_equal(t["i_contrast"][:4], [0, 1, 0, 1])  # contrast fastest
    np.testing.assert_array_equal(t["i_frequency"], np.repeat([0, 1], 12))  # frequency slowest
    np.testing.assert_allclose(t["frequency_cpp"], t["frequency_cpd"] / 40.0)
    np.testing.assert_array_equal(
        t["orientation_deg"], np.asarray(grid.orientations)[t["i_orientation"]]
    )
    np.testing.assert_array_equal(t["contrast"], np.asarray(grid.contrasts)[t["i_contrast"]])


@pytest.mark.parametrize("kind", ["grating", "gabor", "concentric"])
def test_render_matches_single_stimulus_functions(kind):
    extra = {"gabor_sigma_deg": 0.15} if kind == "gabor" else {}
    if kind == "concentric":
        extra["orientations"] = (0.0,)
    grid = small_grid(kind=kind, **extra)
    t = grid.table()
    idx = [0, 5, len(grid) - 2, len(grid) - 1]
    imgs = grid.render(idx)
    assert imgs.shape == (4, 3, 24, 20) and imgs.dtype == torch.float32
    for k, i in enumerate(idx):
        common = {"contrast": t["contrast"][i], "mean": 0.5, "ppd": 40.0}
        f, o, p = t["frequency_cpd"][i], t["orientation_deg"][i], t["phase_deg"][i]
        if kind == "grating":
            ref = grating((24, 20), f, o, p, **common)
        elif kind == "gabor":
            ref = gabor((24, 20), f, o, p, sigma_deg=0.15, **common)
        else:
            ref = concentric_grating((24, 20), f, p, **common)
        torch.testing.assert_close(imgs[k], ref, atol=1e-6, rtol=0)
    torch.testing.assert_close(grid.render(5), imgs[1:2])  # an int gives a batch of one
    torch.testing.assert_close(grid.render(-1), imgs[3:4])


def test_render_index_forms_and_errors():
    grid = small_grid()
    all_imgs = grid.render(slice(None), dtype=F64)
    assert all_imgs.shape == (24, 3, 24, 20) and all_imgs.dtype == F64
    torch.testing.assert_close(grid.render(np.array([2, 3]), dtype=F64), all_imgs[2:4])
    torch.testing.assert_close(grid.render(torch.tensor([7]), dtype=F64), all_imgs[7:8])
    torch.testing.assert_close(grid.render(slice(3, 9, 2), dtype=F64), all_imgs[3:9:2])
    assert grid.render([]).shape == (0, 3, 24, 20)
    with pytest.raises(IndexError, match="24"):
        grid.render([24])
    with pytest.raises(TypeError):
        grid.render([0.5])


@pytest.mark.parametrize("kind", ["grating", "gabor", "concentric"])
@pytest.mark.parametrize("size", [(24, 20), (9, 31), (16, 16)])
def test_render_array_equals_the_torch_renderer(kind, size):
    """The numpy renderer (no torch) gives the torch renderer's float64 luminance."""
    extra = {"gabor_sigma_deg": 0.15} if kind == "gabor" else {}
    orients = (0.0,) if kind == "concentric" else (0.0, 30.0, 90.0, 100.0, 135.0, 271.5)
    grid = small_grid(
        kind=kind,
        size=size,
        frequencies=(0.7, 4.0, 11.3, 19.9),  # up to near Nyquist (20 cpd at 40 px/deg)
        orientations=orients,
        phases=(0.0, 90.0, 180.0, 333.0),
        contrasts=(0.0, 0.25, 1.0),
        **extra,
    )
    ref = grid.render(slice(None), dtype=F64)
    got = grid.render_array(slice(None))
    assert isinstance(got, np.ndarray) and got.dtype == np.float64
    assert got.shape == (len(grid), *size)
    torch.testing.assert_close(ref[:, 1], ref[:, 0], atol=0, rtol=0)  # grey: one channel says all
    np.testing.assert_allclose(got, ref[:, 0].numpy(), rtol=0, atol=1e-12)
    assert got.min() >= 0.0 and got.max() <= 1.0
    assert np.ptp(got) > 0.5  # real patterns, not a flat field


def test_render_array_index_forms_and_errors():
    grid = small_grid(mean=0.3, contrasts=(0.5, 1.0))
    all_imgs = grid.render_array(slice(None))
    np.testing.assert_array_equal(grid.render_array(5), all_imgs[5:6])
    np.testing.assert_array_equal(grid.render_array(-1), all_imgs[-1:])
    np.testing.assert_array_equal(grid.render_array(np.array([2, 3])), all_imgs[2:4])
    np.testing.assert_array_equal(grid.render_array(torch.tensor([7])), all_imgs[7:8])
    assert grid.render_array([]).shape == (0, 24, 20)
    with pytest.raises(IndexError, match="24"):
        grid.render_array([24])
    with pytest.raises(TypeError):
        grid.render_array([0.5])


def test_default_dtype_is_float32_and_bad_dtypes_are_refused():
    grid = small_grid()
    assert grid.render(0).dtype == torch.float32
    assert next(grid.batches(2))[1].dtype == torch.float32
    assert grating(8, 3.0).dtype == torch.float32
    assert gabor(8, 3.0, sigma_deg=0.1).dtype == torch.float32
    assert concentric_grating(8, 3.0).dtype == torch.float32
    for bad in (None, "float32", np.float32, torch.int32):
        with pytest.raises(TypeError, match="floating-point torch.dtype"):
            grid.render(0, dtype=bad)
        with pytest.raises(TypeError, match="floating-point torch.dtype"):
            grating(8, 3.0, dtype=bad)


def test_batches_cover_all_indices_in_order():
    grid = small_grid()
    seen, chunks = [], []
    for idx, imgs in grid.batches(5):
        assert imgs.shape == (len(idx), 3, 24, 20)
        assert len(idx) <= 5
        seen.append(idx)
        chunks.append(imgs)
    np.testing.assert_array_equal(np.concatenate(seen), np.arange(len(grid)))
    assert [len(s) for s in seen] == [5, 5, 5, 5, 4]
    torch.testing.assert_close(torch.cat(chunks), grid.render(slice(None)))
    with pytest.raises(ValueError, match="batch_size"):
        next(grid.batches(0))


@pytest.mark.parametrize(
    "grid",
    [
        StimulusGrid.default(size=32, n_frequencies=4),
        StimulusGrid(frequencies=(1.0, 3.0), kind="gabor", gabor_sigma_deg=0.25, size=(16, 24)),
        StimulusGrid(
            frequencies=(2.0,),
            orientations=(0.0,),
            kind="concentric",
            mean=0.4,
            contrasts=(0.1, 0.5),
        ),
    ],
)
def test_to_dict_from_dict_round_trip(grid):
    d = json.loads(json.dumps(grid.to_dict()))
    check_schema(d, "stimulus_grid", 1)
    assert d["stimulus_kind"] == grid.kind and "hvsprobe_version" in d
    back = StimulusGrid.from_dict(d)
    assert back == grid
    torch.testing.assert_close(back.render([0]), grid.render([0]))


def test_from_dict_errors_and_plain_dicts():
    d = small_grid().to_dict()
    with pytest.raises(ValueError, match="schema version"):
        StimulusGrid.from_dict(d | {"schema_version": 99})
    with pytest.raises(ValueError, match="unknown StimulusGrid keys"):
        StimulusGrid.from_dict(d | {"frequency": [1.0]})
    plain = StimulusGrid.from_dict({"frequencies": [1.0, 2.0], "kind": "grating", "size": 16})
    assert plain == StimulusGrid(frequencies=(1.0, 2.0), size=16)


# ---------------------------------------------------------------------------------------------
# DisplayGeometry


def test_display_geometry_from_viewing():
    d = 0.5
    # a pixel that subtends 0.5 arcmin: 120 pixels per degree
    pitch_mm = 2 * d * math.tan(math.radians(0.5 / 60 / 2)) * 1000
    assert DisplayGeometry.from_viewing(d, pixel_pitch_mm=pitch_mm).ppd == pytest.approx(
        120.0, rel=1e-3
    )
    # 96 ppi at 0.6 m: pitch 25.4 / 96 = 0.264583 mm; one pixel subtends
    # 2 * atan(0.264583 / 1200) = 4.40972e-4 rad = 0.0252658 deg, i.e. 39.5791 pixels/degree
    geom = DisplayGeometry.from_viewing(0.6, pixels_per_inch=96)
    assert geom.ppd == pytest.approx(39.5791, rel=1e-5)
    assert geom.nyquist_cpd == pytest.approx(39.5791 / 2, rel=1e-5)
    assert geom.cycles_per_pixel(10.0) == pytest.approx(10.0 / 39.5791, rel=1e-5)
    same = DisplayGeometry.from_viewing(0.6, pixel_pitch_mm=25.4 / 96)
    assert same.ppd == pytest.approx(geom.ppd, rel=1e-12)


def test_display_geometry_errors():
    with pytest.raises(ValueError, match="exactly one"):
        DisplayGeometry.from_viewing(0.6)
    with pytest.raises(ValueError, match="exactly one"):
        DisplayGeometry.from_viewing(0.6, pixels_per_inch=96, pixel_pitch_mm=0.25)
    with pytest.raises(ValueError, match="distance_m"):
        DisplayGeometry.from_viewing(0.0, pixels_per_inch=96)
    with pytest.raises(ValueError, match="ppd"):
        DisplayGeometry(0.0)
    with pytest.raises(ValueError, match="> 0"):
        DisplayGeometry(60.0).check_frequency(0.0)
