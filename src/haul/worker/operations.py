"""Running one element: from a lease to a result, through a storage backend."""

from __future__ import annotations

import json
import posixpath
import socket
import time
import traceback
from collections.abc import Callable
from typing import Any

from haul.domain.endpoints import under_root
from haul.domain.enums import ElementMode, JobType
from haul.domain.errors import ErrorCode, ErrorScope, TransferError
from haul.domain.paths import resolve_path
from haul.protocol.leases import SiteInfo
from haul.protocol.results import ResultItem
from haul.storage import Progress, copy_file
from haul.storage.expectation import Expectation
from haul.storage.local import LocalStorage
from haul.storage.network_policy import Network
from haul.storage.third_party import third_party_copy
from haul.worker.fused_copy import MAX_BYTES as FUSE_MAX_BYTES
from haul.worker.fused_copy import copy_listed
from haul.worker.handlers import Handler, HandlerContext, PermanentError
from haul.worker.identity_memo import IdentityMemo
from haul.worker.known_dirs import KnownDirs
from haul.worker.listing import TreeLister, escaped
from haul.worker.own_work import (
    digest,
    is_retry,
    own_copy,
    rename_done,
    sweep_temporaries,
    temp_tag,
)
from haul.worker.places import Place, name_paths, naming_of, pick_endpoint, url_parts
from haul.worker.replicas import Replica, from_replicas
from haul.worker.running import Running
from haul.worker.site_storage import SITES_KEPT, HostKeyPins, StorageCache
from haul.worker.upload_source import UploadSource

HOST = socket.gethostname()
# The built-in types' operations, by the type's name a lease carries: only these
# are run by method, so a type no handler serves is UNSUPPORTED whatever its name.
_OPERATIONS = {t.name: f"_{t.name.lower()}" for t in JobType}


