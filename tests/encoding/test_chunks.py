from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zarrlake.encoding import plan_chunks
from zarrlake.errors import InvalidInputError

ERA5_DIMS = ("time", "latitude", "longitude")
ERA5_SHAPE = (87600, 721, 1440)
MIB = 2**20


def test_era5_balanced_default_target() -> None:
    plan = plan_chunks(ERA5_DIMS, ERA5_SHAPE, "float32")
    # Rew's (1190, 84, 167), snapped: 1440 / 160 = 9 exactly, 721 (7 x 103) in 9 even
    # chunks of 81; the time chunk takes the budget the space chunks freed.
    assert plan.chunks == (1294, 81, 160)
    assert 0.95 * 64 * MIB <= plan.chunk_bytes <= 64 * MIB
    # a full series and a full map touch about the same number of chunks (both ~sqrt(N))
    n_chunks = math.prod(ERA5_SHAPE) * 4 / plan.chunk_bytes
    assert plan.chunks_per_series_read == pytest.approx(math.sqrt(n_chunks), rel=0.1)
    assert plan.chunks_per_map_read == pytest.approx(math.sqrt(n_chunks), rel=0.15)


def test_era5_balanced_matches_rews_reference() -> None:
    # Rew's chunk_shape_3D gives about (1052, 79, 158) for this many values per chunk.
    plan = plan_chunks(
        ERA5_DIMS,
        ERA5_SHAPE,
        "float32",
        target_chunk_bytes=1052 * 79 * 158 * 4,
        prefer_divisors=False,
    )
    assert plan.chunks == (1052, 79, 158)


def test_era5_temporal_keeps_the_whole_series() -> None:
    plan = plan_chunks(ERA5_DIMS, ERA5_SHAPE, "float32", access_pattern="temporal")
    assert plan.chunks[0] == 87600
    assert plan.chunks_per_series_read == 1
    assert plan.chunk_bytes <= 64 * MIB
    assert abs(plan.chunks[1] - plan.chunks[2]) <= 1  # square-ish tiles


def test_era5_spatial_keeps_whole_maps() -> None:
    plan = plan_chunks(ERA5_DIMS, ERA5_SHAPE, "float32", access_pattern="spatial")
    assert plan.chunks == (16, 721, 1440)
    assert plan.chunks_per_map_read == 1


def test_spatial_map_larger_than_target_keeps_aspect() -> None:
    plan = plan_chunks(("time", "y", "x"), (10, 4000, 8000), "float64", access_pattern="spatial")
    assert plan.chunks[0] == 1
    assert plan.chunk_bytes <= 64 * MIB
    assert plan.chunks[2] / plan.chunks[1] == pytest.approx(2, rel=0.05)


@pytest.mark.parametrize("pattern", ["temporal", "spatial", "balanced"])
def test_align_to_file_length(pattern: str) -> None:
    steps_per_file = 744  # one month of hours
    plan = plan_chunks(
        ERA5_DIMS, ERA5_SHAPE, "float32", access_pattern=pattern, align_to=steps_per_file
    )
    ct = plan.chunks[0]
    assert ct % steps_per_file == 0 or steps_per_file % ct == 0
    assert plan.chunk_bytes <= 64 * MIB


def test_align_to_refits_space_to_target() -> None:
    plan = plan_chunks(ERA5_DIMS, ERA5_SHAPE, "float32", align_to=744, prefer_divisors=False)
    assert plan.chunks == (744, 106, 212)
    assert plan.chunk_bytes >= 0.9 * 64 * MIB
    snapped = plan_chunks(ERA5_DIMS, ERA5_SHAPE, "float32", align_to=744)
    assert snapped.chunks == (744, 103, 180)  # divisors of 721 and 1440, within 25 %


def test_small_array_is_one_chunk() -> None:
    plan = plan_chunks(("time", "x"), (10, 20), "float64")
    assert plan.chunks == (10, 20)


def test_series_dim_defaults_and_overrides() -> None:
    plan = plan_chunks(("level", "time", "y", "x"), (37, 50000, 200, 200), "float32")
    assert plan.series_dim == "time"
    plan = plan_chunks(("t", "y", "x"), (50000, 200, 200), "float32", access_pattern="temporal")
    assert plan.series_dim == "t" and plan.chunks[0] == 50000
    plan = plan_chunks(("y", "x", "band"), (20000, 20000, 5), "uint8", series_dim="band")
    assert plan.series_dim == "band"


def test_string_target() -> None:
    plan = plan_chunks(ERA5_DIMS, ERA5_SHAPE, "float32", target_chunk_bytes="16MiB")
    assert plan.chunk_bytes <= 16 * MIB


