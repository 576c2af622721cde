from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import insert

from tests.catalog.test_repository import T0, obs
from zarrlake.catalog import Catalog, SearchQuery, count, related, search, write_transaction
from zarrlake.catalog.schema import dataset_relationships
from zarrlake.errors import InvalidInputError, NotFoundError


def all_pages(catalog: Catalog, **criteria: object) -> list[dict]:
    items: list[dict] = []
    cursor = None
    for _ in range(1000):
        page = search(catalog, SearchQuery(cursor=cursor, **criteria))  # type: ignore[arg-type]
        items.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return items
    raise AssertionError("pagination did not end")


def test_criteria_combine(catalog: Catalog) -> None:
    catalog.upsert_observations(
        [
            obs(
                i,
                instrument_type="CAM" if i < 30 else "SPEC",
                satellite_name="Sat-A",
                format="fits",
            )
            for i in range(60)
        ]
    )
    hits = all_pages(
        catalog,
        mission_id="M1",
        target_object="m31",
        min_quality=0.5,
        instrument_type="CAM",
        limit=3,
    )
    expected = [i for i in range(30) if i % 3 == 1 and i % 2 == 1 and (i % 10) / 10 >= 0.5]
    assert [h["file_path"] for h in hits] == [f"/data/f{i:04d}.fits" for i in expected]
    assert count(
        catalog, mission_id="M1", target_object="M31", min_quality=0.5, instrument_type="CAM"
    ) == len(expected)
    assert count(catalog, calibration_status="COMPLETE") == 15
    assert count(catalog, text="f000") == 10
    assert count(catalog, format="fits", satellite_name="Sat-A", processing_status="raw") == 60


def test_time_ranges_find_overlapping_observations(catalog: Catalog) -> None:
    catalog.upsert_observations([obs(i) for i in range(48)])  # one per hour from T0
    long_one = obs(
        100,
        observation_timestamp=T0 - timedelta(days=3),
        observation_end=T0 + timedelta(hours=30),
        mission_id="M1",
    )
    catalog.upsert_observations([long_one])
    window = dict(start=T0 + timedelta(hours=24), end=T0 + timedelta(hours=26))
    hits = all_pages(catalog, **window)
    assert sorted(h["file_path"] for h in hits) == sorted(
        [f"/data/f{i:04d}.fits" for i in (24, 25, 26)] + ["/data/f0100.fits"]
    )
    assert count(catalog, mission_id="M1", **window) == 2  # hour 25 and the long one
    with pytest.raises(InvalidInputError, match="starts .* after it ends"):
        search(catalog, start=T0 + timedelta(days=2), end=T0)


@pytest.mark.parametrize(
    "sort",
    [
        "observation_timestamp",
        "-observation_timestamp",
        "data_quality_score",
        "-file_size",
        "target_object",
        "id",
        "-id",
    ],
)
def test_keyset_pages_cover_every_row_once_in_order(catalog: Catalog, sort: str) -> None:
    records = [obs(i) for i in range(37)]
    for i in (3, 17, 30):  # rows without a sort value come last
        records[i]["observation_timestamp"] = None
        records[i]["data_quality_score"] = None
        records[i]["target_object"] = None
    catalog.upsert_observations(records)
    pages = all_pages(catalog, sort=sort, limit=5)
    assert len(pages) == 37 and len({p["id"] for p in pages}) == 37
    name = sort.lstrip("-")
    values = [p[name] for p in pages if p[name] is not None]
    assert values == sorted(values, reverse=sort.startswith("-"))
    if name in ("observation_timestamp", "data_quality_score", "target_object"):
        assert all(p[name] is None for p in pages[-3:])


def test_new_rows_do_not_shift_pages(catalog: Catalog) -> None:
    catalog.upsert_observations([obs(i) for i in range(10)])
    first = search(catalog, limit=4)
    catalog.upsert_observations([obs(50, observation_timestamp=T0 - timedelta(days=1))])
    second = search(catalog, limit=4, cursor=first.next_cursor)
    assert [r["file_path"] for r in second.items] == [f"/data/f{i:04d}.fits" for i in range(4, 8)]


