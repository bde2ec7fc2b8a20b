"""Tests for hvsprobe.human: CSF models, castleCSF selection and fit, error table."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

from hvsprobe._io import sha256_file
from hvsprobe.human import (
    CSFModel,
    barten,
    barten_pupil_diameter,
    barten_retinal_illuminance,
    castle_data,
    fitting,
    get_csf,
    heldout,
    list_csfs,
    load_castle_fit_document,
    mannos_sakrison,
    mannos_sakrison_v1,
)
from hvsprobe.human import castle as castle_mod

ALL_NAMES = ["mannos_sakrison", "mannos_sakrison_v1", "barten", "castle_fit"]


def _data_root() -> Path:
    env = os.environ.get("HVSPROBE_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


DATA_ROOT = _data_root()
HAVE_CASTLE = (DATA_ROOT / "psychophysics" / "castleCSF" / "data_aggregated.csv").is_file()
needs_castle = pytest.mark.skipif(
    not HAVE_CASTLE,
    reason=f"castleCSF data not found under {DATA_ROOT} (set HVSPROBE_DATA to the folder "
    "holding psychophysics/castleCSF/)",
)


@pytest.fixture(scope="module")
def castle_rows() -> dict[str, np.ndarray]:
    return castle_data.load_castle_achromatic(DATA_ROOT)


@pytest.fixture(scope="module")
def fresh_fit() -> CSFModel:
    return castle_mod.fit_castle_csf(DATA_ROOT)


@pytest.fixture(scope="module")
def error_table() -> dict[str, dict]:
    return {e["model"]: e for e in castle_mod.csf_error_table(DATA_ROOT)}


# ----------------------------------------------------------------------------- registry


def test_list_csfs() -> None:
    assert list_csfs() == ALL_NAMES


def test_get_csf_unknown_name_lists_names() -> None:
    with pytest.raises(ValueError) as info:
        get_csf("watson")
    for name in ALL_NAMES:
        assert name in str(info.value)


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("mannos_sakrison", {"luminance": 100.0}),
        ("barten", {"lum": 100.0}),
        ("castle_fit", {"field_size_deg": 4.0}),
    ],
)
def test_get_csf_unknown_params(name: str, params: dict) -> None:
    with pytest.raises(ValueError, match="unknown parameter"):
        get_csf(name, **params)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_get_csf_bad_param_values(bad: float) -> None:
    with pytest.raises(ValueError):
        get_csf("barten", luminance=bad)
    with pytest.raises(ValueError):
        get_csf("castle_fit", area_deg2=bad)


def test_default_is_mannos_sakrison_and_roundtrip() -> None:
    assert get_csf().name == "mannos_sakrison"
    for name in ALL_NAMES:
        model = get_csf(name)
        d = model.to_dict()
        json.dumps(d)  # JSON-serialisable
        again = CSFModel.from_dict(json.loads(json.dumps(d)))
        assert again == model
        assert hash(again) == hash(model)


def test_params_are_complete_and_frozen() -> None:
    model = get_csf("barten", luminance=50.0)
    assert model.params["luminance"] == 50.0
    assert model.params["k"] == 3.0 and model.params["Nmax"] == 15.0
    with pytest.raises(AttributeError):
        model.name = "other"  # type: ignore[misc]


# ---------------------------------------------------------------------- input checking


@pytest.mark.parametrize("name", ALL_NAMES)
def test_finite_positive_on_domain(name: str) -> None:
    f = np.array([1e-6, 1e-3, 0.05, 0.5, 1.0, 4.0, 10.0, 30.0, 59.9, 60.0])
    s = get_csf(name)(f)
    assert s.shape == f.shape
    assert np.all(np.isfinite(s)) and np.all(s > 0)


@pytest.mark.parametrize("name", ALL_NAMES)
@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf"), [1.0, 0.0], [2.0, np.nan]])
def test_rejects_bad_frequencies(name: str, bad: object) -> None:
    with pytest.raises(ValueError):
        get_csf(name)(bad)


@pytest.mark.parametrize("func", [mannos_sakrison, mannos_sakrison_v1, barten])
def test_functions_reject_bad_frequencies(func) -> None:
    for bad in (0.0, -3.0, np.nan):
        with pytest.raises(ValueError):
            func(bad)


def test_shape_preserved() -> None:
    f = np.full((2, 3), 4.0)
    for name in ALL_NAMES:
        assert get_csf(name)(f).shape == (2, 3)
    assert get_csf("barten")(4.0).shape == ()


# ------------------------------------------------------------------------ Mannos-Sakrison


def test_mannos_sakrison_known_values() -> None:
    # hand evaluation of 2.6 (0.0192 + 0.114 f) exp(-(0.114 f)^1.1)
    for f in (1.0, 4.0, 10.0, 30.0):
        expected = 2.6 * (0.0192 + 0.114 * f) * math.exp(-((0.114 * f) ** 1.1))
        assert float(mannos_sakrison(f)) == pytest.approx(expected, rel=1e-12)
    assert float(mannos_sakrison(1.0)) == pytest.approx(0.3159600, rel=1e-6)
    assert float(mannos_sakrison(10.0)) == pytest.approx(0.9495245, rel=1e-6)
    assert float(mannos_sakrison(60.0)) == pytest.approx(0.004475958, rel=1e-6)


def test_mannos_sakrison_v1_known_values() -> None:
    # v1 code: exp(-0.114 f)^1.1 == exp(-0.1254 f)
    for f in (1.0, 4.0, 10.0, 60.0):
        expected = 2.6 * (0.0192 + 0.114 * f) * math.exp(-1.1 * 0.114 * f)
        assert float(mannos_sakrison_v1(f)) == pytest.approx(expected, rel=1e-12)
    assert float(mannos_sakrison_v1(10.0)) == pytest.approx(0.8600554, rel=1e-6)
    assert float(mannos_sakrison_v1(60.0)) == pytest.approx(0.009629753, rel=1e-6)
    # the two forms differ by a factor 2.15 at 60 cpd
    assert float(mannos_sakrison_v1(60.0) / mannos_sakrison(60.0)) == pytest.approx(2.151, abs=1e-3)


def test_mannos_sakrison_peaks() -> None:
    published = get_csf("mannos_sakrison")
    assert published.peak_frequency() == pytest.approx(8.0, abs=0.15)
    assert published.peak_frequency() == pytest.approx(7.8909, abs=1e-3)
    assert published.peak_sensitivity() == pytest.approx(0.98088, abs=1e-4)
    v1 = get_csf("mannos_sakrison_v1")
    # analytic maximum of (0.0192 + 0.114 f) exp(-1.1*0.114 f): f = (1/1.1 - 0.0192)/0.114
    assert v1.peak_frequency() == pytest.approx((1 / 1.1 - 0.0192) / 0.114, abs=1e-5)
    assert v1.peak_frequency() == pytest.approx(7.80606, abs=1e-4)
    assert v1.peak_sensitivity() == pytest.approx(0.88809, abs=1e-4)


def test_normalized_peak_is_one() -> None:
    for name in ALL_NAMES:
        model = get_csf(name)
        fp = model.peak_frequency()
        assert float(model.normalized(fp)) == pytest.approx(1.0, abs=1e-9)
        w = model.normalized(np.geomspace(0.05, 60.0, 200))
        assert np.all(w <= 1.0 + 1e-9) and np.all(w > 0)


@pytest.mark.parametrize(
    ("name", "params"),
    [(n, {}) for n in ALL_NAMES]
    + [("barten", {"luminance": 1.0}), ("castle_fit", {"luminance": 1.0, "area_deg2": 13.9})],
)
def test_peak_frequency_agrees_with_scipy(name: str, params: dict) -> None:
    """The golden-section refinement (no scipy) finds scipy's bounded optimum."""
    from scipy.optimize import minimize_scalar

    model = get_csf(name, **params)
    grid = np.geomspace(0.05, 60.0, 241)
    i = int(np.argmax(model(grid)))
    res = minimize_scalar(
        lambda t: -float(np.log(model(math.exp(t)))),
        bounds=(math.log(grid[i - 1]), math.log(grid[i + 1])),
        method="bounded",
        options={"xatol": 1e-10},
    )
    assert model.peak_frequency() == pytest.approx(math.exp(res.x), rel=1e-7)
    assert model.peak_sensitivity() == pytest.approx(float(model(math.exp(res.x))), rel=1e-13)


