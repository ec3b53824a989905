"""The dashboard in headless Chromium, against a live server with a real worker.

A person logs in, copies a directory between two file:// sites by browsing
for it on the new-job page, watches the copy reach DONE on the jobs page
without reloading, reads an attempt's log, cancels a slow running copy, and
an admin sees the load plot. Each page is saved as a screenshot under
``test-output/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Dashboard
from tests.harness import User
from tests.integration.api import W

WAIT_MS = 60_000


@pytest.fixture(scope="module")
def person(dashboard: Dashboard) -> User:
    return dashboard.server.new_user()


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT_MS)
    pg = context.new_page()
    yield pg
    context.close()


def shot(page: Any, output_dir: Path, name: str) -> None:
    page.screenshot(path=str(output_dir / f"dashboard-{name}.png"), full_page=True)


def log_in(page: Any, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/web/login")
    page.fill("#email", email)
    page.fill("#passwd", password)
    page.click("#login-submit")
    page.wait_for_url(f"{base}/web/jobs*")


def test_log_in(page: Any, dashboard: Dashboard, person: User, output_dir: Path) -> None:
    base = dashboard.server.url
    page.goto(f"{base}/web/jobs")
    page.wait_for_url(f"{base}/web/login?next=%2Fweb%2Fjobs")  # pages need a session
    page.fill("#email", person.email)
    page.fill("#passwd", "not-the-password")
    page.click("#login-submit")
    assert "wrong email or password" in page.inner_text("#login-error")
    shot(page, output_dir, "login")
    page.fill("#passwd", person.password)
    page.click("#login-submit")
    page.wait_for_url(f"{base}/web/jobs")
    assert person.email in page.inner_text("#whoami")
    assert "No jobs" in page.inner_text("#jobs-rows")
    shot(page, output_dir, "jobs-empty")
    # Logging out revokes the token: the old cookie no longer opens a page.
    cookie = next(c for c in page.context.cookies() if c["name"] == "haul_token")
    assert cookie["httpOnly"]
    page.click("header form.who button")
    page.wait_for_url(f"{base}/web/login")
    page.context.add_cookies([cookie])
    page.goto(f"{base}/web/jobs")
    page.wait_for_url(f"{base}/web/login*")


def test_copy_between_file_sites(
    page: Any, dashboard: Dashboard, person: User, output_dir: Path
) -> None:
    base, root = dashboard.server.url, dashboard.root
    (root / "a" / "run42" / "raw").mkdir(parents=True)
    (root / "b").mkdir()
    (root / "a" / "notes.txt").write_text("not this one")
    payload = {f"f{i}.dat": bytes([i]) * (20_000 * (i + 1)) for i in range(3)}
    for name, data in payload.items():
        (root / "a" / "run42" / name).write_bytes(data)
    (root / "a" / "run42" / "raw" / "r.dat").write_bytes(b"raw" * 1000)
    src = person.site("web-src", endpoints=[f"file://{root}/a"])
    dst = person.site("web-dst", endpoints=[f"file://{root}/b"])

    log_in(page, base, person.email, person.password)
    page.click("#nav-new")
    page.wait_for_url(f"{base}/web/jobs/new")
    page.select_option("#job-type", "COPY")
    page.select_option("#src-site", str(src))
    page.click("#src-browse")
    # The browser lists "/" through a LIST job that the worker runs.
    page.locator("#src-browser li.dir", has_text="run42").locator("a.open").click()
    page.wait_for_selector("#src-browser li.file >> text=f0.dat")
    assert page.inner_text("#src-browser .where") == "/run42"
    shot(page, output_dir, "new-job-browsing")
    page.click("#src-browser button.choose-here")
    assert page.input_value("#src-path") == "/run42"
    assert "/run42" in page.inner_text("#src-chosen")
    page.select_option("#dst-site", str(dst))
    page.click("#dst-browse")
    page.wait_for_selector("#dst-browser button.choose-here")
    page.click("#dst-browser button.choose-here")
    assert page.input_value("#dst-path") == "/"
    page.check("#opt-overwrite")
    page.select_option("#opt-checksum", "sha256")
    shot(page, output_dir, "new-job")
    page.click("#submit-job")
    page.wait_for_url(f"{base}/web/jobs?submitted=*")

    # The browsing LIST jobs were cleaned up; the copy is the only job.
    with person.client() as c:
        jobs = c.get(f"{W}/jobs").json()
    assert [j["type"] for j in jobs] == ["COPY"]
    job = jobs[0]
    assert (job["src_filepath"], job["dst_filepath"]) == ("/run42", "/run42")
    assert job["extra_opts"]["checksum"] == "sha256" and job["extra_opts"]["overwrite"] is True

    # Watch it finish without reloading: a marker set on this page must survive.
    page.evaluate("window.__stayed = true")
    row = page.locator(f"#job-{job['id']}")
    row.wait_for()
    page.wait_for_selector(f"#job-{job['id']}[data-status=DONE]", timeout=WAIT_MS)
    assert page.evaluate("window.__stayed") is True
    text = row.inner_text()
    assert "4/4 files" in text and "web-src" in text and "web-dst" in text
    shot(page, output_dir, "jobs-done")
    for name, data in payload.items():
        assert (root / "b" / "run42" / name).read_bytes() == data
    assert (root / "b" / "run42" / "raw" / "r.dat").read_bytes() == b"raw" * 1000

    # Its detail page: every element, and the log of a copy's attempt.
    row.locator("a.job-link").click()
    page.wait_for_url(f"{base}/web/jobs/{job['id']}")
    assert page.inner_text("#job-status") == "DONE"
    copy_row = page.locator("#elements-table tr", has_text="f1.dat").first
    copy_row.locator("button.show-attempts").click()
    page.wait_for_selector("#attempts article.attempt")
    attempt = page.inner_text("#attempts")
    assert "Attempt 1" in attempt and "DONE" in attempt
    assert "COPY element" in attempt and "sha256" in attempt
    assert "f1.dat" in attempt
    shot(page, output_dir, "job-detail")


def test_cancel_a_running_job(
    page: Any, dashboard: Dashboard, person: User, output_dir: Path
) -> None:
    base = dashboard.server.url
    slow = person.site(endpoints=["dummy://slow/?files=1&size=500000000&speed=1000000"])
    sink = person.site(endpoints=["dummy://sink/"])
    with person.client() as c:
        r = c.post(
            f"{W}/jobs",
            json={
                "type": "COPY",
                "src_siteid": slow,
                "src_filepath": "/",
                "dst_siteid": sink,
                "dst_filepath": "/big",
            },
        )
        assert r.status_code == 200, r.text
        job_id = r.json()["id"]
    log_in(page, base, person.email, person.password)
    page.goto(f"{base}/web/jobs/{job_id}")
    # Live progress of the running element, without reloading.
    page.wait_for_selector("#elements-table tr[data-status=RUNNING] .progress .fill")
    page.wait_for_function(
        "() => /[1-9][0-9.]* MB/.test(document.querySelector("
        "'#elements-table tr[data-status=RUNNING]')?.innerText || '')"
    )
    assert page.is_enabled("#btn-cancel") and not page.is_enabled("#btn-resume")
    shot(page, output_dir, "job-running")
    messages: list[str] = []

    def accept(dialog: Any) -> None:
        messages.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    page.click("#btn-cancel")
    page.wait_for_selector("#job-summary[data-status=CANCELLED]")
    assert messages and "Cancel job" in messages[0]
    # The worker hears of it on its next heartbeat and stops the copy.
    page.wait_for_selector("#elements-table tr[data-status=CANCELLED] >> text=/big", timeout=30_000)
    assert not page.is_enabled("#btn-cancel") and page.is_enabled("#btn-retry")
    shot(page, output_dir, "job-cancelled")
    with person.client() as c:
        body = c.get(f"{W}/jobs/{job_id}").json()
    assert body["status"] == "CANCELLED" and body["num_running"] == 0


def test_sites_page(page: Any, dashboard: Dashboard, person: User, output_dir: Path) -> None:
    base = dashboard.server.url
    log_in(page, base, person.email, person.password)
    page.click("#nav-sites")
    page.wait_for_url(f"{base}/web/sites")
    page.fill("#site-name", "web-sftp")
    page.fill("#site-endpoints", "sftp://storage.invalid:2222/data")
    page.click("#site-submit")
    row = page.locator("tr", has_text="web-sftp")
    row.wait_for()
    assert "none" in row.inner_text()
    row.locator("details.login-site summary").click()
    row.locator("input[name=username]").fill("alice")
    row.locator("input[name=password]").fill("s3cret-never-shown")
    row.locator("form.credential-form button[type=submit]").click()
    page.wait_for_selector("tr:has-text('web-sftp') .cred-ok")
    assert "as alice" in page.locator("tr", has_text="web-sftp").inner_text()
    assert "s3cret-never-shown" not in page.content()
    shot(page, output_dir, "sites")


def test_admin_sees_the_load_plot(
    browser: Any, dashboard: Dashboard, person: User, output_dir: Path
) -> None:
    base = dashboard.server.url
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    try:
        log_in(page, base, dashboard.admin_email, dashboard.admin_password)
        # An admin sees everyone's jobs, with their owners.
        page.wait_for_selector("#jobs-rows tr[data-status=DONE]")
        assert person.email in page.inner_text("#jobs-rows")
        page.click("#nav-queue")
        page.wait_for_url(f"{base}/web/queue")
        page.select_option("#load-range", "PT15M")
        page.wait_for_selector("#load-plot svg circle.point")
        # Samples arrive every second; the plot draws each as a point per series.
        page.wait_for_function(
            "() => Number(document.querySelector('#load-plot svg')?.dataset.points) >= 3"
        )
        points = page.locator("#load-plot svg circle.point").count()
        n = int(page.get_attribute("#load-plot svg", "data-points") or 0)
        assert points == 3 * n
        for series in ("pending", "queued", "running"):
            assert page.locator(f"#load-plot svg polyline.{series}").count() == 1
        workers = page.inner_text("#workers")
        assert "active" in workers
        shot(page, output_dir, "queue")
        # A plain user is not shown the queue page.
        user_ctx = browser.new_context()
        user_page = user_ctx.new_page()
        log_in(user_page, base, person.email, person.password)
        assert user_page.locator("#nav-queue").count() == 0
        response = user_page.goto(f"{base}/web/queue")
        assert response is not None and response.status == 403
        user_ctx.close()
    finally:
        context.close()