def test_bad_search_input(catalog: Catalog) -> None:
    with pytest.raises(InvalidInputError, match="cannot sort by 'colour'"):
        search(catalog, sort="colour")
    with pytest.raises(InvalidInputError, match="cursor"):
        search(catalog, cursor="not-a-cursor")
    with pytest.raises(InvalidInputError, match="no field 'colour'"):
        search(catalog, where={"colour": "red"})
    assert len(search(catalog, limit=10**6).items) == 0  # clamped, not an error


def test_missing_records_are_hidden_unless_asked(catalog: Catalog) -> None:
    catalog.upsert_observations([obs(i) for i in range(5)])
    catalog.mark_missing(["/data/f0001.fits"])
    assert count(catalog) == 4 and count(catalog, include_missing=True) == 5


def test_related_walks_lineage_both_ways_to_a_depth(catalog: Catalog) -> None:
    ids = catalog.upsert_observations([obs(i) for i in range(6)]).ids
    raw, calibrated, mosaic, catalogue_, flat, other = ids
    catalog.link(raw, calibrated, "raw_to_processed")
    catalog.link(flat, calibrated, "calibration")
    catalog.link(calibrated, mosaic, "derived_from")
    catalog.link(mosaic, catalogue_, "derived_from")
    near = related(catalog, calibrated)
    assert {(e["direction"], e["dataset"]["id"], e["relationship_type"]) for e in near} == {
        ("parent", raw, "raw_to_processed"),
        ("parent", flat, "calibration"),
        ("child", mosaic, "derived_from"),
    }
    deep = related(catalog, raw, depth=3)
    assert [(e["direction"], e["depth"], e["dataset"]["id"], e["via"]) for e in deep] == [
        ("child", 1, calibrated, raw),
        ("child", 2, mosaic, calibrated),
        ("child", 3, catalogue_, mosaic),
    ]
    upward = related(catalog, catalogue_, depth=3)
    assert {(e["dataset"]["id"], e["via"], e["relationship_type"]) for e in upward} == {
        (mosaic, catalogue_, "derived_from"),
        (calibrated, mosaic, "derived_from"),
        (raw, calibrated, "raw_to_processed"),
        (flat, calibrated, "calibration"),
    }
    assert related(catalog, other) == []
    with pytest.raises(InvalidInputError, match="cycle"):
        catalog.link(catalogue_, raw, "supersedes")
    with write_transaction(catalog.engine) as connection:  # a cycle an older zarrlake allowed
        connection.execute(
            insert(dataset_relationships).values(
                parent_dataset_id=catalogue_,
                child_dataset_id=raw,
                relationship_type="supersedes",
                created_at=T0,
            )
        )
    assert len(related(catalog, raw, depth=10)) >= 3  # must not loop
    with pytest.raises(NotFoundError):
        related(catalog, 999)
    with pytest.raises(InvalidInputError, match="depth 0"):
        related(catalog, raw, depth=0)


def test_lineage_refuses_cycles_and_keeps_link_metadata(catalog: Catalog) -> None:
    raw, mosaic, final, other = catalog.upsert_observations([obs(i) for i in range(4)]).ids
    first = catalog.link(raw, mosaic, "derived_from", {"step": "mosaic", "tool": "swarp"})
    catalog.link(mosaic, final, "derived_from")
    for parent, child, kind in (
        (final, raw, "derived_from"),
        (final, raw, "calibration"),  # a cycle through links of another type too
        (mosaic, raw, "supersedes"),
    ):
        with pytest.raises(InvalidInputError, match=rf"cycle.*{child}.*{parent}"):
            catalog.link(parent, child, kind)
    with pytest.raises(InvalidInputError, match="cycle"):
        catalog.link_many([other, final], raw)  # nothing is written
    assert related(catalog, other) == []
    assert catalog.link(raw, mosaic, "derived_from") == first  # again, without metadata
    (parent,) = [e for e in related(catalog, mosaic) if e["direction"] == "parent"]
    assert parent["relationship_metadata"] == {"step": "mosaic", "tool": "swarp"}
    assert (parent["relationship_id"], parent["via"], parent["dataset"]["id"]) == (
        first,
        mosaic,
        raw,
    )
    catalog.link(raw, mosaic, "derived_from", {"step": "mosaic v2"})  # given: replaced
    deep = related(catalog, final, depth=2)
    assert [(e["dataset"]["id"], e["via"], e["relationship_metadata"]) for e in deep] == [
        (mosaic, final, {}),
        (raw, mosaic, {"step": "mosaic v2"}),
    ]


