"""Tests for hvsprobe._io helpers shared across modules."""

from __future__ import annotations

from pathlib import Path

import pytest

from hvsprobe._io import DATA_ENV_VAR, read_csv_rows, resolve_data_root


def test_resolve_data_root_argument_wins_over_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path / "from-env"))
    root, source = resolve_data_root(tmp_path / "given")
    assert root == tmp_path / "given" and "data_root=" in source


def test_resolve_data_root_reads_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_ENV_VAR, f"  {tmp_path}  ")
    root, source = resolve_data_root(None)
    assert root == Path(tmp_path) and DATA_ENV_VAR in source


def test_resolve_data_root_without_either_names_the_variable(monkeypatch):
    monkeypatch.delenv(DATA_ENV_VAR, raising=False)
    with pytest.raises(FileNotFoundError, match=f"{DATA_ENV_VAR}.*sr/train"):
        resolve_data_root(None, holds="sr/train")
    monkeypatch.setenv(DATA_ENV_VAR, "   ")
    with pytest.raises(FileNotFoundError, match=DATA_ENV_VAR):
        resolve_data_root(None)


def test_read_csv_rows_strips_values_and_names_missing_columns(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b\n 1 ,x\n2,\n", encoding="utf-8")
    assert read_csv_rows(path, ["a", "b"]) == [{"a": "1", "b": "x"}, {"a": "2", "b": ""}]
    with pytest.raises(ValueError, match=r"t\.csv: missing column\(s\) c, d"):
        read_csv_rows(path, ["a", "c", "d"])
