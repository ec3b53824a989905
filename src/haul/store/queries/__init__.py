"""The SQL of element transitions: one named, guarded statement each.

Every statement that moves an element names, besides its key, the statuses
the transition starts from (and, for a lease holder's write, the lease
token): ``... WHERE job_id = :job AND id = :id AND status IN (...) AND
lease_token = :token``. A row that another writer changed since the caller
read it is not matched, and each function says how many rows it changed,
so the caller knows whether it won. Which state follows is not decided
here but in ``haul.domain.transitions``; the services apply it through
these statements (Procrastinate's ``sql/queries.sql`` is the model: one
named statement per transition, one caller each).

- ``leased``: the lease guard every report's write carries, and its set-based
  form per job.
- ``results``: a result's writes (a plain outcome, taking leases, a judged
  outcome, a fused copy's).
- ``claim``: what a claim may take, one user's candidates, the lease write;
  ``claim_levels``: which users have queued work at which priority.
- ``heartbeats``: a beat extends the lease it names.
- ``lease_lost``: the reaper's read of expired leases and its per-element write.
- ``steering``: cancels (queued ones now, leased ones signalled) and requeues.

- ``steering`` also holds seed 004's ``set_job``, guarded by the statuses read.
- ``stages``: stage advance's probes and a job's stage and end.
- ``fused_copy``: element 1 of a path COPY, written from its LIST's result.

The read models' SQL sits beside them: ``queue_load`` (the queue load and its
history), ``element_reads`` and ``names`` (the dashboard, metrics and views),
``job_reads`` (jobs, counts, pages), ``listing_entries`` (stored listings),
``waiting`` (explain), ``attempt_errors`` (why elements failed). And the use
cases': ``job_control`` (a verb's locked job, removal), ``accounts`` (users,
tokens), ``sites``, ``credentials``, ``uploads``, ``bans``, ``retention``,
``job_types``. The server imports none of them: it calls a service.
"""
