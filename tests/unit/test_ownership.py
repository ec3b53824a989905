"""The one ownership rule (domain/ownership.py) and the places that apply it."""

from __future__ import annotations

import re
from pathlib import Path

from haul.domain.enums import Role
from haul.domain.ownership import may_act_on

SERVICES = Path(__file__).resolve().parents[2] / "src" / "haul" / "services"


def test_the_owner_and_admins_may_act_and_no_one_else() -> None:
    assert may_act_on(7, 7, Role.USER)
    assert may_act_on(7, 8, Role.ADMIN)
    assert not may_act_on(7, 8, Role.USER)
    assert not may_act_on(7, 8, Role.WORKER)
    assert not may_act_on(7, 8, Role.ADMIN, admins=False)
    assert may_act_on(7, 7, Role.USER, admins=False)


def test_jobs_and_uploads_are_checked_by_that_rule_alone() -> None:
    # The hand-written form the rule replaced, in any service module.
    by_hand = re.compile(r"\.user_id != user\.id and")
    offenders = [p.name for p in SERVICES.glob("*.py") if by_hand.search(p.read_text())]
    assert offenders == []
