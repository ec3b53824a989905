"""The namespace lane's rule (haul.domain.lanes), and its SQL twin in the index."""

from __future__ import annotations

import importlib
import sqlite3

import pytest

from haul.domain.enums import JobType
from haul.domain.expansion import Planner
from haul.domain.lanes import ONE_PATH_ID, is_namespace, namespace_sql, serves_namespace


@pytest.mark.parametrize("kind", ["LIST", "MKDIR", "RENAME", JobType.LIST, int(JobType.MKDIR)])
def test_listing_making_and_renaming_are_namespace_operations(kind: str | int) -> None:
    # Whatever element they are: a COPY's LIST is element 0, its empty directories' MKDIRs later.
    assert is_namespace(kind, 0, "/data", "/data")
    assert is_namespace(kind, 7, "/data/sub", "/data")


def test_the_remove_of_one_path_is_one_but_a_trees_removals_are_not() -> None:
    # A REMOVE of a file: LIST (element 0), then element 1 removes the job's own path.
    assert is_namespace("REMOVE", 1, "/data/f.txt", "/data/f.txt")
    assert is_namespace(int(JobType.REMOVE), 1, "/data/f.txt", "/data/f.txt")
    # A tree: element 1 is a file inside it; the top directory comes last, later.
    assert not is_namespace("REMOVE", 1, "/data/tree/a", "/data/tree")
    assert not is_namespace("REMOVE", 9, "/data/tree", "/data/tree")
    # A job listing its files has no path of its own.
    assert not is_namespace("REMOVE", 1, "/data/f.txt", None)


@pytest.mark.parametrize("kind", ["COPY", int(JobType.COPY), "checksum", "Custom-Type"])
def test_copies_and_custom_types_are_transfers(kind: str | int) -> None:
    assert not is_namespace(kind, 0, "/data", "/data")
    assert not is_namespace(kind, 1, "/data", "/data")


def test_which_workers_serve_the_lane() -> None:
    assert serves_namespace(["LIST", "COPY"])
    assert serves_namespace(["remove"])
    assert not serves_namespace(["COPY", "checksum"])


def test_the_sql_says_what_the_function_says() -> None:
    """Element types and ids the SQL admits are exactly those the function may call
    namespace operations (the path check is added by the claim, against the job)."""
    sql = namespace_sql()
    for kind in JobType:
        for element_id in range(3):
            admitted = _sql_admits(sql, int(kind), element_id)
            assert admitted == is_namespace(int(kind), element_id, "/p", "/p"), (kind, element_id)


def test_the_migration_builds_the_index_on_the_same_condition() -> None:
    migration = importlib.import_module("haul.store.migrations.versions.0008_namespace_lane")
    assert namespace_sql() == migration.LANE


def _sql_admits(sql: str, kind: int, element_id: int) -> bool:


    with sqlite3.connect(":memory:") as db:
        db.execute("CREATE TABLE elements (status INT, type INT, id INT)")
        db.execute("INSERT INTO elements VALUES (0, ?, ?)", (kind, element_id))
        return db.execute(f"SELECT count(*) FROM elements WHERE {sql}").fetchone()[0] == 1


def _expanded(job_type: JobType, src: str, listing: list[tuple[str, dict]]) -> list[bool]:
    """is_namespace of each element a LIST's expansion makes (ids from 1, as the server)."""
    planner = Planner(job_type, src, "/dst" if job_type != JobType.REMOVE else None)
    return [
        is_namespace(int(p.type), n, p.src_filepath, src)
        for n, p in enumerate(planner.plan(listing), start=ONE_PATH_ID)
    ]


def test_the_rule_matches_what_expansion_makes() -> None:
    """The one-path REMOVE is recognised on the elements the planner really makes."""
    file_entry = {"name": "f.txt", "size": 5, "is_dir": False}
    assert _expanded(JobType.REMOVE, "/d/f.txt", [("/d", file_entry)]) == [True]
    assert _expanded(JobType.REMOVE, "/empty", []) == [True]
    tree = [
        ("/t", {"name": "a", "size": 1, "is_dir": False}),
        ("/t", {"name": "sub", "size": 0, "is_dir": True}),
        ("/t/sub", {"name": "b", "size": 1, "is_dir": False}),
    ]
    assert not any(_expanded(JobType.REMOVE, "/t", tree))
    assert _expanded(JobType.RENAME, "/d/f.txt", [("/d", file_entry)]) == [True]
    assert not any(_expanded(JobType.COPY, "/d/f.txt", [("/d", file_entry)]))
