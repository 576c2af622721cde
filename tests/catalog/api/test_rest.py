from __future__ import annotations

import csv
import io
from pathlib import Path

from fastapi.testclient import TestClient

from tests.catalog.api.conftest import make_client
from tests.catalog.files import write_fits
from zarrlake.catalog import Catalog, count


def walk(client: TestClient, url: str) -> list[dict]:
    items: list[dict] = []
    while url:
        page = client.get(url)
        assert page.status_code == 200, page.text
        body = page.json()
        items.extend(body["items"])
        url = body["next"]
    return items


def test_search_pages_follow_next_links_that_keep_every_parameter(client: TestClient) -> None:
    items = walk(
        client, "/datasets?mission=COSMOS-7&min_quality=0.2&limit=4&sort=-observation_timestamp"
    )
    expected = [i for i in range(30) if i % 2 == 0 and (i % 10) / 10 >= 0.2]
    assert [it["file_path"].rsplit("/", 1)[1] for it in items] == [
        f"obs{i:03d}.fits" for i in sorted(expected, reverse=True)
    ]
    first = client.get("/datasets?mission=COSMOS-7&min_quality=0.2&limit=4").json()
    assert "mission=COSMOS-7" in first["next"] and "min_quality=0.2" in first["next"]
    assert first["items"][0]["observation_timestamp"].endswith("Z")
    total = client.get("/datasets/count?mission=COSMOS-7&min_quality=0.2").json()["count"]
    assert total == len(expected)


def test_every_filter_as_a_query_parameter(client: TestClient, filled: Catalog) -> None:
    url = (
        "/datasets?facility=Sat-A&instrument=CAM&target=m31&start=2026-03-01T00:00:00Z"
        "&end=2026-03-09&calibration=PENDING&status=raw&data_format=fits&q=obs0&limit=100"
    )
    names = [it["file_path"].rsplit("/", 1)[1] for it in walk(client, url)]
    # CAM and M31 are i % 3 == 0, PENDING is i % 4 != 0; every i is in the time range
    assert names == [f"obs{i:03d}.fits" for i in (3, 6, 9, 15, 18, 21, 27)]
    assert count(
        filled,
        instrument_type="CAM",
        target_object="M31",
        calibration_status="PENDING",
        start="2026-03-01T00:00:00Z",
        end="2026-03-09",
        text="obs0",
    ) == len(names)


def test_attribute_filters_on_the_records_document(client: TestClient, filled: Catalog) -> None:
    documents = {
        "a": {"EXPTIME": 30.0, "OBJECT": "M31", "FILTER": "R"},
        "b": {"EXPTIME": 120, "FILTER": "V"},
        "c": {"EXPTIME": "30", "OBJECT": "m31"},  # text, and another case
        "d": {},
    }
    filled.upsert_observations(
        [
            {"file_path": f"/doc/{name}.fits", "mission_id": "DOCS", "mission_specific": doc}
            for name, doc in documents.items()
        ]
    )

    def names(*attrs: str, **extra: str) -> list[str]:
        params = [("attr", a) for a in attrs] + [("mission", "DOCS"), *extra.items()]
        items = client.get("/datasets", params=[*params, ("sort", "file_path")])
        assert items.status_code == 200, items.text
        found = [it["file_path"][5] for it in items.json()["items"]]
        for path in ("/datasets/count", "/dashboard/count"):  # every view counts the same
            assert client.get(path, params=params).json()["count"] == len(found), path
        status = client.get("/dashboard/status", params=params).json()["counts"]
        assert sum(status.values()) == len(found)
        return found

    assert names("EXPTIME=30") == ["a"]  # a number: 30.0, not the text "30"
    assert names('EXPTIME="30"') == ["c"]
    assert names("EXPTIME>=60") == ["b"]
    assert names("EXPTIME < 60") == ["a"]
    assert names("OBJECT=M31") == ["a"]  # text matches exactly
    assert names("FILTER") == ["a", "b"]  # has the key
    assert names("FILTER!=R") == ["b", "c", "d"]  # != also matches records without it
    assert names("FILTER", "EXPTIME>100") == ["b"]  # all must hold
    assert names("EXPTIME>0", instrument="CAM") == []
    export = client.get("/datasets/export", params={"attr": "EXPTIME>=60", "format": "json"})
    assert [r["file_path"] for r in export.json()] == ["/doc/b.fits"]
    for bad in ("=30", "A B=1", "KEY'--=1", "x" * 129):
        answer = client.get("/datasets", params={"attr": bad})
        assert answer.status_code == 400, bad
        assert answer.json()["code"] == "invalid_input" and "attr" in answer.text
    assert client.get("/datasets", params=[("attr", "A")] * 21).status_code in (400, 422)


