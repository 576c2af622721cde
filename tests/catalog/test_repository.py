from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from zarrlake.catalog import Catalog, search
from zarrlake.catalog._engine import read_connection, write_transaction
from zarrlake.catalog._repository import index_names
from zarrlake.catalog._summary import rebuild_summaries, summary_row
from zarrlake.catalog.schema import mission_summaries, observations
from zarrlake.errors import CatalogSchemaError, InvalidInputError, NotFoundError, StorageError

T0 = datetime(2026, 1, 1)


def obs(i: int, **fields: object) -> dict:
    record = {
        "file_path": f"/data/f{i:04d}.fits",
        "mission_id": f"M{i % 3}",
        "target_object": "M31" if i % 2 else "NGC 1",
        "observation_timestamp": T0 + timedelta(hours=i),
        "data_quality_score": (i % 10) / 10,
        "file_size": 1000 + i,
        "calibration_status": "COMPLETE" if i % 4 == 0 else "PARTIAL",
    }
    record.update(fields)
    return record


def stored_summaries(catalog: Catalog) -> list[dict]:
    with read_connection(catalog.engine) as connection:
        rows = connection.execute(
            select(mission_summaries).order_by(mission_summaries.c.mission_id)
        )
        out = [summary_row(r._mapping) for r in rows if r.observation_count > 0]
    for row in out:  # float sums differ in the last bits with the order of additions
        row["mean_quality"] = None if row["mean_quality"] is None else round(row["mean_quality"], 9)
    return out


def recomputed_summaries(catalog: Catalog) -> list[dict]:
    with write_transaction(catalog.engine) as connection:
        rebuild_summaries(connection)
    return stored_summaries(catalog)


def test_upsert_inserts_then_updates_by_path(catalog: Catalog) -> None:
    result = catalog.upsert_observations([obs(i) for i in range(20)])
    assert (result.new, result.updated, len(set(result.ids))) == (20, 0, 20)
    first = catalog.get("/data/f0003.fits")
    again = catalog.upsert_observations(
        [obs(3, target_object="M33", processing_status="processed")]
    )
    assert (again.new, again.updated, again.ids) == (0, 1, [first["id"]])
    updated = catalog.get(first["id"])
    assert updated["target_object"] == "M33" and updated["first_seen"] == first["first_seen"]
    assert updated["mission_id"] == first["mission_id"]  # fields not given are kept
    events = catalog.status_history(first["id"])
    assert [(e["old_status"], e["new_status"]) for e in events] == [("raw", "processed")]


def test_summaries_stay_exact_through_every_kind_of_write(catalog: Catalog) -> None:
    catalog.upsert_observations([obs(i) for i in range(60)])
    catalog.upsert_observations([obs(5, mission_id="M9", file_size=5, data_quality_score=None)])
    catalog.upsert_observations([obs(7, observation_end=T0 + timedelta(days=30))])
    catalog.mark_missing(["/data/f0000.fits", "/data/f0059.fits"])
    catalog.rename("/data/f0010.fits", "/data/moved.fits")
    catalog.delete("/data/f0011.fits")
    catalog.mark_missing(["/data/f0059.fits"], missing=False)
    # Updates moving several rows of one mission (M0) out of its time range, both ways:
    # the range widens to the earliest start and the latest end among them.
    earlier = [obs(i, observation_timestamp=T0 - timedelta(days=i)) for i in (21, 27, 24)]
    later = [obs(i, observation_timestamp=T0 + timedelta(days=i)) for i in (33, 39, 36)]
    catalog.upsert_observations(earlier + later)
    incremental = stored_summaries(catalog)
    assert incremental == recomputed_summaries(catalog)
    m0 = catalog.summary("M0")[0]
    assert (m0["time_min"], m0["time_max"]) == (T0 - timedelta(days=27), T0 + timedelta(days=39))
    m9 = catalog.summary("M9")[0]
    assert (m9["observations"], m9["total_bytes"], m9["mean_quality"]) == (1, 5, None)
    m1 = catalog.summary("M1")[0]
    assert m1["time_max"] == T0 + timedelta(days=30)


