"""/api/docs renders the human-readable API documentation (Swagger UI) in a real browser, from this
host alone: every request the page makes is routed through the test, which lets 127.0.0.1 through
and refuses (and records) anything else; schools run the repository on closed networks."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import expect

from tests.browser.conftest import LOCAL_HOSTS, NETWORK_SCHEMES


def test_api_docs_render_from_this_host_only(new_context: Any, shots: Any) -> None:
    context = new_context()
    asked: list[str] = []
    refused: list[str] = []

    def only_local(route: Any) -> None:
        url = route.request.url
        asked.append(url)
        parts = urlsplit(url)
        if parts.scheme in NETWORK_SCHEMES and parts.hostname not in LOCAL_HOSTS:
            refused.append(url)
            route.abort("blockedbyclient")
        else:
            route.continue_()

    context.route("**/*", only_local)
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))

    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("API")
    operations = page.locator(".swagger-ui .opblock")
    expect(operations.first).to_be_visible()
    assert operations.count() >= 5
    shots(page, "api-docs", full_page=False)

    search = page.locator(".opblock-get", has=page.locator(".opblock-summary-path", has_text="/materials")).first
    search.locator(".opblock-summary").click()
    expect(search.locator(".parameters-container")).to_be_visible()
    search.scroll_into_view_if_needed()
    shots(page, "api-docs-operation-open", full_page=False)

    assert refused == [], refused
    assert any(urlsplit(u).path.endswith("/openapi.json") for u in asked), asked
    assert any(urlsplit(u).path.endswith("swagger-ui-bundle.js") for u in asked), asked
    assert problems == [], problems  # a script or style refused by the CSP is logged as an error
