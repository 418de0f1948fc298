"""The workbench's pages and form endpoints: thin like the JSON routes — authorise, call the review
desk (or the audit log, or the stats), hand a view model to a template.

Every state change is a POST carrying the session's CSRF token and answers with a redirect to a page
(post/redirect/get), so a reload never repeats a decision. The actor is always the session's, never a
form field: a forged form can name a case, not a reviewer.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from anyio import to_thread
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment

from api.deps import Context
from api.routes.lists import JobId
from api.routes.review import CaseId
from api.streaming import stream_content
from api.workbench import charts
from api.workbench.auth import (
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    AdminPostedVisit,
    AdminVisit,
    PostedVisit,
    SignedInVisit,
    Visit,
    base_of,
    clear_cookie,
    desk_of,
    new_sign_in_token,
    sessions_of,
    set_cookie,
    sign_in_token_ok,
)
from api.workbench.views import (
    DONE_MESSAGES,
    KIND_LABELS,
    KINDS,
    REASONS,
    audit_lines,
    case_page,
    queue_rows,
)
from customization_vault.apikeys import Unauthenticated
from customization_vault.catalog import ReviewView
from customization_vault.errors import ContentGone, InvalidInput, LeaseConflict, NotFound, StateConflict
from customization_vault.lifecycle import OrderState, ReviewState
from customization_vault.lists import ListKind
from screening.findings import REFERENCE_IMAGE_KINDS, image_media_type

router = APIRouter()

PAGE = 50
AUDIT_PAGE = 100


class Pages:
    """Renders templates with what every page shares (base path, the visit, a done message)."""

    def __init__(self, env: Environment) -> None:
        self.env = env

    def render(
        self, request: Request, name: str, *, visit: Visit | None, status: int = 200, **values: Any
    ) -> HTMLResponse:
        done = request.query_params.get("done")
        html = self.env.get_template(name).render(
            base=base_of(request),
            visit=visit,
            done=DONE_MESSAGES.get(done or ""),
            path=request.url.path,
            status_code=status,
            **values,
        )
        return HTMLResponse(html, status_code=status)


def pages_of(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _safe_next(base: str, value: str | None) -> str:
    """Only a path inside the workbench: a sign-in link must not send the reviewer elsewhere."""
    if value and value.startswith(base + "/") and not value.startswith("//") and "\\" not in value:
        return value
    return base + "/"


# ------------------------------------------------------------------------------------ sign-in


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, next_url: Annotated[str | None, Query(alias="next")] = None) -> Response:
    token = new_sign_in_token()
    base = base_of(request)
    response = pages_of(request).render(
        request, "sign_in.html", visit=None, csrf=token, next_url=_safe_next(base, next_url), error=None
    )
    set_cookie(request, response, SIGN_IN_COOKIE, token)
    return response


@router.post("/sign-in", response_class=HTMLResponse)
def sign_in(
    request: Request,
    ctx: Context,
    api_key: Annotated[str, Form(max_length=400)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next_url: Annotated[str, Form(alias="next", max_length=2000)] = "",
) -> Response:
    base = base_of(request)
    if not sign_in_token_ok(request, csrf_token):
        return _sign_in_again(request, "The sign-in form expired: try again.", 403, next_url)
    try:
        token, _ = sessions_of(ctx).sign_in(api_key)
    except Unauthenticated:
        return _sign_in_again(request, "That key is not a valid reviewer or admin key.", 401, next_url)
    response = _redirect(_safe_next(base, next_url))
    set_cookie(request, response, SESSION_COOKIE, token)
    clear_cookie(request, response, SIGN_IN_COOKIE)
    return response


def _sign_in_again(request: Request, error: str, status: int, next_url: str) -> Response:
    token = new_sign_in_token()
    base = base_of(request)
    response = pages_of(request).render(
        request,
        "sign_in.html",
        visit=None,
        status=status,
        csrf=token,
        next_url=_safe_next(base, next_url),
        error=error,
    )
    set_cookie(request, response, SIGN_IN_COOKIE, token)
    return response


@router.post("/sign-out")
def sign_out(request: Request, visit: PostedVisit, ctx: Context) -> Response:
    sessions_of(ctx).sign_out(visit.token)
    response = _redirect(f"{visit.base}/sign-in?done=signed_out")
    clear_cookie(request, response, SESSION_COOKIE)
    return response


# ------------------------------------------------------------------------------------ the queue


@router.get("/", response_class=HTMLResponse)
def queue(
    request: Request,
    visit: SignedInVisit,
    ctx: Context,
    kind: Annotated[str | None, Query(max_length=16)] = None,
    list_ref: Annotated[str | None, Query(alias="list", max_length=200)] = None,
    seller: Annotated[str | None, Query(max_length=128)] = None,
    state: Annotated[str | None, Query(max_length=16)] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    desk = desk_of(ctx)
    review_state = ReviewState(state) if state in {s.value for s in ReviewState} else None
    f = desk.queue_filter(kind=kind, list_ref=list_ref, seller=seller, state=review_state)
    cases: list[ReviewView] = []
    total = 0
    if f is not None:
        cases, total = desk.queue(f, live_only=review_state is None, limit=PAGE, offset=offset)
    names = desk.names(cases)
    facets, seller_names = desk.facets()
    now = ctx.services.clock()
    sla = timedelta(hours=ctx.services.settings.workbench.sla_hours)
    filters = {"kind": kind or "", "list": list_ref or "", "seller": seller or "", "state": state or ""}
    query = {k: v for k, v in filters.items() if v}
    return pages_of(request).render(
        request,
        "queue.html",
        visit=visit,
        rows=queue_rows(cases, names, now=now, sla=sla, actor=visit.actor),
        total=total,
        offset=offset,
        page=PAGE,
        prev_url=f"?{urlencode({**query, 'offset': max(0, offset - PAGE)})}" if offset else None,
        next_url=f"?{urlencode({**query, 'offset': offset + PAGE})}" if offset + PAGE < total else None,
        filters=filters,
        kinds=[(k, KIND_LABELS[k]) for k in KINDS],
        lists=facets.lists,
        sellers=sorted(seller_names.values()),
        states=[s.value for s in ReviewState],
        sla_hours=ctx.services.settings.workbench.sla_hours,
    )


def _next_query(kind: str, list_ref: str, seller: str) -> str:
    query = {k: v for k, v in {"kind": kind, "list": list_ref, "seller": seller}.items() if v}
    return f"?{urlencode(query)}" if query else ""


@router.post("/claim")
def claim_next(
    visit: PostedVisit,
    ctx: Context,
    kind: Annotated[str, Form(max_length=16)] = "",
    list_ref: Annotated[str, Form(alias="list", max_length=200)] = "",
    seller: Annotated[str, Form(max_length=128)] = "",
    current: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Lease the oldest waiting case (these filters) and open it; `current` (the case being left) is
    released after the claim, so the claim cannot hand the same case straight back."""
    desk = desk_of(ctx)
    f = desk.queue_filter(kind=kind, list_ref=list_ref, seller=seller)
    case = None if f is None else desk.claim(visit.who, f=f)
    if current:
        try:
            desk.release(current, visit.who)
        except (LeaseConflict, NotFound):
            pass  # decided, lapsed or never held: nothing to give back
    if case is None:
        query = {k: v for k, v in {"kind": kind, "list": list_ref, "seller": seller}.items() if v}
        return _redirect(f"{visit.base}/?{urlencode({**query, 'done': 'empty'})}")
    return _redirect(f"{visit.base}/cases/{case.id}{_next_query(kind, list_ref, seller)}")