def test_page_size_is_clamped(filled: Catalog, service_root: Path) -> None:
    with make_client(filled, service_root, max_page_size=7) as small:
        body = small.get("/datasets?limit=100000").json()
        assert len(body["items"]) == 7 and body["limit"] == 7


def test_dataset_related_summary_and_stats(client: TestClient) -> None:
    first = client.get("/datasets?limit=1").json()["items"][0]
    one = client.get(f"/datasets/{first['id']}").json()
    assert one["file_path"] == first["file_path"] and one["status_history"] == []
    lineage = client.get(f"/datasets/{first['id'] + 1}/related?depth=2").json()["related"]
    assert {(e["direction"], e["dataset"]["id"]) for e in lineage} == {
        ("parent", first["id"]),
        ("child", first["id"] + 2),
    }
    summary = {s["mission_id"]: s for s in client.get("/summary").json()}
    assert summary["HELIO"]["observations"] == 15
    stats = client.get("/stats?mission=COSMOS-7").json()
    assert sum(m["observations"] for m in stats["per_month"]) == 15
    assert sum(b["count"] for b in stats["quality"]) == 15 and len(stats["quality"]) == 10


def test_errors_are_code_and_description(client: TestClient) -> None:
    missing = client.get("/datasets/999999")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert "999999" in missing.json()["description"]
    bad_id = client.get("/datasets/abc")
    assert bad_id.status_code == 400 and bad_id.json()["code"] == "invalid_request"
    assert client.get("/datasets?sort=colour").json()["code"] == "invalid_input"
    assert client.get("/datasets?cursor=garbage").status_code == 400
    assert client.get("/datasets?start=yesterday").status_code == 400
    assert client.get("/datasets?min_quality=2").status_code == 400
    assert client.get("/datasets/1/related?depth=0").status_code == 400
    assert client.get("/no/such/route").status_code == 404


def test_hostile_strings_return_empty_or_4xx(client: TestClient, filled: Catalog) -> None:
    before = count(filled)
    for hostile in (
        "'; DROP TABLE observations; --",
        "%' OR '1'='1",
        "\\x00",
        'M31" OR 1=1',
        "../../etc/passwd",
        "${jndi:ldap://x}",
        "<script>alert(1)</script>",
        "é" * 200,
    ):
        for name in (
            "mission",
            "target",
            "q",
            "facility",
            "instrument",
            "calibration",
            "data_format",
        ):
            response = client.get("/datasets", params={name: hostile})
            assert response.status_code in (200, 400), (name, hostile, response.text)
            if response.status_code == 200 and name != "q":
                assert response.json()["items"] == []
    assert count(filled) == before


