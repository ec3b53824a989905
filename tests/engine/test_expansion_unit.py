"""The pure planner that turns a finished LIST into elements, and the retry backoff."""

from __future__ import annotations

import random
from typing import Any

import pytest

from haul.domain.backoff import backoff_seconds
from haul.domain.enums import JobType
from haul.domain.expansion import PlannedElement, Planner, parent_of, strip_slash

F = False
D = True


def entry(name: str, is_dir: bool = False, size: int = 0) -> dict[str, Any]:
    return {"name": name, "is_dir": is_dir, "size": size}


def pairs(listing: dict[str, list[dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    """A worker's listing as the (directory, entry) stream the service feeds the planner."""
    return [(directory, e) for directory, entries in listing.items() for e in entries]


def plan(job: JobType, src: str, dst: str | None, listing: dict[str, Any]) -> list[PlannedElement]:
    return list(Planner(job, src, dst).plan(pairs(listing)))


# A tree as a worker lists /data/run (depth unlimited), in listing order.
TREE = {
    "/data/run": [entry("a", D), entry("empty", D), entry("top.dat", F, 10)],
    "/data/run/a": [entry("b", D), entry("mid.dat", F, 20)],
    "/data/run/a/b": [entry("deep.dat", F, 30)],
    "/data/run/empty": [],
}


# -- COPY ---------------------------------------------------------------------------


def test_copy_of_a_file_copies_to_dst_filepath() -> None:
    listing = {"/data": [entry("f.dat", F, 1234)]}
    assert plan(JobType.COPY, "/data/f.dat", "/backup/g.dat", listing) == [
        PlannedElement(JobType.COPY, "/data/f.dat", "/backup/g.dat", 1234)
    ]


def test_copy_of_a_file_at_the_root_and_with_relative_home_paths() -> None:
    assert plan(JobType.COPY, "/f", "/g", {"/": [entry("f", F, 1)]}) == [
        PlannedElement(JobType.COPY, "/f", "/g", 1)
    ]
    assert plan(JobType.COPY, "~/f", "~/g", {"~": [entry("f", F, 2)]}) == [
        PlannedElement(JobType.COPY, "~/f", "~/g", 2)
    ]


def test_copy_of_a_tree_recreates_it_under_dst_with_one_copy_per_file() -> None:
    got = plan(JobType.COPY, "/data/run", "/dst/run2", TREE)
    copies = [e for e in got if e.type == JobType.COPY]
    assert copies == [
        PlannedElement(JobType.COPY, "/data/run/top.dat", "/dst/run2/top.dat", 10),
        PlannedElement(JobType.COPY, "/data/run/a/mid.dat", "/dst/run2/a/mid.dat", 20),
        PlannedElement(JobType.COPY, "/data/run/a/b/deep.dat", "/dst/run2/a/b/deep.dat", 30),
    ]
    # Files make their own parents; only the empty directory needs a MKDIR.
    mkdirs = [e for e in got if e.type == JobType.MKDIR]
    assert mkdirs == [PlannedElement(JobType.MKDIR, "/data/run/empty", "/dst/run2/empty", 0)]
    assert all(e.stage == 0 for e in got)


def test_copy_tolerates_trailing_slashes() -> None:
    with_slashes = plan(JobType.COPY, "/data/run/", "/dst/run2/", TREE)
    assert with_slashes == plan(JobType.COPY, "/data/run", "/dst/run2", TREE)


def test_copy_of_an_empty_directory_makes_the_destination_directory() -> None:
    assert plan(JobType.COPY, "/data/empty", "/dst/e", {"/data/empty": []}) == [
        PlannedElement(JobType.MKDIR, "/data/empty", "/dst/e", 0)
    ]
    # Nothing listed at all (no key for the root) is the same empty directory.
    assert plan(JobType.COPY, "/data/empty", "/dst/e", {}) == [
        PlannedElement(JobType.MKDIR, "/data/empty", "/dst/e", 0)
    ]


def test_copy_ignores_entries_outside_the_job_path() -> None:
    listing = {"/data/run": [entry("x", F, 1)], "/elsewhere": [entry("y", F, 2)]}
    assert plan(JobType.COPY, "/data/run", "/d", listing) == [
        PlannedElement(JobType.COPY, "/data/run/x", "/d/x", 1)
    ]


def test_planner_streams_many_files_in_listing_order() -> None:
    n = 100_000
    stream = (("/big", entry(f"f{i:06d}", F, i)) for i in range(n))
    planner = Planner(JobType.COPY, "/big", "/out")
    planned = planner.plan(stream)
    first = next(planned)
    count = 1 + sum(1 for _ in planned)
    assert count == n and planner.count == n
    assert first == PlannedElement(JobType.COPY, "/big/f000000", "/out/f000000", 0)


# -- REMOVE ---------------------------------------------------------------------------


def test_remove_of_a_tree_removes_files_then_directories_deepest_first_top_last() -> None:
    got = plan(JobType.REMOVE, "/data/run", None, TREE)
    files = [e for e in got if e.stage == 0]
    assert [e.src_filepath for e in files] == [
        "/data/run/top.dat",
        "/data/run/a/mid.dat",
        "/data/run/a/b/deep.dat",
    ]
    assert all(e.type == JobType.REMOVE and e.dst_filepath is None for e in got)
    dirs = sorted((e for e in got if e.stage > 0), key=lambda e: e.stage)
    by_stage: dict[int, set[str]] = {}
    for e in dirs:
        by_stage.setdefault(e.stage, set()).add(e.src_filepath)
    assert list(by_stage.values()) == [
        {"/data/run/a/b"},  # deepest
        {"/data/run/a", "/data/run/empty"},
        {"/data/run"},  # the top directory, alone, last
    ]
    # Stages only grow: every file before every directory, the top in the last stage.
    assert [e.stage for e in got] == sorted(e.stage for e in got)
    assert got[-1] == PlannedElement(JobType.REMOVE, "/data/run", None, 0, stage=3)


def test_remove_of_an_empty_directory_removes_it() -> None:
    assert plan(JobType.REMOVE, "/data/empty", None, {"/data/empty": []}) == [
        PlannedElement(JobType.REMOVE, "/data/empty", None, 0, stage=1)
    ]


def test_remove_of_a_file_is_one_element() -> None:
    assert plan(JobType.REMOVE, "/data/f.dat", None, {"/data": [entry("f.dat", F, 9)]}) == [
        PlannedElement(JobType.REMOVE, "/data/f.dat", None, 9)
    ]


# -- RENAME ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "listing",
    [{"/data": [entry("old", F, 5)]}, TREE, {}],
    ids=["file", "tree", "empty"],
)
def test_rename_is_one_element_whatever_the_listing(listing: dict[str, Any]) -> None:
    assert plan(JobType.RENAME, "/data/old", "/data/new", listing) == [
        PlannedElement(JobType.RENAME, "/data/old", "/data/new", 0)
    ]


def test_path_helpers() -> None:
    assert strip_slash("/a/b/") == "/a/b"
    assert strip_slash("/") == "/"
    assert parent_of("/a/b") == "/a"
    assert parent_of("/a") == "/"
    assert parent_of("/") == "/"
    assert parent_of("~") == "~"
    assert parent_of("rel") == "."


# -- backoff ----------------------------------------------------------------------------


class FixedRandom(random.Random):
    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def random(self) -> float:
        return self.value


def test_backoff_doubles_per_attempt_up_to_the_cap() -> None:
    top = FixedRandom(0.999999)
    ceilings = [backoff_seconds(n, base=2.0, cap=600.0, rng=top) for n in range(1, 12)]
    expected = [2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 600.0, 600.0]
    assert ceilings == pytest.approx(expected, rel=1e-5)
    assert backoff_seconds(50, base=2.0, cap=600.0, rng=top) == pytest.approx(600.0, rel=1e-5)


def test_backoff_equal_jitter_stays_within_half_ceiling_and_ceiling() -> None:
    bottom = FixedRandom(0.0)
    assert backoff_seconds(1, base=2.0, cap=600.0, rng=bottom) == 1.0
    assert backoff_seconds(4, base=2.0, cap=600.0, rng=bottom) == 8.0
    rng = random.Random(42)
    samples = [backoff_seconds(3, base=2.0, cap=600.0, rng=rng) for _ in range(500)]
    assert all(4.0 <= s <= 8.0 for s in samples)
    assert len({round(s, 6) for s in samples}) > 100  # jittered, not in lockstep
    assert min(samples) < 4.5 and max(samples) > 7.5


def test_backoff_first_attempt_and_degenerate_inputs() -> None:
    top = FixedRandom(0.999999)
    # Attempt 0 (or below) is treated as the first: the base itself.
    assert backoff_seconds(0, base=3.0, cap=10.0, rng=top) == pytest.approx(3.0, rel=1e-5)
    assert backoff_seconds(-5, base=3.0, cap=10.0, rng=top) == pytest.approx(3.0, rel=1e-5)
    # A cap below the base wins.
    assert backoff_seconds(1, base=5.0, cap=1.0, rng=top) == pytest.approx(1.0, rel=1e-5)
    # Base 0 means retry at once.
    assert backoff_seconds(7, base=0.0, cap=10.0, rng=top) == 0.0
    # Without an rng the module's random is used; still in range.
    assert 1.0 <= backoff_seconds(1) <= 2.0