class Executor:
    """Turns leases into results; knows the worker's own limits (file roots)."""

    def __init__(
        self,
        file_roots: list[str] | None = None,
        handlers: dict[str, Handler] | None = None,
        allow_networks: tuple[Network, ...] = (),
    ) -> None:
        self.file_roots = [posixpath.normpath(r) for r in (file_roots or [])]
        self.storages = StorageCache()
        self.dirs = KnownDirs()  # destination directories known to exist, per job
        self.handlers = handlers or {}
        self.allow_networks = allow_networks
        self.fuse_max_bytes = FUSE_MAX_BYTES  # a one-file COPY's file copied in its LIST's lease
        # Set by the worker loop: reads an uploaded file within a lease.
        self.fetch_upload: Callable[[str, int, int, str], bytes] | None = None
        # The worker loop sets its `report`: pins a site's SSH host key on the server.
        self.pins = HostKeyPins()
        self._endpoints: IdentityMemo[tuple[str, str, str]] = IdentityMemo(SITES_KEPT)

    def _place(
        self,
        run: Running,
        which: str,
        path: str,
        scope: ErrorScope,
        site: SiteInfo | None = None,
    ) -> Place:
        """``site``: another site than the job's ``which`` one (a listed file's replica)."""
        site = site or run.job.get(f"{which}_site")
        if not site:
            raise TransferError(ErrorCode.INVALID, f"lease has no {which} site", scope=scope)
        url, scheme, prefix = self._endpoint(site, run.job.get("protocol"))
        resolved = resolve_path(prefix, site.get("def_path") or "/", path)
        naming = naming_of(site, path, resolved, prefix)
        if scheme == "file" and self.file_roots and not under_root(resolved, self.file_roots):
            raise TransferError(
                ErrorCode.PERMISSION_DENIED,
                f"{naming.shown}: outside this worker's --file-root directories",
                scope=scope,
            )
        if scheme == "upload":
            if self.fetch_upload is None:
                raise TransferError(
                    ErrorCode.UNSUPPORTED, "this worker cannot read uploads", scope=scope
                )
            fetch = self.fetch_upload
            e = run.element
            source = UploadSource(lambda uid: fetch(uid, e["job_id"], e["id"], e["token"]))
            return Place(source, "/" + path.strip("/"), url)  # type: ignore[arg-type]
        try:
            storage = self.storages.for_site(url, site, self.allow_networks)
        except TransferError as exc:
            raise exc.with_scope(scope) from None
        try:
            self.pins.check(run.element, site, storage, run.say)
        except TransferError as exc:
            self.storages.drop_thread()
            raise exc.with_scope(scope) from None
        return Place(storage, resolved, url, naming)

    def _endpoint(self, site: SiteInfo, protocol: str | None) -> tuple[str, str, str]:
        """The site's endpoint for the job's protocol, its scheme and path prefix,
        chosen once per lease payload (every file of a claim shares its site dict)."""
        plan = self._endpoints.get(site, protocol)
        if plan is None:
            url = pick_endpoint(site, protocol)
            plan = self._endpoints.put(site, protocol, (url, *url_parts(url)))
        return plan

    def run(self, run: Running, on_progress: Callable[[Running], None]) -> ResultItem:
        run.started = time.monotonic()
        e = run.element
        kind = e["type"]
        run.say(f"{kind} element {e['job_id']}.{e['id']} attempt {e['attempts'] + 1} on {HOST}")
        result: ResultItem = {
            "jobid": e["job_id"],
            "elementid": e["id"],
            "token": e["token"],
            "host": HOST,
        }
        places: list[Place] = []
        try:
            if kind in self.handlers:
                extra = self._custom(run, self.handlers[kind], on_progress)
            else:
                operation = _OPERATIONS.get(kind)
                if operation is None:
                    raise TransferError(ErrorCode.UNSUPPORTED, f"this worker cannot run {kind}")
                extra = getattr(self, operation)(run, places, on_progress) or {}
            result.update(extra, returncode=0)
            run.say("done")
        except TransferError as exc:
            # Named as the user wrote it: SITE:PATH (resolved /absolute/path).
            exc.message = name_paths(exc.message, [p.naming for p in places if p.naming])
            run.say(f"failed: {exc.code} ({exc.scope}): {exc.message}")
            result.update(returncode=1, error=exc.to_dict())
            if exc.code in (ErrorCode.CONNECTION, ErrorCode.TIMEOUT):
                self.storages.drop_thread()
        except Exception as exc:  # a bug or an unmapped library error: retry, keep the trace
            run.say("internal error:\n" + traceback.format_exc())
            self.storages.drop_thread()
            failure = TransferError(ErrorCode.INTERNAL, f"{type(exc).__name__}: {exc}")
            result.update(returncode=1, error=failure.to_dict())
        if run.override is not None and result["returncode"] != 0:
            result["error"] = run.override
        elif run.cancel.is_set() and result["returncode"] != 0:
            result["error"] = TransferError(ErrorCode.CANCELLED, "cancelled").to_dict()
        result["log"] = "\n".join(run.lines)
        return result

    def _src(self, run: Running, places: list[Place]) -> Place:
        p = self._place(run, "src", run.element["src_filepath"], ErrorScope.SOURCE)
        places.append(p)
        return self._confined(p)

    def _dst(
        self, run: Running, places: list[Place], path_key: str = "dst_filepath", site: str = "dst"
    ) -> Place:
        p = self._place(run, site, run.element[path_key], ErrorScope.DESTINATION)
        places.append(p)
        return self._confined(p)

    def _confined(self, place: Place) -> Place:
        """Local storages check every path they touch against the file roots,
        links resolved (the text check in `_place` cannot see links)."""
        if self.file_roots and isinstance(place.storage, LocalStorage):
            place.storage.confine(self.file_roots)
        return place

    def _list(self, run: Running, places: list[Place], _: Any) -> dict[str, Any]:
        src = self._src(run, places)
        depth = run.element.get("depth")
        lister = TreeLister(
            src.storage,
            src.path,
            run.element["src_filepath"],
            job_type=str(run.job.get("type")),
            follow_links=bool((run.job.get("extra_opts") or {}).get("follow_links")),
            say=run.say,
            cancelled=run.cancel.is_set,
            shown=src.shown,
        )
        listed = lister.run(0 if depth is None else int(depth))
        return copy_listed(run, listed, self.run, self.fuse_max_bytes)

    def _copy(self, run: Running, places: list[Place], on_progress: Callable[[Running], None]):
        dst = self._dst(run, places)

        def from_source(replica: Replica | None) -> dict[str, Any]:
            if replica is None:
                src = self._src(run, places)
            else:
                src = self._place(
                    run, "src", replica["filepath"], ErrorScope.SOURCE, site=replica["site"]
                )
                places.append(src)
                src = self._confined(src)
            return self._copy_from(run, src, dst, on_progress)

        return from_replicas(run.element.get("sources") or [], from_source, run.say)

    def _copy_from(
        self, run: Running, src: Place, dst: Place, on_progress: Callable[[Running], None]
    ) -> dict[str, Any]:
        opts = dict(run.job.get("extra_opts") or {})
        algorithm = opts.get("checksum", "adler32")
        expect = Expectation.from_lease(run.element.get("expect"))
        if expect is not None and expect.algorithm is not None:
            algorithm = expect.algorithm  # one pass hashes for both checks
        if run.element.get("mode") == ElementMode.VERIFY:
            return {"verdict": self._verify(run, src, dst, algorithm)}
        if run.element.get("mode") == ElementMode.OVERWRITE:
            opts["overwrite"] = True  # a recover check found the destination wrong
        overwrite = bool(opts.get("overwrite", False))
        run.say(f"copy {src.shown} -> {dst.shown} ({src.url} -> {dst.url})")
        if is_retry(run.element):
            # Only retries pay for these round trips (first attempts are the hot path).
            for temp in sweep_temporaries(dst.storage, dst.path, run.element):
                run.say(f"removed {temp}, left by an earlier attempt")
            if not overwrite and dst.storage.exists(dst.path):
                mine = own_copy(run, src, dst, algorithm)
                if mine is not None:
                    return mine

        def progress(p: Progress) -> None:
            run.progress = p
            on_progress(run)

        # The same copy either way: server to server when both ends can (the
        # log says which, and why not), else streamed through this worker.
        same = {
            "checksum": algorithm,
            "overwrite": overwrite,
            "verify": bool(opts.get("verify", True)),
            "progress": progress,
            "cancelled": run.cancel.is_set,
            "temp_tag": temp_tag(run.element),
        }
        # A listed file's expected checksum is checked on the bytes read, so
        # it is streamed through here rather than copied server to server.
        tpc = None
        if expect is None:
            tpc = third_party_copy(
                src.storage, src.path, dst.storage, dst.path, say=run.say, **same
            )
        try:
            res = tpc or copy_file(
                src.storage,
                src.path,
                dst.storage,
                dst.path,
                dirs=self.dirs.of(run.element["job_id"], dst.url),
                expect=expect,
                listed_size=None if is_retry(run.element) else run.listed_size,
                **same,
            )
        except TransferError as exc:
            # A retry can race its own earlier attempt (a lease lost while that
            # attempt still ran): the file appears while this one copies.
            if exc.code is not ErrorCode.EXISTS or overwrite or not is_retry(run.element):
                raise
            mine = own_copy(run, src, dst, algorithm)
            if mine is None:
                raise
            return mine
        if tpc is None:
            run.say(res.verification())
        run.say(f"copied {res.bytes} bytes, {res.algorithm} {res.checksum}")
        return {
            "bytes": res.bytes,
            "checksum": f"{res.algorithm}:{res.checksum}" if res.checksum else None,
            "size": res.bytes,
        }

    def _custom(
        self, run: Running, handler: Handler, on_progress: Callable[[Running], None]
    ) -> dict[str, Any]:
        def progress(done: int, elapsed: float) -> None:
            avg = done / elapsed if elapsed > 0 else 0.0
            run.progress = Progress(done, elapsed, avg, avg)
            on_progress(run)

        ctx = HandlerContext(run.job, run.element, run.cancel.is_set, progress, run.say)
        try:
            result = handler(run.job.get("request"), ctx)
        except PermanentError as exc:
            run.say("handler failed:\n" + traceback.format_exc())
            raise TransferError(
                ErrorCode.INVALID, f"{type(exc).__name__}: {exc}", retryable=False
            ) from exc
        except TransferError:
            raise
        except Exception as exc:
            run.say("handler failed:\n" + traceback.format_exc())
            raise TransferError(
                ErrorCode.INTERNAL, f"{type(exc).__name__}: {exc}", retryable=True
            ) from exc
        if run.cancel.is_set():
            raise TransferError(ErrorCode.CANCELLED, "cancelled")
        try:
            json.dumps(result)
        except (TypeError, ValueError) as exc:
            raise TransferError(
                ErrorCode.INVALID, f"handler result is not JSON: {exc}", retryable=False
            ) from exc
        return {"result": result}

    def _verify(self, run: Running, src: Place, dst: Place, algorithm: str) -> dict[str, Any]:
        """A recover check: same size and, unless checksums are off, same checksum."""
        try:
            s_entry = src.storage.stat(src.path)
        except TransferError as exc:
            raise exc.with_scope(ErrorScope.SOURCE) from None
        if not dst.storage.exists(dst.path):
            run.say(f"check: {dst.shown} is missing")
            return {"same": False, "reason": "destination missing"}
        d_entry = dst.storage.stat(dst.path)
        if d_entry.size != s_entry.size:
            run.say(f"check: size {d_entry.size} != source {s_entry.size}")
            return {"same": False, "reason": f"size {d_entry.size} != {s_entry.size}"}
        if algorithm != "none":
            a = digest(src.storage, src.path, algorithm)
            b = digest(dst.storage, dst.path, algorithm)
            if a != b:
                run.say(f"check: {algorithm} {b} != source {a}")
                return {"same": False, "reason": f"{algorithm} {b} != {a}"}
        run.say(f"check: {dst.shown} matches its source")
        return {"same": True, "reason": ""}

    def _remove(self, run: Running, places: list[Place], _: Any) -> None:
        src = self._src(run, places)
        try:
            src.storage.remove(src.path)
        except TransferError as exc:
            # The job's LIST saw this path, so "not found" now means it is already
            # gone: an earlier attempt removed it before its lease was lost, or an
            # object store dropped an implicit directory with its last key.
            if exc.code is ErrorCode.NOT_FOUND:
                run.say(f"{src.shown}: already gone")
                return
            if exc.code is ErrorCode.NOT_EMPTY:
                exc.message = _still_holds(src, exc.message)
            raise exc.with_scope(ErrorScope.SOURCE) from None
        run.say(f"removed {src.shown}")

    def _rename(self, run: Running, places: list[Place], _: Any) -> None:
        opts = run.job.get("extra_opts") or {}
        src = self._src(run, places)
        prefix = url_parts(src.url)[1]
        site = run.job.get("src_site") or {}
        dst_path = resolve_path(prefix, site.get("def_path") or "/", run.element["dst_filepath"])
        naming = naming_of(site, run.element["dst_filepath"], dst_path, prefix)
        dst = Place(src.storage, dst_path, src.url, naming)
        places.append(dst)
        try:
            if is_retry(run.element) and rename_done(src.storage, src.path, dst_path):
                run.say(f"{src.shown} is gone, {dst.shown} is there: an earlier attempt renamed it")
                return
            if not opts.get("overwrite") and src.storage.exists(dst_path):
                raise TransferError(
                    ErrorCode.EXISTS,
                    f"{dst_path}: exists and overwrite is off",
                    scope=ErrorScope.DESTINATION,
                    retryable=False,
                )
            # The storage resolves and checks both names (file roots included).
            src.storage.rename(src.path, dst_path)
        except TransferError as exc:
            if exc.scope is ErrorScope.TRANSFER:
                exc.with_scope(ErrorScope.SOURCE)
            raise
        run.say(f"renamed {src.shown} -> {dst.shown}")

    def _mkdir(self, run: Running, places: list[Place], _: Any) -> None:
        # A job's own MKDIR names its path in src_filepath on src_site; a COPY's
        # MKDIR (an empty directory of the tree) names it in dst_filepath on dst_site.
        # An existing directory is success (every backend's mkdir is idempotent).
        own = run.job.get("type") == JobType.MKDIR.name
        place = self._src(run, places) if own else self._dst(run, places)
        opts = run.job.get("extra_opts") or {}
        try:
            place.storage.mkdir(place.path, parents=bool(opts.get("parents", True)))
        except TransferError as exc:
            raise exc.with_scope(ErrorScope.DESTINATION) from None
        run.say(f"made directory {place.shown}")


def _still_holds(place: Place, message: str) -> str:
    """NOT_EMPTY, naming what is left (often a name the LIST could not report)."""
    try:
        left = [escaped(e.name) for e in place.storage.list(place.path, depth=1)][:10]
    except TransferError:
        return message
    return (
        f"{message}; it still holds: {', '.join(left)} "
        "(names that are not UTF-8 are never listed, copied or removed)"
    )
