"""The wire forms: the worker protocol's, shared by the server and the worker,
and the job submissions', shared by the server and the client.

One module per exchange: ``claims`` (the claim request), ``leases`` (the
claim's answer), ``beats`` (heartbeats and their answers), ``results`` (a
result and its answer), ``error_report`` (the failure inside a result) and
``items`` (what every per-item answer of a batch carries). The JSON is the
one pdm clients and older workers speak; field names are kept as they are
(a lease element says ``job_id``/``id``, heartbeats and results say
``jobid``/``elementid``).

Two kinds of declaration, chosen by who pays for them:

- What the worker sends is a pydantic model: the server validates it
  anyway, once per request (a batch with one ``TypeAdapter(list[...])``
  pass, see ``server/routers/worker.py``), so the model costs nothing it did
  not cost before. The worker builds the same bodies as plain dicts typed by
  a ``TypedDict`` declared beside the model (``HeartbeatItem`` beside
  ``BulkHeartbeat``...); ``tests/unit/test_protocol_*.py`` keep their keys
  equal.
- What the server answers is a ``TypedDict``: a claim's answer carries up to
  several hundred elements and a results batch hundreds of answers, built on
  the server's hottest paths, so they are plain dicts (no per-item
  validation or serialisation pass; ``JSONResponse`` encodes them as they
  are). The worker reads them as the same ``TypedDict``s. They are
  ``typing_extensions.TypedDict``s, which pydantic can use on Python 3.11:
  the single-item routes name them as their response models (and the API
  docs show them), and the tests validate real answers against them.

The submissions: ``submission_body`` (the body every submission route
reads, pydantic), ``submissions`` (what each type needs: the built-ins as one
discriminated union, a custom type's model, the published schema) and
``submission_form`` (the same body as the client builds it, a ``TypedDict``
with the routes; no pydantic, so ``haul.client`` loads none). ``bodies``
holds what every request body refuses.

This package imports only ``haul.domain`` and pydantic (an import-linter
contract in ``pyproject.toml``).
"""
