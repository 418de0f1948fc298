"""Findings and verdicts: the one result shape every screening engine returns.

A Finding never carries more customer content than the matched span (as offsets into the customer's
own text, or a pixel region); the matched list entry is named by list and entry id, so that after a
purge only non-content facts remain.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field


class Severity(enum.StrEnum):
    """How a finding weighs on the verdict: block refuses, review queues, info only records."""

    BLOCK = "block"
    REVIEW = "review"
    INFO = "info"


class FindingKind(enum.StrEnum):
    TRADEMARK = "trademark"
    OFFENSIVE = "offensive"
    IMAGE = "image"
    ARTWORK = "artwork"  # a registered painting, illustration or photograph (copyright), by local features
    OCR_TEXT = "ocr_text"
    FONT = "font"


# Findings whose list entry is a registered image: the reviewer is shown it beside the customer's design.
REFERENCE_IMAGE_KINDS: frozenset[str] = frozenset({FindingKind.IMAGE, FindingKind.ARTWORK})


def image_media_type(data: bytes) -> str:
    """A reference thumbnail is PNG (logos, matched by shape) or JPEG (artwork, matched by features):
    the answer must say which, so it is read from the bytes' own signature."""
    return "image/png" if data.startswith(b"\x89PNG\r\n\x1a\n") else "image/jpeg"


class VerdictKind(enum.StrEnum):
    CLEAR = "clear"
    FLAGGED = "flagged"
    BLOCKED = "blocked"


@dataclass(frozen=True, slots=True)
class RegisterInfo:
    """What a trademark register says about the mark a finding matched: whose it is and for what.

    Public register facts, no customer content. `classes` are Nice classes (empty: not known, every
    class); `famous` marks are matched whatever the product's classes."""

    serial: str
    registration: str | None
    status: str  # registered | pending (only live marks are matched)
    status_code: int
    classes: tuple[int, ...]
    owner: str | None
    famous: bool = False
    outside_classes: bool = False  # the product is sold in none of the mark's classes

    def to_dict(self) -> dict[str, object]:
        return {
            "serial": self.serial,
            "registration": self.registration,
            "status": self.status,
            "status_code": self.status_code,
            "classes": list(self.classes),
            "owner": self.owner,
            "famous": self.famous,
            "outside_classes": self.outside_classes,
        }

    @classmethod
    def from_dict(cls, d: dict[str, object]) -> RegisterInfo:
        classes = d.get("classes") or []
        assert isinstance(classes, list)
        return cls(
            serial=str(d["serial"]),
            registration=None if d.get("registration") is None else str(d["registration"]),
            status=str(d["status"]),
            status_code=int(str(d["status_code"])),
            classes=tuple(int(c) for c in classes),
            owner=None if d.get("owner") is None else str(d["owner"]),
            famous=bool(d.get("famous")),
            outside_classes=bool(d.get("outside_classes")),
        )


@dataclass(frozen=True, slots=True)
class Finding:
    """One match of customer content against one list entry.

    `span` is [start, end) in the customer's original text (None for images); `region` is
    (x, y, w, h) in the original image's pixels (None for plain text). `list_ref` is
    "name@version" of the list the entry came from.
    """

    kind: FindingKind
    list_ref: str
    entry: str
    score: float
    severity: Severity
    span: tuple[int, int] | None = None
    region: tuple[int, int, int, int] | None = None
    distance: int | None = None
    category: str | None = None
    label: str | None = None
    register: RegisterInfo | None = None

    def to_dict(self) -> dict[str, object]:
        """Wire form used by the batch commands and the API (no customer content)."""
        out: dict[str, object] = {
            "kind": self.kind.value,
            "list": self.list_ref,
            "entry": self.entry,
            "score": round(float(self.score), 4),
            "severity": self.severity.value,
        }
        if self.span is not None:
            out["span"] = [self.span[0], self.span[1]]
        if self.region is not None:
            out["region"] = list(self.region)
        if self.distance is not None:
            out["distance"] = self.distance
        if self.category is not None:
            out["category"] = self.category
        if self.label is not None:
            out["label"] = self.label
        if self.register is not None:
            out["trademark"] = self.register.to_dict()
        return out


@dataclass(frozen=True, slots=True)
class Verdict:
    """Blocked if any block finding, flagged if any review finding, else clear."""

    kind: VerdictKind
    findings: tuple[Finding, ...] = field(default_factory=tuple)

    @property
    def lead(self) -> Finding | None:
        """The finding that decided the verdict: the most severe, then the highest score (the one a
        reviewer's queue is sorted and filtered by)."""
        order = {Severity.BLOCK: 0, Severity.REVIEW: 1, Severity.INFO: 2}
        return min(self.findings, key=lambda f: (order[f.severity], -f.score), default=None)

    @classmethod
    def of(cls, findings: Iterable[Finding]) -> Verdict:
        fs = tuple(findings)
        if not fs:
            return _CLEAR  # most texts and images: one shared immutable verdict
        severities = {f.severity for f in fs}
        if Severity.BLOCK in severities:
            kind = VerdictKind.BLOCKED
        elif Severity.REVIEW in severities:
            kind = VerdictKind.FLAGGED
        else:
            kind = VerdictKind.CLEAR
        return cls(kind, fs)

    def merged(self, other: Verdict) -> Verdict:
        return Verdict.of(self.findings + other.findings)

    def to_dict(self) -> dict[str, object]:
        return {"verdict": self.kind.value, "findings": [f.to_dict() for f in self.findings]}


_CLEAR = Verdict(VerdictKind.CLEAR)