def test_nul_in_parameters_and_bodies_is_a_400(
    client: TestClient, auth: dict, filled: Catalog, service_root: Path
) -> None:
    before = count(filled)
    for url in (
        "/datasets?target=%00",
        "/datasets?q=M%0031",
        "/datasets/count?mission=COSMOS%00",
        "/datasets/export?instrument=%00",
        "/stats?facility=%00",
        "/summary?mission=%00",
        "/stac/search?collections=%00",
    ):
        response = client.get(url)
        assert response.status_code == 400, (url, response.text)
        assert "NUL" in response.json()["description"], url
    assert "'target'" in client.get("/datasets?target=%00").json()["description"]
    path = str(write_fits(service_root / "nul.fits"))
    for method, url, body in (
        ("post", "/datasets", {"file_path": path, "fields": {"target_object": "M\x0031"}}),
        ("post", "/datasets", {"file_path": path, "fields": {"mission_specific": {"k": "\x00"}}}),
        ("patch", "/datasets/1/status", {"status": "failed", "reason": "bad\x00"}),
        (
            "post",
            "/relationships",
            {"parent_dataset_id": 1, "child_dataset_id": 3, "relationship_type": "x\x00"},
        ),
        (
            "post",
            "/relationships",
            {"parent_dataset_id": 1, "child_dataset_id": 3, "relationship_metadata": {"a": "\x00"}},
        ),
    ):
        response = client.request(method, url, json=body, headers=auth)
        assert response.status_code == 400, (url, body, response.text)
        assert "NUL" in response.json()["description"], response.text
    assert count(filled) == before
    assert filled.status_history(1) == []


def test_writes_need_the_token_and_are_audited(
    client: TestClient, auth: dict, service_root: Path
) -> None:
    path = write_fits(service_root / "new.fits", OBJECT="M42")
    assert client.post("/datasets", json={"file_path": str(path)}).status_code == 401
    wrong = client.post(
        "/datasets", json={"file_path": str(path)}, headers={"Authorization": "Bearer nope"}
    )
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
    created = client.post("/datasets", json={"file_path": str(path)}, headers=auth)
    assert created.status_code == 201, created.text
    record = created.json()
    assert record["target_object"] == "M42" and record["format"] == "fits"
    change = client.patch(
        f"/datasets/{record['id']}/status",
        headers=auth,
        json={"status": "processing", "reason": "queued", "actor": "ci"},
    )
    assert change.status_code == 200 and change.json()["new_status"] == "processing"
    assert (
        client.patch(
            f"/datasets/{record['id']}/status", headers=auth, json={"status": "done"}
        ).status_code
        == 400
    )
    history = client.get(f"/datasets/{record['id']}").json()["status_history"]
    assert [(h["old_status"], h["new_status"], h["actor"]) for h in history] == [
        ("raw", "processing", "ci")
    ]
    link = client.post(
        "/relationships",
        headers=auth,
        json={
            "parent_dataset_id": 1,
            "child_dataset_id": record["id"],
            "relationship_type": "calibration",
        },
    )
    assert link.status_code == 201
    assert (
        client.post(
            "/relationships", headers=auth, json={"parent_dataset_id": 1, "child_dataset_id": 10**9}
        ).status_code
        == 404
    )


def test_relationships_keep_metadata_refuse_cycles_and_show_in_related(
    client: TestClient, auth: dict
) -> None:
    body = {"parent_dataset_id": 4, "child_dataset_id": 5, "relationship_type": "calibration"}
    made = client.post(
        "/relationships", headers=auth, json={**body, "relationship_metadata": {"v": 2}}
    )
    assert made.status_code == 201, made.text
    again = client.post("/relationships", headers=auth, json=body)  # no metadata: kept
    assert again.status_code == 201 and again.json()["id"] == made.json()["id"]
    lineage = client.get("/datasets/5/related").json()["related"]
    assert [
        (e["relationship_id"], e["via"], e["relationship_metadata"], e["dataset"]["id"])
        for e in lineage
    ] == [(made.json()["id"], 5, {"v": 2}, 4)]
    cycle = client.post(
        "/relationships", headers=auth, json={"parent_dataset_id": 3, "child_dataset_id": 1}
    )  # 1 -> 2 -> 3 exist
    assert cycle.status_code == 400 and "cycle" in cycle.json()["description"]


