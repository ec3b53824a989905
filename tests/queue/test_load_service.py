"""The sampler's own rules, on a real SQLite store in this process: ticks, thinning, time ranges."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from haul.domain.enums import CUSTOM_BASE
from haul.services import job_type_catalog, load_history, load_sampler, time_filters
from haul.services.errors import BadRequest
from haul.store.database import Database, sqlite_url_for
from haul.store.migrate import upgrade
from haul.store.monitoring_tables import LoadSample
from haul.store.tables import JobTypeRow

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture()
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database.connect(sqlite_url_for(str(tmp_path / "queue_load.db")))
    upgrade(database)
    yield database
    database.dispose()


def test_a_tick_records_every_known_type(db: Database) -> None:
    with db.write() as s:
        assert load_sampler.sample(s, NOW) == 5
    with db.write() as s:
        s.add(JobTypeRow(name="checksum-scan", category="custom", priority=3))
    with db.write() as s:
        assert load_sampler.sample(s, NOW + timedelta(minutes=1)) == 6
    with db.read() as s:
        catalog = job_type_catalog.job_types(s)
        assert [t.name for t in catalog[:5]] == ["LIST", "COPY", "REMOVE", "RENAME", "MKDIR"]
        assert [t.id for t in catalog[:5]] == [0, 1, 2, 3, 4]
        custom = catalog[5]
        assert custom.name == "checksum-scan" and not custom.builtin
        assert custom.id >= CUSTOM_BASE
        assert job_type_catalog.select_types(catalog, categories=["custom"]) == [custom.id]
        assert job_type_catalog.select_types(catalog, priorities=[3]) == [custom.id]
        page = load_history.load_page(
            s, NOW - timedelta(hours=1), NOW + timedelta(hours=1), None, 1, 10
        )
        assert page.count == 2
        assert [r["queued_count"] for r in page.results] == [0, 0]


def test_a_builtin_row_describes_its_builtin(db: Database) -> None:
    with db.write() as s:
        s.add(JobTypeRow(name="COPY", title="Transfer", category="data", builtin=True))
    with db.read() as s:
        catalog = job_type_catalog.job_types(s)
    assert len(catalog) == 5
    assert catalog[1].id == 1 and catalog[1].title == "Transfer"


def _ticks(db: Database, start: datetime, every: timedelta, n: int) -> None:
    with db.write() as s:
        for i in range(n):
            s.add(LoadSample(time=start + i * every, job_type_id=0, queued_count=i))
            s.add(LoadSample(time=start + i * every, job_type_id=1, queued_count=i))


def test_thinning_keeps_one_tick_per_bucket_after_retention(db: Database) -> None:
    keep, bucket = 2 * 86400, 3600
    old_start = NOW - timedelta(days=3)  # a whole day of minute ticks past retention
    _ticks(db, old_start, timedelta(minutes=1), 24 * 60)
    recent_start = NOW - timedelta(hours=1)
    _ticks(db, recent_start, timedelta(minutes=1), 60)
    with db.write() as s:
        removed = load_sampler.thin(s, NOW, keep, bucket)
    with db.read() as s:
        times = [
            t.replace(tzinfo=UTC)
            for t in s.scalars(select(LoadSample.time).distinct().order_by(LoadSample.time))
        ]
        rows = s.scalar(select(func.count()).select_from(LoadSample))
    old = [t for t in times if t < NOW - timedelta(seconds=keep)]
    recent = [t for t in times if t >= recent_start]
    assert len(recent) == 60  # inside retention: untouched
    assert len(old) == 24  # one per hour
    assert all(t.minute == 0 for t in old)  # the first tick of each hour survives
    assert removed == (24 * 60 - 24) * 2  # both job types' rows of each dropped tick
    assert rows == (24 + 60) * 2
    with db.write() as s:
        assert load_sampler.thin(s, NOW, keep, bucket) == 0  # idempotent


def test_time_ranges() -> None:
    now = NOW
    start, end = time_filters.time_range(None, None, now)
    assert (start, end) == (now - timedelta(days=7), now)
    start, end = time_filters.time_range("PT3H0M0S", None, now)
    assert start == now - timedelta(hours=3)
    start, end = time_filters.time_range("2026-05-31T00:00:00", "2026-05-31T06:00:00+02:00", now)
    assert start == datetime(2026, 5, 31, tzinfo=UTC)  # naive means UTC
    assert end == datetime(2026, 5, 31, 4, tzinfo=UTC)
    assert time_filters.parse_duration("P1W2DT3H4M5.5S") == timedelta(
        days=9, hours=3, minutes=4, seconds=5.5
    )
    for bad in ("P", "PT", "P1DT", "PT-1H", "3H", "P1M"):
        assert time_filters.parse_duration(bad) is None, bad
    with pytest.raises(BadRequest, match="31 days"):
        time_filters.time_range("P31DT1S", None, now)
    time_filters.time_range("P31D", None, now)
    with pytest.raises(BadRequest, match="started"):
        time_filters.time_range("PT1H", "PT2H", now)
