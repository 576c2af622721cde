"""Free text search through its index answers exactly what the scan does.

On SQLite the FTS5 trigram table narrows the rows and the ``LIKE`` decides; it is kept
by triggers, so after random writes through every path (upserts of new and changed
targets and paths, bulk loads, renames, deletes, missing flags, statuses) the rows the
index finds must be the rows the scan finds, for text of every length, case, script
and with ``LIKE``'s special characters. On PostgreSQL the ``pg_trgm`` indexes serve the
``LIKE`` itself. Both are also checked against the protocol in Python, and a catalog
whose database has no trigram index scans and answers the same.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from zarrlake.catalog import Catalog, _text, count, search
from zarrlake.catalog._engine import read_connection, write_transaction
from zarrlake.catalog._migrate import index_names
from zarrlake.catalog._search import SearchQuery
from zarrlake.catalog._stats import coverage, status_quality, totals
from zarrlake.catalog._text import drop_text_index, text_condition, text_indexed
from zarrlake.catalog.schema import PROCESSING_STATUSES, fold, observations

T0 = datetime(2024, 1, 1)
TARGETS = [
    None,
    "NGC 42",
    "ngc 4200",
    "M31",
    "Straße 9",
    "ΩMEGA Cen",
    "ωmega cen",
    "50%_done",
    "back\\slash",
    'say "hi"',
    "Andromède",
    "KELVIN K",  # the Kelvin sign folds to k
    "x",
    "",
]
WORDS = ["NGC", "ngc", "Omega", "a_b", "100%", "q\\r", "Ü", "data", "x"]
TEXTS = [
    "ngc 42",
    "NGC",
    "42",
    "4",
    "strasse",
    "STRASSE 9",
    "ß",
    "ωmega",
    "ΩMEGA CEN",
    "%",
    "_",
    "50%_",
    "%_d",
    "\\",
    "k\\s",
    '"hi"',
    'y "',
    "andromède",
    "ANDROMÈDE",
    "kelvin k",
    "/arch",
    "FITS",
    ".fi",
    "a_b",
    "ü",
    "Ü/",
    "data/ngc",
    "zzz-none",
    "x",
    "xx",
]


def record(rng: random.Random, i: int) -> dict[str, Any]:
    words = "/".join(rng.choice(WORDS) for _ in range(rng.randrange(1, 4)))
    return {
        "file_path": f"/arch/{words}/obs{i:04d}.{rng.choice(['fits', 'FITS', 'nc'])}",
        "target_object": rng.choice(TARGETS),
        "mission_id": rng.choice(["GAIA", "tess"]),
        "observation_timestamp": T0 + timedelta(hours=rng.randrange(0, 24 * 90)),
        "data_quality_score": rng.choice([None, 0.2, 0.5, 0.9]),
        "processing_status": rng.choice(PROCESSING_STATUSES),
        "missing": rng.random() < 0.1,
    }


def found(catalog: Catalog, text: str, *, use_index: bool) -> list[int]:
    """The ids the text condition selects, through the index or by the scan."""
    with read_connection(catalog.engine) as connection:
        query = select(observations.c.id).where(
            text_condition(connection, text, use_index=use_index)
        )
        return sorted(connection.execute(query).scalars())


def expected(catalog: Catalog, text: str) -> list[int]:
    """The protocol in Python: the folded text in the target key, or the lower-cased
    text in the path as the database lower-cases it (SQLite: ASCII only)."""
    obs = observations.c
    with read_connection(catalog.engine) as connection:
        rows = connection.execute(select(obs.id, obs.target_key, func.lower(obs.file_path))).all()
    folded, lowered = fold(text) or "", text.lower()
    return sorted(i for i, key, path in rows if folded in (key or "") or lowered in path)


def assert_text_matches(catalog: Catalog) -> None:
    for text in TEXTS:
        want = expected(catalog, text)
        assert found(catalog, text, use_index=True) == want, text
        assert found(catalog, text, use_index=False) == want, text


def test_the_index_finds_what_the_scan_does_under_every_write_path(catalog: Catalog) -> None:
    with read_connection(catalog.engine) as connection:
        if catalog.dialect == "sqlite":
            assert text_indexed(connection)
        else:
            assert set(_text.PG_INDEXES) <= index_names(connection, "observations")
    rng = random.Random(42)
    paths: list[str] = []
    done = set()
    actions = ["upsert", "rename", "bulk", "upsert", "missing", "delete", "status", "rename"]
    for _step, action in enumerate(actions * 2):
        done.add(action)
        if action in ("upsert", "bulk"):
            # Known paths get new targets; new paths new rows.
            fresh = [record(rng, rng.randrange(0, 300)) for _ in range(rng.randrange(1, 50))]
            fresh += [
                {**record(rng, 0), "file_path": p} for p in rng.sample(paths, len(paths) // 5)
            ]
            if action == "bulk":
                with catalog.bulk_loading():
                    catalog.upsert_observations(fresh)
            else:
                catalog.upsert_observations(fresh)
            paths = sorted({*paths, *(r["file_path"] for r in fresh)})
        elif action == "missing":
            catalog.mark_missing(rng.sample(paths, min(len(paths), 8)))
        elif action == "rename":
            old = rng.choice(paths)
            new = rng.choice([*paths, f"/arch/renamed/{rng.choice(WORDS)}{_step}.fits"])
            if old != new:
                catalog.rename(old, new)
                paths = sorted({*(p for p in paths if p != old), new})
        elif action == "delete":
            gone = rng.choice(paths)
            catalog.delete(gone)
            paths.remove(gone)
        else:
            for path in rng.sample(paths, min(len(paths), 5)):
                catalog.set_status(path, rng.choice(PROCESSING_STATUSES), reason="test")
        assert_text_matches(catalog)
    assert done == {"upsert", "bulk", "missing", "rename", "delete", "status"}
    if catalog.dialect == "sqlite":
        with read_connection(catalog.engine) as connection:  # FTS5's own consistency check
            connection.exec_driver_sql("INSERT INTO obs_text(obs_text) VALUES ('integrity-check')")


def test_text_combines_with_the_other_criteria(catalog: Catalog) -> None:
    rng = random.Random(5)
    catalog.upsert_observations([record(rng, i) for i in range(400)])
    records = {r["id"]: r for r in _every(catalog)}
    start, end = T0 + timedelta(days=20), T0 + timedelta(days=50, hours=5)
    for text in ("ngc", "NGC 42", "ωmega", "50%_", "a_b", "x"):
        hits = set(expected(catalog, text))
        for criteria in (
            {},
            {"mission_id": "gaia"},
            {"start": start, "end": end},
            {"mission_id": "TESS", "start": start, "min_quality": 0.5},
            {"include_missing": True, "processing_status": "raw"},
        ):
            q = SearchQuery(text=text, limit=1000, **criteria)
            want = sorted(
                i
                for i in hits
                if _meets(records[i], criteria)
                and (criteria.get("include_missing") or not records[i]["missing"])
            )
            got = sorted(r["id"] for r in search(catalog, q).items)
            assert got == want, (text, criteria)
            assert count(catalog, q) == len(want)
            assert totals(catalog, q)["count"] == len(want)
            assert status_quality(catalog, q) == status_quality(catalog, q, summaries=False)
            per_month = coverage(catalog, q, "month")
            assert sum(row["observations"] for row in per_month) == len(want)


def _every(catalog: Catalog) -> list[dict[str, Any]]:
    return search(catalog, SearchQuery(include_missing=True, limit=1000)).items


def _meets(row: dict[str, Any], criteria: dict[str, Any]) -> bool:
    if "mission_id" in criteria and row["mission_id"].lower() != criteria["mission_id"].lower():
        return False
    if "start" in criteria and row["observation_timestamp"] < criteria["start"]:
        return False
    if "end" in criteria and row["observation_timestamp"] > criteria["end"]:
        return False
    bar = criteria.get("min_quality")
    if bar is not None and (row["data_quality_score"] is None or row["data_quality_score"] < bar):
        return False
    status = criteria.get("processing_status")
    return status is None or row["processing_status"] == status


def test_searches_meanwhile_a_bulk_load_scan(catalog: Catalog) -> None:
    rng = random.Random(9)
    catalog.upsert_observations([record(rng, i) for i in range(50)])
    with catalog.bulk_loading():
        with read_connection(catalog.engine) as connection:
            assert not text_indexed(connection)
        catalog.upsert_observations([record(rng, i) for i in range(50, 120)])
        assert_text_matches(catalog)
    with read_connection(catalog.engine) as connection:
        assert text_indexed(connection) == (catalog.dialect == "sqlite")
    assert_text_matches(catalog)


def test_without_a_trigram_index_text_is_scanned(
    catalog_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_text, "TOKENIZER", "no_such_tokenizer")
    monkeypatch.setattr(_text, "EXTENSION", "no_such_extension")
    rng = random.Random(3)
    with Catalog(catalog_url) as db:  # created all the same
        db.upsert_observations([record(rng, i) for i in range(150)])
        with read_connection(db.engine) as connection:
            assert not text_indexed(connection)
            assert not set(_text.PG_INDEXES) & index_names(connection, "observations")
        assert_text_matches(db)
        steps = db.upgrade()
        assert any(step.startswith("no free text index") for step in steps), steps
    monkeypatch.undo()
    with Catalog(catalog_url) as db:  # a later upgrade where the database can
        steps = db.upgrade()
        assert any("obs_text" in step or "trgm" in step for step in steps), steps
        assert_text_matches(db)


def test_a_dropped_index_falls_back_to_the_scan(catalog: Catalog) -> None:
    rng = random.Random(11)
    catalog.upsert_observations([record(rng, i) for i in range(100)])
    before = {t: found(catalog, t, use_index=True) for t in TEXTS}
    with write_transaction(catalog.engine) as connection:
        drop_text_index(connection)
    assert {t: found(catalog, t, use_index=True) for t in TEXTS} == before
    for text, ids in before.items():
        assert (
            sorted(
                r["id"] for r in search(catalog, text=text, limit=1000, include_missing=True).items
            )
            == ids
        )


def test_a_page_of_broad_text_scans_in_sort_order(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    import zarrlake.catalog._search as search_module

    rng = random.Random(13)
    catalog.upsert_observations([record(rng, i) for i in range(200)])
    pages = {t: search(catalog, text=t, limit=7).items for t in ("ngc", "/arch", "ωmega", "zzz")}
    with read_connection(catalog.engine) as connection:
        for text in TEXTS:  # with at most 5 candidates through the index, else the scan
            query = select(observations.c.id).where(text_condition(connection, text, most=5))
            assert sorted(connection.execute(query).scalars()) == expected(catalog, text), text
    monkeypatch.setattr(search_module, "PAGE_TEXT_CANDIDATES", 3)
    for text, items in pages.items():
        assert search(catalog, text=text, limit=7).items == items, text


SORTS = ["-observation_timestamp", "observation_timestamp", "-target_object", "file_path", "-id"]


def _sort_key(sort: str) -> Any:
    """The order of a search's pages in Python: values (none last), then the id."""
    name, descending = sort.lstrip("-"), sort.startswith("-")

    def key(row: dict[str, Any]) -> Any:
        value, ident = row[name], row["id"]
        if name == "id":
            return -ident if descending else ident
        if value is None:
            return (1, "", ident)  # NULLs after all others, in id order
        if isinstance(value, datetime):
            value = value.timestamp()
        if descending:
            return (0, -value, -ident)
        return (0, value, ident)

    return key


