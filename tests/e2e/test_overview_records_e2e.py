"""End to end, as an auditor: the Overview over the demo workspace, filtered; a record opened from
the Records table; a reload that keeps the auditor signed in on that record; a PDF report
downloaded from the Export page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import served_demo
from tests.e2e.helpers import open_page, settle, shoot, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory):
    from security.identity import Role

    with served_demo(tmp_path_factory.mktemp("overview"), "aud", Role.AUDITOR) as (url, password, _seeded, _settings):
        yield url, password


def _metric(page, label: str) -> str:
    box = page.get_by_test_id("stMetric").filter(has=page.get_by_text(label, exact=True))
    return box.get_by_test_id("stMetricValue").inner_text()


def test_overview_filter_open_a_record_reload_and_download_a_pdf(demo_app, page, tmp_path):
    url, password = demo_app
    sign_in(page, url, "aud", password)
    page.get_by_role("heading", name="Leaderboard by prompt version").wait_for()
    runs = int(_metric(page, "Runs").replace(",", ""))
    assert runs > 0
    shoot(page, "overview.png", tmp_path)

    # filter by one prompt: fewer runs, and the leaderboard lists only that prompt's versions
    prompts = page.get_by_test_id("stMultiSelect").filter(has=page.get_by_text("Prompt", exact=True))
    prompts.click()
    option = page.get_by_role("option").filter(has_not_text="Select all").first
    slug = option.inner_text().strip()
    option.click()
    page.keyboard.press("Escape")
    expect(prompts.get_by_text(slug, exact=True)).to_be_visible()
    filtered = runs
    for _ in range(60):  # the rerun with the filter
        settle(page)
        filtered = int(_metric(page, "Runs").replace(",", ""))
        if filtered != runs:
            break
        page.wait_for_timeout(500)
    assert 0 < filtered < runs
    board = page.get_by_test_id("stDataFrame").nth(-2)
    expect(board).to_be_visible()

    # the Records table: select the first row, which opens that record
    open_page(page, "Records")
    grid = page.get_by_test_id("stDataFrame").first
    grid.wait_for()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)  # the selection cell of the first row
    page.get_by_role("heading", name="Record", exact=True).wait_for()
    expect(page).to_have_url(re.compile(r"/records\?id=[0-9a-f]{32}"))
    record_url = page.url
    settle(page)
    shoot(page, "record.png", tmp_path)

    # a reload keeps the auditor signed in, on the same record
    page.reload()
    page.get_by_role("heading", name="Record", exact=True).wait_for()
    page.get_by_text("Signed in as aud").wait_for()
    assert page.url == record_url
    page.get_by_role("tab", name=re.compile("Trace")).wait_for()

    # a PDF report of the last 30 days
    open_page(page, "Export")
    page.get_by_text("PDF report", exact=True).click()
    settle(page)
    page.get_by_role("button", name="Export").click()
    page.get_by_text("Exported", exact=False).wait_for(timeout=180_000)
    settle(page)
    button = page.get_by_role("button", name=re.compile("Download the PDF report"))
    button.wait_for()
    shoot(page, "export.png", tmp_path)
    with page.expect_download(timeout=120_000) as download:
        button.click()
    saved = tmp_path / "report.pdf"
    download.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF") and saved.stat().st_size > 5_000
    from pypdf import PdfReader

    text = " ".join(p.extract_text() for p in PdfReader(saved).pages)
    assert "Compliance report" in text
