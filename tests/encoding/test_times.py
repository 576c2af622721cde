"""Which dimension a dataset's time runs along, for the join-dimension hint."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from zarrlake.encoding import join_hint, time_dimensions


def test_time_dimensions_recognise_decoded_marked_and_encoded_times() -> None:
    ds = xr.Dataset(
        coords={
            "t": pd.date_range("2026-01-01", periods=2),  # decoded
            "step": ("step", [0.0, 1.0], {"axis": "T"}),  # marked
            "rec": ("rec", [0, 6], {"units": "hours since 2026-01-01"}),  # encoded
            "lat": ("lat", [0.0, 1.0], {"units": "degrees_north"}),
        }
    )
    assert time_dimensions(ds) == ["t", "step", "rec"]
    ds.encoding["unlimited_dims"] = {"rec"}  # the record dimension comes first
    assert time_dimensions(ds) == ["rec", "t", "step"]
    assert join_hint("concat_dim", "--concat-dim", ds) == (
        "its time runs along 'rec': --concat-dim rec (or concat_dim in the config)"
    )


def test_without_a_time_coordinate_the_hint_names_only_the_option() -> None:
    ds = xr.Dataset({"v": (("x",), np.zeros(2))}, coords={"x": [0.0, 1.0]})
    assert time_dimensions(ds) == []
    assert join_hint("append_dim", "--append-dim", ds) == (
        "set append_dim (or --append-dim) to the dimension the files are joined along"
    )
