"""Every store kind zarrlake opens keeps the store contract of ``zarrlake.testing.stores``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import make_target
from zarrlake.testing.stores import StoreLocation, StoreTests


def _location(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> StoreLocation:
    target = make_target(kind, request, tmp_path)
    return StoreLocation(target.url, target.storage_options)


class TestLocalStore(StoreTests):
    def make_location(self, request: pytest.FixtureRequest, tmp_path: Path) -> StoreLocation:
        return _location("local", request, tmp_path)


class TestMemoryStore(StoreTests):
    shared_between_processes = False

    def make_location(self, request: pytest.FixtureRequest, tmp_path: Path) -> StoreLocation:
        return _location("memory", request, tmp_path)


class TestS3Store(StoreTests):
    def make_location(self, request: pytest.FixtureRequest, tmp_path: Path) -> StoreLocation:
        return _location("s3", request, tmp_path)


def test_a_subclass_without_a_location_is_told_what_to_define(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    with pytest.raises(NotImplementedError, match="define make_location"):
        StoreTests().make_location(request, tmp_path)