def test_golden_section_maximiser() -> None:
    from hvsprobe.human.models import _golden_max

    assert _golden_max(lambda t: -((t - 0.3) ** 2), 0.0, 1.0, xatol=1e-10) == pytest.approx(
        0.3, abs=1e-8
    )
    # a maximum at an end of the interval is found at that end
    assert _golden_max(lambda t: t, -2.0, 5.0, xatol=1e-10) == pytest.approx(5.0, abs=1e-9)
    assert _golden_max(math.cos, -1.0, 2.0, xatol=1e-12) == pytest.approx(0.0, abs=1e-7)


def test_peak_frequency_range_checks() -> None:
    model = get_csf("barten")
    with pytest.raises(ValueError):
        model.peak_frequency((10.0, 1.0))
    with pytest.raises(ValueError):
        model.peak_frequency((0.0, 10.0))
    # a range that excludes the peak returns its nearer end
    assert model.peak_frequency((10.0, 20.0)) == pytest.approx(10.0, rel=1e-6)


# ------------------------------------------------------------------------------- Barten


def test_barten_helpers_known_values() -> None:
    # d = 5 - 3 tanh(0.4 log10(100 * 60^2 / 40^2)) = 2.79313
    assert float(barten_pupil_diameter(100.0, 60.0)) == pytest.approx(2.7931307, rel=1e-6)
    # E = pi 2.1^2 / 4 * 100 * (1 - (2.1/9.7)^2 + (2.1/12.4)^4) = 330.41 Td
    assert float(barten_retinal_illuminance(100.0, 2.1)) == pytest.approx(330.41158, rel=1e-6)