def test_rest_writes_cannot_set_bookkeeping_fields(
    client: TestClient, auth: dict, filled: Catalog, service_root: Path
) -> None:
    path = str(write_fits(service_root / "kept.fits"))
    for field in ("first_seen", "last_updated", "last_verified", "target_key"):
        body = {"file_path": path, "fields": {field: "2000-01-01T00:00:00"}}
        response = client.post("/datasets", json=body, headers=auth)
        assert response.status_code == 400, (field, response.text)
        assert field in response.json()["description"]
    assert count(filled, text="kept.fits") == 0
    made = client.post("/datasets", json={"file_path": path}, headers=auth).json()
    assert made["first_seen"] >= "2026" and made["last_updated"] >= made["first_seen"]


def test_preflight_needs_no_write_token(filled: Catalog, service_root: Path) -> None:
    with make_client(filled, service_root) as read_only:
        response = read_only.post(
            "/preflight", json={"criteria": {"mission": "COSMOS-7"}, "check_files": False}
        )
        assert response.status_code == 200, response.text
        assert len(response.json()["datasets"]) == 15


def test_paths_cannot_escape_the_roots(client: TestClient, auth: dict, service_root: Path) -> None:
    for path in ("/etc/passwd", str(service_root / ".." / "elsewhere.fits"), "s3://bucket/x.fits"):
        response = client.post("/datasets", json={"file_path": path}, headers=auth)
        assert response.status_code == 403 and response.json()["code"] == "outside_roots", path
    response = client.post("/preflight", headers=auth, json={"output": "/tmp/../etc"})
    assert response.status_code == 403


def test_read_only_without_a_token(filled: Catalog, service_root: Path) -> None:
    with make_client(filled, service_root) as read_only:
        response = read_only.post(
            "/datasets",
            json={"file_path": str(service_root / "x.fits")},
            headers={"Authorization": "Bearer anything"},
        )
        assert response.status_code == 403 and response.json()["code"] == "read_only"
        assert read_only.get("/health").json()["read_only"] is True


def test_request_bodies_are_limited(client: TestClient, auth: dict) -> None:
    huge = {"file_path": "x", "fields": {"mission_specific": {"blob": "x" * 2_000_000}}}
    response = client.post("/datasets", json=huge, headers=auth)
    assert response.status_code == 413 and response.json()["code"] == "too_large"


def test_preflight(client: TestClient, auth: dict, service_root: Path) -> None:
    for i in (0, 2, 4):
        write_fits(service_root / f"obs{i:03d}.fits")
    body = {
        "criteria": {"mission": "COSMOS-7", "end": "2026-03-02T05:00:00Z"},
        "min_quality": 0.2,
        "output": str(service_root / "out"),
        "expansion": 2.0,
    }
    result = client.post("/preflight", json=body, headers=auth).json()
    # i = 0, 2, 4 start by 29 h: quality 0.0 (i = 0) fails; 2 and 4 exist on disk
    assert len(result["below_quality"]) == 1
    assert len(result["datasets"]) == 2 and result["missing_on_disk"] == []
    assert result["input_bytes"] == 1002 + 1004 and result["required_bytes"] == 2 * 2006
    assert result["sufficient_storage"] is True and result["ok"] is True


def test_export_csv_and_json(client: TestClient) -> None:
    exported = client.get("/datasets/export?format=csv&mission=HELIO")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == 15 and {r["mission_id"] for r in rows} == {"HELIO"}
    as_json = client.get("/datasets/export?format=json&mission=HELIO&target=M31").json()
    assert len(as_json) == 5 and all(r["target_object"] == "M31" for r in as_json)


def test_openapi_and_health(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "/datasets" in spec["paths"] and "/stac/search" in spec["paths"]
    assert client.get("/docs").status_code == 200
    assert client.get("/health").json()["status"] == "ok"
