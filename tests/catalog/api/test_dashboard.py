"""The dashboard end to end: Playwright for Python driving Debian's headless Chromium."""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

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

playwright_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    binary = shutil.which("chromium")
    if binary is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=binary, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: object, live_url: str, request: pytest.FixtureRequest) -> Iterator[object]:
    context = browser.new_context(
        base_url=live_url,
        accept_downloads=True,  # type: ignore[attr-defined]
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


def rows(page: object) -> list[str]:
    return page.locator("[data-testid=result-row] td:nth-child(1)").all_inner_texts()  # type: ignore[attr-defined]


def test_search_sort_and_page(page: object, filled: Catalog) -> None:
    page.goto("/")  # type: ignore[attr-defined]
    page.wait_for_selector("[data-testid=result-row]")  # type: ignore[attr-defined]
    assert len(rows(page)) == 25
    assert page.inner_text("[data-testid=result-count]") == "30 observation(s)"  # type: ignore[attr-defined]
    page.select_option("[data-testid=mission]", "COSMOS-7")  # type: ignore[attr-defined]
    page.fill("[data-testid=target]", "m31")  # type: ignore[attr-defined]
    page.select_option("[data-testid=limit]", "10")  # type: ignore[attr-defined]
    page.click("[data-testid=search-button]")  # type: ignore[attr-defined]
    page.wait_for_function(
        "document.querySelector('[data-testid=result-count]').textContent.startsWith('5 ')"
    )  # type: ignore[attr-defined]
    expected = [
        str(r["id"])
        for r in filled.get_many(range(1, 31)).values()
        if r["mission_id"] == "COSMOS-7" and r["target_object"] == "M31"
    ]
    assert rows(page) == expected
    page.click("th[data-sort=data_quality_score]")  # type: ignore[attr-defined]
    page.wait_for_selector("th.sorted-asc[data-sort=data_quality_score]")  # type: ignore[attr-defined]
    qualities = page.locator("[data-testid=result-row] td:nth-child(7)").all_inner_texts()  # type: ignore[attr-defined]
    assert qualities == sorted(qualities)
    page.select_option("[data-testid=mission]", "")  # type: ignore[attr-defined]
    page.fill("[data-testid=target]", "")  # type: ignore[attr-defined]
    page.click("th[data-sort=id]")  # type: ignore[attr-defined]
    page.wait_for_selector("th.sorted-asc[data-sort=id]")  # type: ignore[attr-defined]
    seen = list(rows(page))
    for _ in range(2):
        page.click("[data-testid=next-page]")  # type: ignore[attr-defined]
        page.wait_for_function(
            f"document.querySelector('[data-testid=page-number]').textContent === 'page {len(seen) // 10 + 1}'"
        )  # type: ignore[attr-defined]
        seen += rows(page)
    assert seen == [str(i) for i in range(1, 31)]
    assert page.is_disabled("[data-testid=next-page]")  # type: ignore[attr-defined]
    page.click("[data-testid=prev-page]")  # type: ignore[attr-defined]
    page.wait_for_function(
        "document.querySelector('[data-testid=page-number]').textContent === 'page 2'"
    )  # type: ignore[attr-defined]
    assert rows(page) == [str(i) for i in range(11, 21)]


def test_open_a_dataset_with_history_and_lineage(
    page: object, live_url: str, filled: Catalog
) -> None:
    filled.set_status(2, "processing", reason="queued", actor="pipeline")
    filled.set_status(2, "processed", reason="done", actor="pipeline")
    page.goto("/")  # type: ignore[attr-defined]
    page.click("[data-testid=dataset-link] >> text='2'")  # type: ignore[attr-defined]
    page.wait_for_selector("[data-testid=status-event]")  # type: ignore[attr-defined]
    assert "obs001.fits" in page.inner_text("[data-testid=dataset-title]")  # type: ignore[attr-defined]
    fields = page.inner_text("[data-testid=dataset-fields]")  # type: ignore[attr-defined]
    for expected in ("mission_id", "HELIO", "target_object", "M33", "data_quality_score"):
        assert expected in fields
    events = page.locator("[data-testid=status-event]").all_inner_texts()  # type: ignore[attr-defined]
    assert len(events) == 2 and "processed" in events[1] and "done" in events[1]
    page.wait_for_selector("[data-testid=lineage-node]")  # type: ignore[attr-defined]
    nodes = page.locator("[data-testid=lineage-node]").all_text_contents()  # type: ignore[attr-defined]
    assert (
        len(nodes) == 3
        and any(n.startswith("1 ") for n in nodes)
        and any(n.startswith("3 ") for n in nodes)
    )
    page.click("[data-testid=lineage-node] >> text=/^3 /")  # type: ignore[attr-defined]
    page.wait_for_function(
        "document.querySelector('[data-testid=dataset-title]').textContent.includes('obs002')"
    )  # type: ignore[attr-defined]


def test_export_the_current_results(page: object) -> None:
    page.goto("/")  # type: ignore[attr-defined]
    page.wait_for_selector("[data-testid=result-row]")  # type: ignore[attr-defined]
    page.select_option("[data-testid=mission]", "HELIO")  # type: ignore[attr-defined]
    page.click("[data-testid=search-button]")  # type: ignore[attr-defined]
    page.wait_for_function(
        "document.querySelector('[data-testid=result-count]').textContent.startsWith('15 ')"
    )  # type: ignore[attr-defined]
    with page.expect_download() as csv_download:  # type: ignore[attr-defined]
        page.click("[data-testid=export-csv]")  # type: ignore[attr-defined]
    table = list(csv.DictReader(io.StringIO(Path(csv_download.value.path()).read_text())))
    assert len(table) == 15 and {r["mission_id"] for r in table} == {"HELIO"}
    with page.expect_download() as json_download:  # type: ignore[attr-defined]
        page.click("[data-testid=export-json]")  # type: ignore[attr-defined]
    records = json.loads(Path(json_download.value.path()).read_text())
    assert sorted(r["id"] for r in records) == sorted(int(r["id"]) for r in table)


def test_mission_charts(page: object) -> None:
    page.goto("/#/missions/COSMOS-7")  # type: ignore[attr-defined]
    page.wait_for_selector("[data-testid=chart-time] [data-testid=bar]")  # type: ignore[attr-defined]
    assert page.locator("[data-testid=mission-row]").count() == 2  # type: ignore[attr-defined]
    assert page.inner_text("[data-testid=chart-title]") == "Mission COSMOS-7"  # type: ignore[attr-defined]
    assert page.locator("[data-testid=chart-quality] [data-testid=bar]").count() == 10  # type: ignore[attr-defined]
    assert page.locator("[data-testid=chart-bytes] [data-testid=bar]").count() >= 1  # type: ignore[attr-defined]


def test_a_bad_query_shows_the_error(page: object) -> None:
    page.goto("/")  # type: ignore[attr-defined]
    page.wait_for_selector("[data-testid=result-row]")  # type: ignore[attr-defined]
    page.goto("/#/datasets/999999")  # type: ignore[attr-defined]
    page.wait_for_selector("[data-testid=error]:not([hidden])")  # type: ignore[attr-defined]
    assert "not_found" in page.inner_text("[data-testid=error]")  # type: ignore[attr-defined]


assert TOKEN  # the live server has writes enabled; the dashboard itself only reads