def test_barten_matches_colour_science_reference_value() -> None:
    # colour-science documents 360.869 for u = 4 cpd, X0 = 60 deg, d = 2.1 mm,
    # E = E(20 cd/m^2, 2.1 mm) and p = 1.2274e6 with Barten's other default constants
    s = barten(4.0, luminance=20.0, field_size_deg=60.0, pupil_diameter_mm=2.1, p=1.2274e6)
    assert float(s) == pytest.approx(360.8691122, rel=1e-6)


def test_barten_peak_at_100_cd() -> None:
    for x0 in (4.0, 224 / 60):
        model = get_csf("barten", luminance=100.0, field_size_deg=x0)
        fp = model.peak_frequency()
        assert 3.0 <= fp <= 5.0
        assert 200.0 <= model.peak_sensitivity() <= 1000.0


def test_barten_luminance_raises_high_frequency_sensitivity() -> None:
    s = [float(barten(20.0, luminance=lum)) for lum in (1.0, 10.0, 100.0, 1000.0)]
    assert all(b > a for a, b in zip(s, s[1:], strict=False))
    # the peak frequency also rises with luminance
    peaks = [get_csf("barten", luminance=lum).peak_frequency() for lum in (1.0, 100.0)]
    assert peaks[1] > peaks[0]


def test_barten_high_frequency_falloff() -> None:
    model = get_csf("barten", luminance=100.0)
    peak = model.peak_sensitivity()
    assert float(model(50.0)) < 1.0
    assert float(model(60.0)) < 0.1
    assert float(model(60.0)) < 1e-3 * peak


def test_barten_bigger_field_more_low_frequency_sensitivity() -> None:
    small, big = (float(barten(0.5, field_size_deg=x)) for x in (1.0, 10.0))
    assert big > 1.5 * small
    # at high frequency the number-of-cycles limit makes the field size matter little
    s_hi = [float(barten(20.0, field_size_deg=x)) for x in (4.0, 10.0)]
    assert s_hi[1] / s_hi[0] < 1.1


def test_barten_broadcasts_conditions() -> None:
    lum = np.array([1.0, 10.0, 100.0])
    out = barten(np.array([4.0, 4.0, 4.0]), luminance=lum, field_size_deg=2.0)
    for i, v in enumerate(lum):
        assert out[i] == pytest.approx(float(barten(4.0, luminance=v, field_size_deg=2.0)))


# --------------------------------------------------------------------------- castle_fit


