"""A bulletin's recording on its page: uploaded as a file or recorded with the browser's
microphone (web/static/recorder.js posts to the same address), and heard back.

The application layer (``app/recordings.py``) decides what is accepted and where it is
kept; here the request's body is read (the guard has already refused one larger than
``web/access.BODY_LIMITS`` allows, before reading it) and the refusal is shown at the
form's field. The recording is heard through this route, by bulletin, never by the
stored file's name.
"""

from __future__ import annotations

from fastapi import Depends, FastAPI, Request
from fastapi.responses import FileResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from broadcaster.app import recordings
from broadcaster.app.permissions import PermissionDenied
from broadcaster.core.errors import BroadcasterError, FieldProblem
from broadcaster.i18n import _
from broadcaster.web.app import Visit, guard, redirect, station_of
from broadcaster.web.pages import bulletin_page


def add_routes(app: FastAPI) -> None:
    @app.post("/ban-tin/{bulletin_id}/ban-ghi", name="bulletin_recording_upload")
    async def bulletin_recording_upload(
        request: Request, bulletin_id: str, visit: Visit = Depends(guard)
    ) -> Response:
        ctx = station_of(request).ctx
        ctx.bulletin(bulletin_id)  # an unknown bulletin is its own clear error
        try:
            form = await request.form(max_files=1, max_fields=4)
        except Exception:  # a broken multipart body: nothing to keep
            return _refused(request, visit, bulletin_id, _("the file did not arrive whole"))
        upload = form.get(recordings.FIELD)
        if not isinstance(upload, UploadFile):
            return _refused(request, visit, bulletin_id, _("choose a recording to upload"))
        if upload.size is not None and upload.size > recordings.MAX_RECORDING_BYTES:
            return _refused(request, visit, bulletin_id, recordings.too_large_message())
        try:
            await run_in_threadpool(
                recordings.attach_recording,
                ctx,
                visit.actor,
                bulletin_id,
                upload.file,
                upload.filename,
            )
        except PermissionDenied:
            raise
        except FieldProblem as exc:
            return _refused(request, visit, bulletin_id, exc.message)
        except BroadcasterError as exc:
            return _refused(request, visit, bulletin_id, str(exc.problem.message))
        finally:
            await upload.close()
        return redirect(f"/ban-tin/{bulletin_id}?xong=recorded#ban-ghi")

    def _refused(request: Request, visit: Visit, bulletin_id: str, message: str) -> Response:
        first = message.splitlines()[0] if message else message
        return bulletin_page(request, visit, bulletin_id, 400, errors={recordings.FIELD: first})

    @app.get("/ban-tin/{bulletin_id}/ban-ghi", name="bulletin_recording")
    def bulletin_recording(
        request: Request, bulletin_id: str, visit: Visit = Depends(guard)
    ) -> Response:
        found = recordings.recording_file(station_of(request).ctx, bulletin_id)
        if found is None:
            raise BroadcasterError(_("'{id}' has no recording").format(id=bulletin_id))
        path, kind = found
        return FileResponse(path, media_type=kind, headers={"Cache-Control": "no-store"})
