"""A result's element writes: each guarded by the lease it reports on.

Three statements, one per way a result ends a lease (``domain.transitions``
decides the values, ``services/judging.py`` applies it):

- ``end_plain``: a plain outcome (status, one more try and attempt, the
  lease given back), one ``UPDATE ... RETURNING`` per claim and status for
  the whole batch (per job where a token is not a claim's); what it returns
  are the elements it won.
- ``take_leases``: the outcomes with values of their own first take their
  leases, so nothing changes those rows before they are written;
- ``end_judged``: then one parameter set per element writes them, and its
  row count says whether every one was still leased.

Every statement names the lease token and the leased statuses
(``leased.py``), so a row the reaper or a control verb changed since the
result's read is not matched. They are built once: this is the server's
hottest path. Items go in (job, element) order, the order every writer
locks rows in, so two writers never deadlock on them.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import String, bindparam, cast, literal_column, update
from sqlalchemy.orm import Session

from haul.domain.enums import LEASED
from haul.store.dialect import executemany_rowcount, in_values, not_a_key
from haul.store.key_groups import rectangles
from haul.store.keyed_elements import ELEMENTS, keyed_update
from haul.store.queries.leased import TOKEN_GUARD, guarded_update, write_leased

E = ELEMENTS.c

# What judging a result reads: everything but the progress JSON and lease bookkeeping.
RESULT_COLUMNS = (
    E.status,
    E.lease_token,
    E.type,
    E.attempts,
    E.attempt_seq,
    E.max_tries,
    E.command,
    E.not_before,
    E.mode,
    E.started,
    E.checksum,
    E.size,
    E.src_filepath,
    E.dst_filepath,
)
# A plain outcome: status, one more try and attempt (transitions.on_result's
# count), the lease given back. ``_PLAIN``: one guarded statement for a whole
# job's batch. ``_PLAIN_OF_CLAIM``: for the elements of many jobs leased by
# one claim (a batch of one-file jobs' results): a claim's tokens are
# ``<claim>.<element id>`` (queries/claim.py: lease), so
# ``lease_token = <claim>. || id`` is each row's own token, and the
# rectangle (job ids x element ids, store/key_groups.py) is exactly the
# reported keys. Status is checked, not searched by (not_a_key): the rows
# are found by primary key.
_PLAIN_VALUES = {
    "status": bindparam("v_status"),
    "attempts": E.attempts + 1,
    "attempt_seq": E.attempt_seq + 1,
    "lease_token": None,
    "lease_expires": None,
    "timestamp": bindparam("v_now"),
}
_PLAIN = guarded_update(**_PLAIN_VALUES)
_PLAIN_OF_CLAIM = (
    update(ELEMENTS)
    .where(
        in_values(E.job_id, "c_jobs"),
        in_values(E.id, "c_ids"),
        E.lease_token == bindparam("c_claim", type_=String) + cast(E.id, String),
        not_a_key(E.status).in_([literal_column(str(v)) for v in LEASED]),
    )
    .values(**_PLAIN_VALUES)
    .returning(E.job_id, E.id)
)
_TAKE = guarded_update(timestamp=bindparam("v_now"))
_JUDGED = keyed_update(
    status=bindparam("v_status"),
    attempts=bindparam("v_attempts"),
    attempt_seq=bindparam("v_seq"),
    lease_token=None,
    lease_expires=None,
    timestamp=bindparam("v_now"),
    checksum=bindparam("v_checksum"),
    size=bindparam("v_size"),
    not_before=bindparam("v_not_before"),
    mode=bindparam("v_mode"),
).where(*TOKEN_GUARD)
class Outcome(NamedTuple):
    """An element's values after a judged result (``judging.judge``)."""

    job_id: int
    element_id: int
    status: int
    attempts: int
    attempt_seq: int
    now: datetime
    checksum: str | None
    size: int | None
    not_before: datetime | None
    mode: str | None

    def params(self) -> dict[str, Any]:
        """The bind parameters of ``_JUDGED`` (and of ``fused_copy.write_file``)."""
        return {
            "k_job": self.job_id,
            "k_id": self.element_id,
            "v_status": self.status,
            "v_attempts": self.attempts,
            "v_seq": self.attempt_seq,
            "v_now": self.now,
            "v_checksum": self.checksum,
            "v_size": self.size,
            "v_not_before": self.not_before,
            "v_mode": self.mode,
        }


def end_plain(
    session: Session, items: list[tuple[int, int, str, int]], now: datetime
) -> set[tuple[int, int]]:
    """Plain outcomes, (job, element, token, new status) each; the keys written.

    One guarded ``UPDATE ... RETURNING`` per claim and status (and
    rectangle, chunk), or per job and status for a token that is not
    ``<claim>.<element id>``: an element whose token or status changed since
    it was read is not matched and not among the keys returned. A batch of
    one-file jobs' results is a few statements, not one per job.
    """
    of_claim: dict[tuple[int, str], list[tuple[int, int]]] = defaultdict(list)
    of_job: dict[tuple[int, int], list[tuple[int, str]]] = defaultdict(list)
    for job_id, element_id, token, status in sorted(items):
        claim, dot, tail = token.rpartition(".")
        if dot and claim and tail == str(element_id):
            of_claim[(status, claim + dot)].append((job_id, element_id))
        else:
            of_job[(job_id, status)].append((element_id, token))
    won: set[tuple[int, int]] = set()
    conn = session.connection()
    for (status, claim), keys in of_claim.items():
        params = {"v_status": status, "v_now": now, "c_claim": claim}
        for jobs, ids in rectangles(keys):
            rows = conn.execute(_PLAIN_OF_CLAIM, {**params, "c_jobs": jobs, "c_ids": ids})
            won.update((job_id, i) for job_id, i in rows)
    for (job_id, status), keyed in of_job.items():
        params = {"v_status": status, "v_now": now}
        won.update((job_id, i) for i in write_leased(session, _PLAIN, job_id, keyed, params))
    return won


def take_leases(
    session: Session, keys: list[tuple[int, int, str]], now: datetime
) -> set[tuple[int, int]]:
    """The (job, element) keys whose lease is still ``token`` and leased, now taken.

    One guarded ``UPDATE ... RETURNING`` per job (and chunk). On PostgreSQL
    the rows matched stay locked until the transaction ends, so nothing (the
    reaper, a control verb) changes them before ``end_judged``; on SQLite
    writers are serialised anyway.
    """
    by_job: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for job_id, element_id, token in sorted(keys):
        by_job[job_id].append((element_id, token))
    won: set[tuple[int, int]] = set()
    for job_id, keyed in by_job.items():
        won.update((job_id, i) for i in write_leased(session, _TAKE, job_id, keyed, {"v_now": now}))
    return won


def end_judged(session: Session, items: list[tuple[Outcome, str]]) -> int:
    """Outcomes with values of their own, (outcome, lease token) each; how many were written.

    Where the driver cannot count an executemany's rows, every item counts
    as written.
    """
    if not items:
        return 0
    params = [
        o.params() | {"k_token": token}
        for o, token in sorted(items, key=lambda i: (i[0].job_id, i[0].element_id))
    ]
    result = session.connection().execute(_JUDGED, params)
    return executemany_rowcount(result, len(params))
