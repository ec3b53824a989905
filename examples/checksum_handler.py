"""An example custom job type: the checksum of a file on a haul site.

Register the type (admin), run a worker with the handler, submit a job:

    curl -X POST $HAUL/workqueue/api/v1.0/job-types -H "Authorization: Bearer $ADMIN" \\
         -H 'Content-Type: application/json' -d '{"name": "checksum", "title": "File checksum"}'
    haul worker --server $HAUL --token $WORKER --handler checksum=examples.checksum_handler:run
    curl -X POST $HAUL/workqueue/api/v1.0/jobs -H "Authorization: Bearer $TOKEN" \\
         -H 'Content-Type: application/json' \\
         -d '{"type": "checksum", "request": {"url": "file:///data", "path": "/data/a.txt"}}'

The request names a storage endpoint URL (and optionally a credential) and an
absolute path on that storage; the result is ``{"path", "size", "algorithm",
"checksum"}``. Handlers run with the worker's own rights: this example does
not apply the worker's ``--file-root`` limits, so run it only on workers whose
disks may be read by the users who can submit the type.
"""

from __future__ import annotations

from typing import Any

from haul.storage import open_storage
from haul.storage.checksums import new_hasher
from haul.worker.handlers import HandlerContext, PermanentError

CHUNK = 1 << 20


def run(request: Any, ctx: HandlerContext) -> dict[str, Any]:
    if not isinstance(request, dict) or "url" not in request or "path" not in request:
        raise PermanentError("request needs 'url' (an endpoint URL) and 'path'")
    algorithm = str(request.get("algorithm", "sha256"))
    storage = open_storage(str(request["url"]), request.get("credential"))
    try:
        entry = storage.stat(str(request["path"]))
        hasher = new_hasher(algorithm)
        done = 0
        with storage.open_read(str(request["path"])) as stream:
            while chunk := stream.read(CHUNK):
                if ctx.cancelled():
                    raise PermanentError("cancelled")
                hasher.update(chunk)
                done += len(chunk)
                ctx.progress(done)
        ctx.log(f"{algorithm} of {entry.path}: {hasher.hexdigest()}")
        return {
            "path": entry.path,
            "size": done,
            "algorithm": algorithm,
            "checksum": hasher.hexdigest(),
        }
    finally:
        storage.close()