@pytest.mark.parametrize("target", [512 * 1024, "100KiB", 1])
def test_target_below_one_mib_is_refused(target: int | str) -> None:
    with pytest.raises(InvalidInputError, match="below the 1 MiB minimum") as info:
        plan_chunks(ERA5_DIMS, ERA5_SHAPE, "float32", target_chunk_bytes=target)
    assert info.value.subject == "target_chunk_bytes"


@pytest.mark.parametrize(
    ("kwargs", "subject"),
    [
        ({"access_pattern": "diagonal"}, "access_pattern"),
        ({"align_to": 0}, "align_to"),
        ({"series_dim": "depth"}, "series_dim"),
        ({"target_chunk_bytes": "lots"}, "target_chunk_bytes"),
    ],
)
def test_bad_options_name_the_option(kwargs: dict, subject: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        plan_chunks(ERA5_DIMS, ERA5_SHAPE, "float32", **kwargs)
    assert info.value.subject == subject


def test_dims_and_shape_mismatch() -> None:
    with pytest.raises(InvalidInputError, match="one size per dimension"):
        plan_chunks(("time", "x"), (10,), "float32")


@settings(max_examples=200, deadline=None)
@given(
    shape=st.lists(st.integers(1, 200_000), min_size=1, max_size=4),
    itemsize=st.sampled_from(["int8", "int16", "float32", "float64"]),
    pattern=st.sampled_from(["temporal", "spatial", "balanced"]),
    target_mib=st.integers(1, 256),
    align=st.one_of(st.none(), st.integers(1, 1000)),
)
def test_plans_fit_the_target_and_the_array(shape, itemsize, pattern, target_mib, align) -> None:
    dims = [f"d{i}" for i in range(len(shape))]
    plan = plan_chunks(
        dims,
        shape,
        itemsize,
        access_pattern=pattern,
        target_chunk_bytes=target_mib * MIB,
        align_to=align,
    )
    assert all(1 <= c <= s for c, s in zip(plan.chunks, shape, strict=True))
    assert plan.chunk_bytes <= target_mib * MIB


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("balanced", (1035, 90, 180)),  # was (615, 117, 233): 117 + 63 and 233 + 127
        ("temporal", (1461, 90, 90)),  # was (1461, 107, 107): 107 + 73
        ("spatial", (258, 180, 360)),  # whole maps, unchanged
    ],
)
def test_grid_chunks_divide_the_grid(pattern: str, expected: tuple[int, ...]) -> None:
    plan = plan_chunks(("time", "lat", "lon"), (1461, 180, 360), "float32", access_pattern=pattern)
    assert plan.chunks == expected
    assert 180 % plan.chunks[1] == 0 and 360 % plan.chunks[2] == 0
    assert plan.chunk_bytes <= 64 * MIB


def test_divisor_within_a_quarter_else_an_even_split() -> None:
    # 1440 / 299 -> 288 (a divisor, 4 % below); 721 = 7 x 103 has none near 149: 5 x 145
    plan = plan_chunks(("time", "y", "x"), (8784, 721, 1440), "float32", fixed={"time": 376})
    assert plan.chunks[2] == 288 and 1440 % 288 == 0
    assert plan.chunks[1] == 145  # ceil(721 / 5): five chunks, the last one 141
    unsnapped = plan_chunks(
        ("time", "y", "x"), (8784, 721, 1440), "float32", fixed={"time": 376}, prefer_divisors=False
    )
    assert unsnapped.chunks == (376, 149, 299)


def test_series_dim_is_not_snapped() -> None:
    # 87600 has divisors near 1294 (1168, 1095), but a growing axis has no use for them
    plan = plan_chunks(ERA5_DIMS, ERA5_SHAPE, "float32")
    assert plan.chunks[0] == 1294


def test_arrays_without_series_are_snapped() -> None:
    assert plan_chunks(("x",), (48_000_000,), "float32").chunks == (16_000_000,)  # 3 chunks
    even = plan_chunks(("x",), (100_000_000,), "float32").chunks  # no divisor near 16 Mi
    assert even == (16_666_667,)  # six even chunks, not 5 x 16 Mi + 16 M


def test_fixed_dims_are_kept_and_the_rest_refit() -> None:
    plan = plan_chunks(ERA5_DIMS, ERA5_SHAPE, "float32", fixed={"time": 30})
    assert plan.chunks[0] == 30
    assert plan.chunks[1:] == (361, 720)  # not (84, 167), planned for 1190 steps
    plan = plan_chunks(ERA5_DIMS, ERA5_SHAPE, "float32", fixed={"longitude": 1440})
    assert plan.chunks[2] == 1440 and plan.chunk_bytes <= 64 * MIB
    small = plan_chunks(("time", "x"), (10, 20), "float64", fixed={"time": 3})
    assert small.chunks == (3, 20)
    with pytest.raises(InvalidInputError) as info:
        plan_chunks(ERA5_DIMS, ERA5_SHAPE, "float32", fixed={"level": 3})
    assert info.value.subject == "fixed"