@pytest.mark.parametrize("walk", [40, 20_000])
def test_pages_of_short_text_walk_then_scan(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch, walk: int
) -> None:
    """Text the index cannot narrow: the first rows in sort order, else every row sorted.

    A short walk (40 rows: a twentieth is 2) leaves most pages to the scan; a long
    one finds them in the walk. Every page in a row equals the matches in Python's
    order, for text held by most records, a few and none.
    """
    import zarrlake.catalog._search as search_module

    monkeypatch.setattr(search_module, "PAGE_WALK", walk)
    rng = random.Random(17)
    catalog.upsert_observations([record(rng, i) for i in range(300)])
    every = {r["id"]: r for r in _every(catalog)}
    for text in ("a", "x", "Ü", "4", "%", "zz", "ω"):
        hits = [every[i] for i in expected(catalog, text) if not every[i]["missing"]]
        with read_connection(catalog.engine) as connection:
            assert _text.text_scanned(connection, text) == (catalog.dialect == "sqlite")
        for sort in SORTS:
            got = _pages(catalog, SearchQuery(text=text, sort=sort, limit=9))
            assert sorted(got) == sorted(r["id"] for r in hits), (text, sort)
            if "target" not in sort and "path" not in sort:  # (text: the database's collation)
                assert got == [r["id"] for r in sorted(hits, key=_sort_key(sort))], (text, sort)
            with monkeypatch.context() as plain:  # the one query in sort order
                plain.setattr(search_module, "text_scanned", lambda *args: False)
                assert got == _pages(catalog, SearchQuery(text=text, sort=sort, limit=9))