# ------------------------------------------------------------------------------------ a case


def _read_text(chunks: Iterator[bytes]) -> str:
    return b"".join(chunks).decode("utf-8", errors="replace")


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case(
    request: Request,
    case_id: CaseId,
    visit: SignedInVisit,
    ctx: Context,
    kind: Annotated[str, Query(max_length=16)] = "",
    list_ref: Annotated[str, Query(alias="list", max_length=200)] = "",
    seller: Annotated[str, Query(max_length=128)] = "",
) -> Response:
    desk = desk_of(ctx)
    detail = desk.detail(case_id, visit.who)  # audited as review.view
    text = None
    gone = False
    if detail.item.kind == "text":
        try:
            _, chunks = desk.content(case_id, visit.who)  # audited as a read, purpose review
            text = _read_text(chunks)
        except ContentGone:
            gone = True
    else:
        gone = detail.order.state != OrderState.OPEN
    screener = ctx.services.screener
    terms = {
        f.entry: screener.reference_term(f.entry)
        for f in detail.findings
        if f.kind in ("offensive", "ocr_text")
    }
    logos = {
        f.entry
        for f in detail.findings
        if f.kind in REFERENCE_IMAGE_KINDS and screener.reference_thumbnail(f.entry) is not None
    }
    seller_name = desk.names([detail.case]).get(detail.case.id, (None, None))[1]
    history = ctx.services.audit.history(case_id)[-50:]
    page = case_page(
        detail,
        seller=seller_name,
        text=text,
        content_gone=gone,
        base=visit.base,
        actor=visit.actor,
        admin=visit.admin,
        now=ctx.services.clock(),
        terms=terms,
        logos=logos,
        history=history,
    )
    return pages_of(request).render(
        request,
        "case.html",
        visit=visit,
        case=page,
        reasons=REASONS,
        next_filters={"kind": kind, "list": list_ref, "seller": seller},
        back_query=_next_query(kind, list_ref, seller),
    )


