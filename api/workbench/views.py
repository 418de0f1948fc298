"""View models: everything a template shows, decided here, so the templates only lay it out.

Text is handed to templates as plain strings and escaped by Jinja's autoescape; the only structure
built here is which stretch of the customer's text is marked and where a region sits on the image
(percentages of the displayed picture, so no script has to measure anything).
"""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from customization_vault.catalog import AuditRecord, FindingView, ItemView, ReviewView
from customization_vault.lifecycle import ReviewState
from customization_vault.review import CaseDetail, ReasonCode

REASONS: tuple[tuple[str, str, str], ...] = (
    # (key, code, label): the reject reason keys the case page offers after `r`.
    ("1", ReasonCode.TRADEMARK.value, "Trademark"),
    ("2", ReasonCode.COPYRIGHT.value, "Copyright"),
    ("3", ReasonCode.OFFENSIVE.value, "Offensive"),
    ("4", ReasonCode.RESTRICTED.value, "Restricted"),
    ("5", ReasonCode.OTHER.value, "Other"),
)

KINDS = ("trademark", "offensive", "image", "ocr_text", "font")
KIND_LABELS = {
    "trademark": "Trademark (text)",
    "offensive": "Offensive term",
    "image": "Logo (image)",
    "artwork": "Artwork (image)",
    "ocr_text": "Text in image",
    "font": "Restricted font",
}

LABEL_NAMES = {"trademark": "Mark", "image": "Logo", "artwork": "Work", "ocr_text": "Mark", "font": "Font"}

# Fixed messages for `?done=`: a redirect names an outcome, never carries text of its own.
DONE_MESSAGES = {
    "approve": "Approved: the item is released to fulfilment.",
    "reject": "Rejected.",
    "escalate": "Escalated: an admin decides it now.",
    "released": "Released: the case is back in the queue.",
    "empty": "Nothing is waiting for you (with these filters).",
    "signed_out": "Signed out.",
    "claimed": "Claimed: the case is yours for the lease.",
    "imported": "Imported: every process screens with the new version within its reload interval.",
    "rescreen": "Re-screen requested: a worker picks it up within seconds.",
}