def test_castle_fit_works_without_data(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HVSPROBE_DATA", raising=False)
    model = get_csf("castle_fit", luminance=100.0, area_deg2=(224 / 60) ** 2)
    assert 1.5 <= model.peak_frequency() <= 6.0
    assert 100.0 <= model.peak_sensitivity() <= 1000.0
    # more light -> more sensitivity; bigger field -> more low-frequency sensitivity
    assert float(get_csf("castle_fit", luminance=1.0)(4.0)) < float(model(4.0))
    assert float(get_csf("castle_fit", area_deg2=1.0)(0.5)) < float(
        get_csf("castle_fit", area_deg2=100.0)(0.5)
    )


def test_packaged_document_schema() -> None:
    doc = load_castle_fit_document()
    assert doc["kind"] == "castle_csf_fit" and doc["schema_version"] == 1
    assert len(doc["data"]["sha256"]) == 64
    assert doc["fit"]["settings"]["method"] == "trf"


def test_data_root_errors(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("HVSPROBE_DATA", raising=False)
    with pytest.raises(FileNotFoundError, match="HVSPROBE_DATA"):
        castle_data.load_castle_achromatic()
    with pytest.raises(FileNotFoundError, match="HVSPROBE_DATA"):
        castle_data.load_castle_achromatic(tmp_path)
    monkeypatch.setenv("HVSPROBE_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="HVSPROBE_DATA"):
        castle_mod.csf_error_table()


def test_castle_functions_exported_lazily() -> None:
    import hvsprobe.human as human

    assert human.fit_castle_csf is castle_mod.fit_castle_csf
    assert human.csf_error_table is castle_mod.csf_error_table
    with pytest.raises(AttributeError):
        human.no_such_function  # noqa: B018


@needs_castle
def test_castle_selection(castle_rows: dict[str, np.ndarray]) -> None:
    rows = castle_rows
    n = rows["frequency"].size
    assert 150 <= n <= 400
    assert all(v.shape == (n,) for v in rows.values())
    assert np.all(rows["t_frequency"] == 0)
    assert np.all(rows["eccentricity"] == 0)
    assert np.all(rows["frequency"] > 0)
    assert np.all(rows["achromatic_angle_deg"] <= castle_data.ACHROMATIC_MAX_ANGLE_DEG)
    assert np.all(rows["sensitivity"] > 0)
    datasets = set(rows["dataset"].tolist())
    # achromatic datasets are in; purely chromatic or temporal ones are out
    assert {"rovamo1993", "hdrvdp_csf", "modelfest", "hdr_csf"} <= datasets
    assert not datasets & {"kong2018", "lucassen2018", "five_centres", "vanderHorst1969_b"}
    # hdr_csf keeps only its achromatic direction (C1 = col_dir 9), not C2/C3
    assert set(rows["col_dir_id"][rows["dataset"] == "hdr_csf"].tolist()) == {9}
    assert set(rows["stimulus"].tolist()) <= {"gabor", "grating"}
    # field size is the side of the square of the same area
    assert np.allclose(rows["field_size_deg"] ** 2, rows["area"])


@needs_castle
def test_castle_selection_accepts_castle_folder(castle_rows: dict[str, np.ndarray]) -> None:
    rows = castle_data.load_castle_achromatic(DATA_ROOT / "psychophysics" / "castleCSF")
    assert rows["frequency"].size == castle_rows["frequency"].size


@needs_castle
def test_packaged_fit_matches_fresh_fit(fresh_fit: CSFModel) -> None:
    doc = load_castle_fit_document()
    data_csv = DATA_ROOT / "psychophysics" / "castleCSF" / "data_aggregated.csv"
    assert doc["data"]["sha256"] == sha256_file(data_csv), "data changed: regenerate the fit"
    for name, value in doc["params"].items():
        assert fresh_fit.params[name] == pytest.approx(value, rel=1e-3), name
    packaged = get_csf("castle_fit")
    f = np.geomspace(0.1, 40.0, 30)
    for lum, area in ((0.1, 1.0), (100.0, 13.9), (1000.0, 100.0)):
        a = get_csf("castle_fit", **{**fresh_fit.params, "luminance": lum, "area_deg2": area})
        b = get_csf("castle_fit", **{**packaged.params, "luminance": lum, "area_deg2": area})
        assert np.allclose(np.log10(a(f)), np.log10(b(f)), atol=1e-4)


@needs_castle
def test_error_table(error_table: dict[str, dict], castle_rows: dict[str, np.ndarray]) -> None:
    assert list(error_table) == ALL_NAMES
    n = castle_rows["frequency"].size
    for e in error_table.values():
        assert e["n_rows"] == n
        assert e["rmse_log10_shifted"] <= e["rmse_log10"] + 1e-12
        assert sum(d["n_rows"] for d in e["per_dataset"].values()) == n
        json.dumps(e)
    # the fit beats unfitted Barten, raw and after the gain shift
    assert error_table["castle_fit"]["rmse_log10"] < error_table["barten"]["rmse_log10"]
    assert (
        error_table["castle_fit"]["rmse_log10_shifted"]
        < error_table["barten"]["rmse_log10_shifted"]
    )
    # Mannos-Sakrison is relative: a large gain shift, much smaller error after it
    ms = error_table["mannos_sakrison"]
    assert ms["log10_gain_shift"] > 1.0
    assert ms["rmse_log10_shifted"] < 0.5 * ms["rmse_log10"]
    # the fit's own mean residual is ~0 (least squares with a free gain)
    assert abs(error_table["castle_fit"]["log10_gain_shift"]) < 0.01


@needs_castle
def test_cli_writes_json_and_doc(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "fit.json"
    rc = castle_mod.main(["--data-root", str(DATA_ROOT), "--out", str(out), "--write-doc"])
    assert rc == 0
    doc = load_castle_fit_document(out)
    assert doc["params"] == pytest.approx(load_castle_fit_document()["params"], rel=1e-3)
    text = capsys.readouterr().out
    assert "| model |" in text and "castle_fit" in text and "leave-one-dataset-out" in text
    assert not list(tmp_path.glob("*.tmp"))
    assert out.stat().st_mode & 0o044 == 0o044  # readable by group and others


def test_cli_missing_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys) -> None:
    monkeypatch.delenv("HVSPROBE_DATA", raising=False)
    rc = castle_mod.main(["--data-root", str(tmp_path), "--dry-run"])
    assert rc == 2
    assert "HVSPROBE_DATA" in capsys.readouterr().err


# ------------------------------------------------------- leave-one-dataset-out (heldout.py)


def _synthetic_rows(model: str, shift: dict[str, float], n_per: int = 24) -> dict:
    """Rows that follow ``model`` exactly, 4 datasets, some datasets offset in log10."""
    rng = np.random.default_rng(7)
    names = ["a_set", "b_set", "c_set", "d_set"]
    n = n_per * len(names)
    f = np.exp(rng.uniform(np.log(0.3), np.log(25.0), n))
    lum = 10 ** rng.uniform(-1.0, 3.0, n)
    area = 10 ** rng.uniform(-1.0, 2.5, n)
    rows = {
        "frequency": f,
        "luminance": lum,
        "area": area,
        "field_size_deg": np.sqrt(area),
        "dataset": np.repeat(names, n_per),
    }
    csf = get_csf(model)
    truth = np.log10(fitting.predict_at_rows(csf, rows))
    offset = np.array([shift.get(d, 0.0) for d in rows["dataset"]])
    rows["sensitivity"] = 10 ** (truth + offset)
    return rows


def test_lodo_gain_model_exact_on_shifted_dataset() -> None:
    # Barten with a fitted gain; dataset b is 0.5 log10 more sensitive than the model.
    rows = _synthetic_rows("barten", {"b_set": 0.5})
    (r,) = heldout.csf_heldout_table(rows=rows, models=[heldout._gain_model("barten")])
    share = 0.25  # b_set holds a quarter of the rows
    per = r["per_dataset"]
    # in-sample: the global gain absorbs a quarter of the offset
    assert per["b_set"]["in_sample_rmse_log10"] == pytest.approx(0.5 * (1 - share), abs=1e-9)
    assert per["a_set"]["in_sample_rmse_log10"] == pytest.approx(0.5 * share, abs=1e-9)
    # held out: trained on clean data only, b_set is missed by the full 0.5
    assert per["b_set"]["lodo_rmse_log10"] == pytest.approx(0.5, abs=1e-9)
    assert per["b_set"]["lodo_mean_residual_log10"] == pytest.approx(-0.5, abs=1e-9)
    assert per["b_set"]["lodo_shape_rmse_log10"] == pytest.approx(0.0, abs=1e-9)
    # the other datasets are predicted with b_set among the 3 training datasets
    for d in ("a_set", "c_set", "d_set"):
        assert per[d]["lodo_rmse_log10"] == pytest.approx(0.5 / 3, abs=1e-9)
    assert r["unfitted_rmse_log10"] == pytest.approx(0.5 * math.sqrt(share), abs=1e-9)
    assert r["lodo_rmse_log10"] > r["in_sample_rmse_log10"]
    assert r["n_datasets"] == 4 and r["n_rows"] == 96


def test_lodo_castle_refit_exposes_shifted_dataset() -> None:
    rows = _synthetic_rows("castle_fit", {"c_set": 0.3})
    (r,) = heldout.csf_heldout_table(rows=rows, models=[heldout.castle_model()])
    per = r["per_dataset"]
    # refitted on the three clean datasets, the form recovers the truth: c_set is off by 0.3
    assert per["c_set"]["lodo_rmse_log10"] == pytest.approx(0.3, abs=0.02)
    assert per["c_set"]["lodo_mean_residual_log10"] == pytest.approx(-0.3, abs=0.02)
    # fitted to all rows, its 10 coefficients absorb part of the offset
    assert per["c_set"]["in_sample_rmse_log10"] < 0.27
    assert r["unfitted_rmse_log10"] is None


def test_lodo_training_never_holds_the_held_out_dataset() -> None:
    rows = _synthetic_rows("barten", {})
    seen: list[set[str]] = []
    scored: list[set[str]] = []
    base = heldout._gain_model("barten")

    def fit(train):
        seen.append(set(train["dataset"].tolist()))
        return base.fit(train)

    def predict(state, test):
        scored.append(set(test["dataset"].tolist()))
        return base.predict(state, test)

    spy = heldout.HeldoutModel("spy", fit, predict, "gain")
    heldout.csf_heldout_table(rows=rows, models=[spy])
    everything = {"a_set", "b_set", "c_set", "d_set"}
    assert seen[0] == everything  # the in-sample fit
    # one fit per held-out dataset, on exactly the other datasets, scored on that one only
    assert seen[1:] == [everything - {d} for d in sorted(everything)]
    assert scored[1:] == [{d} for d in sorted(everything)]


def test_lodo_needs_two_datasets() -> None:
    rows = _synthetic_rows("barten", {})
    rows["dataset"] = np.full(rows["dataset"].shape, "only")
    with pytest.raises(ValueError, match="at least two datasets"):
        heldout.csf_heldout_table(rows=rows)


def test_best_heldout_model_uses_lodo_not_in_sample() -> None:
    table = [
        {"model": "fits_well", "in_sample_rmse_log10": 0.1, "lodo_rmse_log10": 0.4},
        {"model": "generalises", "in_sample_rmse_log10": 0.3, "lodo_rmse_log10": 0.3},
    ]
    assert heldout.best_heldout_model(table) == "generalises"


@pytest.fixture(scope="module")
def heldout_table() -> dict[str, dict]:
    return {r["model"]: r for r in heldout.csf_heldout_table(DATA_ROOT)}


@needs_castle
def test_heldout_table_on_castle(
    heldout_table: dict[str, dict], error_table: dict[str, dict]
) -> None:
    assert list(heldout_table) == ALL_NAMES
    for name, r in heldout_table.items():
        e = error_table[name]
        assert r["n_rows"] == e["n_rows"] and r["n_datasets"] == len(e["per_dataset"])
        assert sum(p["n_rows"] for p in r["per_dataset"].values()) == r["n_rows"]
        assert r["lodo_shape_rmse_log10"] <= r["lodo_rmse_log10"] + 1e-12
        json.dumps(r)
    # the same in-sample numbers as the error table: gain-shifted curves, packaged fit
    for name in ("mannos_sakrison", "mannos_sakrison_v1", "barten"):
        r, e = heldout_table[name], error_table[name]
        assert r["unfitted_rmse_log10"] == pytest.approx(e["rmse_log10"], abs=1e-12)
        assert r["in_sample_rmse_log10"] == pytest.approx(e["rmse_log10_shifted"], abs=1e-12)
    castle = heldout_table["castle_fit"]
    assert castle["in_sample_rmse_log10"] == pytest.approx(
        error_table["castle_fit"]["rmse_log10"], abs=1e-3
    )
    # holding out whole datasets costs every model something
    for r in heldout_table.values():
        assert r["lodo_rmse_log10"] > r["in_sample_rmse_log10"]


@needs_castle
def test_csf_command_prints_in_sample_and_lodo(capsys: pytest.CaptureFixture[str]) -> None:
    from hvsprobe.cli import main

    assert main(["csf", "--data-root", str(DATA_ROOT), "--per-dataset"]) == 0
    out = capsys.readouterr().out
    assert "in-sample" in out and "LODO" in out
    table_lines = [ln for ln in out.splitlines() if ln.split()[:1] and ln.split()[0] in ALL_NAMES]
    # one peak line and one error row per model
    assert len([ln for ln in table_lines if "gain only" in ln or "coefficients" in ln]) == 4
    assert "lowest held-out (LODO) error:" in out


def test_csf_command_missing_data_exits_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from hvsprobe.cli import main

    monkeypatch.delenv("HVSPROBE_DATA", raising=False)
    assert main(["csf", "--data-root", str(tmp_path / "nowhere")]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and "castleCSF" in err[0] and "HVSPROBE_DATA" in err[0]
    assert main(["csf"]) == 2
    assert "HVSPROBE_DATA" in capsys.readouterr().err
