"""Input expansion and retries of transient read errors."""

from __future__ import annotations

import pytest

from tests.convert.inputs import write_inputs
from zarrlake.convert._inputs import expand_inputs, with_retries
from zarrlake.errors import InvalidInputError, RetryLimitExceededError


class Flaky:
    """Fails ``failures`` times with a connection error, then returns 42."""

    def __init__(self, failures: int, error: Exception | None = None) -> None:
        self.failures = failures
        self.calls = 0
        self.error = error or ConnectionResetError("connection reset by peer")

    def __call__(self) -> int:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return 42


def test_transient_errors_are_retried_with_backoff():
    sleeps: list[float] = []
    flaky = Flaky(2)
    assert with_retries(flaky, what="f.nc", retries=3, backoff=0.5, sleep=sleeps.append) == 42
    assert flaky.calls == 3 and sleeps == [0.5, 1.0]


def test_retries_run_out():
    sleeps: list[float] = []
    with pytest.raises(RetryLimitExceededError, match="reading f.nc failed 3 times"):
        with_retries(Flaky(5), what="f.nc", retries=2, backoff=0.1, sleep=sleeps.append)
    assert sleeps == [0.1, 0.2]


def test_bad_files_are_not_retried():
    flaky = Flaky(1, InvalidInputError("corrupt"))
    with pytest.raises(InvalidInputError):
        with_retries(flaky, what="f.nc", retries=3, backoff=0, sleep=lambda s: None)
    assert flaky.calls == 1


def test_expand_lists_and_globs_sorted_without_duplicates(tmp_path):
    paths = write_inputs(tmp_path, 3, 2)
    found = expand_inputs([paths[2], str(tmp_path / "*.nc"), paths[0]])
    assert found == sorted(paths)
