from __future__ import annotations

import pytest

from zarrlake.hierarchy import (
    ancestors,
    commit_key,
    document_name,
    is_metadata_key,
    is_private_key,
    join,
    node_path,
    parent,
    relative,
)


def test_join_and_parent_treat_the_root_as_the_empty_path() -> None:
    assert join("", "zarr.json") == "zarr.json"
    assert join("a/b", ".zarray") == "a/b/.zarray"
    assert parent("a/b") == "a"
    assert parent("a") == ""
    assert parent("") == ""


@pytest.mark.parametrize(
    ("path", "group", "expected"),
    [
        ("a/b", "", "a/b"),
        ("a/b", "a", "b"),
        ("a", "a", None),  # a group is not below itself
        ("", "", None),  # nor is the root
        ("ab/c", "a", None),  # a name prefix is not a parent
        ("a", "b", None),
    ],
)
def test_relative_means_strictly_below(path: str, group: str, expected: str | None) -> None:
    assert relative(path, group) == expected


def test_ancestors_end_with_the_root() -> None:
    assert ancestors("a/b/c") == ["a/b", "a", ""]
    assert ancestors("a") == [""]
    assert ancestors("") == []


def test_document_keys() -> None:
    assert node_path("a/b/zarr.json") == "a/b"
    assert node_path(".zgroup") == ""
    assert document_name("a/.zattrs") == ".zattrs"
    assert is_metadata_key("x/y/.zarray")
    assert not is_metadata_key("x/y/c/0/0")
    assert not is_metadata_key("x/zarr.json.tmp")
    assert is_private_key(".zarrlake/lock")
    assert not is_private_key("data/.zarrlake")
    assert commit_key(3) == "zarr.json"
    assert commit_key(2) == ".zmetadata"
