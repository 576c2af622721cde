"""Attribute filters (``KEY=VALUE``) as filter documents."""

from __future__ import annotations

import pytest

from zarrlake.catalog._filters import attribute_filter
from zarrlake.errors import InvalidInputError


@pytest.mark.parametrize(
    ("expression", "condition"),
    [
        ("EXPTIME=30", {"$eq": 30}),
        ("EXPTIME = 30.5", {"$eq": 30.5}),
        ('EXPTIME="30"', {"$eq": "30"}),
        ("OBJECT=M 31", {"$eq": "M 31"}),
        ("OBJECT=", {"$eq": ""}),
        ("FLAT=true", {"$eq": True}),
        ("BIG=1e999", {"$eq": "1e999"}),  # not a finite number: text
        ("N=NaN", {"$eq": "NaN"}),
        ("HIERARCH.ESO:X-1>=2", {"$gte": 2}),
        ("A!=b", {"$ne": "b"}),
        ("A<=1", {"$lte": 1}),
        ("A<1", {"$lt": 1}),
        ("A>1", {"$gt": 1}),
        (" A ", {"$exists": True}),
        ("A=b=c", {"$eq": "b=c"}),
        ('A="=x"', {"$eq": "=x"}),
    ],
)
def test_one_expression(expression: str, condition: dict) -> None:
    key = expression.strip().split("=")[0].split("!")[0].split("<")[0].split(">")[0].strip()
    assert attribute_filter([expression]) == {f"mission_specific.{key}": condition}


def test_several_must_all_hold_and_none_is_no_filter() -> None:
    assert attribute_filter(["A", "B=1"]) == {
        "$and": [{"mission_specific.A": {"$exists": True}}, {"mission_specific.B": {"$eq": 1}}]
    }
    assert attribute_filter([]) is None


@pytest.mark.parametrize(
    "bad", ["", "=1", "A B=1", "A'=1", "A;B=1", "x" * 129 + "=1", "A=>1", "A==1", "A<=<1"]
)
def test_malformed_expressions_are_refused_by_name(bad: str) -> None:
    with pytest.raises(InvalidInputError, match="is not KEY=VALUE"):
        attribute_filter([bad])
