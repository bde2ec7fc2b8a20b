"""Stimuli in physical units: a display model, cone-contrast colour and the battery's patterns.

A stimulus is a background luminance (cd/m², D65 grey) plus a modulation given as cone
contrast along a colour direction; the display model turns it into pixel values. The
patterns (Gabors, gratings, band-limited noise) are unit-contrast waveforms drawn by the
package's one grating renderer, :func:`hvsprobe.stimuli.patterns.grating_wave`. The choices
(400 cd/m² peak, sRGB encoding, the colour matrices) are documented in ``docs/battery.md``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .._validation import check_choice, check_positive
from .patterns import gaussian_window, grating_wave

__all__ = [
    "ACHROMATIC",
    "Display",
    "LMS_FROM_RGB",
    "RGB_FROM_LMS",
    "XYZ_FROM_RGB",
    "bandlimited_noise",
    "gabor_wave_deg",
    "grating_wave_deg",
    "physical_images",
    "srgb_decode",
    "srgb_encode",
]

#: Linear sRGB to CIE XYZ (IEC 61966-2-1:1999); the row of Y sums to 1 (white = 1).
XYZ_FROM_RGB = np.array(
    [[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]
)
#: CIE XYZ to cone LMS: Hunt-Pointer-Estevez normalised to D65 (CIECAM02; Fairchild,
#: *Color Appearance Models*).
LMS_FROM_XYZ = np.array(
    [[0.40024, 0.70760, -0.08081], [-0.22630, 1.16532, 0.04570], [0.0, 0.0, 0.91822]]
)
#: Linear sRGB to LMS, and back.
LMS_FROM_RGB = LMS_FROM_XYZ @ XYZ_FROM_RGB
RGB_FROM_LMS = np.linalg.inv(LMS_FROM_RGB)
#: The achromatic direction in cone contrast.
ACHROMATIC = (1.0, 1.0, 1.0)


def srgb_encode(v: np.ndarray) -> np.ndarray:
    """The sRGB transfer function (IEC 61966-2-1): linear [0, 1] to encoded [0, 1].

    Examples
    --------
    >>> srgb_encode(np.array([0.0, 0.0031308, 0.18, 1.0])).round(4).tolist()
    [0.0, 0.0404, 0.4614, 1.0]
    """
    v = np.asarray(v, dtype=np.float64)
    low = 12.92 * v
    high = 1.055 * np.power(np.maximum(v, 0.0031308), 1.0 / 2.4) - 0.055
    return np.where(v <= 0.0031308, low, high)


def srgb_decode(p: np.ndarray) -> np.ndarray:
    """Inverse of :func:`srgb_encode`.

    Examples
    --------
    >>> float(srgb_decode(srgb_encode(np.array(0.25))).round(12))
    0.25
    """
    p = np.asarray(p, dtype=np.float64)
    return np.where(
        p <= 0.04045, p / 12.92, np.power((np.maximum(p, 0.04045) + 0.055) / 1.055, 2.4)
    )


@dataclass(frozen=True)
class Display:
    """Where stimuli are shown: peak luminance, encoding, resolution and image size.

    Attributes
    ----------
    peak : float
        Luminance of pixel value 1 (white), cd/m²; default 400 (Cai et al., CVPR 2025).
    encoding : {'srgb', 'linear'}
        Pixel value of linear RGB ``v``: sRGB-encoded (default) or ``v`` itself.
    ppd : float
        Pixels per degree.
    size : int
        Side of the square images in pixels.

    Examples
    --------
    >>> d = Display()
    >>> round(float(d.encode(np.array(100.0))), 4)  # a quarter of the peak, sRGB-encoded
    0.5371
    """

    peak: float = 400.0
    encoding: str = "srgb"
    ppd: float = 60.0
    size: int = 224

    def __post_init__(self) -> None:
        check_positive(self.peak, "peak")
        check_positive(self.ppd, "ppd")
        check_choice(self.encoding, "encoding", ("srgb", "linear"))
        if int(self.size) != self.size or self.size < 8:
            raise ValueError(f"size must be an integer >= 8, got {self.size!r}")

    def encode(self, luminance_cd: np.ndarray) -> np.ndarray:
        """Pixel values of linear-RGB luminances in cd/m² (no clipping)."""
        v = np.asarray(luminance_cd, dtype=np.float64) / self.peak
        return srgb_encode(v) if self.encoding == "srgb" else v

    def decode(self, pixels: np.ndarray) -> np.ndarray:
        """Linear-RGB luminances in cd/m² of pixel values."""
        p = np.asarray(pixels, dtype=np.float64)
        return (srgb_decode(p) if self.encoding == "srgb" else p) * self.peak

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable description."""
        return asdict(self)


def _unit_rms(direction: object) -> np.ndarray:
    d = np.asarray(direction, dtype=np.float64).reshape(3)
    rms = math.sqrt(float(np.mean(d * d)))
    if not np.all(np.isfinite(d)) or rms == 0.0:
        raise ValueError(f"a colour direction needs 3 finite cone contrasts, not all 0: {d}")
    return d / rms


