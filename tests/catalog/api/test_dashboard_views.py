"""The dashboard's views in headless Chromium: every request must stay on 127.0.0.1."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from playwright.sync_api import Browser, Page, Route

from tests.catalog.api.test_dashboard import SCREENSHOTS, browser, catalog_url
from zarrlake.catalog import Catalog, SearchQuery, count, related, search

__all__ = ["browser", "catalog_url"]  # fixtures shared with test_dashboard.py


@pytest.fixture
def page(browser: Browser, live_url: str, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page on the live service that refuses (and records) any request elsewhere."""
    context = browser.new_context(base_url=live_url, viewport={"width": 1400, "height": 900})
    outside: list[str] = []

    def guard(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    opened.screenshot(path=str(SCREENSHOTS / f"views-{request.node.name}.png"), full_page=True)
    context.close()
    assert outside == [], outside
    assert errors == [], errors


def test_api_docs_work_offline(page: Page) -> None:
    page.goto("/docs")
    page.wait_for_selector(".swagger-ui .opblock-summary-path")
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/datasets" in paths and "/dashboard/sky" in paths


def snap(page: Page, name: str) -> None:
    """Save a screenshot of what the page shows now (a test artifact)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"views-{name}.png"), full_page=True)


def hash_params(page: Page) -> dict[str, str]:
    fragment = urlsplit(page.url).fragment
    return dict(parse_qsl(fragment.partition("?")[2]))


def first_ids(page: Page) -> list[str]:
    return page.locator("[data-testid=result-row] td:nth-child(1)").all_inner_texts()


def wait_count(page: Page, text: str) -> None:
    page.wait_for_function(
        "t => document.querySelector('[data-testid=result-count]').textContent === t", arg=text
    )


def test_search_criteria_live_in_the_url(page: Page, filled: Catalog) -> None:
    filled.mark_missing([filled.get(30)["file_path"]])
    page.goto("/")
    wait_count(page, "29 observation(s)")
    times = page.locator("[data-testid=result-row] td:nth-child(6)").all_inner_texts()
    assert times == sorted(times, reverse=True)  # newest first by default
    assert first_ids(page)[0] == "29"
    page.fill("[data-testid=facility]", "Sat-A")
    page.fill("[data-testid=calibration]", "COMPLETE")
    page.fill("[data-testid=q]", "obs0")
    page.select_option("[data-testid=data-format]", "fits")
    page.check("[data-testid=include-missing]")
    page.fill("[data-testid=start]", "2026-03-02T00:00")
    page.fill("[data-testid=end]", "2026-03-07T23:59")
    page.click("[data-testid=search-button]")
    expected = search(
        filled,
        SearchQuery(
            satellite_name="Sat-A",
            calibration_status="COMPLETE",
            text="obs0",
            format="fits",
            include_missing=True,
            start="2026-03-02T00:00:00Z",
            end="2026-03-07T23:59:00Z",
            sort="-observation_timestamp",
        ),
    ).items
    wait_count(page, f"{len(expected)} observation(s)")
    assert first_ids(page) == [str(r["id"]) for r in expected]
    params = hash_params(page)
    assert params["facility"] == "Sat-A" and params["include_missing"] == "true"
    assert params["start"] == "2026-03-02T00:00:00Z" and params["q"] == "obs0"
    bookmarked = page.url
    page.click("th[data-sort=id]")
    page.wait_for_selector("th.sorted-asc[data-sort=id]")
    assert first_ids(page) == sorted(first_ids(page), key=int)
    page.go_back()
    page.wait_for_selector("th.sorted-desc[data-sort=observation_timestamp]")
    assert first_ids(page) == [str(r["id"]) for r in expected]
    page.go_forward()
    page.wait_for_selector("th.sorted-asc[data-sort=id]")
    page.goto("about:blank")
    page.goto(bookmarked)  # a bookmark restores the form and the results
    wait_count(page, f"{len(expected)} observation(s)")
    assert page.input_value("[data-testid=calibration]") == "COMPLETE"
    assert page.input_value("[data-testid=start]") == "2026-03-02T00:00"
    assert page.is_checked("[data-testid=include-missing]")
    snap(page, "search-bookmarked")


def test_attribute_filters_live_in_the_url_and_narrow_every_view(
    page: Page, filled: Catalog
) -> None:
    filled.upsert_observations(
        [
            {
                "file_path": f"/doc/f{i}.fits",
                "mission_id": "DOCS",
                "ra": 10.0 * i,
                "dec": 1.0,
                "observation_timestamp": datetime(2026, 3, 2, i),
                "mission_specific": {"EXPTIME": 30 * i, **({"FILTER": "R"} if i % 2 else {})},
            }
            for i in range(1, 7)
        ]
    )
    page.goto("/")
    wait_count(page, "36 observation(s)")
    page.fill("[data-testid=attr]", "EXPTIME>=60 ;FILTER")  # 3 and 5
    page.click("[data-testid=search-button]")
    wait_count(page, "2 observation(s)")
    paths = page.locator("[data-testid=result-row] td:nth-child(11)").all_inner_texts()
    assert paths == ["/doc/f5.fits", "/doc/f3.fits"]
    fragment = urlsplit(page.url).fragment.partition("?")[2]
    assert [v for k, v in parse_qsl(fragment) if k == "attr"] == ["EXPTIME>=60", "FILTER"]
    page.click("[data-testid=nav-sky]")
    page.wait_for_selector("[data-testid=sky-point]")
    assert page.locator("[data-testid=sky-point]").count() == 2
    assert page.inner_text("[data-testid=sky-count]").startswith("2 observation(s)")
    page.click("[data-testid=nav-coverage]")
    page.wait_for_selector("[data-testid=status-bar]")
    counts = page.locator("[data-testid=status-counts] li").all_inner_texts()
    assert counts[0] == "raw 2"
    bookmarked = page.url
    page.go_back()
    page.wait_for_selector("[data-testid=sky-point]")
    page.goto("about:blank")
    page.goto(bookmarked)
    page.wait_for_selector("[data-testid=status-bar]")
    assert page.input_value("[data-testid=attr]") == "EXPTIME>=60; FILTER"
    page.fill("[data-testid=attr]", "=60")  # a bad filter: the service's error shows
    page.click("[data-testid=search-button]")
    page.wait_for_selector("[data-testid=error]:visible")
    assert "not KEY=VALUE" in page.inner_text("[data-testid=error]")
    assert page.locator("[data-testid=status-bar]").count() == 0  # no stale chart under it
    snap(page, "attribute-filter-error")


def test_long_values_wrap_and_phones_get_cards(page: Page, filled: Catalog) -> None:
    target = "A-target-name-of-sixty-eight-characters-that-used-to-crush-the-table-"
    path = "/archive/" + "very-long-directory-name/" * 6 + "file.fits"
    filled.upsert_observations(
        [{"file_path": path, "mission_id": "HELIO", "target_object": target, "ra": 1.0}]
    )
    page.goto("/#/?sort=-id")
    page.wait_for_selector("[data-testid=result-row]")
    widths = page.eval_on_selector(
        "[data-testid=result-row]",
        "row => [...row.children].map(td => td.getBoundingClientRect().width)",
    )
    assert widths[-1] >= 200  # the path keeps a readable width
    assert max(widths) < 700
    snap(page, "long-values-desktop")
    page.set_viewport_size({"width": 390, "height": 800})
    page.wait_for_timeout(100)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1
    display = page.eval_on_selector("[data-testid=result-row]", "r => getComputedStyle(r).display")
    assert display == "block"
    snap(page, "phone")


def test_sky_map_draws_every_position_and_opens_a_dataset(page: Page, filled: Catalog) -> None:
    filled.upsert_observations(
        [{"file_path": f"/x/no-position-{i}.nc", "mission_id": "HELIO"} for i in range(4)]
    )
    page.goto("/#/sky?mission=HELIO")
    page.wait_for_selector("[data-testid=sky-point]")
    with_position = [
        r for r in search(filled, mission_id="HELIO", limit=1000).items if r["ra"] is not None
    ]
    assert count(filled, mission_id="HELIO") == len(with_position) + 4
    assert page.locator("[data-testid=sky-point]").count() == len(with_position) == 15
    assert page.inner_text("[data-testid=sky-count]").startswith("15 observation(s)")
    assert page.locator("[data-testid=sky-map] svg text", has_text=re.compile("^6h$")).count() == 1
    assert page.locator("[data-testid=sky-map]", has_text="HELIO").count() == 1  # legend
    page.select_option("[data-testid=sky-projection]", "mollweide")
    page.wait_for_function("location.hash.includes('projection=mollweide')")
    page.wait_for_selector("[data-testid=sky-point]")
    snap(page, "sky-mollweide")
    page.go_back()
    page.wait_for_function(
        "document.querySelector('[data-testid=sky-projection]').value === 'aitoff'"
    )
    page.wait_for_selector("[data-testid=sky-point]")
    page.locator("[data-testid=sky-point]").first.click(force=True)
    page.wait_for_function("location.hash.startsWith('#/datasets/')")
    opened = int(page.url.rsplit("/", 1)[1])
    assert opened in {r["id"] for r in with_position}
    page.wait_for_selector("[data-testid=dataset-title]:has-text('Dataset')")


def test_earth_map_draws_geographic_footprints(page: Page, filled: Catalog) -> None:
    boxes = {
        "europe": (-10.0, 35.0, 30.0, 60.0),
        "australia": (100.0, -45.0, 155.0, -10.0),
        "across": (170.0, 50.0, -170.0, 60.0),  # west > east: across the antimeridian
        "pacific": (190.0, -30.0, 220.0, -10.0),  # 0..360: -170..-140
        "upside-down": (0.0, 60.0, 10.0, 50.0),  # south above north: no footprint
        "round": (0.0, -60.0, 360.0, -50.0),  # a whole circle of longitude, 0..360
    }
    keys = ("geospatial_lon_min", "geospatial_lat_min", "geospatial_lon_max", "geospatial_lat_max")
    filled.upsert_observations(
        [
            {
                "file_path": f"/x/{name}.nc",
                "mission_id": "HELIO",
                "mission_specific": dict(zip(keys, box, strict=True)),
                "observation_timestamp": datetime(2026, 3, 1, 12, tzinfo=UTC),  # STAC items
            }
            for name, box in boxes.items()
        ]
    )
    ids = {
        Path(r["file_path"]).stem: r["id"]
        for r in search(filled, SearchQuery(mission_id="HELIO")).items
    }
    stac = page.request.get("/stac/search?bbox=-180,-90,180,90&limit=100").json()
    with_footprint = stac["numberMatched"]
    assert with_footprint == 5  # what STAC item search finds: the upside-down box is none
    page.goto("/#/sky")
    page.wait_for_selector("[data-testid=footprint]")
    assert page.locator("[data-testid=footprint]").count() == with_footprint
    assert page.inner_text("[data-testid=earth-count]").startswith("5 observation(s)")
    assert page.locator("[data-testid=earth-map] [data-testid=land] path").count() == 1
    drawn = {
        int(i)
        for i in page.locator("[data-testid=footprint]").evaluate_all(
            "nodes => nodes.map((n) => n.dataset.id)"
        )
    }
    assert drawn == {ids[n] for n in ("europe", "australia", "across", "pacific", "round")}
    sphere = page.locator("[data-testid=earth-map] [data-testid=sphere]").bounding_box()
    assert sphere is not None

    def extent(name: str) -> dict[str, float]:
        box = page.locator(f"[data-testid=footprint][data-id='{ids[name]}']").bounding_box()
        assert box is not None
        return box

    across, europe, pacific = extent("across"), extent("europe"), extent("pacific")
    assert extent("round")["width"] > sphere["width"] * 0.8  # the band round the globe
    # 20 degrees of longitude at 50..60 N, cut by the map's edge into two slivers: the
    # path's extent spans the map, but each piece is narrow, and the middle of the map
    # at the box's latitude is outside it (a box smeared the other way round is not).
    drawn_across = page.locator(f"[data-testid=footprint][data-id='{ids['across']}']").evaluate(
        """path => {
          const svg = path.ownerSVGElement, box = path.getBBox();
          const middle = svg.createSVGPoint();
          middle.x = svg.viewBox.baseVal.width / 2; middle.y = box.y + box.height / 2;
          const pieces = path.getAttribute("d").split("M").filter(Boolean).map((d) => {
            const piece = document.createElementNS("http://www.w3.org/2000/svg", "path");
            piece.setAttribute("d", "M" + d);
            svg.appendChild(piece);
            const width = piece.getBBox().width;
            piece.remove();
            return width;
          });
          const mapWidth = svg.viewBox.baseVal.width;
          return { middle: path.isPointInFill(middle), pieces, mapWidth };
        }"""
    )
    assert drawn_across["middle"] is False
    assert len(drawn_across["pieces"]) == 2
    # Each piece: 10 degrees of longitude along the map's curved edge, a sliver of the
    # map's 360 (one smeared round the world would be nearly all of it).
    assert max(drawn_across["pieces"]) < drawn_across["mapWidth"] / 10
    assert europe["width"] < sphere["width"] / 4  # 40 degrees of 360
    assert pacific["width"] < sphere["width"] / 8  # 30 degrees, west of the antimeridian
    assert pacific["x"] < sphere["x"] + sphere["width"] / 4  # at the map's west edge
    assert across["height"] < sphere["height"] / 8  # 10 degrees of latitude
    snap(page, "earth")
    page.locator(f"[data-testid=footprint][data-id='{ids['pacific']}']").click()
    page.wait_for_function(f"location.hash === '#/datasets/{ids['pacific']}'")
    page.wait_for_selector("[data-testid=dataset-title]:has-text('Dataset')")
    page.goto("/#/sky?mission=COSMOS-7")
    page.wait_for_selector("#earth[hidden]", state="attached")
    page.locator("[data-testid=footprint]").first.wait_for(state="detached")


def test_coverage_quality_and_status_charts(page: Page, filled: Catalog) -> None:
    filled.set_status(3, "processing")
    filled.set_status(4, "failed", reason="no flat field")
    page.goto("/#/coverage")
    page.wait_for_selector("[data-testid=coverage-bar]")
    assert page.inner_text("[data-testid=coverage-period]") == "per day"
    bars = page.locator("[data-testid=chart-coverage] [data-testid=coverage-bar]").count()
    assert bars == 16  # 8 days x 2 missions
    ticks = page.locator("[data-testid=chart-coverage] g[aria-label='x-axis tick label'] text")
    assert ticks.count() >= 5
    assert page.locator("[data-testid=chart-quality-search] [data-testid=bar]").count() == 10
    labels = page.locator("[data-testid=chart-quality-search] g[aria-label=text] text")
    assert labels.all_text_contents() == ["3"] * 10
    assert page.locator("[data-testid=quality-unscored]").count() == 0  # every record scored
    counts = page.locator("[data-testid=status-counts] li").all_inner_texts()
    assert counts == ["raw 28", "processing 1", "processed 0", "failed 1", "archived 0"]
    fills = page.eval_on_selector_all(
        "[data-testid=status-bar]", "bars => bars.map(b => b.getAttribute('fill'))"
    )
    assert len(set(fills)) == 5
    snap(page, "coverage")
    box = page.locator("[data-testid=chart-coverage] svg[class^=plot]").bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.3, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.45, y, steps=5)
    page.mouse.up()
    page.wait_for_function("location.hash.includes('start=')")
    params = hash_params(page)
    assert "2026-03-01" < params["start"] < params["end"] < "2026-03-09"
    page.wait_for_selector("[data-testid=coverage-reset]:visible")
    page.wait_for_function(
        "document.querySelector('[data-testid=coverage-period]').textContent === 'per hour'"
    )
    page.wait_for_selector("[data-testid=coverage-bar]")
    snap(page, "coverage-zoomed")
    page.go_back()
    page.wait_for_function(
        "document.querySelector('[data-testid=coverage-period]').textContent === 'per day'"
    )
    page.click("[data-testid=nav-search]")
    page.wait_for_selector("[data-testid=result-row]")
    # A record without a score is in no bin of the histogram: the chart says so.
    filled.upsert_observations([{"file_path": "/x/unscored.fits", "mission_id": "HELIO"}])
    page.goto("/#/coverage?mission=HELIO")
    note = page.wait_for_selector("[data-testid=quality-unscored]")
    assert note.inner_text().startswith("1 observation(s) without a quality score")
    # Nothing scored at all: empty bins stay flat on a 0..1 axis (not full-height bars).
    page.goto("/#/coverage?q=unscored")
    page.wait_for_function(
        """() => {
          const axis = [...document.querySelectorAll(
            '[data-testid=chart-quality-search] g[aria-label="y-axis tick label"] text')];
          return axis.map((t) => t.textContent).join(',') === '0,1';
        }"""
    )
    heights = page.eval_on_selector_all(
        "[data-testid=chart-quality-search] [data-testid=bar]",
        "bars => bars.map(b => b.getBBox().height)",
    )
    assert heights == [0] * 10


def test_problems_and_pipeline_views(page: Page, filled: Catalog) -> None:
    filled.upsert_observations(
        [
            {"file_path": "/x/broken.nc", "mission_id": "HELIO", "extraction_error": "not HDF5"},
            {"file_path": "/x/odd.fits", "mission_id": "HELIO", "issues": ["no DATE-OBS"]},
        ]
    )
    filled.mark_missing([filled.get(5)["file_path"]])
    filled.set_status(6, "failed", reason="calibration diverged", actor="pipe")
    filled.set_status(7, "processing", actor="pipe")
    page.goto("/#/problems")
    page.wait_for_selector("[data-testid=problem-row]")
    assert page.locator("[data-testid=problem-row]").count() == 3
    assert "not HDF5" in page.inner_text("[data-testid=problems]")
    page.select_option("[data-testid=problem-kind]", "issues")
    page.wait_for_function("location.hash === '#/problems?kind=issues'")
    page.wait_for_function("document.querySelectorAll('[data-testid=problem-row]').length === 1")
    assert "no DATE-OBS" in page.inner_text("[data-testid=problems]")
    href = page.get_attribute("[data-testid=problems-csv]", "href")
    assert href == "dashboard/problems?kind=issues&format=csv"
    snap(page, "problems")
    page.go_back()
    page.wait_for_function("document.querySelectorAll('[data-testid=problem-row]').length === 3")
    # Text in the path or the problem, and the mission: in the URL and the export.
    page.fill("[data-testid=problem-text]", "BROKEN")
    page.click("[data-testid=problem-filter]")
    page.wait_for_function("location.hash === '#/problems?q=BROKEN'")
    page.wait_for_function("document.querySelectorAll('[data-testid=problem-row]').length === 1")
    assert "/x/broken.nc" in page.inner_text("[data-testid=problems]")
    href = page.get_attribute("[data-testid=problems-csv]", "href")
    assert href == "dashboard/problems?q=BROKEN&format=csv"
    page.fill("[data-testid=problem-text]", "")
    page.fill("[data-testid=problem-mission]", "no such mission")
    page.press("[data-testid=problem-mission]", "Enter")
    page.wait_for_function("document.querySelectorAll('[data-testid=problem-row]').length === 0")
    page.go_back()
    page.wait_for_function("document.querySelectorAll('[data-testid=problem-row]').length === 1")
    assert page.input_value("[data-testid=problem-text]") == "BROKEN"
    page.click("[data-testid=nav-pipeline]")
    page.wait_for_selector("[data-testid=pipeline-failed] [data-testid=pipeline-row]")
    assert "calibration diverged" in page.inner_text("[data-testid=pipeline-failed]")
    assert page.locator("[data-testid=pipeline-processing] [data-testid=pipeline-row]").count() == 1
    events = page.locator("[data-testid=pipeline-events] [data-testid=pipeline-row]")
    assert events.count() == 2 and "processing" in events.first.inner_text()
    snap(page, "pipeline")


def test_lineage_is_readable_at_depth_three(page: Page, filled: Catalog) -> None:
    for parent, child, kind in [(3, 4, "calibrated_to"), (4, 5, "mosaic_of"), (9, 2, "flat_for")]:
        filled.link(parent, child, kind)
    page.goto("/#/datasets/3?depth=3")
    page.wait_for_selector("[data-testid=lineage-node]")
    related_count = len(related(filled, 3, 3))
    assert page.locator("[data-testid=lineage-node]").count() == related_count + 1
    edges = page.locator("[data-testid=lineage-edge]")
    assert edges.count() == related_count
    labels = page.locator("[data-testid=lineage-edge-label]").all_text_contents()
    assert sorted(labels) == sorted(e["relationship_type"] for e in related(filled, 3, 3))
    ends = page.eval_on_selector_all(
        "[data-testid=lineage-edge]",
        "es => es.map(e => [e.dataset.x2, e.dataset.y2].join(','))",
    )
    assert len(set(ends)) == len(ends)  # no two arrowheads on one point
    size = page.eval_on_selector(
        "[data-testid=lineage-node] text", "t => parseFloat(getComputedStyle(t).fontSize)"
    )
    assert size >= 12
    width = float(page.get_attribute("#lineage svg", "width") or 0)
    page.click("[data-testid=zoom-in]")
    assert float(page.get_attribute("#lineage svg", "width") or 0) > width
    snap(page, "lineage-depth-3")
    page.select_option("[data-testid=lineage-depth]", "1")
    page.wait_for_function("location.hash.endsWith('depth=1')")
    page.wait_for_function(
        "n => document.querySelectorAll('[data-testid=lineage-node]').length === n",
        arg=len(related(filled, 3, 1)) + 1,
    )
    page.go_back()
    page.wait_for_function(
        "n => document.querySelectorAll('[data-testid=lineage-node]').length === n",
        arg=related_count + 1,
    )


# -- the user audit: each test below fails without its fix ------------------------------------


def figure_year(page: Page, chart: str, bar: str) -> list[int]:
    """The UTC years at the left edge of each drawn bar, read back through the chart's x scale."""
    return page.eval_on_selector_all(
        f"{chart} {bar}",
        """(bars, chart) => {
          const figure = document.querySelector(chart).firstElementChild;
          const x = figure.scale("x");
          return bars.map((b) => new Date(x.invert(Number(b.getAttribute("x")))).getUTCFullYear());
        }""",
        chart,
    )


def test_years_before_100_stay_in_their_century(page: Page, filled: Catalog) -> None:
    filled.upsert_observations(
        [
            {
                "file_path": "/x/nemo.nc",
                "mission_id": "NEMO",
                "observation_timestamp": datetime(1, 1, 1, 12),
            }
        ]
    )
    coverage = page.request.get("/dashboard/coverage/auto?mission=NEMO").json()
    assert coverage["rows"][0]["period"].startswith("0001")
    page.goto("/#/coverage?mission=NEMO")
    page.wait_for_selector("[data-testid=coverage-bar]")
    assert figure_year(page, "#chart-coverage", "[data-testid=coverage-bar]") == [1]
    ticks = page.locator("[data-testid=chart-coverage] g[aria-label='x-axis tick label'] text")
    assert not any("190" in t for t in ticks.all_text_contents())
    snap(page, "coverage-year-1")
    page.goto("/#/missions/NEMO")
    page.wait_for_selector("[data-testid=chart-time] [data-testid=bar]")
    assert figure_year(page, "#chart-time", "[data-testid=bar]") == [1]


def test_earth_map_small_boxes_on_top_and_points_clickable(page: Page, filled: Catalog) -> None:
    keys = ("geospatial_lon_min", "geospatial_lat_min", "geospatial_lon_max", "geospatial_lat_max")
    boxes = {  # the API sends the newest first: the globe, oldest, used to be drawn last (on top)
        "globe": (-180.0, -85.0, 180.0, 85.0),
        "small": (2.0, 46.0, 6.0, 50.0),
        "point": (40.0, 10.0, 40.0, 10.0),
        "line": (-60.0, -20.0, -60.0, -10.0),  # no width
        "tiny": (100.0, -30.0, 100.00001, -29.99999),  # a point, as NetCDF bounds give it
    }
    filled.upsert_observations(
        [
            {
                "file_path": f"/x/{name}.nc",
                "mission_id": "GEO",
                "mission_specific": dict(zip(keys, box, strict=True)),
                "observation_timestamp": datetime(2020 + i, 1, 1),
            }
            for i, (name, box) in enumerate(boxes.items())
        ]
    )
    ids = {
        Path(r["file_path"]).stem: r["id"]
        for r in search(filled, SearchQuery(mission_id="GEO")).items
    }
    page.goto("/#/sky?mission=GEO")
    page.wait_for_selector("[data-testid=footprint]")
    assert page.locator("[data-testid=footprint]").count() == 5
    snap(page, "earth-small-on-top")
    for name in ("small", "point", "line", "tiny"):
        shape = page.locator(f"[data-testid=footprint][data-id='{ids[name]}']")
        shape.scroll_into_view_if_needed()
        box = shape.bounding_box()
        assert box is not None and box["width"] >= 6 and box["height"] >= 6, (name, box)
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_function(f"location.hash === '#/datasets/{ids[name]}'", timeout=5000)
        page.evaluate("document.querySelector('#earth-map').replaceChildren()")  # drawn anew:
        page.go_back()
        page.wait_for_selector("[data-testid=footprint]")
        page.wait_for_load_state("networkidle")
    # On a phone the map is scaled down to fit; a point's marker is not (and has a dark
    # edge: on boxes of its own mission's colour it must still stand out).
    page.set_viewport_size({"width": 390, "height": 844})
    page.evaluate("document.querySelector('#earth-map').replaceChildren()")  # only a new draw
    page.goto("/#/sky?mission=GEO&projection=mollweide")
    selector = f"[data-testid=footprint][data-id='{ids['point']}']"
    page.wait_for_selector(selector)
    width, height, stroke = page.eval_on_selector(
        selector,
        "d => { const r = d.getBoundingClientRect();"
        " return [r.width, r.height, d.closest('g').getAttribute('stroke')]; }",
    )
    assert min(width, height) >= 10 and stroke == "#1b2733", (width, height, stroke)


def test_a_search_error_replaces_the_results_at_the_top(page: Page) -> None:
    page.goto("/")
    wait_count(page, "30 observation(s)")
    page.fill("[data-testid=calibration]", "NO-SUCH-CALIBRATION")
    page.click("[data-testid=search-button]")
    page.wait_for_selector("[data-testid=error]:visible")
    assert "calibration" in page.inner_text("[data-testid=error]").lower()
    assert page.inner_text("[data-testid=result-count]") == ""
    assert page.locator("[data-testid=result-row]").count() == 0
    error = page.locator("[data-testid=error]").bounding_box()
    table = page.locator("[data-testid=results]").bounding_box()
    assert error is not None and table is not None
    assert error["y"] < table["y"] and error["y"] + error["height"] < 900  # seen without scrolling
    snap(page, "search-error")


SLOW = """([part, ms]) => {  // answers to URLs containing part arrive ms late
  const original = window.fetch;
  window.fetch = (url, options) => String(url).includes(part)
    ? new Promise((resolve) => setTimeout(resolve, ms)).then(() => original(url, options))
    : original(url, options);
}"""


def test_a_late_answer_does_not_replace_a_newer_one(page: Page, filled: Catalog) -> None:
    page.add_init_script(f"({SLOW})(['depth=2', 800]); ({SLOW})(['mission=HELIO', 800])")
    page.goto("/#/datasets/3?depth=2")
    page.wait_for_selector("[data-testid=dataset-title]:has-text('obs002')")
    page.select_option("[data-testid=lineage-depth]", "1")  # before depth 2's answer
    nodes = "n => document.querySelectorAll('[data-testid=lineage-node]').length === n"
    page.wait_for_function(nodes, arg=len(related(filled, 3, 1)) + 1)
    page.wait_for_timeout(1200)  # depth 2's answer has come (and gone)
    assert page.locator("[data-testid=lineage-node]").count() == len(related(filled, 3, 1)) + 1
    page.goto("/#/?mission=HELIO")
    page.evaluate("location.hash = '#/?mission=COSMOS-7'")
    wait_count(page, "15 observation(s)")
    page.wait_for_timeout(1200)
    missions = page.locator("[data-testid=result-row] td:nth-child(2)").all_inner_texts()
    assert missions and set(missions) == {"COSMOS-7"}
    page.goto("/#/coverage?mission=HELIO")
    page.evaluate("location.hash = '#/coverage?mission=COSMOS-7'")
    page.wait_for_selector("[data-testid=coverage-bar]")
    page.wait_for_timeout(1200)
    titles = page.locator("[data-testid=chart-coverage] [data-testid=coverage-bar] title")
    assert all(" COSMOS-7: " in t for t in titles.all_text_contents())


def lineage_boxes(page: Page) -> dict[int, dict[str, float]]:
    found = page.eval_on_selector_all(
        "[data-testid=lineage-node]",
        "ns => ns.map(n => { const r = n.querySelector('rect');"
        " return [n.dataset.id, +r.getAttribute('x'), +r.getAttribute('y')]; })",
    )
    return {int(i): {"x": x, "y": y} for i, x, y in found}


def test_lineage_draws_every_link_between_shown_datasets(page: Page, filled: Catalog) -> None:
    # 1 -> 2 -> 3 in the catalog; the lineage endpoint also answers 1 -> 3 (as if linked):
    # the view draws what it answers (every link between the nodes), columns by longest chain.
    answer = {
        "root": 3,
        "nodes": [
            {
                "id": 3,
                "file_path": "/a/obs002.fits",
                "mission_id": "COSMOS-7",
                "processing_status": "raw",
                "depth": 0,
                "direction": "self",
            },
            {
                "id": 2,
                "file_path": "/a/obs001.fits",
                "mission_id": "HELIO",
                "processing_status": "raw",
                "depth": 1,
                "direction": "parent",
            },
            {
                "id": 1,
                "file_path": "/a/obs000.fits",
                "mission_id": "COSMOS-7",
                "processing_status": "raw",
                "depth": 1,
                "direction": "parent",
            },
        ],
        "edges": [
            {"id": 1, "parent": 1, "child": 2, "type": "raw_to_processed"},
            {"id": 2, "parent": 2, "child": 3, "type": "derived_from"},
            {"id": 3, "parent": 1, "child": 3, "type": "flat_for"},
        ],
    }
    asked: list[str] = []

    def lineage(route: Route) -> None:
        asked.append(route.request.url)
        route.fulfill(json=answer)

    page.route(re.compile(r"/dashboard/lineage/3\?depth=2$"), lineage)
    page.goto("/#/datasets/3?depth=2")
    page.wait_for_selector("[data-testid=lineage-edge]")
    assert asked
    labels = sorted(page.locator("[data-testid=lineage-edge-label]").all_text_contents())
    assert labels == ["derived_from", "flat_for", "raw_to_processed"]
    boxes = lineage_boxes(page)
    assert boxes[1]["x"] < boxes[2]["x"] < boxes[3]["x"]  # 1 -> 2 -> 3: three columns
    for edge in page.locator("[data-testid=lineage-edge]").all():
        assert float(edge.get_attribute("data-x1") or 0) < float(edge.get_attribute("data-x2") or 0)
    # 1 -> 3 skips 2's column: it arcs over box 2, and no label lies on any box.
    crossings = page.evaluate(
        """() => {
          const boxes = [...document.querySelectorAll('[data-testid=lineage-node] rect')]
            .map((r) => r.getBoundingClientRect());
          const hits = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom
            && b.top < a.bottom;
          const labels = [...document.querySelectorAll('[data-testid=lineage-edge-label]')]
            .filter((l) => boxes.some((b) => hits(l.getBoundingClientRect(), b)));
          const middle = document.querySelector('[data-testid=lineage-node][data-id="2"] rect')
            .getBoundingClientRect();
          const arcs = [...document.querySelectorAll('[data-testid=lineage-edge]')]
            .filter((e) => e.querySelector('title').textContent === 'flat_for');
          const path = arcs[0];
          const samples = [...Array(41).keys()].map((i) =>
            path.getPointAtLength(path.getTotalLength() * i / 40));
          const ctm = path.getScreenCTM();
          const through = samples.map((p) => p.matrixTransform(ctm))
            .filter((p) => p.x > middle.left && p.x < middle.right && p.y > middle.top
              && p.y < middle.bottom);
          return { labels: labels.map((l) => l.textContent), through: through.length };
        }"""
    )
    assert crossings == {"labels": [], "through": 0}
    snap(page, "lineage-every-edge")


def test_lineage_from_the_service_s_graph(page: Page, filled: Catalog) -> None:
    filled.link(1, 3, "flat_for")
    expected = page.request.get("/dashboard/lineage/3?depth=2").json()
    page.goto("/#/datasets/3?depth=2")
    page.wait_for_selector("[data-testid=lineage-edge]")
    labels = sorted(page.locator("[data-testid=lineage-edge-label]").all_text_contents())
    assert labels == sorted(e["type"] for e in expected["edges"]) and len(labels) == 3


def test_phone_lineage_opens_on_the_dataset_with_names_inside_their_boxes(
    page: Page, filled: Catalog
) -> None:
    name = "WWWWWWWW_MMMMMMMM_OCEAN_MODEL_GRID_T_20260301_20260331.nc"
    (new,) = filled.upsert_observations([{"file_path": f"/x/{name}", "mission_id": "HELIO"}]).ids
    filled.link(3, new, "mosaic_of")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/#/datasets/{new}?depth=3")
    page.wait_for_selector("[data-testid=lineage-edge]", state="attached")
    assert page.locator("[data-testid=lineage-node]").count() == 4  # three parents to its left
    pane = page.locator("[data-testid=lineage]").bounding_box()
    here = page.locator("[data-testid=lineage] rect.current").bounding_box()
    assert pane is not None and here is not None
    assert pane["x"] <= here["x"] and here["x"] + here["width"] <= pane["x"] + pane["width"]
    outside = page.eval_on_selector_all(
        "[data-testid=lineage-node]",
        """ns => ns.flatMap(n => {
          const r = n.querySelector('rect');
          const right = +r.getAttribute('x') + +r.getAttribute('width');
          return [...n.querySelectorAll('text')].filter(t => {
            const b = t.getBBox(); return b.x + b.width > right - 4; }).map(t => t.textContent);
        })""",
    )
    assert outside == []
    title = page.locator(f"[data-testid=lineage-node][data-id='{new}'] title").text_content()
    assert title == f"/x/{name}"  # the whole name, as a tooltip
    snap(page, "phone-lineage")


def test_phone_sky_map_points_can_be_tapped(page: Page, filled: Catalog) -> None:
    (lone,) = filled.upsert_observations(
        [{"file_path": "/x/lone.fits", "mission_id": "LONE", "ra": 200.0, "dec": 40.0}]
    ).ids
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/#/sky?mission=LONE")
    page.wait_for_selector("[data-testid=sky-point]")
    box = page.locator("[data-testid=sky-point]").bounding_box()
    assert box is not None and box["width"] >= 6  # a few CSS pixels, not 2.6
    snap(page, "phone-sky")
    # A finger lands near, not on, the point: the nearest point within reach opens.
    page.mouse.click(box["x"] + box["width"] / 2 + 9, box["y"] + box["height"] / 2 + 4)
    page.wait_for_function(f"location.hash === '#/datasets/{lone}'", timeout=5000)


def test_a_touch_screen_s_first_tap_on_the_sky_map_opens_the_point(
    browser: Browser, live_url: str, filled: Catalog
) -> None:
    (lone,) = filled.upsert_observations(
        [{"file_path": "/x/lone.fits", "mission_id": "LONE", "ra": 200.0, "dec": 40.0}]
    ).ids
    phone = browser.new_context(
        base_url=live_url, viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True
    )
    try:
        page = phone.new_page()
        page.goto("/#/sky?mission=LONE")
        page.wait_for_selector("[data-testid=sky-point]")
        page.wait_for_load_state("networkidle")
        page.locator("[data-testid=sky-point]").scroll_into_view_if_needed()
        box = page.locator("[data-testid=sky-point]").bounding_box()
        assert box is not None
        # The first tap: a page whose hover text changes under a finger must still open.
        page.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_function(f"location.hash === '#/datasets/{lone}'", timeout=5000)
    finally:
        phone.close()


def test_sky_map_12h_label_inside_the_map(page: Page) -> None:
    for projection in ("aitoff", "mollweide"):
        page.goto(f"/#/sky?projection={projection}")
        page.wait_for_selector("[data-testid=sky-point]")
        left = page.locator("[data-testid=sky-map] svg text", has_text=re.compile("^12h$"))
        assert left.count() == 1
        assert left.evaluate("t => t.getBBox().x") >= 0, projection


def test_coverage_of_a_time_range_shows_the_range(page: Page, filled: Catalog) -> None:
    filled.upsert_observations(
        [
            {
                "file_path": "/x/since-1860.nc",
                "mission_id": "OLD",
                "file_size": 3_500_000,
                "observation_timestamp": datetime(1860, 1, 1),
                "observation_end": datetime(2013, 6, 1),
            },
            *(
                {
                    "file_path": f"/x/in-{i}.nc",
                    "mission_id": "OLD",
                    "file_size": 100 + i,
                    "observation_timestamp": datetime(2013, 2 + 3 * i, 1),
                }
                for i in range(3)
            ),
        ]
    )
    page.goto("/#/coverage?mission=OLD&start=2012-01-01T00:00:00Z&end=2014-12-31T00:00:00Z")
    page.wait_for_selector("[data-testid=coverage-bar]")
    counts = page.locator("[data-testid=status-counts] li").all_inner_texts()
    assert counts[0] == "raw 4"
    note = page.inner_text("[data-testid=coverage-note]")
    assert note.startswith("1 observation(s) (3.3 MiB) started before the range"), note
    assert figure_year(page, "#chart-coverage", "[data-testid=coverage-bar]") == [2013] * 3
    drawn = page.locator("[data-testid=chart-coverage] [data-testid=coverage-bar] title")
    assert sum(int(t.split(": ")[1].split()[0]) for t in drawn.all_text_contents()) == 3
    byte_ticks = page.locator(
        "[data-testid=chart-coverage-bytes] g[aria-label='y-axis tick label'] text"
    ).all_text_contents()
    assert byte_ticks and not any("MiB" in t or "KiB" in t for t in byte_ticks), byte_ticks
    snap(page, "coverage-range")


def test_mission_bars_follow_the_period_and_counts_are_whole(page: Page, filled: Catalog) -> None:
    filled.upsert_observations(
        [
            {"file_path": f"/x/long-{i}.nc", "mission_id": "LONG", "observation_timestamp": when}
            for i, when in enumerate(
                [datetime(1990, 1, 15), datetime(1990, 2, 15), datetime(2020, 6, 1)]
            )
        ]
    )
    page.goto("/#/missions/LONG")
    page.wait_for_selector("[data-testid=chart-time] [data-testid=bar]")
    widths = page.eval_on_selector_all(
        "[data-testid=chart-time] [data-testid=bar]",
        "bs => bs.map(b => b.getBoundingClientRect().width)",
    )
    assert widths and min(widths) >= 3, widths
    ticks = page.locator(
        "[data-testid=chart-time] g[aria-label='y-axis tick label'] text"
    ).all_text_contents()
    assert ticks and all(re.fullmatch(r"\d+", t) for t in ticks), ticks
    assert page.inner_text("#chart-time-caption") == "Observations per year"
    # None of the three has a quality score: the quality chart says so.
    note = page.wait_for_selector("[data-testid=chart-quality] [data-testid=quality-unscored]")
    assert note.inner_text().startswith("3 observation(s) without a quality score")
    snap(page, "missions-decades")


def test_small_things(page: Page, filled: Catalog) -> None:
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    filled.mark_missing([filled.get(30)["file_path"]])
    page.goto("/#/datasets/20")  # opened from a bookmark: no links, no status history
    page.wait_for_selector("[data-testid=dataset-title]:has-text('obs019')")
    page.wait_for_selector("[data-testid=no-lineage]")
    assert "no status changes" in page.inner_text("[data-testid=no-history]")
    assert page.locator("link[rel=icon]").count() == 1
    page.click("[data-testid=back]")  # to the search, not out of the app
    page.wait_for_selector("[data-testid=result-row]", timeout=5000)
    assert page.url.startswith(page.evaluate("location.origin"))
    page.goto("/#/?include_missing=true&sort=-id&start=2026-03-02T13:00:00Z")
    page.wait_for_selector("[data-testid=result-row][data-missing]", timeout=5000)
    first = page.locator("[data-testid=result-row]").first
    assert first.get_attribute("data-missing") == "true" and "file missing" in first.inner_text()
    assert page.locator("[data-testid=result-row][data-missing]").count() == 1
    start = page.locator("[data-testid=start]")
    assert start.get_attribute("type") in (None, "text")  # not the browser's 12-hour picker
    assert start.input_value() == "2026-03-02T13:00"
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_selector("[data-testid=sort]:visible")
    page.select_option("[data-testid=sort]", "id")
    page.wait_for_function("location.hash.includes('sort=id')")
    query = SearchQuery(start="2026-03-02T13:00:00Z", include_missing=True, sort="id", limit=25)
    expected = [str(r["id"]) for r in search(filled, query).items]
    page.wait_for_function(
        "first => document.querySelector('[data-testid=result-row] td').textContent === first",
        arg=expected[0],
    )
    assert first_ids(page) == expected
    snap(page, "phone-sort")
    assert missing == []  # no 404 (the favicon is inline; the lineage endpoint is there)
