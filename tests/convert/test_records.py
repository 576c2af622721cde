"""Fingerprints of stored objects: sums additive over any split, records sealed by a digest."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from zarrlake.convert._records import ObjectLedger, bit_sum, read_record_state, write_record
from zarrlake.storage import open_store


def _word_sum_of_rows(values: np.ndarray) -> int:
    """The definition: each row's bytes as little-endian 8-byte words, zero-padded."""
    rows = np.ascontiguousarray(values).reshape(-1, values.shape[-1]).view("u1")
    padded = np.pad(rows, ((0, 0), (0, -rows.shape[1] % 8)))
    return int(np.frombuffer(padded.tobytes(), "<u8").sum(dtype=np.uint64))


@pytest.mark.parametrize("dtype", ["f4", "i2", "u1", "f8", "M8[ns]"])
@pytest.mark.parametrize("shape", [(3, 5, 7), (2, 4, 8), (3, 9), (1,)])
def test_bit_sums_add_up_over_any_split(dtype, shape):
    rng = np.random.default_rng(1)
    values = (rng.random(shape) * 1000).astype("i8").astype(dtype)
    whole = bit_sum(values)
    assert whole == _word_sum_of_rows(values)
    n = shape[-1]
    cuts = sorted({0, n, *rng.integers(0, n, 3).tolist()})
    by_columns = sum(bit_sum(values[..., a:b], offset=a) for a, b in itertools.pairwise(cuts))
    by_rows = sum(bit_sum(values[i : i + 1]) for i in range(shape[0]))
    assert whole == by_columns % 2**64 == by_rows % 2**64


def test_a_ledger_merges_the_parts_of_an_object():
    values = np.arange(6 * 10, dtype="f4").reshape(6, 10)
    ledger = ObjectLedger()
    grid, shape = (6, 10), (6, 10)
    for columns in (slice(0, 3), slice(3, 7), slice(7, 10)):  # one object in three writes
        ledger.note("v", grid, shape, (slice(0, 6), columns), values[:, columns], None)
    assert ledger.objects["v"][(0, 0)]["bits"] == bit_sum(values)


def test_a_record_edited_after_the_fact_is_corrupt(tmp_path):
    store = open_store(str(tmp_path / "a.zarr"), mode="a")
    write_record(store, "unit-1", {"kind": "unit", "steps": [[0, 5]]})
    records, corrupt = read_record_state(store)
    assert set(records) == {"unit-1"} and corrupt == []
    path = tmp_path / "a.zarr.zarrlake" / "convert" / "done" / "unit-1.json"
    path.write_text(path.read_text().replace("[[0, 5]]", "[[0, 6]]"))
    records, corrupt = read_record_state(store)
    assert records == {} and corrupt == ["unit-1"]