def test_times_are_stored_as_utc(catalog: Catalog) -> None:
    aware = datetime(2026, 6, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    catalog.upsert_observations(
        [obs(1, observation_timestamp=aware), obs(2, observation_timestamp="2026-06-01T12:30:00Z")]
    )
    assert catalog.get("/data/f0001.fits")["observation_timestamp"] == datetime(2026, 6, 1, 12)
    assert catalog.get("/data/f0002.fits")["observation_timestamp"] == datetime(2026, 6, 1, 12, 30)
    assert datetime.now(UTC).replace(tzinfo=None) - catalog.get(1)["last_updated"] < timedelta(
        minutes=5
    )


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"file_path": ""}, "needs a file_path"),
        ({"file_path": "/x", "data_quality_score": 1.5}, "outside 0..1"),
        ({"file_path": "/x", "processing_status": "done"}, "processing_status 'done'"),
        ({"file_path": "/x", "colour": "red"}, "unknown observation field"),
        ({"file_path": "/x", "observation_timestamp": "yesterday"}, "not an ISO 8601 time"),
        ({"file_path": "/x", "file_size": "big"}, "not an integer"),
        ({"file_path": "/x", "target_object": "M\x0031"}, "target_object of /x .*NUL"),
        ({"file_path": "/x", "mission_specific": {"k": ["a\x00"]}}, "mission_specific of /x.*NUL"),
    ],
)
def test_invalid_records_are_refused_and_nothing_is_written(
    catalog: Catalog, bad: dict, message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        catalog.upsert_observations([obs(1), bad])
    with pytest.raises(NotFoundError):
        catalog.get("/data/f0001.fits")
    assert catalog.summary() == []


def test_isolated_upserts_store_every_record_but_the_bad_ones(catalog: Catalog) -> None:
    records = [
        obs(1),
        obs(2, target_object="M\x0031"),  # refused before the database
        obs(3, file_size=2**63),  # refused by the database (beyond 64-bit integers)
        obs(4, instrument_type="X" * 129),  # longer than the column on both databases
        obs(5),
    ]
    result = catalog.upsert_observations(records, isolate=True)
    assert (result.new, len(result.ids)) == (2, 2)  # the stored records' ids
    assert [(f.index, f.file_path) for f in result.failures] == [
        (1, "/data/f0002.fits"),
        (2, "/data/f0003.fits"),
        (3, "/data/f0004.fits"),
    ]
    assert "NUL" in result.failures[0].error and "refused" in result.failures[1].error
    assert "instrument_type" in result.failures[2].error and "128" in result.failures[2].error
    assert [s["observations"] for s in catalog.summary()] == [1, 1]
    with pytest.raises(InvalidInputError, match="refused the record of /data/f0003.fits"):
        catalog.upsert_observations(records[2:3])  # without isolate: nothing is written
    with pytest.raises(NotFoundError):
        catalog.get("/data/f0003.fits")


def test_status_changes_are_audited(catalog: Catalog) -> None:
    (record_id,) = catalog.upsert_observations([obs(1)]).ids
    catalog.set_status(record_id, "processing", reason="pipeline A", actor="ci")
    catalog.set_status(str(record_id), "processed")
    history = catalog.status_history("/data/f0001.fits")
    assert [(e["old_status"], e["new_status"], e["actor"]) for e in history] == [
        ("raw", "processing", "ci"),
        ("processing", "processed", None),
    ]
    with pytest.raises(InvalidInputError, match="status 'finished'"):
        catalog.set_status(record_id, "finished")
    with pytest.raises(NotFoundError, match="no dataset 999"):
        catalog.set_status(999, "processed")


def test_links_refuse_unknown_and_self(catalog: Catalog) -> None:
    a, b = catalog.upsert_observations([obs(1), obs(2)]).ids
    first = catalog.link(a, b, "derived_from", {"step": 1})
    assert (
        catalog.link("/data/f0001.fits", "/data/f0002.fits", "derived_from", {"step": 2}) == first
    )
    with pytest.raises(InvalidInputError, match="itself"):
        catalog.link(a, a)
    with pytest.raises(NotFoundError):
        catalog.link(a, 12345)


def test_an_unreachable_database_is_one_clear_error() -> None:
    url = "postgresql+psycopg://nobody:secret@127.0.0.1:1/none"
    with pytest.raises(
        StorageError, match=r"cannot connect to catalog .*127.0.0.1:1/none: "
    ) as info:
        Catalog(url)
    assert "secret" not in str(info.value) and info.value.__cause__ is None


def test_schema_versions_are_checked(catalog_url: str) -> None:
    with pytest.raises(CatalogSchemaError, match="catalog init"):
        Catalog(catalog_url, create=False)
    with Catalog(catalog_url) as db, write_transaction(db.engine) as connection:
        connection.exec_driver_sql(
            "UPDATE catalog_info SET value = '0' WHERE key = 'schema_version'"
        )
    with pytest.raises(CatalogSchemaError, match="catalog upgrade"):
        Catalog(catalog_url)
    with Catalog(catalog_url, check_schema=False) as db:
        assert "rebuilt mission summaries" in db.upgrade()
    Catalog(catalog_url).close()


def test_promoted_keys_get_an_index_and_are_searchable(catalog_url: str) -> None:
    from zarrlake.catalog import search

    with Catalog(catalog_url, promoted_keys={"EXPTIME": "number", "FILTER": "string"}) as db:
        db.upsert_observations(
            [
                obs(i, mission_specific={"EXPTIME": float(i), "FILTER": "R" if i % 2 else "V"})
                for i in range(10)
            ]
        )
        page = search(
            db, where={"mission_specific.EXPTIME": {"$gte": 7}, "mission_specific.FILTER": "R"}
        )
        assert sorted(r["file_path"] for r in page.items) == [
            "/data/f0007.fits",
            "/data/f0009.fits",
        ]
        with read_connection(db.engine) as connection:
            names = index_names(connection, "observations")
            if db.dialect == "sqlite":  # the search uses the expression index
                plan = connection.exec_driver_sql(
                    "EXPLAIN QUERY PLAN SELECT id FROM observations WHERE "
                    "JSON_EXTRACT(mission_specific, '$.\"FILTER\"') = 'R'"
                ).all()
                assert "ix_ms_FILTER_string" in str(plan)
    assert {"ix_ms_EXPTIME_number", "ix_ms_FILTER_string"} <= names
    # The promoted indexes belong to that catalog, not to the shared table definition.
    assert not any(str(ix.name).startswith("ix_ms_") for ix in observations.indexes)
    Catalog(catalog_url, promoted_keys={"EXPTIME": "number"}).close()  # reopening is fine


def test_bulk_loading_rebuilds_indexes_and_summaries_once(catalog_url: str, tmp_path) -> None:
    records = [obs(i, observation_end=T0 + timedelta(hours=i, minutes=i)) for i in range(300)]
    with Catalog(catalog_url) as db:
        expected_indexes = index_names_of(db)
        with db.bulk_loading():
            db.upsert_observations(records[:200])
            db.upsert_observations([*records[200:], obs(7, mission_id="M9", file_size=1)])
            assert db.summary() == []  # summaries wait for the end of the block
            assert index_names_of(db) < expected_indexes
            assert len(search(db, mission_id="M9").items) == 1  # slower, still correct
        assert index_names_of(db) == expected_indexes
        bulk = stored_summaries(db)
        assert bulk == recomputed_summaries(db)
    with Catalog(f"sqlite:///{tmp_path / 'plain.db'}") as plain:
        plain.upsert_observations(records[:200])
        plain.upsert_observations([*records[200:], obs(7, mission_id="M9", file_size=1)])
        assert stored_summaries(plain) == bulk


def test_bulk_loading_restores_indexes_when_the_load_fails(catalog: Catalog) -> None:
    expected = index_names_of(catalog)
    with pytest.raises(InvalidInputError), catalog.bulk_loading():
        catalog.upsert_observations([obs(i) for i in range(10)])
        catalog.upsert_observations([obs(11, data_quality_score=7)])
    assert index_names_of(catalog) == expected
    assert [s["observations"] for s in catalog.summary()] == [4, 3, 3]


def index_names_of(db: Catalog) -> set[str]:
    with read_connection(db.engine) as connection:
        return set(index_names(connection, "observations"))


@pytest.mark.parametrize("bulk", [False, True], ids=["upsert", "bulk"])
def test_json_values_are_stored_or_refused_by_name(catalog: Catalog, bulk: bool) -> None:
    import numpy as np

    def load(records: list[dict]) -> None:
        if bulk:
            with catalog.bulk_loading():
                catalog.upsert_observations(records)
        else:
            catalog.upsert_observations(records)

    odd = {"EXPTIME": np.float32(2.5), "NAXIS": np.int64(2), "BAD": float("nan"), 3: "three"}
    load([obs(1, mission_specific=odd)])
    assert catalog.get("/data/f0001.fits")["mission_specific"] == {
        "EXPTIME": 2.5,
        "NAXIS": 2,
        "BAD": None,
        "3": "three",
    }
    with pytest.raises(InvalidInputError, match=r"mission_specific of /data/f0002.fits.*set"):
        load([obs(2), obs(3, file_path="/data/f0002.fits", mission_specific={"x": {1, 2}})])
    with pytest.raises(NotFoundError):
        catalog.get("/data/f0002.fits")