@router.get("/cases/{case_id}/content")
def case_content(case_id: CaseId, visit: SignedInVisit, ctx: Context) -> Response:
    """The customer's bytes for the `<img>` beside the evidence: audited, never cached, sandboxed."""
    item, chunks = desk_of(ctx).content(case_id, visit.who)
    return stream_content(
        item, chunks, disposition="inline", extra={"Content-Security-Policy": "default-src 'none'; sandbox"}
    )


@router.post("/cases/{case_id}/claim")
def claim_case(case_id: CaseId, visit: PostedVisit, ctx: Context) -> Response:
    desk_of(ctx).claim(visit.who, case_id=case_id)
    return _redirect(f"{visit.base}/cases/{case_id}?done=claimed")


@router.post("/cases/{case_id}/decision")
def decide(
    case_id: CaseId,
    visit: PostedVisit,
    ctx: Context,
    decision: Annotated[str, Form(max_length=16)],
    reason: Annotated[str, Form(max_length=16)] = "",
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    if decision == "reject" and not reason:
        raise InvalidInput("a rejection needs a reason: choose one (keys 1-5 after r)")
    desk_of(ctx).decide(
        case_id, visit.who, decision, reason=reason if decision == "reject" else None, note=note or None
    )
    return _redirect(f"{visit.base}/cases/{case_id}?done={decision}")


@router.post("/cases/{case_id}/lease")
def renew(case_id: CaseId, visit: PostedVisit, ctx: Context) -> Response:
    """The open case page renews its lease with this while the reviewer is on it."""
    case = desk_of(ctx).renew(case_id, visit.who)
    until = case.lease_until.isoformat() if case.lease_until else ""
    return Response(status_code=204, headers={"X-Lease-Until": until})


@router.post("/cases/{case_id}/release")
def release(
    case_id: CaseId,
    visit: PostedVisit,
    ctx: Context,
    then: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """The release button (`then=queue`: back to the queue) or the page's beacon as the reviewer
    leaves (204, and nothing to do when the case was decided or the lease had lapsed)."""
    try:
        desk_of(ctx).release(case_id, visit.who)
    except (LeaseConflict, StateConflict):
        if then != "queue":
            return Response(status_code=204)
        raise
    if then == "queue":
        return _redirect(f"{visit.base}/?done=released")
    return Response(status_code=204)


@router.get("/references/images/{entry_id:path}")
def reference_image(entry_id: str, visit: SignedInVisit, ctx: Context) -> Response:
    thumb = ctx.services.screener.reference_thumbnail(entry_id)
    if thumb is None:
        raise NotFound("no such reference image")
    return Response(thumb, media_type=image_media_type(thumb), headers={"Cache-Control": "no-store"})


# ------------------------------------------------------------------------------------ audit


def _utc(value: str | None) -> datetime | None:
    """A `datetime-local` field, read as UTC (the page says so)."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        raise InvalidInput("a time is YYYY-MM-DDTHH:MM") from None


@router.get("/audit", response_class=HTMLResponse)
def audit(
    request: Request,
    visit: AdminVisit,
    ctx: Context,
    order: Annotated[str, Query(max_length=128)] = "",
    actor: Annotated[str, Query(max_length=128)] = "",
    action: Annotated[str, Query(max_length=64)] = "",
    since: Annotated[str, Query(max_length=32)] = "",
    until: Annotated[str, Query(max_length=32)] = "",
    before: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    log = ctx.services.audit
    events = log.search(
        order=order or None,
        actor=actor or None,
        action=action or None,
        since=_utc(since),
        until=_utc(until),
        before_seq=before,
        limit=AUDIT_PAGE,
    )
    filters = {"order": order, "actor": actor, "action": action, "since": since, "until": until}
    query = {k: v for k, v in filters.items() if v}
    older = f"?{urlencode({**query, 'before': events[-1].seq})}" if len(events) == AUDIT_PAGE else None
    return pages_of(request).render(
        request,
        "audit.html",
        visit=visit,
        events=audit_lines(events),
        filters=filters,
        actions=log.actions(),
        older_url=older,
    )


@router.get("/audit/verify", response_class=HTMLResponse)
async def audit_verify(request: Request, visit: AdminVisit, ctx: Context) -> Response:
    """The chain check walks the whole log: a fragment the audit page loads after it has shown."""
    report = await to_thread.run_sync(ctx.services.verify_audit)
    template = "_verify.html" if request.headers.get("HX-Request") else "verify.html"
    return pages_of(request).render(request, template, visit=visit, report=report)


# ------------------------------------------------------------------------------------ dashboard


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, visit: SignedInVisit, ctx: Context) -> Response:
    assert ctx.services.stats is not None
    d = ctx.services.stats.snapshot()
    size_now = d.queue_size[-1].value if d.queue_size else 0
    oldest_now = d.oldest_age_hours[-1].value if d.oldest_age_hours else 0
    return pages_of(request).render(
        request,
        "dashboard.html",
        visit=visit,
        d=d,
        size_now=int(size_now),
        oldest_now=oldest_now,
        queue_chart=charts.line_chart(
            "queue",
            f"Cases waiting, hourly, last {d.queue_days} days",
            d.queue_size,
            "cases",
            f"{size_now:g} cases",
        ),
        oldest_chart=charts.line_chart(
            "oldest",
            f"Oldest waiting case, hours, last {d.queue_days} days",
            d.oldest_age_hours,
            "hours",
            f"{oldest_now:g} hours",
        ),
        decisions_chart=charts.stacked_days(
            "decisions",
            f"Decisions per day by outcome and reason, last {d.decision_days} days",
            d.decisions_per_day,
        ),
        latency_chart=charts.latency_days(
            "purge",
            f"Fulfilment to purge, last {d.purge_days} days",
            d.purge_latency_per_day,
            d.purge_latency,
        ),
        matches=charts.match_bars(d.top_matches),
        categories=charts.DECISION_CLASSES,
        kind_labels=KIND_LABELS,
    )


# ------------------------------------------------------------------------------------ lists (admins)

LIST_KINDS = {
    "marks": "Trademarks (CSV: id, mark, …)",
    "terms": "Offensive terms (CSV: id, term, category, severity)",
    "allow": "Allow-list (CSV of phrases never offensive)",
    "images": "Reference images (zip: registry CSV and its images)",
    "fonts": "Restricted fonts (CSV)",
}
LIST_UPLOAD_LIMIT_NOTE = "CV_SCREENING__MAX_LIST_BYTES"


def _job_line(job: Any) -> dict[str, Any]:
    share = 100.0 * job.done / job.total if job.total else (100.0 if job.state == "done" else 0.0)
    return {
        "id": job.id,
        "state": job.state,
        "reason": job.reason,
        "done": job.done,
        "total": job.total,
        "percent": round(share, 1),
        "flagged": job.flagged,
        "cleared": job.cleared,
        "failed": job.failed,
        "created_at": f"{job.created_at:%Y-%m-%d %H:%M:%S}Z",
        "finished": job.state in ("done", "failed"),
    }


@router.get("/lists", response_class=HTMLResponse)
def lists_page(request: Request, visit: AdminVisit, ctx: Context) -> Response:
    """Versions and counts of every list, an upload form per kind, and the re-screens with progress."""
    book = ctx.services.lists
    in_use = {} if ctx.services.reloader is None else ctx.services.reloader.in_use()
    versions = [
        {
            "kind": v.kind,
            "version": v.version,
            "entries": v.entries,
            "source": v.source,
            "sha": v.sha256[:12],
            "created_at": f"{v.created_at:%Y-%m-%d %H:%M}Z",
            "created_by": v.created_by,
            "in_use": in_use.get(ListKind(v.kind)) == v.version,
        }
        for v in book.history()
    ]
    jobs = [_job_line(j) for j in ctx.services.rescreener().latest(10)]
    return pages_of(request).render(
        request, "lists.html", visit=visit, versions=versions, kinds=LIST_KINDS, jobs=jobs, error=None
    )


@router.post("/lists")
async def lists_import(request: Request, visit: AdminPostedVisit, ctx: Context) -> Response:
    """One new version from the form's file (the CSRF check has read the form already); post/redirect/get."""
    form = await request.form()
    kind = form.get("kind")
    upload = form.get("file")
    if not isinstance(kind, str) or kind not in LIST_KINDS:
        raise InvalidInput("choose which list the file is")
    if upload is None or isinstance(upload, str):
        raise InvalidInput("choose a file to upload")
    limit = ctx.services.settings.screening.max_list_bytes
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise InvalidInput(f"the file is larger than {LIST_UPLOAD_LIMIT_NOTE} ({limit} bytes)")
    name = "".join(c for c in (upload.filename or "") if c.isprintable())[:200]
    book = ctx.services.lists
    version = await to_thread.run_sync(
        lambda: book.import_list(
            ListKind(kind), data, source=f"upload:{name}" if name else "upload", actor=visit.actor
        )
    )
    if form.get("rescreen") == "on":
        reason = f"{version.kind}@{version.version} imported"
        await to_thread.run_sync(lambda: ctx.services.rescreener().request(reason=reason, actor=visit.actor))
    return _redirect(f"{visit.base}/lists?done=imported")


@router.post("/lists/rescreen")
def lists_rescreen(visit: AdminPostedVisit, ctx: Context) -> Response:
    ctx.services.rescreener().request(reason="started from the workbench", actor=visit.actor)
    return _redirect(f"{visit.base}/lists?done=rescreen")


@router.get("/lists/rescreens/{job_id}", response_class=HTMLResponse)
def rescreen_progress(
    job_id: JobId,
    request: Request,
    visit: AdminVisit,
    ctx: Context,
) -> Response:
    """One job's progress row: the lists page polls it (htmx) until the job is finished."""
    job = ctx.services.rescreener().get(job_id)
    return pages_of(request).render(request, "_rescreen.html", visit=visit, job=_job_line(job))
