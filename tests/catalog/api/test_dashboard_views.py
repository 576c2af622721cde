"""The dashboard's views in headless Chromium: every request must stay on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Route

from tests.catalog.api.test_dashboard import SCREENSHOTS, browser, catalog_url

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