def test_summary_per_mission(catalog: Catalog) -> None:
    catalog.upsert_observations([obs(i) for i in range(12)])
    rows = {r["mission_id"]: r for r in catalog.summary()}
    m0 = rows["M0"]
    assert m0["observations"] == 4 and m0["total_bytes"] == sum(1000 + i for i in (0, 3, 6, 9))
    assert m0["calibrated"] == 1  # of i = 0, 3, 6, 9 only 0 is a multiple of 4
    assert m0["time_min"] == T0 and m0["time_max"] == datetime(2026, 1, 1, 9)


@pytest.mark.parametrize("bulk", [False, True], ids=["incremental", "bulk"])
def test_time_overlap_finds_a_long_span_at_its_exact_end(catalog: Catalog, bulk: bool) -> None:
    """The longest span bounds the OVERLAP query; it must not fall short, not even by
    the microseconds of a span the database computed in floating point, and rows
    already marked missing count when a search includes them."""
    end = T0 + timedelta(days=3, seconds=7)
    records = [
        obs(1, observation_timestamp=T0, observation_end=T0 + timedelta(seconds=60)),
        obs(2, observation_timestamp=T0, observation_end=end, missing=True),
        *(obs(i) for i in range(3, 40)),
    ]
    if bulk:
        with catalog.bulk_loading():
            catalog.upsert_observations(records)
    else:
        catalog.upsert_observations(records)
    at_end = T0 + timedelta(seconds=60)
    window = [r["file_path"] for r in all_pages(catalog, start=at_end, end=at_end, mission_id="M1")]
    assert "/data/f0001.fits" in window
    late = T0 + timedelta(days=3)
    hidden = [r["file_path"] for r in all_pages(catalog, start=late, end=late)]
    shown = [r["file_path"] for r in all_pages(catalog, start=late, end=late, include_missing=True)]
    assert "/data/f0002.fits" not in hidden and "/data/f0002.fits" in shown


UNICODE_TARGETS = ["Ωmega Cen", "Andromède", "Straße 1", "M31"]


def test_unicode_targets_are_found_exact_and_in_any_case(catalog: Catalog) -> None:
    catalog.upsert_observations(
        [obs(i, target_object=name) for i, name in enumerate(UNICODE_TARGETS)]
    )
    for asked, expected in (
        ("Ωmega Cen", "Ωmega Cen"),
        ("ωMEGA cen", "Ωmega Cen"),
        ("ΩMEGA CEN", "Ωmega Cen"),
        ("ANDROMÈDE", "Andromède"),
        ("andromède", "Andromède"),
        ("STRASSE 1", "Straße 1"),
        ("m31", "M31"),
    ):
        hits = search(catalog, target_object=asked).items
        assert [h["target_object"] for h in hits] == [expected], asked
    for text, expected in (("ΩMEGA", "Ωmega Cen"), ("MÈDE", "Andromède"), ("mega c", "Ωmega Cen")):
        assert [h["target_object"] for h in search(catalog, text=text).items] == [expected], text
    assert count(catalog, target_object="Andromede") == 0  # accents are not case


def test_upgrade_folds_the_targets_of_an_older_catalog(catalog_url: str) -> None:
    from zarrlake.catalog import SCHEMA_VERSION, write_transaction
    from zarrlake.catalog._text import drop_text_index
    from zarrlake.errors import CatalogSchemaError

    with Catalog(catalog_url) as db:
        db.upsert_observations([obs(i, target_object=n) for i, n in enumerate(UNICODE_TARGETS)])
        with write_transaction(db.engine) as connection:  # as version 1 left it
            drop_text_index(connection)  # version 7's, on target_key
            connection.exec_driver_sql("DROP INDEX IF EXISTS ix_obs_target_key_time")
            connection.exec_driver_sql("DROP INDEX IF EXISTS ix_obs_mission_ci_time")
            connection.exec_driver_sql(
                "CREATE INDEX ix_obs_mission_time ON observations "
                "(mission_id, observation_timestamp, id)"
            )
            connection.exec_driver_sql("ALTER TABLE observations DROP COLUMN target_key")
            connection.exec_driver_sql(
                "CREATE INDEX ix_obs_target_time ON observations "
                "(lower(target_object), observation_timestamp, id)"
            )
            connection.exec_driver_sql(
                "UPDATE catalog_info SET value = '1' WHERE key = 'schema_version'"
            )
    with pytest.raises(CatalogSchemaError, match="catalog upgrade"):
        Catalog(catalog_url)
    with Catalog(catalog_url, check_schema=False) as db:
        steps = db.upgrade()
        assert any("target_key" in step for step in steps), steps
        assert "dropped index ix_obs_mission_time" in steps
        assert "created index ix_obs_mission_ci_time" in steps
        text_index = "obs_text" if db.dialect == "sqlite" else "ix_obs_target_trgm"
        assert any(text_index in step for step in steps), steps
        assert db.schema_version() == SCHEMA_VERSION
    with Catalog(catalog_url) as db:
        assert [h["target_object"] for h in search(db, target_object="ωMEGA CEN").items] == [
            "Ωmega Cen"
        ]
        assert count(db, target_object="strasse 1") == 1
        assert [h["target_object"] for h in search(db, text="MEGA c").items] == ["Ωmega Cen"]


