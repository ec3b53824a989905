"""Small uploads under /workqueue/api/v1.0/files, and the worker's way to read them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, JSONResponse

from haul.server.deps import AppSettings, CurrentUser, ReadSession, WorkerUser
from haul.services import uploads
from haul.services.errors import BadRequest

router = APIRouter()


@router.post("/files")
async def put_file(
    request: Request,
    user: CurrentUser,
    settings: AppSettings,
    name: str = Query(default="", max_length=255),
) -> JSONResponse:
    """Stores a file of at most 10 MB: multipart field ``file``, or the raw body."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=10)
        item = form.get("file")
        if item is None or isinstance(item, str):
            raise BadRequest("file: send the file in a multipart field named 'file'")
        data = await item.read(uploads.MAX_UPLOAD_BYTES + 1)
        name = name or (item.filename or "")
    else:
        data = await request.body()
    # Too large a file is refused by uploads.save, before anything is written.
    db = request.app.state.db

    def store() -> dict[str, Any]:
        with db.write() as session:
            return uploads.upload_json(uploads.save(session, settings.home, user, name, data))

    from fastapi.concurrency import run_in_threadpool

    return JSONResponse(await run_in_threadpool(store), status_code=201)


@router.get("/files/{upload_id}")
def get_file(upload_id: str, user: CurrentUser, session: ReadSession) -> dict[str, Any]:
    return uploads.upload_json(uploads.get(session, user, upload_id))


@router.get("/worker/files/{upload_id}")
def fetch_for_lease(
    upload_id: str,
    worker: WorkerUser,
    session: ReadSession,
    settings: AppSettings,
    jobid: int = Query(),
    elementid: int = Query(),
    token: str = Query(),
) -> FileResponse:
    """The bytes of an upload, for the worker holding a lease on an element copying it."""
    path = uploads.file_for_lease(
        session, settings.home, worker, jobid, elementid, token, upload_id
    )
    return FileResponse(path, media_type="application/octet-stream")