def physical_images(
    display: Display,
    background_cd: float,
    modulation: np.ndarray,
    direction: object = ACHROMATIC,
) -> tuple[Any, np.ndarray]:
    """Images of a D65-grey background plus a cone-contrast modulation.

    Pixel (before encoding) ``RGB = B + RGB_FROM_LMS ((m(x, y) d) * LMS_FROM_RGB B)`` with ``B``
    the background's linear RGB (``background_cd / peak`` in each channel), ``m`` the
    modulation (contrast times unit waveform) and ``d`` the direction scaled to unit RMS cone
    contrast. For the achromatic direction this is ``L = L_b (1 + m)`` in every channel.

    Parameters
    ----------
    display : Display
    background_cd : float
        Background luminance in cd/m².
    modulation : numpy.ndarray
        N x H x W (or H x W) RMS cone contrast at each pixel.
    direction : sequence of 3 float
        Cone-contrast direction (scaled to unit RMS here).

    Returns
    -------
    (torch.Tensor, numpy.ndarray)
        float32 N x 3 x H x W pixel values clipped to [0, 1], and per image whether it was
        displayable (no linear value outside [0, 1] before clipping).

    Examples
    --------
    >>> x, ok = physical_images(Display(size=8), 100.0, np.zeros((1, 8, 8)))
    >>> x.shape, ok.tolist(), round(float(x[0, 0, 0, 0]), 4)
    (torch.Size([1, 3, 8, 8]), [True], 0.5371)
    """
    import torch

    check_positive(background_cd, "background_cd")
    m = np.asarray(modulation, dtype=np.float64)
    m = m[None] if m.ndim == 2 else m
    d = _unit_rms(direction)
    bg = np.full(3, background_cd / display.peak)
    lms0 = LMS_FROM_RGB @ bg
    delta_rgb = RGB_FROM_LMS @ (d * lms0)  # linear RGB per unit of modulation
    lin = bg[None, :, None, None] + m[:, None] * delta_rgb[None, :, None, None]
    ok = np.all((lin >= 0.0) & (lin <= 1.0), axis=(1, 2, 3))
    pix = display.encode(np.clip(lin, 0.0, 1.0) * display.peak)
    return torch.from_numpy(pix.astype(np.float32)), ok


def _size(display: Display) -> tuple[int, int]:
    return int(display.size), int(display.size)


def check_frequency_cpd(display: Display, frequency: float) -> float:
    f = check_positive(frequency, "frequency")
    if f >= display.ppd / 2:
        raise ValueError(f"frequency {f:g} cpd is not below the Nyquist limit {display.ppd / 2:g}")
    return f


def grating_wave_deg(
    display: Display, frequency: float, orientation: float = 0.0, phase: float = 0.0
) -> np.ndarray:
    """Unit-contrast full-field grating (H x W) at ``frequency`` cpd.

    ``orientation`` is the wave-vector direction in degrees (0 = vertical bars), ``phase``
    the phase at the centre (0 = cosine phase).

    Examples
    --------
    >>> w = grating_wave_deg(Display(size=16), 7.5)  # 8 px per cycle
    >>> bool(np.allclose(w[:, :8], w[:, 8:]))
    True
    """
    f = check_frequency_cpd(display, frequency) / display.ppd
    t = math.radians(orientation)
    wave = grating_wave(_size(display), f * math.cos(t), f * math.sin(t), phase)
    return np.asarray(wave[0])


def gabor_wave_deg(
    display: Display,
    frequency: float,
    sigma_deg: float,
    orientation: float = 0.0,
    phase: float = 0.0,
) -> np.ndarray:
    """Unit-peak Gabor (H x W): the grating of :func:`grating_wave_deg` under an isotropic
    Gaussian envelope of standard deviation ``sigma_deg`` degrees, centred.

    Examples
    --------
    >>> w = gabor_wave_deg(Display(size=65), 4.0, 0.1)
    >>> float(w[32, 32]), bool(abs(w[0, 0]) < 1e-6)
    (1.0, True)
    """
    f = check_frequency_cpd(display, frequency) / display.ppd
    s = check_positive(sigma_deg, "sigma_deg") * display.ppd
    window = gaussian_window(_size(display), orientation, s, s)
    t = math.radians(orientation)
    wave = grating_wave(_size(display), f * math.cos(t), f * math.sin(t), phase, window=window)
    return np.asarray(wave[0])


def bandlimited_noise(
    display: Display, centre_cpd: float, octaves: float = 1.0, *, seed: int = 0
) -> np.ndarray:
    """Seeded Gaussian noise (H x W) in a band around ``centre_cpd``, scaled to RMS 1.

    White noise filtered by an ideal annulus ``centre * 2^(-octaves/2) <= |f| <=
    centre * 2^(octaves/2)`` in the 2-D Fourier domain; multiply by an RMS contrast to use it.

    Examples
    --------
    >>> n = bandlimited_noise(Display(size=64), 8.0, seed=1)
    >>> round(float(n.std()), 6), abs(round(float(n.mean()), 6))
    (1.0, 0.0)
    """
    c = check_frequency_cpd(display, centre_cpd)
    check_positive(octaves, "octaves")
    n = int(display.size)
    white = np.random.default_rng(seed).standard_normal((n, n))
    fy = np.fft.fftfreq(n)[:, None] * display.ppd
    fx = np.fft.fftfreq(n)[None, :] * display.ppd
    r = np.hypot(fx, fy)
    band = (r >= c * 2.0 ** (-octaves / 2)) & (r <= c * 2.0 ** (octaves / 2))
    out = np.real(np.fft.ifft2(np.fft.fft2(white) * band))
    out -= out.mean()
    rms = float(np.sqrt(np.mean(out * out)))
    if rms == 0.0:
        raise ValueError(f"no frequency of the {n} px image falls in the band around {c:g} cpd")
    return out / rms