def _pages(catalog: Catalog, q: SearchQuery) -> list[int]:
    """The ids of every page of a search, page after page."""
    got: list[int] = []
    for _ in range(1000):  # a cursor that does not move on fails, not loops
        page = search(catalog, q)
        got.extend(r["id"] for r in page.items)
        if page.next_cursor is None:
            return got
        q = replace(q, cursor=page.next_cursor)
    raise AssertionError(f"no last page for {q}")


def test_text_most_records_hold_is_counted_as_the_rest_less_the_rows_without_it(
    catalog: Catalog,
) -> None:
    """Charts of a text most records hold: the cells of the search less its text, minus
    the rows without the text (targets unknown among them); equal to the rows' answer."""
    from zarrlake.catalog import _stats

    rng = random.Random(19)
    catalog.upsert_observations([record(rng, i) for i in range(400)])
    every = {r["id"]: r for r in _every(catalog)}
    used = set()
    for text in ("/arch", "a", "fits", "ngc", "NGC 42", "zzz-none", "x"):
        for criteria in (
            {},
            {"mission_id": "gaia", "include_missing": True},
            {"processing_status": "raw", "min_quality": 0.5},
            {"min_quality": 0.3},  # off a bin edge
            {"start": T0 + timedelta(days=20), "end": T0 + timedelta(days=50, hours=5)},
        ):
            q = SearchQuery(text=text, **criteria)
            with read_connection(catalog.engine) as connection:
                for period in (None, "month"):
                    if _stats._by_complement(catalog, q, connection, period):
                        used.add((text, period))
            want = [
                i
                for i in expected(catalog, text)
                if _meets(every[i], criteria)
                and (criteria.get("include_missing") or not every[i]["missing"])
            ]
            assert totals(catalog, q)["count"] == len(want) == count(catalog, q), (text, criteria)
            assert totals(catalog, q) == totals(catalog, q, summaries=False)
            assert status_quality(catalog, q) == status_quality(catalog, q, summaries=False)
            for period in ("year", "month", "day"):
                got = coverage(catalog, q, period)
                assert got == coverage(catalog, q, period, summaries=False), (q, period)
    # "fits": two paths in three (the others, some without a target, are subtracted)
    assert {("/arch", None), ("/arch", "month"), ("a", None), ("fits", None)} <= used, used
    assert not {t for t, _ in used} & {"NGC 42", "zzz-none", "x"}, used
