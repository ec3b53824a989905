"""Heartbeats: a leased element's progress; they extend the lease and carry commands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from haul.domain.enums import LEASED, Command
from haul.protocol.beats import BeatAnswer, BeatReply, beat_answer, single_answer
from haul.protocol.items import Outcome, refusal
from haul.services.errors import Conflict, NotFound, accepted_or_raise
from haul.services.leases import Policy, leased
from haul.store.clock import utcnow
from haul.store.keyed_elements import load_rows
from haul.store.queries.heartbeats import Beat, cancelled_among, extend_leases
from haul.store.tables import Element

_E = Element.__table__.c
BEAT_COLUMNS = (_E.status, _E.lease_token, _E.command)


@dataclass
class Heartbeat:
    job_id: int
    element_id: int
    token: str
    transferred: int = 0
    elapsed: float = 0.0
    instant: float = 0.0
    average: float = 0.0


def heartbeat(session: Session, hb: Heartbeat, policy: Policy) -> BeatAnswer:
    """One beat; a refusal raises (the single-element route answers its status)."""
    return single_answer(accepted_or_raise(heartbeats(session, [hb], policy)[0]))


def heartbeats(session: Session, beats: list[Heartbeat], policy: Policy) -> list[BeatReply]:
    """Marks elements RUNNING, stores progress, extends leases, hands out commands."""
    if not beats:
        return []
    rows = load_rows(session, [(hb.job_id, hb.element_id) for hb in beats], BEAT_COLUMNS)
    cancelled = cancelled_among(session, {j for j, _ in rows})
    now = utcnow()
    expires = now + timedelta(seconds=policy.lease_seconds)
    lease_expires = expires.isoformat()
    out: list[BeatReply] = []
    updates: list[Beat] = []
    for hb in beats:
        try:
            row = leased(session, hb.job_id, hb.element_id, hb.token, rows)
        except (Conflict, NotFound) as exc:
            out.append(refusal(hb.job_id, hb.element_id, exc.status, exc.detail))
            continue
        command = row.command
        keep = command if command == Command.CANCEL else None  # a user's command is delivered once
        if hb.job_id in cancelled:
            command = Command.CANCEL.value
        progress = {
            "transferred": hb.transferred,
            "elapsed": hb.elapsed,
            "instant": hb.instant,
            "average": hb.average,
            "time": now.isoformat(),
        }
        updates.append(Beat(hb.job_id, hb.element_id, hb.token, expires, keep, progress))
        out.append(beat_answer(hb.job_id, hb.element_id, command, lease_expires))
    if updates and extend_leases(session, updates) != len(updates):
        _answer_lost_beats(session, updates, out)
    return out


def _answer_lost_beats(session: Session, updates: list[Beat], out: list[BeatReply]) -> None:
    """Turns the answers of beats whose guarded UPDATE matched nothing into 409s.

    The rows that were updated still carry the beat's token (a beat keeps the
    lease); any other row changed hands between the read and the write.
    """
    sent = {(u.job_id, u.element_id): u.token for u in updates}
    now_rows = load_rows(session, list(sent), BEAT_COLUMNS)
    for i, answer in enumerate(out):
        key = (answer["jobid"], answer["elementid"])
        if answer["code"] != Outcome.ACCEPTED or key not in sent:
            continue
        row = now_rows.get(key)
        if row is None or row.lease_token != sent[key] or row.status not in LEASED:
            out[i] = refusal(
                key[0],
                key[1],
                Outcome.STALE,
                f"element {key[0]}.{key[1]}: lease is not current; the report was ignored",
            )
