"""``turns_before`` counts what ``round_robin`` over ``fair_order`` hands out first.

explain counts the claim's order (services/claim_position.py) instead of
reading it candidate by candidate; this pins the count to the order itself,
for every candidate of random queues, with some candidates not counted (the
lane's elements the transfer pass skips).
"""

from __future__ import annotations

import random

from haul.services.claim_candidates import Candidate, fair_order, round_robin, turns_before


def _candidate(user_id: int, n: int) -> Candidate:
    return Candidate(n, 0, 0, user_id, 0, None, None, 0, 0, 1, None)


def test_turns_before_is_round_robins_count() -> None:
    rng = random.Random(12)
    for _ in range(300):
        users = rng.sample(range(1, 9), rng.randint(1, 5))
        leased = {u: rng.randint(0, 3) for u in users if rng.random() < 0.6}
        queues = {u: [_candidate(u, n) for n in range(rng.randint(1, 6))] for u in users}
        skipped = {(c.user_id, c.job_id) for q in queues.values() for c in q if rng.random() < 0.3}
        order = round_robin([queues[u] for u in fair_order(users, leased)])
        for position, cand in enumerate(order):
            rank = queues[cand.user_id].index(cand)
            others = {
                u: (
                    sum(1 for c in q[:rank] if (u, c.job_id) not in skipped),
                    sum(1 for c in q[rank : rank + 1] if (u, c.job_id) not in skipped),
                )
                for u, q in queues.items()
                if u != cand.user_id
            }
            counted_before = sum(
                1
                for c in order[:position]
                if c.user_id != cand.user_id and (c.user_id, c.job_id) not in skipped
            )
            assert turns_before(cand.user_id, others, leased) == counted_before
