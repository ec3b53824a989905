"""The dashboard parts of issue 14 in headless Chromium: signing in with an API token,
and a failed job that says why its files failed (error column, summary by code)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Dashboard
from tests.browser.test_dashboard import WAIT_MS, page, shot  # noqa: F401 - the page fixture
from tests.harness import User, until
from tests.integration.api import W


@pytest.fixture(scope="module")
def newcomer(dashboard: Dashboard) -> User:
    return dashboard.server.new_user()


def test_sign_in_with_an_api_token(
    page: Any, dashboard: Dashboard, newcomer: User, output_dir: Path  # noqa: F811
) -> None:
    base = dashboard.server.url
    page.goto(f"{base}/web/login")
    page.fill("#api-token", "haul_not-a-token")
    page.click("#token-submit")
    assert "invalid or revoked token" in page.inner_text("#login-error")
    page.fill("#api-token", newcomer.token)
    shot(page, output_dir, "login-token")
    page.click("#token-submit")
    page.wait_for_url(f"{base}/web/jobs")
    assert newcomer.email in page.inner_text("#whoami")
    # Logging out ends the dashboard's session, not the API token that opened it.
    page.click("header form.who button")
    page.wait_for_url(f"{base}/web/login")
    with newcomer.client() as c:
        assert c.get("/whoami").status_code == 200


def test_a_failed_job_says_why(
    page: Any, dashboard: Dashboard, newcomer: User, output_dir: Path  # noqa: F811
) -> None:
    base, root = dashboard.server.url, dashboard.root
    src, dst = root / "fail-src", root / "fail-dst"
    src.mkdir()
    dst.mkdir()
    for i in range(3):
        (src / f"f{i}.dat").write_text(f"new {i}")
        (dst / f"f{i}.dat").write_text(f"old {i}")
    (src / "fresh.dat").write_text("fresh")
    s = newcomer.site(endpoints=[f"file://{src}"])
    d = newcomer.site(endpoints=[f"file://{dst}"])
    with newcomer.client() as c:
        r = c.post(f"{W}/copy", json={"src_siteid": s, "src_filepath": "/", "dst_siteid": d,
                                      "dst_filepath": "/", "max_tries": 1})
        assert r.status_code == 200, r.text
        job_id = r.json()["id"]
        until(lambda: c.get(f"{W}/jobs/{job_id}/status").json()["status"] == "FAILED",
              timeout=60, what="the copy to fail")
        job = c.get(f"{W}/jobs/{job_id}").json()
    assert (job["num_files"], job["files_done"], job["files_failed"]) == (4, 1, 3)

    page.goto(f"{base}/web/login")
    page.fill("#api-token", newcomer.token)
    page.click("#token-submit")
    page.wait_for_url(f"{base}/web/jobs")
    row = page.locator(f"#job-{job_id}")
    row.wait_for(timeout=WAIT_MS)
    assert "1/4 files, 3 failed" in row.inner_text()
    page.goto(f"{base}/web/jobs/{job_id}")
    summary = page.locator("#job-failures tr.failure")
    assert summary.count() == 1
    text = summary.first.inner_text()
    assert "EXISTS" in text and "3" in text and "/f" in text, text
    failed_rows = page.locator("#elements-table tr[data-status=FAILED]")
    assert failed_rows.count() == 3
    assert "EXISTS" in failed_rows.first.locator("td.error-cell").inner_text()
    done_row = page.locator("#elements-table tr[data-status=DONE]", has_text="fresh.dat")
    assert done_row.locator("td.error-cell").inner_text().strip() == ""
    shot(page, output_dir, "job-failed")


def test_api_reference_pages_render_without_a_cdn(
    page: Any, dashboard: Dashboard, output_dir: Path  # noqa: F811
) -> None:
    base = dashboard.server.url
    with dashboard.server.client() as c:
        for route, asset in (("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")):
            html = c.get(route).text
            assert f"/docs-assets/{asset}" in html and "cdn.jsdelivr" not in html, html
            served = c.get(f"/docs-assets/{asset}")
            assert served.status_code == 200 and len(served.content) > 100_000
    outside: list[str] = []

    def note(request: Any) -> None:
        # Scripts, styles and fonts must come from this server. ReDoc's sidebar
        # links its maker's logo image from the web; offline it is just missing.
        if not request.url.startswith((base, "blob:", "data:")) and (
            request.resource_type in ("script", "stylesheet", "font", "fetch", "xhr")
        ):
            outside.append(request.url)

    page.on("request", note)
    page.goto(f"{base}/docs")
    page.wait_for_selector(".swagger-ui .info .title >> text=haul")
    page.wait_for_selector(".opblock-tag >> text=jobs")
    shot(page, output_dir, "api-docs")
    page.goto(f"{base}/redoc")
    page.wait_for_selector("h1 >> text=haul")
    shot(page, output_dir, "api-redoc")
    assert outside == [], outside


def test_favicon_upload_names_and_round_plot_ticks(
    page: Any, dashboard: Dashboard, newcomer: User, output_dir: Path  # noqa: F811
) -> None:
    base, root = dashboard.server.url, dashboard.root
    (root / "up-dst").mkdir()
    dst = newcomer.site(endpoints=[f"file://{root}/up-dst"])
    with newcomer.client() as c:
        up = c.post(f"{W}/files", params={"name": "notes-from-laptop.txt"}, content=b"hi\n")
        assert up.status_code in (200, 201), up.text
        r = c.post(f"{W}/copy", json={"src_siteid": "upload", "src_filepath": up.json()["id"],
                                      "dst_siteid": dst, "dst_filepath": "/notes.txt"})
        assert r.status_code == 200, r.text
        job_id = r.json()["id"]
        assert c.get("/web/static/favicon.svg").headers["content-type"].startswith("image/svg")
    page.goto(f"{base}/web/login")
    page.fill("#api-token", newcomer.token)
    page.click("#token-submit")
    page.wait_for_url(f"{base}/web/jobs")
    icon = page.evaluate("() => document.querySelector('link[rel=icon]')?.getAttribute('href')")
    assert icon == "/web/static/favicon.svg", page.content()[:600]
    row = page.locator(f"#job-{job_id}")
    row.wait_for()
    assert "notes-from-laptop.txt" in row.inner_text()
    assert up.json()["id"] not in row.inner_text()
    page.wait_for_selector(f"#job-{job_id}[data-status=DONE]")

    admin = page.context.browser.new_context(viewport={"width": 1280, "height": 1000})
    try:
        apage = admin.new_page()
        apage.goto(f"{base}/web/login")
        apage.fill("#email", dashboard.admin_email)
        apage.fill("#passwd", dashboard.admin_password)
        apage.click("#login-submit")
        apage.wait_for_url(f"{base}/web/jobs*")
        # The admin's table keeps Age and Rate on one line.
        cells = apage.locator("#jobs-rows tr td.nowrap")
        assert cells.count() >= 2
        assert apage.evaluate(
            "() => [...document.querySelectorAll('#jobs-rows td.nowrap')]"
            ".every((td) => getComputedStyle(td).whiteSpace === 'nowrap')"
        )
        shot(apage, output_dir, "jobs-admin")
        apage.goto(f"{base}/web/queue")
        apage.select_option("#load-range", "PT15M")
        apage.wait_for_selector("#load-plot svg[data-ticks]")
        ticks = [int(t) for t in
                 (apage.get_attribute("#load-plot svg", "data-ticks") or "").split(",")]
        step = ticks[1] - ticks[0]
        assert ticks[0] == 0 and all(b - a == step for a, b in zip(ticks, ticks[1:], strict=False))
        assert str(step).rstrip("0") in ("1", "2", "5"), ticks
    finally:
        admin.close()
