"""The job schema round trip: every type's schema-built document is accepted, a violation refused.

Documents are generated from ``GET /jobs/schema`` alone, checked with the
``jsonschema`` package first, and only then sent. A schema describes shape,
not which sites and paths exist, so values that must name real things come
from ``hints`` (a site of the user's, an existing type version); every other
value, and every field's presence, comes from the schema.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import pytest

from tests.harness import User
from tests.jobtypes.live import JobTypesLive, W

Schema = dict[str, Any]


def resolve(root: Schema, node: Schema) -> Schema:
    while "$ref" in node:
        node = root["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def build(
    root: Schema,
    node: Schema,
    hints: dict[str, Any],
    key: str | None = None,
    everything: bool = True,
) -> Any:
    """A value valid under ``node``: every property when ``everything``, else required ones."""
    node = resolve(root, node)
    if "const" in node:
        return node["const"]
    if key in hints:
        return hints[key]
    if "enum" in node:
        return node["enum"][0]
    for combo in ("anyOf", "oneOf"):
        if combo in node:
            options = [o for o in node[combo] if resolve(root, o).get("type") != "null"]
            return build(root, (options or node[combo])[0], hints, key, everything)
    kind = node.get("type")
    if kind == "object" or "properties" in node:
        props = node.get("properties", {})
        keys = list(props) if everything else node.get("required", [])
        return {k: build(root, props[k], hints, k, everything) for k in keys}
    if kind in ("integer", "number"):
        low = node.get("minimum", 0)
        high = node.get("maximum", low)
        return min(max(low, 1), high)
    if kind == "string":
        length = max(node.get("minLength", 1), 1)
        return "x" * min(length, node.get("maxLength", length))
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if kind == "null":
        return None
    return {"built": "from an unconstrained schema"}  # e.g. a custom job's request


def variants(schema: Schema) -> dict[str, Schema]:
    """Each job type's variant, by the ``type`` constant that selects it."""
    out = {}
    for ref in schema["oneOf"]:
        variant = resolve(schema, ref)
        out[variant["properties"]["type"]["const"]] = variant
    return out


def valid(schema: Schema, doc: Any) -> bool:
    return jsonschema.Draft202012Validator(schema).is_valid(doc)


@pytest.fixture(scope="module")
def setup(jt: JobTypesLive) -> tuple[User, int]:
    """Types in every state the schema must handle: two versions, paused, inactive, capped."""
    jt.ensure_type("schema-two", version="1")
    jt.ensure_type("schema-two", version="2")
    jt.ensure_type("schema-paused", is_paused=True)
    jt.ensure_type("schema-capped", max_scheduled=1, is_paused=True)
    jt.ensure_type("schema-inactive", is_active=False)
    user = jt.new_user()
    return user, user.site(endpoints=["dummy://schema/"])


@pytest.fixture()
def client(setup: tuple[User, int]) -> Iterator[httpx.Client]:
    with setup[0].client() as c:
        yield c


def _schema(c: httpx.Client) -> Schema:
    r = c.get(f"{W}/jobs/schema")
    assert r.status_code == 200, r.text
    schema = r.json()
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def _hints(setup: tuple[User, int]) -> dict[str, Any]:
    user, site = setup
    return {
        "src_siteid": site,
        "dst_siteid": site,
        "src_filepath": "/data/in",
        "dst_filepath": "/data/out",
        "protocol": "DUMMY",
        "user": user.email,
        "submission_id": f"schema-{uuid.uuid4().hex}",
        "request": {"seconds": 0.05},  # short, should a worker have a handler for it
    }


def test_schema_lists_exactly_the_submittable_types(jt: JobTypesLive, client: httpx.Client) -> None:
    schema = _schema(client)
    with jt.admin() as c:
        types = c.get(f"{W}/job-types").json()
    submittable = {t["name"] for t in types if t["is_active"]}
    listed = [resolve(schema, v)["properties"]["type"]["const"] for v in schema["oneOf"]]
    assert len(listed) == len(set(listed)), "a type listed twice makes oneOf match neither"
    assert set(listed) == submittable


@pytest.mark.parametrize("everything", [True, False], ids=["all-fields", "required-only"])
def test_documents_built_from_the_schema_are_accepted(
    setup: tuple[User, int], client: httpx.Client, everything: bool
) -> None:
    schema = _schema(client)
    for name, variant in variants(schema).items():
        doc = build(schema, variant, _hints(setup), everything=everything)
        assert valid(schema, doc), (name, doc)
        r = client.post(f"{W}/jobs", json=doc)
        assert r.status_code == 200, (name, doc, r.text)
        assert r.json()["type"] == name


def _violations(schema: Schema, name: str, doc: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """Documents that break the schema one rule at a time."""
    variant = variants(schema)[name]
    for field, value in [
        ("priority", 12),
        ("priority", "urgent"),
        ("max_tries", 0),
        ("submission_id", "x" * 201),
        ("metadata", ["not", "an", "object"]),
    ]:
        yield f"{field}={value!r}", {**doc, field: value}
    for field in variant.get("required", []):
        yield f"missing {field}", {k: v for k, v in doc.items() if k != field}
    if "extra_opts" in variant["properties"]:
        yield "unknown extra_opts key", {**doc, "extra_opts": {"no_such_option": True}}
        options = resolve(
            schema, next(o for o in variant["properties"]["extra_opts"]["anyOf"] if "$ref" in o)
        )
        for opt, spec in options.get("properties", {}).items():
            wrong = "yes" if spec.get("type") in ("boolean", "integer") else 12345
            yield f"extra_opts.{opt}={wrong!r}", {**doc, "extra_opts": {opt: wrong}}
    if "version" in variant["properties"]:
        yield "version too long", {**doc, "version": "v" * 51}
        yield "version not registered", {**doc, "version": "no-such-version"}
        yield "name too long", {**doc, "name": "n" * 201}


def test_documents_that_violate_the_schema_are_refused(
    setup: tuple[User, int], client: httpx.Client
) -> None:
    schema = _schema(client)
    checked = 0
    for name, variant in variants(schema).items():
        doc = build(schema, variant, _hints(setup))
        for what, bad in _violations(schema, name, copy.deepcopy(doc)):
            assert not valid(schema, bad), (name, what, bad)
            r = client.post(f"{W}/jobs", json=bad)
            assert r.status_code in (400, 422), (name, what, bad, r.status_code, r.text)
            checked += 1
    assert checked > 40
