"""What the client sends is what the server reads: one set of submission models.

The server reads a submission with ``protocol/submission_body.py:
JobSubmission`` and checks what its type needs with the discriminated union
of ``protocol/submissions.py``; the client builds the same body as a
``SubmissionBody`` (``protocol/submission_form.py``). These tests keep the
keys equal, check that what the client builds passes the server's models,
and that the union answers as each type's own model does.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from pydantic import ValidationError

from haul.client import new_copy, new_copy_files, new_job, new_remove_files
from haul.domain.enums import JobType
from haul.protocol.submission_body import JobSubmission
from haul.protocol.submission_form import SubmissionBody, typed_route
from haul.protocol.submissions import (
    BUILTIN_SUBMISSION,
    FILE_MODELS,
    LISTED_MODELS,
    first_problem,
    form_tag,
)


def _as_named(body: dict[str, Any]) -> dict[str, Any]:
    """As the server hands a body to the union: the type by its name."""
    parsed = JobSubmission.model_validate(body)
    assert isinstance(parsed.type, JobType)
    named = parsed.model_dump(exclude_unset=True)
    named["type"] = parsed.type.name
    return named


def test_the_client_form_has_the_models_fields() -> None:
    assert set(SubmissionBody.__annotations__) == set(JobSubmission.model_fields)


def test_what_the_client_builds_passes_the_servers_models() -> None:
    bodies = [
        new_job("list", 1, "/data", extra_opts={"depth": 2}, priority=3),
        new_job("MKDIR", 1, "/data/new"),
        new_job("rename", 1, "/a", 1, "/b"),
        new_copy(1, "/a", 2, "/b", overwrite=True, submission_id="s-1"),
        new_copy("upload", "7", 2, "/b"),
        new_copy_files(1, 2, [("/a", "/b"), {"src_filepath": "/c", "dst_filepath": "/d"}]),
        new_remove_files(1, ["/a", "/b"]),
    ]
    for body in bodies:
        assert first_problem(_as_named(dict(body))) is None, body


def test_the_union_has_one_variant_per_type_and_listed_form() -> None:
    tags = {form_tag({"type": t.name}) for t in JobType}
    tags |= {form_tag({"type": t.name, "files": []}) for t in LISTED_MODELS}
    assert tags == {t.name for t in JobType} | {"COPY+files", "REMOVE+files"}
    copy = BUILTIN_SUBMISSION.validate_python(
        {"type": "COPY", "src_siteid": 1, "dst_siteid": 2, "files": [{"src_filepath": "/a"}]}
    )
    assert type(copy) is LISTED_MODELS[JobType.COPY]


@pytest.mark.parametrize(
    "body",
    [
        {"type": "COPY", "src_siteid": 1, "src_filepath": "/a"},
        {"type": "COPY", "src_siteid": 1, "dst_siteid": 2, "src_filepath": "", "dst_filepath": "/"},
        {"type": "LIST", "src_siteid": 1, "src_filepath": "/a", "extra_opts": {"depth": "x"}},
        {"type": "RENAME", "src_siteid": 1, "src_filepath": "/a"},
        {"type": "MKDIR", "src_filepath": "/a"},
        {"type": "REMOVE", "src_siteid": 1, "src_filepath": "/a", "protocol": "NOPE"},
    ],
)
def test_the_union_answers_as_the_types_own_model(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as caught:
        FILE_MODELS[JobType[body["type"]]].model_validate(body)
    err = caught.value.errors()[0]
    own = f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
    assert first_problem(body) == own


def test_a_custom_type_is_checked_by_its_own_model() -> None:
    assert first_problem({"type": "render", "request": {"a": 1}}, custom="render") is None
    assert first_problem({"type": "render", "priority": "x"}, custom="render") == (
        "priority: Input should be a valid integer, unable to parse string as an integer"
    )


def test_every_built_in_type_has_its_route() -> None:
    assert [typed_route(t) for t in JobType] == ["/list", "/copy", "/remove", "/rename", "/mkdir"]


def test_the_client_loads_no_pydantic() -> None:
    code = "import sys, haul.client; assert 'pydantic' not in sys.modules"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
