"""Pure rules of haul.domain: enums, job status, paths, endpoints, options."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from haul.domain.endpoints import EndpointError, parse_endpoint, under_root
from haul.domain.enums import JobProtocol, JobStatus, JobType, parse_enum
from haul.domain.job_status import job_status
from haul.domain.options import OptionsError, validate_options
from haul.domain.paths import PathError, resolve_path, site_relative, validate_path

# --------------------------------------------------------------------- enums


def test_enum_integers_keep_seed_000_values() -> None:
    assert [(t.name, t.value) for t in JobType] == [
        ("LIST", 0), ("COPY", 1), ("REMOVE", 2), ("RENAME", 3), ("MKDIR", 4),
    ]
    assert [(s.name, s.value) for s in JobStatus][:5] == [
        ("NEW", 0), ("DONE", 1), ("FAILED", 2), ("SUBMITTED", 3), ("RUNNING", 4),
    ]
    assert {"CANCELLED", "PAUSED"} <= set(JobStatus.__members__)
    assert (JobProtocol.GRIDFTP, JobProtocol.SSH, JobProtocol.DUMMY) == (0, 1, 2)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, JobType.COPY),
        (0, JobType.LIST),
        ("0", JobType.LIST),
        ("4", JobType.MKDIR),
        (" 3 ", JobType.RENAME),
        ("COPY", JobType.COPY),
        ("copy", JobType.COPY),
        ("CoPy", JobType.COPY),
        (" mkdir ", JobType.MKDIR),
        (JobType.REMOVE, JobType.REMOVE),
    ],
)
def test_parse_enum_accepts_ints_numeric_strings_and_names(value: Any, expected: JobType) -> None:
    parsed = parse_enum(JobType, value, "type")
    assert parsed is expected
    assert parsed.name == expected.name


@pytest.mark.parametrize(
    "value", [5, -1, 99, "5", "-1", "bogus", "", "LISTX", True, False, None, 1.0, [1], {"a": 1}]
)
def test_parse_enum_refuses_bad_values_naming_the_field(value: Any) -> None:
    with pytest.raises(ValueError) as err:
        parse_enum(JobType, value, "type")
    message = str(err.value)
    assert message.startswith("type:")
    assert "LIST=0" in message and "MKDIR=4" in message


def test_parse_enum_status_and_protocol() -> None:
    assert parse_enum(JobStatus, "cancelled", "status") is JobStatus.CANCELLED
    assert parse_enum(JobStatus, 6, "status") is JobStatus.PAUSED
    assert parse_enum(JobProtocol, "gridftp", "protocol") is JobProtocol.GRIDFTP
    assert parse_enum(JobProtocol, "2", "protocol") is JobProtocol.DUMMY
    with pytest.raises(ValueError, match="^protocol:"):
        parse_enum(JobProtocol, "ftp", "protocol")


def test_terminal_statuses() -> None:
    assert {s for s in JobStatus if s.terminal} == {
        JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED,
    }


# ---------------------------------------------------------------- job status

S = JobStatus


def counts(**kw: int) -> dict[JobStatus, int]:
    return {JobStatus[k.upper()]: v for k, v in kw.items()}


def test_no_elements_is_new_or_cancelled() -> None:
    assert job_status({}) is S.NEW
    assert job_status({}, cancelled=True) is S.CANCELLED


def test_done_only_when_every_element_done() -> None:
    assert job_status(counts(done=3)) is S.DONE
    assert job_status(counts(done=3, new=1)) is not S.DONE
    assert job_status(counts(done=3, running=1)) is not S.DONE
    assert job_status(counts(done=3, cancelled=1)) is not S.DONE
    assert job_status(counts(done=3, failed=1)) is not S.DONE


def test_failed_when_all_terminal_and_one_failed() -> None:
    assert job_status(counts(failed=1)) is S.FAILED
    assert job_status(counts(done=9, failed=1)) is S.FAILED
    assert job_status(counts(done=2, failed=1, cancelled=1)) is S.FAILED


def test_failed_not_reported_while_work_remains() -> None:
    assert job_status(counts(failed=1, new=1)) is S.SUBMITTED
    # Leased work after some finished is moving (short files are never seen RUNNING).
    assert job_status(counts(failed=1, submitted=1)) is S.RUNNING
    assert job_status(counts(done=3, submitted=2, new=4)) is S.RUNNING
    assert job_status(counts(failed=1, running=1)) is S.RUNNING


def test_cancelled() -> None:
    assert job_status(counts(cancelled=2), cancelled=True) is S.CANCELLED
    assert job_status(counts(done=1, cancelled=2), cancelled=True) is S.CANCELLED
    # Elements cancelled one by one (kill elements) leave a cancelled job too.
    assert job_status(counts(done=1, cancelled=1)) is S.CANCELLED
    # A cancelled job whose element is still running is not finished yet.
    assert job_status(counts(running=1, cancelled=3), cancelled=True) is S.RUNNING


def test_paused_while_paused_and_not_finished() -> None:
    assert job_status(counts(new=3), paused=True) is S.PAUSED
    assert job_status(counts(running=1, new=2), paused=True) is S.PAUSED
    assert job_status(counts(done=1, submitted=2), paused=True) is S.PAUSED
    # A paused job whose elements all ended reports how it ended.
    assert job_status(counts(done=3), paused=True) is S.DONE
    assert job_status(counts(done=1, failed=1), paused=True) is S.FAILED


def test_paused_elements_keep_the_job_unfinished() -> None:
    assert job_status(counts(paused=1)) is S.PAUSED
    assert job_status(counts(done=2, paused=1)) is S.PAUSED
    assert job_status(counts(paused=1, running=1)) is S.RUNNING


def test_running_while_anything_runs() -> None:
    assert job_status(counts(running=1)) is S.RUNNING
    assert job_status(counts(running=1, new=5, submitted=2, done=1)) is S.RUNNING


def test_submitted_when_queued_or_leased() -> None:
    assert job_status(counts(submitted=1)) is S.SUBMITTED
    assert job_status(counts(submitted=1, new=3)) is S.SUBMITTED
    # NEW elements after progress (e.g. the listing expanded) are queued work.
    assert job_status(counts(done=1, new=3)) is S.SUBMITTED
    assert job_status(counts(cancelled=1, new=1)) is S.SUBMITTED


def test_new_before_anything_claimed() -> None:
    assert job_status(counts(new=1)) is S.NEW
    assert job_status(counts(new=100)) is S.NEW


def test_never_finished_while_an_element_can_still_run() -> None:
    """Exhaustively: with any element that may still run the job is not terminal."""
    statuses = list(JobStatus)
    for ns in itertools.product(range(3), repeat=len(statuses)):
        c = {s: n for s, n in zip(statuses, ns, strict=True) if n}
        active = sum(c.get(s, 0) for s in (S.NEW, S.SUBMITTED, S.RUNNING, S.PAUSED))
        for cancelled, paused in itertools.product([False, True], repeat=2):
            result = job_status(c, cancelled=cancelled, paused=paused)
            assert isinstance(result, JobStatus)
            if active:
                assert not result.terminal, (c, cancelled, paused, result)
            elif sum(c.values()):
                assert result.terminal, (c, cancelled, paused, result)
            if result is S.DONE:
                assert c.get(S.DONE, 0) == sum(c.values())


# --------------------------------------------------------------------- paths


@pytest.mark.parametrize(
    "path",
    [
        "/data/my file.txt",
        "/a+b/c+d",
        "/user@example.org/x",
        "/données/ファイル/файл ü.txt",
        "/emoji/🚀.bin",
        "relative/name",
        "~",
        "~/x",
        "/a/.../b",
        "/a..b/c..",
        "/./a",
        "/",
        "name with 'quotes' and \"dq\" ; $(rm -rf) `x` | & > <",
    ],
)
def test_valid_paths_are_returned_unchanged(path: str) -> None:
    assert validate_path(path, "src_filepath") == path


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("..", "'..'"),
        ("/a/../b", "'..'"),
        ("../etc/passwd", "'..'"),
        ("/a/..", "'..'"),
        ("~/..", "'..'"),
        ("/a\x00b", "NUL"),
        ("/a\nb", "control"),
        ("/a\rb", "control"),
        ("/a\tb", "control"),
        ("/a\x1bb", "control"),
        ("/a\x7fb", "control"),
        ("/a\u0085b", "control"),
        ("/a\u009fb", "control"),
        ("", "empty"),
        ("~root/x", "~user"),
        ("x" * 5000, "longer"),
    ],
)
def test_invalid_paths_are_refused_naming_the_field(path: str, why: str) -> None:
    with pytest.raises(PathError) as err:
        validate_path(path, "src_filepath")
    assert str(err.value).startswith("src_filepath:")
    assert why in str(err.value)


@pytest.mark.parametrize("value", [None, 5, b"/x", ["/x"]])
def test_non_string_paths_refused(value: object) -> None:
    with pytest.raises(PathError, match="must be a string"):
        validate_path(value, "dst_filepath")


@pytest.mark.parametrize(
    ("path", "def_path", "expected"),
    [
        ("~", "/home/alice", "/home/alice"),
        ("~/x/y", "/home/alice", "/home/alice/x/y"),
        ("~/x", "home/alice/", "/home/alice/x"),
        ("~", "/", "/"),
        ("~", "", "/"),
        ("rel/f", "/home/alice", "/home/alice/rel/f"),
        ("/abs/f", "/home/alice", "/abs/f"),
        ("//a//b/./c/", "/", "/a/b/c"),
        ("/my file+@ü", "/", "/my file+@ü"),
    ],
)
def test_site_relative_tilde_and_def_path(path: str, def_path: str, expected: str) -> None:
    assert site_relative(path, def_path) == expected


@pytest.mark.parametrize(
    ("prefix", "def_path", "path", "expected"),
    [
        ("/srv/siteA", "/", "/x/y", "/srv/siteA/x/y"),
        ("/srv/siteA/", "/", "/x/y", "/srv/siteA/x/y"),
        ("/srv/siteA", "/", "/", "/srv/siteA"),
        ("/srv/siteA", "/home/u", "~/f", "/srv/siteA/home/u/f"),
        ("/srv/siteA", "/home/u", "f", "/srv/siteA/home/u/f"),
        ("/srv/siteA", "/", "//etc/passwd", "/srv/siteA/etc/passwd"),
        ("/", "/", "/x", "/x"),
        ("", "/", "/x", "/x"),
    ],
)
def test_resolve_path_under_prefix(prefix: str, def_path: str, path: str, expected: str) -> None:
    assert resolve_path(prefix, def_path, path) == expected


@pytest.mark.parametrize(
    "path", ["/", "~", "/a", "a/b", "//x", "/./.", "~/./y", "/srv/siteB", "/ü ü/+@"]
)
def test_resolved_paths_never_leave_the_prefix(path: str) -> None:
    prefix = "/srv/siteA"
    out = resolve_path(prefix, "/home/u", path)
    assert out == prefix or out.startswith(prefix + "/")
    assert under_root(out, [prefix])


@pytest.mark.parametrize("path", ["/../etc", "..", "~/../../x", "/a/\x00"])
def test_resolve_path_refuses_escapes(path: str) -> None:
    with pytest.raises(PathError):
        resolve_path("/srv/siteA", "/", path)


def test_under_root_prefix_containment() -> None:
    roots = ["/srv/a", "/data/"]
    assert under_root("/srv/a", roots)
    assert under_root("/srv/a/", roots)
    assert under_root("/srv/a/b/c", roots)
    assert under_root("/data/x", roots)
    assert not under_root("/srv/ab", roots)
    assert not under_root("/srv", roots)
    assert not under_root("/srv/a/../b", roots)
    assert not under_root("/etc", roots)
    assert not under_root("/srv/a", [])


# ----------------------------------------------------------------- endpoints


@pytest.mark.parametrize(
    ("url", "scheme", "protocol", "prefix"),
    [
        ("file:///srv/siteA", "file", JobProtocol.FILE, "/srv/siteA"),
        ("file://localhost/srv/siteA/", "file", JobProtocol.FILE, "/srv/siteA"),
        ("sftp://host.example.org:2222/data", "sftp", JobProtocol.SSH, "/data"),
        ("https://dav.example.org/webdav/", "https", JobProtocol.HTTPS, "/webdav"),
        ("davs://dav.example.org", "davs", JobProtocol.HTTPS, "/"),
        ("root://xrd.example.org:1094//store", "root", JobProtocol.XROOTD, "//store"),
        ("s3://s3.example.org/bucket", "s3", JobProtocol.S3, "/bucket"),
        ("dummy://test/", "dummy", JobProtocol.DUMMY, "/"),
        ("DUMMY://Test/x", "dummy", JobProtocol.DUMMY, "/x"),
        ("  sftp://h/p  ", "sftp", JobProtocol.SSH, "/p"),
    ],
)
def test_parse_endpoint_each_scheme(
    url: str, scheme: str, protocol: JobProtocol, prefix: str
) -> None:
    ep = parse_endpoint(url)
    assert ep.scheme == scheme
    assert ep.protocol is protocol
    assert ep.prefix == prefix
    assert ep.url == url.strip()


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://host/x", "unknown scheme"),
        ("gsiftp://host/x", "unknown scheme"),
        ("upload://server/x", "unknown scheme"),
        ("/just/a/path", "unknown scheme"),
        ("sftp:///nohost", "needs a host"),
        ("file://otherhost/x", "local path"),
        ("file:///srv/../etc", "'..'"),
        ("dummy://h/a\nb", "control"),
        ("", "non-empty"),
        ("   ", "non-empty"),
        ("sftp://[::1/data", "not a valid URL"),
        ("sftp://host:99999/", "Port"),
        ("sftp://host:ssh/", "Port"),
        ("dummy://h/" + "x" * 3000, "longer than"),
    ],
)
def test_parse_endpoint_refuses(url: str, why: str) -> None:
    with pytest.raises(EndpointError, match=why):
        parse_endpoint(url)


@pytest.mark.parametrize("value", [None, 3, ["dummy://x/"]])
def test_parse_endpoint_refuses_non_strings(value: object) -> None:
    with pytest.raises(EndpointError):
        parse_endpoint(value)


@pytest.mark.parametrize(
    "url",
    [
        "sftp://alice:S3cr3tPw@host/data",
        "https://alice:S3cr3tPw@dav.example.org/",
        "s3://AKIAXXXX:S3cr3tPw@s3.example.org/bucket",
        "sftp://alice@host/data",
        "sftp://alice:S3cr3tPw@[::1/data",
    ],
)
def test_credentials_in_endpoint_url_refused_without_echoing_them(url: str) -> None:
    with pytest.raises(EndpointError) as err:
        parse_endpoint(url)
    message = str(err.value)
    assert "credential" in message or "not a valid URL" in message
    assert "S3cr3tPw" not in message
    assert "alice" not in message


# ------------------------------------------------------------------- options


def test_options_defaults_filled_in() -> None:
    assert validate_options(JobType.LIST, None) == {"depth": 1}
    assert validate_options(JobType.LIST, {}) == {"depth": 1}
    assert validate_options(JobType.COPY, {}) == {
        "overwrite": False, "checksum": "adler32", "verify": True, "follow_links": False,
    }
    assert validate_options(JobType.REMOVE, {}) == {}
    assert validate_options(JobType.RENAME, {}) == {"overwrite": False}
    assert validate_options(JobType.MKDIR, {}) == {"parents": True}


def test_options_valid_values() -> None:
    assert validate_options(JobType.LIST, {"depth": 0}) == {"depth": 0}
    assert validate_options(JobType.COPY, {"overwrite": True, "checksum": "md5"}) == {
        "overwrite": True, "checksum": "md5", "verify": True, "follow_links": False,
    }
    assert validate_options(JobType.MKDIR, {"parents": False}) == {"parents": False}


@pytest.mark.parametrize(
    ("job_type", "opts", "where"),
    [
        (JobType.LIST, {"depth": "3"}, "extra_opts.depth"),
        (JobType.LIST, {"depth": -1}, "extra_opts.depth"),
        (JobType.LIST, {"depth": 1.5}, "extra_opts.depth"),
        (JobType.LIST, {"overwrite": True}, "extra_opts.overwrite"),
        (JobType.COPY, {"checksum": "crc32c"}, "extra_opts.checksum"),
        (JobType.COPY, {"overwrite": "yes"}, "extra_opts.overwrite"),
        (JobType.COPY, {"rm_rf": True}, "extra_opts.rm_rf"),
        (JobType.REMOVE, {"recursive": True}, "extra_opts.recursive"),
        (JobType.MKDIR, {"parents": 1}, "extra_opts.parents"),
    ],
)
def test_options_refused_naming_the_key(
    job_type: JobType, opts: dict[str, Any], where: str
) -> None:
    with pytest.raises(OptionsError) as err:
        validate_options(job_type, opts)
    assert str(err.value).startswith(where)


def test_unknown_option_lists_allowed_keys() -> None:
    with pytest.raises(OptionsError, match=r"not an option of COPY \(allowed: overwrite"):
        validate_options(JobType.COPY, {"bogus": 1})


@pytest.mark.parametrize("opts", [[], "depth=1", 3, ["depth"]])
def test_options_must_be_an_object(opts: Any) -> None:
    with pytest.raises(OptionsError, match="extra_opts: must be a JSON object"):
        validate_options(JobType.LIST, opts)
