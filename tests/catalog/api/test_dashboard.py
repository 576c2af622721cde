"""The dashboard end to end: Playwright for Python driving Debian's headless Chromium."""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.catalog.api.conftest import TOKEN
from zarrlake.catalog import Catalog

SCREENSHOTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "screenshots"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    binary = shutil.which("chromium")
    if binary is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=binary, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, live_url: str, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(
        base_url=live_url,
        accept_downloads=True,
        viewport={"width": 1400, "height": 900},
    )
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    opened.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert errors == [], errors


@pytest.fixture(params=["sqlite"])
def catalog_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The dashboard tests need one database kind; the API tests cover both."""
    return f"sqlite:///{tmp_path / 'catalog.db'}"


def wait_for_page(page: Page, number: int) -> None:
    script = "n => document.querySelector('[data-testid=page-number]').textContent === 'page ' + n"
    page.wait_for_function(script, arg=number)


def rows(page: Page) -> list[str]:
    return page.locator("[data-testid=result-row] td:nth-child(1)").all_inner_texts()


def test_search_sort_and_page(page: Page, filled: Catalog) -> None:
    page.goto("/")
    page.wait_for_selector("[data-testid=result-row]")
    assert len(rows(page)) == 25
    assert page.inner_text("[data-testid=result-count]") == "30 observation(s)"
    page.select_option("[data-testid=mission]", "COSMOS-7")
    page.fill("[data-testid=target]", "m31")
    page.select_option("[data-testid=limit]", "10")
    page.click("[data-testid=search-button]")
    page.wait_for_function(
        "document.querySelector('[data-testid=result-count]').textContent.startsWith('5 ')"
    )
    expected = [
        str(r["id"])
        for r in filled.get_many(range(1, 31)).values()
        if r["mission_id"] == "COSMOS-7" and r["target_object"] == "M31"
    ]
    assert rows(page) == expected[::-1]  # newest first
    page.click("th[data-sort=data_quality_score]")
    page.wait_for_selector("th.sorted-asc[data-sort=data_quality_score]")
    qualities = page.locator("[data-testid=result-row] td:nth-child(7)").all_inner_texts()
    assert qualities == sorted(qualities)
    page.select_option("[data-testid=mission]", "")
    page.fill("[data-testid=target]", "")
    page.click("th[data-sort=id]")
    page.wait_for_selector("th.sorted-asc[data-sort=id]")
    seen = list(rows(page))
    for _ in range(2):
        page.click("[data-testid=next-page]")
        wait_for_page(page, len(seen) // 10 + 1)
        seen += rows(page)
    assert seen == [str(i) for i in range(1, 31)]
    assert page.is_disabled("[data-testid=next-page]")
    page.click("[data-testid=prev-page]")
    wait_for_page(page, 2)
    assert rows(page) == [str(i) for i in range(11, 21)]


def test_open_a_dataset_with_history_and_lineage(
    page: Page, live_url: str, filled: Catalog
) -> None:
    filled.set_status(2, "processing", reason="queued", actor="pipeline")
    filled.set_status(2, "processed", reason="done", actor="pipeline")
    page.goto("/#/?sort=id")
    page.click("[data-testid=dataset-link] >> text='2'")
    page.wait_for_selector("[data-testid=status-event]")
    assert "obs001.fits" in page.inner_text("[data-testid=dataset-title]")
    fields = page.inner_text("[data-testid=dataset-fields]")
    for expected in ("mission_id", "HELIO", "target_object", "M33", "data_quality_score"):
        assert expected in fields
    events = page.locator("[data-testid=status-event]").all_inner_texts()
    assert len(events) == 2 and "processed" in events[1] and "done" in events[1]
    page.wait_for_selector("[data-testid=lineage-node]")
    nodes = page.locator("[data-testid=lineage-node]").all_text_contents()
    assert (
        len(nodes) == 3
        and any(n.startswith("1 ") for n in nodes)
        and any(n.startswith("3 ") for n in nodes)
    )
    edges = page.locator("[data-testid=lineage-edge]")
    assert edges.count() == 2  # one per link, not every pair of neighbouring boxes
    for i in range(2):
        edge = edges.nth(i)
        assert edge.get_attribute("marker-end") == "url(#arrow)"
        assert float(edge.get_attribute("data-x1") or 0) < float(edge.get_attribute("data-x2") or 0)
    assert sorted(edges.all_text_contents()) == ["derived_from", "raw_to_processed"]
    page.click("[data-testid=lineage-node] >> text=/^3 /")
    page.wait_for_function(
        "document.querySelector('[data-testid=dataset-title]').textContent.includes('obs002')"
    )


def test_export_the_current_results(page: Page) -> None:
    page.goto("/")
    page.wait_for_selector("[data-testid=result-row]")
    page.select_option("[data-testid=mission]", "HELIO")
    page.click("[data-testid=search-button]")
    page.wait_for_function(
        "document.querySelector('[data-testid=result-count]').textContent.startsWith('15 ')"
    )
    with page.expect_download() as csv_download:
        page.click("[data-testid=export-csv]")
    table = list(csv.DictReader(io.StringIO(Path(csv_download.value.path()).read_text())))
    assert len(table) == 15 and {r["mission_id"] for r in table} == {"HELIO"}
    with page.expect_download() as json_download:
        page.click("[data-testid=export-json]")
    records = json.loads(Path(json_download.value.path()).read_text())
    assert sorted(r["id"] for r in records) == sorted(int(r["id"]) for r in table)


def test_mission_charts(page: Page) -> None:
    page.goto("/#/missions/COSMOS-7")
    page.wait_for_selector("[data-testid=chart-time] [data-testid=bar]")
    assert page.locator("[data-testid=mission-row]").count() == 2
    assert page.inner_text("[data-testid=chart-title]") == "Mission COSMOS-7"
    assert page.locator("[data-testid=chart-quality] [data-testid=bar]").count() == 10
    assert page.locator("[data-testid=chart-bytes] [data-testid=bar]").count() >= 1


def test_a_bad_query_shows_the_error(page: Page) -> None:
    page.goto("/")
    page.wait_for_selector("[data-testid=result-row]")
    page.goto("/#/datasets/999999")
    page.wait_for_selector("[data-testid=error]:not([hidden])")
    assert "not_found" in page.inner_text("[data-testid=error]")


assert TOKEN  # the live server has writes enabled; the dashboard itself only reads
