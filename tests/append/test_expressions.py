"""zappend's ``{{ expression }}`` attributes: ``ds`` is the target after the append."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import cftime
import dask.array
import numpy as np
import pytest
import xarray as xr

from tests.append.slices import make_slice
from tests.conftest import StoreTarget
from zarrlake.append import append
from zarrlake.append._expressions import (
    CellRef,
    evaluate_attrs,
    has_expressions,
    lower_bound,
    target_after_append,
    to_attr_value,
    upper_bound,
)
from zarrlake.errors import InvalidInputError
from zarrlake.storage import open_store

HOURS = np.array(["2024-01-01", "2024-01-02", "2024-01-03"], dtype="datetime64[h]")


# zappend's own cases: (array, lower bound by ref lower/center/upper, upper bound likewise)
@pytest.mark.parametrize(
    ("array", "lower", "upper"),
    [
        (np.array([0, 1, 2]), (0, -0.5, -1), (3, 2.5, 2)),
        (np.array([2, 1, 0]), (0, -0.5, -1), (3, 2.5, 2)),
        (np.array([0.5, 1.5, 2.5]), (0.5, 0.0, -0.5), (3.5, 3.0, 2.5)),
        (
            HOURS,
            tuple(np.datetime64(t, "h") for t in ("2024-01-01T00", "2023-12-31T12", "2023-12-31")),
            tuple(np.datetime64(t, "h") for t in ("2024-01-04T00", "2024-01-03T12", "2024-01-03")),
        ),
    ],
)
def test_bounds_follow_zappend(
    array: np.ndarray, lower: tuple[Any, ...], upper: tuple[Any, ...]
) -> None:
    refs: tuple[CellRef, ...] = ("lower", "center", "upper")
    for ref, low, high in zip(refs, lower, upper, strict=True):
        assert lower_bound(array, ref) == low
        assert upper_bound(array, ref) == high
    assert lower_bound(array) == lower[0] and upper_bound(array) == upper[0]  # ref="lower"


def test_bounds_of_dataarrays_sequences_and_single_labels() -> None:
    times = xr.DataArray(HOURS, dims="time")
    result = upper_bound(times, ref="center")
    assert isinstance(result, xr.DataArray) and result.ndim == 0
    assert result.values == np.datetime64("2024-01-03T12", "h")
    assert lower_bound([10.0, 20.0], "center") == 5.0
    assert (lower_bound([7]), upper_bound([7], "center")) == (7, 7)  # no step: no width
    days = np.array(["2024-01-01", "2024-01-02"], dtype="datetime64[D]")
    assert lower_bound(days, "center") == np.datetime64("2023-12-31T12")  # halved exactly
    dates = [cftime.DatetimeNoLeap(2024, 2, 28), cftime.DatetimeNoLeap(2024, 3, 1)]
    assert upper_bound(np.array(dates)) == cftime.DatetimeNoLeap(2024, 3, 2)


@pytest.mark.parametrize(
    ("array", "ref", "match"),
    [
        (np.zeros((2, 2)), "lower", "one-dimensional"),
        (np.array([]), "lower", "empty"),
        (np.arange(3), "middle", "ref must be"),
    ],
)
def test_bounds_refuse_bad_input(array: np.ndarray, ref: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        lower_bound(array, ref)  # type: ignore[arg-type]


def test_bounds_read_only_the_labels_they_need() -> None:
    lazy = xr.DataArray(dask.array.arange(10, chunks=2), dims="x")
    with dask.config.set(scheduler="sync"):
        bound = upper_bound(lazy)
    assert int(bound) == 10


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (np.float32(1.5), 1.5),
        (np.float64("nan"), "nan"),
        (np.int16(3), 3),
        (np.bool_(True), True),
        (np.datetime64("2026-01-01T01:00:00.000000000"), "2026-01-01T01:00:00"),
        (np.datetime64("2026-01-01T01:00:00.250"), "2026-01-01T01:00:00.250"),
        (np.timedelta64(90, "m"), "P0DT1H30M0S"),
        (xr.DataArray(np.datetime64("2024-01-04", "h")), "2024-01-04T00:00:00"),
        (np.array([1, 2]), [1, 2]),
        ({"a": np.float64(2)}, {"a": 2.0}),
        (cftime.Datetime360Day(2024, 2, 30), "2024-02-30T00:00:00"),
        (datetime.datetime(2024, 1, 1, 6, 0, 0, 5), "2024-01-01T06:00:00"),
    ],
)
def test_results_become_json_values(value: object, expected: object) -> None:
    assert to_attr_value(value) == expected


def test_evaluate_whole_and_embedded_expressions() -> None:
    ds = make_slice(0, 3)
    attrs = {
        "steps": "{{ ds.time.size }}",
        "title": "{{ ds.time.size }} steps of {{ ds.attrs['title'] }}",
        "end": "{{ upper_bound(ds.time, ref='upper') }}",
        "max": "{{ ds.temp.max() }}",
        "count": "{{ len(ds.x) }}",
        "unclosed": "{{ not evaluated",
        "other": 5,
    }
    assert has_expressions(attrs) and not has_expressions({"a": "{{ b", "c": 1})
    assert evaluate_attrs(attrs, ds) == {
        "steps": 3,
        "title": "3 steps of append test",
        "end": "2026-01-01T02:00:00",
        "max": 204.5,
        "count": 6,
        "unclosed": "{{ not evaluated",
        "other": 5,
    }
    assert evaluate_attrs(attrs, ds, permit_eval=False) == attrs


@pytest.mark.parametrize("expression", ["{{ ds.nope }}", "{{ open('/etc/passwd') }}", "{{ ds }}"])
def test_failing_expressions_name_the_attribute(expression: str) -> None:
    with pytest.raises(InvalidInputError, match="attribute 'bad'") as info:
        evaluate_attrs({"bad": expression}, make_slice(0))
    assert info.value.subject == "attrs.bad"


def test_view_is_the_target_after_the_append(tmp_path: Path) -> None:
    target = tmp_path / "t.zarr"
    append([make_slice(0, 2), make_slice(1, 2)], target)
    store = open_store(str(target), mode="r")
    added = make_slice(2, 2)
    with target_after_append(store, added, "time", zarr_format=3) as after:
        assert after.sizes["time"] == 6
        assert isinstance(after["temp"].data, dask.array.Array)  # nothing read yet
        expected = xr.concat([make_slice(i, 2) for i in range(3)], "time")
        xr.testing.assert_equal(after.load(), expected.assign_attrs(after.attrs))
        assert after.attrs == added.attrs
    # the known labels are used, not read again
    labels = np.arange(4).astype("datetime64[h]")
    with target_after_append(store, added, "time", labels=labels) as after:
        assert after["time"].values[:4].tolist() == labels.astype("datetime64[ns]").tolist()
    with target_after_append(None, added, "time") as after:
        assert after is added  # the first slice: the target is the slice


@pytest.mark.parametrize("dry_run", [False, True])
def test_expressions_see_the_whole_target(store_target: StoreTarget, dry_run: bool) -> None:
    attrs = {
        "time_coverage_start": "{{ lower_bound(ds.time) }}",
        "time_coverage_end": "{{ upper_bound(ds.time, 'upper') }}",
        "time_coverage_duration": "{{ upper_bound(ds.time) - lower_bound(ds.time) }}",
        "steps": "{{ ds.sizes['time'] }}",
        "first_temp": "{{ ds.temp.isel(time=0, x=0, y=0) }}",
        "summary": "{{ ds.attrs['title'] }} ({{ ds.time.size }} steps)",
    }
    result = append(
        [make_slice(i) for i in range(3)],
        store_target.url,
        target_storage_options=store_target.storage_options,
        permit_eval=True,
        attrs=attrs,
        dry_run=dry_run,
    )
    assert result.length == 3
    if dry_run:
        return  # nothing to read back, but every slice evaluated against the staged target
    stored = xr.open_zarr(store_target.open("r"), consolidated=True).attrs
    assert stored["time_coverage_start"] == "2026-01-01T00:00:00"
    assert stored["time_coverage_end"] == "2026-01-01T02:00:00"
    assert stored["time_coverage_duration"] == "P0DT3H0M0S"
    assert stored["steps"] == 3
    assert stored["first_temp"] == 0.0
    assert stored["summary"] == "append test (3 steps)"


def test_a_failing_expression_refuses_the_slice(tmp_path: Path) -> None:
    target = tmp_path / "t.zarr"
    attrs = {"second": "{{ [0][ds.time.size - 1] }}"}  # fails once the target has 2 steps
    append([make_slice(0)], target, permit_eval=True, attrs=attrs)
    with pytest.raises(InvalidInputError, match="attribute 'second'"):
        append([make_slice(1)], target, permit_eval=True, attrs=attrs)
    assert xr.open_zarr(target).sizes["time"] == 1


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_a_dry_run_sees_the_staged_slices(tmp_path: Path, zarr_format: int) -> None:
    """The staging overlay's consolidated metadata lags behind: the view must not use it."""
    target = tmp_path / "t.zarr"
    append([make_slice(0), make_slice(1)], target, zarr_version=zarr_format)
    attrs = {"third": "{{ [0, 1, 2][ds.time.size - 1] }}"}  # fails once the target has 4 steps
    append([make_slice(2)], target, permit_eval=True, attrs=attrs, dry_run=True)
    with pytest.raises(InvalidInputError, match="attribute 'third'"):
        append([make_slice(2), make_slice(3)], target, permit_eval=True, attrs=attrs, dry_run=True)
    assert xr.open_zarr(target).sizes["time"] == 2
