"""The original specification's catalog examples, with only the import changed."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.catalog.files import write_csv, write_fits, write_hdf5
from zarrlake.compat.catalog import (
    CatalogClient,
    CatalogIngestManager,
    CatalogQueryInterface,
    MetadataExtractor,
)
from zarrlake.errors import InvalidInputError

T0 = datetime(2026, 3, 1)


def fill(client: CatalogClient) -> list[int]:
    ids = []
    for i in range(12):
        ids.append(
            client.insert_record(
                "observations",
                {
                    "mission_id": "COSMOS-7" if i < 8 else "HELIO",
                    "satellite_name": "Sat-A",
                    "instrument_type": "CAM",
                    "observation_timestamp": T0 + timedelta(days=i),
                    "target_object": "M31" if i % 2 else "M33",
                    "data_quality_score": 0.5 + i * 0.04,
                    "calibration_status": "COMPLETE" if i % 3 == 0 else "PENDING",
                    "file_path": f"/archive/obs{i}.fits",
                    "file_size": 100 * (i + 1),
                    "processing_status": "raw",
                    "version": "1.0",
                    "mission_specific": {"exposure": i},
                },
            )
        )
    return ids


def test_query_operators(catalog_url: str) -> None:
    client = CatalogClient(catalog_url)
    ids = fill(client)
    q = client.query
    assert len(q("observations", {"mission_id": "COSMOS-7"})) == 8
    assert len(q("observations", {"data_quality_score": {"$gt": 0.9}})) == 1
    assert len(q("observations", {"file_size": {"$gte": 300, "$lt": 600}})) == 3
    assert len(q("observations", {"target_object": {"$ne": "M31"}})) == 6
    assert len(q("observations", {"target_object": {"$in": ["M31", "NGC1"]}})) == 6
    assert (
        len(q("observations", {"$or": [{"file_size": {"$lte": 100}}, {"mission_id": "HELIO"}]}))
        == 5
    )
    assert (
        len(q("observations", {"$and": [{"mission_id": "HELIO"}, {"target_object": "M31"}]})) == 2
    )
    assert len(q("observations", {"mission_specific.exposure": {"$gte": 10}})) == 2
    records = q("observations", {"_id": {"$in": [str(ids[0]), ids[1]]}})
    assert [r["_id"] for r in records] == ids[:2] and records[0]["id"] == ids[0]
    start = T0 + timedelta(days=2)
    assert len(q("observations", {"observation_timestamp": {"$gte": start.isoformat()}})) == 10
    with pytest.raises(InvalidInputError, match="unknown operator '\\$regex'"):
        q("observations", {"target_object": {"$regex": "M.*"}})
    with pytest.raises(InvalidInputError, match="no table 'planets'"):
        q("planets", {})
    client.close()


def test_the_documents_query_interface(catalog_url: str) -> None:
    client = CatalogClient(catalog_url)
    ids = fill(client)
    catalog = CatalogQueryInterface(client)
    in_range = catalog.search_by_time_range(T0 + timedelta(days=1), T0 + timedelta(days=3))
    assert [r["file_path"] for r in in_range] == [f"/archive/obs{i}.fits" for i in (1, 2, 3)]
    assert len(catalog.search_by_time_range(T0, T0 + timedelta(days=30), "HELIO")) == 4
    assert len(catalog.search_by_quality(0.7)) == 7  # i = 5 .. 11
    assert len(catalog.search_by_quality(0.7, mission_id="COSMOS-7")) == 3
    assert len(catalog.search_by_target("M31", mission_id="COSMOS-7")) == 4

    (summary,) = catalog.get_mission_summary("COSMOS-7")
    assert summary["_id"] is None
    assert summary["total_observations"] == 8
    assert summary["total_data_size"] == sum(100 * (i + 1) for i in range(8))
    assert summary["avg_quality_score"] == pytest.approx(sum(0.5 + i * 0.04 for i in range(8)) / 8)
    assert summary["calibration_complete"] == 3  # i = 0, 3, 6
    assert catalog.get_mission_summary("NOBODY") == []

    client.insert_record(
        "dataset_relationships",
        {
            "parent_dataset_id": str(ids[0]),
            "child_dataset_id": str(ids[5]),
            "relationship_type": "raw_to_processed",
            "relationship_metadata": {"pipeline": "v2"},
        },
    )
    client.insert_record(
        "dataset_relationships",
        {
            "parent_dataset_id": ids[5],
            "child_dataset_id": ids[7],
            "relationship_type": "derived_from",
        },
    )
    related = catalog.find_related_datasets(ids[5])
    assert sorted(r["_id"] for r in related) == [ids[0], ids[7]]
    rels = client.query(
        "dataset_relationships",
        {"$or": [{"parent_dataset_id": ids[5]}, {"child_dataset_id": ids[5]}]},
    )
    assert len(rels) == 2 and rels[0]["relationship_metadata"] == {"pipeline": "v2"}
    client.close()


def test_aggregate_groups_by_field_in_sql(catalog_url: str) -> None:
    client = CatalogClient(catalog_url)
    fill(client)
    rows = client.aggregate(
        "observations",
        [
            {"$match": {"data_quality_score": {"$gte": 0.5}}},
            {
                "$group": {
                    "_id": "$mission_id",
                    "n": {"$sum": 1},
                    "bytes": {"$sum": "$file_size"},
                    "best": {"$max": "$data_quality_score"},
                }
            },
            {"$sort": {"n": -1}},
        ],
    )
    assert [(r["_id"], r["n"]) for r in rows] == [("COSMOS-7", 8), ("HELIO", 4)]
    assert rows[1]["bytes"] == sum(100 * (i + 1) for i in range(8, 12))
    compound = client.aggregate(
        "observations",
        [{"$group": {"_id": {"m": "$mission_id", "t": "$target_object"}, "n": {"$sum": 1}}}],
    )
    assert {(r["_id"]["m"], r["_id"]["t"], r["n"]) for r in compound} == {
        ("COSMOS-7", "M31", 4),
        ("COSMOS-7", "M33", 4),
        ("HELIO", "M31", 2),
        ("HELIO", "M33", 2),
    }
    with pytest.raises(InvalidInputError, match="unknown accumulator '\\$push'"):
        client.aggregate("observations", [{"$group": {"_id": None, "x": {"$push": "$id"}}}])
    with pytest.raises(InvalidInputError, match="needs a \\$group"):
        client.aggregate("observations", [{"$match": {}}])
    client.close()


def test_the_documents_extractor_and_ingest_manager(tmp_path: Path) -> None:
    client = CatalogClient(tmp_path / "catalog.db")
    data = tmp_path / "data"
    (data / "night1").mkdir(parents=True)
    write_fits(data / "a.fits")
    write_hdf5(data / "night1" / "b.hdf5")
    write_csv(data / "night1" / "list.csv", [{"mission_id": "S", "target_object": "M1"}])
    (data / "night1" / "broken.fits").write_bytes(b"nope" * 100)
    (data / "readme.txt").write_text("not catalogued")

    extractor = MetadataExtractor(client)
    assert {".fits", ".hdf5", ".csv", ".nc", ".zarr"} <= set(extractor.supported_formats)
    record = extractor.extract_from_file(data / "a.fits")
    assert record["mission_id"] == "COSMOS-7" and isinstance(record["modified_time"], datetime)
    assert extractor.extract_from_file(data / "night1" / "broken.fits") is None

    manager = CatalogIngestManager(client)
    assert manager.ingest_directory(data, recursive=False) == (1, 0)
    assert manager.ingest_directory(data) == (3, 1)
    assert manager.ingest_directory(data) == (3, 1)  # idempotent
    assert len(client.query("observations", {})) == 4  # a, b, one csv row, broken
    broken = client.query("observations", {"extraction_error": {"$exists": True}})
    assert broken[0]["file_path"].endswith("broken.fits")
    write_fits(data / "late.fits", OBJECT="M42")
    assert manager.ingest_single_file(data / "late.fits") is True
    assert client.query("observations", {"target_object": "M42"})[0]["file_path"].endswith(
        "late.fits"
    )
    client.close()