def age_text(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {mins} min"
    return f"{mins} min"


def sla_of(waited: timedelta, sla: timedelta) -> tuple[str, str]:
    """(css class, words): colour is never the only signal."""
    if waited >= sla:
        return "sla-overdue", "overdue"
    if waited >= sla / 2:
        return "sla-soon", "due soon"
    return "sla-ok", "on time"


def waiting_since(c: ReviewView) -> datetime:
    """An appeal re-enters the queue when it is made: its age counts from then."""
    return c.appealed_at if c.appealed_at is not None and c.appeal_decided_at is None else c.created_at


@dataclass(frozen=True, slots=True)
class QueueRow:
    case_id: str
    order_id: str
    seller: str
    kind: str
    list_ref: str
    score: str
    state: str
    appeal: bool
    age: str
    sla_class: str
    sla_words: str
    holder: str  # "", "you", or "another reviewer"


def queue_rows(
    cases: Sequence[ReviewView],
    names: dict[str, tuple[str | None, str | None]],
    *,
    now: datetime,
    sla: timedelta,
    actor: str,
) -> list[QueueRow]:
    rows = []
    for c in cases:
        waited = now - waiting_since(c)
        sla_class, sla_words = sla_of(waited, sla)
        held = c.state == ReviewState.CLAIMED and c.lease_until is not None and c.lease_until > now
        holder = "" if not held else ("you" if c.claimed_by == actor else "another reviewer")
        order_id, seller = names.get(c.id, (None, None))
        rows.append(
            QueueRow(
                case_id=c.id,
                order_id=order_id or "—",
                seller=seller or "—",
                kind=KIND_LABELS.get(c.kind or "", c.kind or "—"),
                list_ref=c.list_ref or "—",
                score="—" if c.score is None else f"{c.score:.2f}",
                state=c.state.value,
                appeal=c.in_appeal,
                age=age_text(waited),
                sla_class=sla_class,
                sla_words=sla_words,
                holder=holder,
            )
        )
    return rows


# ---------------------------------------------------------------------------------------- the case


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of the customer's text; `findings` names the findings whose span covers it."""

    text: str
    findings: str  # "1 2" (numbers as shown beside each finding); "" when unmarked

    @property
    def marked(self) -> bool:
        return bool(self.findings)


def _visible(text: str) -> str:
    """Invisible characters (zero-width, bidi controls) shown as ⟨U+200B⟩: evasions hide in them.
    Offsets are kept by mapping each such character to its token, not by dropping it."""
    out = []
    for ch in text:
        if ch not in "\n\t" and unicodedata.category(ch) in ("Cf", "Cc"):
            out.append(f"⟨U+{ord(ch):04X}⟩")
        else:
            out.append(ch)
    return "".join(out)


def highlight(text: str, spans: Sequence[tuple[int, tuple[int, int]]]) -> list[Segment]:
    """Cut `text` at every span boundary; each piece knows which findings (by number) cover it."""
    n = len(text)
    cuts = {0, n}
    clipped = []
    for number, (start, end) in spans:
        a, b = max(0, min(start, n)), max(0, min(end, n))
        if a < b:
            clipped.append((number, a, b))
            cuts.update((a, b))
    points = sorted(cuts)
    out = []
    for a, b in itertools.pairwise(points):
        covering = [str(number) for number, s, e in clipped if s <= a and b <= e]
        out.append(Segment(_visible(text[a:b]), " ".join(covering)))
    return out


@dataclass(frozen=True, slots=True)
class Region:
    number: int
    left: str  # percentages of the displayed image, e.g. "12.500%"
    top: str
    width: str
    height: str
    pixels: str  # "x 120, y 80, 240 × 160 px" for the finding's description


def _pct(value: float, whole: int) -> str:
    return f"{max(0.0, min(100.0, 100.0 * value / whole)):.3f}%"


def region_of(number: int, region: tuple[int, ...], width: int | None, height: int | None) -> Region | None:
    if len(region) != 4:
        return None
    x, y, w, h = region
    pixels = f"x {x}, y {y}, {w} × {h} px"
    if not width or not height:
        return Region(number, "", "", "", "", pixels)
    return Region(number, _pct(x, width), _pct(y, height), _pct(w, width), _pct(h, height), pixels)


@dataclass(frozen=True, slots=True)
class FindingCard:
    number: int
    kind: str
    kind_label: str
    list_ref: str
    entry: str
    label: str | None  # the mark's text, the logo's name, the font's family
    label_name: str  # what the label is: "Mark", "Logo", "Font"
    term: str | None  # an offensive term's listed wording
    category: str | None
    severity: str
    score: str
    distance: str
    matched_text: str | None  # the customer's own words at the span
    region: Region | None
    reference_image: str | None  # URL of the registered logo or artwork
    reference_alt: str  # what that image is, for its alt text
    trademark: TrademarkFacts | None = None  # a register mark: whose it is and for which classes


@dataclass(frozen=True, slots=True)
class TrademarkFacts:
    """A register's facts as the case page shows them."""

    serial: str
    registration: str
    status: str
    classes: str
    owner: str
    famous: bool
    outside_classes: bool

    @classmethod
    def of(cls, d: dict[str, Any] | None) -> TrademarkFacts | None:
        if d is None:
            return None
        classes = d.get("classes") or []
        return cls(
            serial=str(d.get("serial", "")),
            registration=str(d.get("registration") or "—"),
            status=f"{d.get('status', '')} ({d.get('status_code', '')})",
            classes=", ".join(str(c) for c in classes) if classes else "not given (every class)",
            owner=str(d.get("owner") or "—"),
            famous=bool(d.get("famous")),
            outside_classes=bool(d.get("outside_classes")),
        )


@dataclass(frozen=True, slots=True)
class OtherItem:
    kind: str
    content_type: str
    size: str
    state: str
    verdict: str
    finding_count: int


@dataclass(frozen=True, slots=True)
class HistoryLine:
    at: str
    actor: str
    action: str


@dataclass(frozen=True, slots=True)
class DecisionLine:
    what: str
    reason: str | None
    note: str | None
    by: str | None
    at: str | None


@dataclass(frozen=True, slots=True)
class CasePage:
    case_id: str
    state: str
    kind: str
    list_ref: str
    score: str
    order_id: str
    order_state: str
    seller: str
    item_kind: str
    content_type: str
    size: str
    you_hold: bool
    can_claim: bool
    can_decide: bool
    can_escalate: bool
    holder: str
    lease_until: str | None
    in_appeal: bool
    text: list[Segment] | None
    image_url: str | None
    image_width: int | None
    image_height: int | None
    content_gone: bool
    findings: list[FindingCard]
    regions: list[Region]
    others: list[OtherItem]
    decisions: list[DecisionLine]
    appeal_statement: str | None
    appealed_at: str | None
    history: list[HistoryLine]


def size_text(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n / (1024 * 1024):.1f} MiB"


def when(at: datetime | None) -> str | None:
    return None if at is None else at.strftime("%Y-%m-%d %H:%M UTC")


def _finding_card(
    number: int, f: FindingView, item: ItemView, text: str | None, base: str, term: str | None, logo: bool
) -> FindingCard:
    matched = None
    if text is not None and f.span is not None:
        matched = _visible(text[f.span[0] : f.span[1]])
    region = None if f.region is None else region_of(number, f.region, item.width, item.height)
    return FindingCard(
        number=number,
        kind=f.kind,
        kind_label=KIND_LABELS.get(f.kind, f.kind),
        list_ref=f.list_ref,
        entry=f.entry,
        label=f.label,
        label_name=LABEL_NAMES.get(f.kind, "Entry"),
        term=term,
        category=f.category,
        severity=f.severity,
        score=f"{f.score:.2f}",
        distance="—" if f.distance is None else str(f.distance),
        matched_text=matched,
        region=region,
        reference_image=f"{base}/references/images/{quote(f.entry, safe='/')}" if logo else None,
        reference_alt=f"Registered {'artwork' if f.kind == 'artwork' else 'logo'}: {f.label or f.entry}",
        trademark=TrademarkFacts.of(f.register),
    )


def _decisions(c: ReviewView) -> list[DecisionLine]:
    out = []
    if c.escalated_at is not None:
        out.append(DecisionLine("escalated", None, None, c.escalated_by, when(c.escalated_at)))
    if c.decision is not None:
        out.append(DecisionLine(c.decision, c.reason_code, c.note, c.decided_by, when(c.decided_at)))
    if c.appeal_decision is not None:
        out.append(
            DecisionLine(
                f"appeal: {c.appeal_decision}",
                c.appeal_reason_code,
                c.appeal_note,
                c.appeal_decided_by,
                when(c.appeal_decided_at),
            )
        )
    if c.closed_reason is not None:
        out.append(DecisionLine(f"closed: {c.closed_reason}", None, None, None, when(c.closed_at)))
    return out


def case_page(
    d: CaseDetail,
    *,
    seller: str | None,
    text: str | None,
    content_gone: bool,
    base: str,
    actor: str,
    admin: bool,
    now: datetime,
    terms: dict[str, str | None],
    logos: set[str],
    history: Sequence[AuditRecord],
) -> CasePage:
    c = d.case
    held = c.state == ReviewState.CLAIMED and c.lease_until is not None and c.lease_until > now
    you_hold = held and c.claimed_by == actor
    waiting = c.state in (ReviewState.OPEN, ReviewState.ESCALATED, ReviewState.APPEALED) or (
        c.state == ReviewState.CLAIMED and not held
    )
    escalated_for_admin = c.escalated_at is not None and c.decided_at is None
    first_decider = c.in_appeal and c.decided_by == actor and not admin
    can_claim = waiting and (admin or not escalated_for_admin) and not first_decider
    cards = [
        _finding_card(i, f, d.item, text, base, terms.get(f.entry), f.entry in logos)
        for i, f in enumerate(d.findings, start=1)
    ]
    spans = [(card.number, f.span) for card, f in zip(cards, d.findings, strict=True) if f.span is not None]
    is_image = d.item.kind == "image"
    return CasePage(
        case_id=c.id,
        state=c.state.value,
        kind=KIND_LABELS.get(c.kind or "", c.kind or "—"),
        list_ref=c.list_ref or "—",
        score="—" if c.score is None else f"{c.score:.2f}",
        order_id=d.order.external_id,
        order_state=d.order.state.value,
        seller=seller or "—",
        item_kind=d.item.kind,
        content_type=d.item.content_type,
        size=size_text(d.item.size),
        you_hold=you_hold,
        can_claim=can_claim,
        can_decide=you_hold,
        can_escalate=you_hold and not c.in_appeal and not admin,
        holder="" if not held else ("you" if you_hold else "another reviewer"),
        lease_until=when(c.lease_until) if held else None,
        in_appeal=c.in_appeal,
        text=None if text is None else highlight(text, spans),
        image_url=None if not is_image or content_gone else f"{base}/cases/{c.id}/content",
        image_width=d.item.width,
        image_height=d.item.height,
        content_gone=content_gone,
        findings=cards,
        regions=[card.region for card in cards if card.region is not None and card.region.left],
        others=[
            OtherItem(
                i.kind,
                i.content_type,
                size_text(i.size),
                i.state.value,
                "—" if i.verdict is None else i.verdict.value,
                len(i.findings),
            )
            for i in d.others
        ],
        decisions=_decisions(c),
        appeal_statement=c.appeal_statement,
        appealed_at=when(c.appealed_at),
        history=[HistoryLine(when(e.at) or "", e.actor, e.action) for e in history],
    )


@dataclass(frozen=True, slots=True)
class AuditLine:
    seq: int
    at: str
    actor: str
    action: str
    target: str
    purpose: str
    details: str


def audit_lines(events: Sequence[AuditRecord]) -> list[AuditLine]:
    return [
        AuditLine(
            e.seq,
            when(e.at) or "",
            e.actor,
            e.action,
            f"{e.target_type} {e.target_id}",
            e.purpose or "",
            ", ".join(f"{k}={v}" for k, v in sorted(e.details.items())),
        )
        for e in events
    ]
