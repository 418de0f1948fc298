"""`/v1/admin/lists` and `/v1/admin/rescreens`: screening list versions and re-screen jobs (admin keys).

An import is checked by the engine's own loader before anything is stored (422 `list_rejected` with
the loader's file, line and rule); running processes pick the new version up within
`CV_SCREENING__RELOAD_SECONDS`. A re-screen runs in the background (`serve`'s worker or `worker`).
"""

from __future__ import annotations

from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.responses import JSONResponse

from api.bodies import (
    FRAMING_ALLOWANCE,
    MULTIPART_FILE,
    check_content_length,
    media_essence,
    read_multipart_file,
)
from api.deps import AdminPrincipal, Services
from api.list_schemas import (
    ListImportRead,
    ListProcessRead,
    ListsRead,
    ListVersionRead,
    RescreenCreate,
    RescreenRead,
)
from customization_vault.errors import UnsupportedType
from customization_vault.ids import ID_PATTERN
from customization_vault.lists import ListKind

router = APIRouter(prefix="/v1/admin", tags=["admin: lists"])
# Under the one id rule like every id in a path (`customization_vault/ids.py`): 422 before anything runs.
JobId = Annotated[str, Path(pattern=ID_PATTERN, description="A re-screen job's id")]

_PROBLEM: dict[str, object] = {"content": {"application/problem+json": {}}}
_COMMON: dict[int | str, dict[str, object]] = {
    401: {"description": "Missing or unknown API key", **_PROBLEM},
    403: {"description": "Not an admin key", **_PROBLEM},
}
_SOURCE_CHARS = 200


def _source(filename: str | None) -> str:
    name = "".join(c for c in (filename or "") if c.isprintable())[:_SOURCE_CHARS]
    return f"upload:{name}" if name else "upload"


@router.get(
    "/lists", response_model=ListsRead, responses=_COMMON, summary="Stored list versions and who uses them"
)
def get_lists(who: AdminPrincipal, services: Services) -> ListsRead:
    book = services.lists
    processes = book.processes()
    users: dict[tuple[str, int], int] = {}
    for p in processes:
        for kind, version in p.versions.items():
            users[(kind, version)] = users.get((kind, version), 0) + 1
    in_use = {} if services.reloader is None else services.reloader.in_use()
    return ListsRead(
        versions=[ListVersionRead.of(v, users.get((v.kind, v.version), 0)) for v in book.history()],
        in_use={k.value: in_use.get(k) for k in ListKind},
        processes=[ListProcessRead.of(p) for p in processes],
    )


@router.post(
    "/lists/{kind}",
    response_model=ListImportRead,
    status_code=201,
    summary="Import a new version of a list: multipart `file` part (images: a zip of the CSV and its images)",
    responses={
        400: {"description": "Malformed multipart body", **_PROBLEM},
        413: {"description": "Larger than CV_SCREENING__MAX_LIST_BYTES", **_PROBLEM},
        415: {"description": "Not multipart/form-data", **_PROBLEM},
        422: {"description": "The list's loader refused it (list_rejected: file, line, rule)", **_PROBLEM},
        **_COMMON,
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": MULTIPART_FILE,
        }
    },
)
async def post_list(
    kind: Annotated[ListKind, Path(description="marks | terms | allow | images | fonts")],
    request: Request,
    who: AdminPrincipal,
    services: Services,
    rescreen: Annotated[
        bool, Query(description="Also start a re-screen of every open order's items")
    ] = False,
) -> JSONResponse:
    content_type = request.headers.get("content-type") or ""
    if media_essence(content_type) != "multipart/form-data":
        raise UnsupportedType("send the list as multipart/form-data with a `file` part")
    limit = services.settings.screening.max_list_bytes
    check_content_length(request.headers.get("content-length"), limit + FRAMING_ALLOWANCE)
    part = await read_multipart_file(request.stream(), content_type, limit)
    book = services.lists
    version = await to_thread.run_sync(
        lambda: book.import_list(kind, part.data, source=_source(part.filename), actor=who.actor)
    )
    job = None
    if rescreen:
        reason = f"{version.kind}@{version.version} imported"
        job = await to_thread.run_sync(lambda: services.rescreener().request(reason=reason, actor=who.actor))
    body = ListImportRead(
        version=ListVersionRead.of(version, 0), rescreen=None if job is None else RescreenRead.of(job)
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=201)


@router.post(
    "/rescreens",
    response_model=RescreenRead,
    status_code=202,
    summary="Re-screen every open order's items with the current lists (joins a job not yet started)",
    responses=_COMMON,
)
def post_rescreen(
    who: AdminPrincipal, services: Services, body: Annotated[RescreenCreate | None, Body()] = None
) -> JSONResponse:
    job = services.rescreener().request(reason=(body or RescreenCreate()).reason, actor=who.actor)
    read = RescreenRead.of(job)
    return JSONResponse(read.model_dump(mode="json"), status_code=202, headers={"Location": read.status_url})


@router.get(
    "/rescreens", response_model=list[RescreenRead], responses=_COMMON, summary="The latest re-screen jobs"
)
def get_rescreens(
    who: AdminPrincipal, services: Services, limit: Annotated[int, Query(ge=1, le=100)] = 10
) -> list[RescreenRead]:
    return [RescreenRead.of(j) for j in services.rescreener().latest(limit)]


@router.get(
    "/rescreens/{job_id}",
    response_model=RescreenRead,
    responses={404: {"description": "No such job", **_PROBLEM}, **_COMMON},
    summary="A re-screen job's progress: state, counters, items per second",
)
def get_rescreen(job_id: JobId, who: AdminPrincipal, services: Services) -> RescreenRead:
    return RescreenRead.of(services.rescreener().get(job_id))