def test_search_input_gets_errors_not_silent_empty_answers(catalog: Catalog) -> None:
    catalog.upsert_observations(
        [
            obs(
                i,
                mission_id="COSMOS-7" if i % 2 else "cosmos-7",
                instrument_type="CAM",
                satellite_name="Sat-A",
                format="fits",
                target_object=("50%_done", "50a-done", "M31", "NGC 1")[i],
            )
            for i in range(4)
        ]
    )
    assert count(catalog, processing_status="RAW") == 4
    assert count(catalog, format="FITS") == 4
    assert count(catalog, calibration_status="complete") == 1  # i % 4 == 0 is COMPLETE
    assert count(catalog, instrument_type="cam") == count(catalog, satellite_name="SAT-A") == 4
    for criteria, message in (
        ({"processing_status": "bogus"}, "processing_status 'bogus' is not one of raw, "),
        ({"format": "hdf9"}, "no observation has format 'hdf9'.*fits"),
        ({"calibration_status": "finished"}, "calibration_status 'finished'.*COMPLETE, PARTIAL"),
        ({"limit": 0}, "limit 0 must be at least 1"),
        ({"limit": -5}, "limit -5 must be at least 1"),
        ({"min_quality": 1.5}, "min_quality 1.5 is outside 0..1"),
        ({"min_quality": -0.1}, "min_quality -0.1 is outside 0..1"),
    ):
        with pytest.raises(InvalidInputError, match=message):
            search(catalog, **criteria)  # type: ignore[arg-type]
        if "limit" not in criteria:
            with pytest.raises(InvalidInputError, match=message):
                count(catalog, **criteria)  # type: ignore[arg-type]
    # a known value that matches nothing with the other criteria is an empty answer
    assert count(catalog, calibration_status="COMPLETE", instrument_type="SPEC") == 0
    # % and _ are literal in free text
    assert [h["target_object"] for h in search(catalog, text="50%").items] == ["50%_done"]
    assert [h["target_object"] for h in search(catalog, text="_done").items] == ["50%_done"]
    assert count(catalog, text="%") == 1 and count(catalog, text="_") == 1


def test_mission_ids_keep_their_spelling_but_are_one_mission(catalog: Catalog) -> None:
    catalog.upsert_observations(
        [obs(i, mission_id=("COSMOS-7", "cosmos-7", "Cosmos-7")[i % 3]) for i in range(9)]
    )
    catalog.upsert_observations([obs(20, mission_id="HELIO")])
    assert {catalog.get(f"/data/f{i:04d}.fits")["mission_id"] for i in range(3)} == {
        "COSMOS-7",
        "cosmos-7",
        "Cosmos-7",
    }
    for spelling in ("COSMOS-7", "cosmos-7", "cOsMoS-7"):
        assert count(catalog, mission_id=spelling) == 9
        assert (
            len(
                all_pages(
                    catalog, mission_id=spelling, start=T0, end=T0 + timedelta(hours=4), limit=2
                )
            )
            == 5
        )
    summary = catalog.summary()
    assert [(row["mission_id"].lower(), row["observations"]) for row in summary] == [
        ("cosmos-7", 9),
        ("helio", 1),
    ]
    (one,) = catalog.summary("COSMOS-7")
    assert one["observations"] == 9 and one["total_bytes"] == sum(1000 + i for i in range(9))
    assert one["time_min"] == T0 and one["time_max"] == T0 + timedelta(hours=8)
