"""`ImageScreener`: an upload's bytes in, a Verdict out — logos found by shape, artwork by local features,
text by OCR.

Shape path (references the registry matches by shape): decode small -> region proposals -> for each
proposal its 8 rotations/mirrors -> 64-bit pHash -> Hamming-radius search over every reference variant
-> correlation of 16x16 shape grids -> findings for references whose best correlation clears the
threshold. Artwork path (references matched by features): ORB keypoints of the upload and of its mirror
-> visual words -> inverted-index candidates -> RANSAC similarity -> findings for works with at least
ARTWORK_INLIERS distinct agreeing keypoints, outlined where the work lies in the upload; an upload with
no such work whose corners crowd into a compact region (a work placed small on a product photo) is
matched once more on that region, upsampled (the zoom pass). Both paths' scores share one scale, so one
threshold decides.

Severity policy: a match is REVIEW unless its registry line says BLOCK. The registry says a design
*looks like* a protected logo or work; whether the use is licensed (the seller owns the mark, a
permitted reseller, parody) is a human decision, and an automatic refusal of a customer's order on a
visual likeness would be wrong too often to be a default. A rights holder who refuses every copy of a
work can have its line say block. OCR text findings keep the severity the text screener gave them.
"""

from __future__ import annotations

import functools
import io
import math
from dataclasses import dataclass
from typing import Final, Protocol

import numpy as np
import numpy.typing as npt
from PIL import Image

from screening.findings import Finding, FindingKind, Severity, Verdict
from screening.image.artwork import (
    QUERY_FEATURES,
    QUERY_SIDE,
    ZOOM_MAX_FACTOR,
    ZOOM_MIN_FACTOR,
    ZOOM_SIDE,
    Keypoints,
    busy_region,
    extract,
    prepare,
    working_image,
)
from screening.image.artwork_index import CANDIDATES, ArtworkMatch
from screening.image.calibration import calibrate
from screening.image.decode import DecodedImage, decode_image
from screening.image.hashing import (
    FINE_SIDE,
    WORK_SIDE,
    Box,
    FloatArray,
    Shape,
    as_array,
    design_shape,
    dihedral,
    outermost,
    phash64,
    signatures,
    small_grids,
)
from screening.image.ocr_base import OcrEngine, PreviewGate
from screening.image.regions import propose
from screening.image.registry import SHAPE as SHAPE_MATCHER
from screening.image.registry import ImageRegistry
from screening.image.verify import correlate, genericness, refine
from screening.screener import DISABLED, EngineState, EngineStatus

# How much further from a perfect match a quarter-turned or upside-down orientation counts (_upright_prior).
_TURN_STRETCH: Final = 2.0
# Calibrated score (calibration.py: the correlation of 16x16 shape grids, measured against how closely
# strangers come to that reference) at or above which two designs are the same logo. Kept at 0.95 when
# calibration came: on the tuning set (quarter 1 of simple-icons, seed 1601, 864 negatives) it left 1
# false flag; the figures on sets not tuned on are in DESIGN.md, "Screening: images".
DEFAULT_THRESHOLD: Final = 0.95
# Hamming radius (of 64) of the candidate search: it only nominates candidates, the correlation
# decides. By default it is the largest radius at which a random 64-bit hash would fall within reach of
# fewer than one indexed row: 18 for a registry of a hundred logos, 15 for the shipped ~3,500, 12 at
# 100,000 references. A wider radius finds more rotated, cropped and placed logos (on the development
# set, 12 instead of 18 bits lost about 2% of recall) but every extra 2 bits costs 2-3x in probes.
MAX_RADIUS: Final = 18
MIN_RADIUS: Final = 10
_OCR_SIDE: Final = 1280
_MAX_VERIFIED: Final = 2048
# Candidates this close (and only the best few) get the finer crop search of `verify.refine`.
_REFINE_FLOOR: Final = 0.85
_REFINED: Final = 3
# How much a reference looks like a generic primitive (disc, shield, rounded tile, star) ramps from 0 at
# _GENERIC_FROM to 1 at _GENERIC_FULL: it decides how much its proportions count (_aspect_penalty). That
# such references must match more closely is now the calibration's job (their null tail is high). About
# 3% of simple-icons logos exceed 0.8; the median logo is at 0.4.
_GENERIC_FROM: Final = 0.7
_GENERIC_FULL: Final = 0.9
# A generic reference whose proportions differ from the upload's shape by more than this factor (a disc
# against a 1.3:1 ellipse) loses up to _ASPECT_PENALTY. 1.25 leaves room for the registry's 12% cuts.
_ASPECT_TOLERANCE: Final = 1.25
_ASPECT_PENALTY: Final = 0.2
# Distinct agreeing keypoints at which an artwork match reaches DEFAULT_THRESHOLD: score is
# 1 - (1 - DEFAULT_THRESHOLD) * ARTWORK_INLIERS / inliers, so twice as many inliers score 0.975 and half
# as many 0.90. Calibrated on negatives (see DESIGN.md, "Screening: artwork").
ARTWORK_INLIERS: Final = 10
# The same for a flat design matched by features too (an illustration): its keypoints sit on outlines and
# generic parts (an eye is a ring round a dot), so strangers agree more. On a set of 40 drawn cartoons
# (seed 9191) unregistered ones reached 10 inliers against registered cartoons, against 6 for paintings
# and photographs; their true copies placed on a product kept a median of 27.
FLAT_ARTWORK_INLIERS: Final = 16
# ... unless the inliers span at least FLAT_SPREAD of the work (their bounding box in the reference): a
# stranger agrees on a shared motif (an eye, a hand), a copy across the work. On the photo set (seed 1)
# unregistered cartoons with >= 11 inliers spanned <= 4% of the registered one; copies 5-60%.
FLAT_SPREAD_INLIERS: Final = 12
FLAT_SPREAD: Final = 0.1


def artwork_required(flat: bool, spread: float) -> int:
    """Inliers an artwork match needs to reach DEFAULT_THRESHOLD (see the constants above)."""
    if not flat:
        return ARTWORK_INLIERS
    return FLAT_SPREAD_INLIERS if spread >= FLAT_SPREAD else FLAT_ARTWORK_INLIERS


def artwork_score(inliers: int, required: int = ARTWORK_INLIERS) -> float:
    """Inliers on the shape path's score scale: `required` inliers score DEFAULT_THRESHOLD."""
    if inliers <= 0:
        return 0.0
    return max(0.0, 1.0 - (1.0 - DEFAULT_THRESHOLD) * required / inliers)


@functools.lru_cache(maxsize=1024)
def _reference_aspects(thumbnail_png: bytes) -> tuple[float, ...]:
    """Width over height of a reference's design and of its outermost shape (they differ for a tile
    with a design inside), from its thumbnail; cached, as they depend on it alone."""
    found = design_shape(Image.open(io.BytesIO(thumbnail_png)).convert("RGB"))
    if found is None:
        return ()
    base, a, _ = found
    outer, _ = outermost(a, base)
    return tuple(max(1, b[2] - b[0]) / max(1, b[3] - b[1]) for b in (base.box, outer.box))


def _upright_prior(corr: FloatArray, orientation: int | None = None) -> FloatArray:
    """Correlations of a quarter-turned or upside-down orientation count _TURN_STRETCH times further from
    a perfect match. Uploads show a logo upright or mirrored; a stranger's shape turned a quarter
    (a bookmark on its side is a notched square) is three times as many chances to meet a reference.
    Rows of `corr` are proposals x 8 orientations (`dihedral` order: identity and mirror first), unless
    `orientation` names the one orientation of every row."""
    turned = (np.arange(len(corr)) % 8 >= 2) if orientation is None else np.full(len(corr), orientation >= 2)
    out: FloatArray = np.where(turned[:, None], 1.0 - (1.0 - corr) * _TURN_STRETCH, corr).astype(np.float32)
    return out


def query_shapes(image: Image.Image) -> tuple[list[Shape], tuple[int, int]]:
    """The region shapes an upload is matched by, and the working size their boxes are in. Also what the
    calibration pool is made of (scripts/build_image_registry.py --null-pool), so the pool's shapes are
    exactly what a stranger's upload would bring."""
    if max(image.size) > FINE_SIDE * 1.25:  # decoded for the artwork path: shapes work at FINE_SIDE
        image = Image.fromarray(as_array(image, FINE_SIDE).round().astype(np.uint8))
    fine = as_array(image, FINE_SIDE) if max(image.size) > WORK_SIDE else None
    a = as_array(image)
    return propose(a, fine), (a.shape[1], a.shape[0])


class TextScreener(Protocol):
    """Anything that screens a line of text (the trademark/offensive text engine)."""

    def screen_text(self, text: str) -> Verdict: ...


@dataclass(frozen=True, slots=True)
class ImageMatch:
    """One reference found in an upload; `region` is (x, y, w, h) in the original image's pixels.

    `distance` is the shape path's Hamming distance, `inliers` the artwork path's agreeing keypoints.
    """

    entry: str
    score: float
    distance: int | None
    region: tuple[int, int, int, int]
    label: str | None = None
    matcher: str = "shape"
    inliers: int | None = None


@dataclass(frozen=True, slots=True)
class MatchReport:
    """Matches above the threshold (best first) and the best candidate even below it (for evaluation)."""

    matches: tuple[ImageMatch, ...]
    best: ImageMatch | None


def _to_original(
    box: tuple[int, int, int, int], work: tuple[int, int], original: tuple[int, int]
) -> tuple[int, int, int, int]:
    sx, sy = original[0] / work[0], original[1] / work[1]
    x0, y0 = round(box[0] * sx), round(box[1] * sy)
    x1, y1 = min(original[0], round(box[2] * sx)), min(original[1], round(box[3] * sy))
    return (x0, y0, max(1, x1 - x0), max(1, y1 - y0))


class ImageScreener:
    """Screens image uploads against an `ImageRegistry`. `screen_image` is safe to call from threads."""

    def __init__(
        self,
        registry: ImageRegistry,
        ocr: OcrEngine | None = None,
        text_screener: TextScreener | None = None,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        radius: int | None = None,
        ocr_status: EngineStatus = DISABLED,
    ) -> None:
        """`ocr_status` is what readiness reports for OCR when `ocr` is None: disabled by settings
        (the default), or unavailable and why."""
        self.registry = registry
        self.ocr = ocr
        self.text_screener = text_screener
        if ocr is None:
            self.ocr_status = ocr_status
        elif text_screener is None:  # OCR text would have nothing to be screened by
            self.ocr_status = EngineStatus(EngineState.UNAVAILABLE, reason="no text engine")
        else:
            self.ocr_status = EngineStatus.loaded(ocr)
        self.threshold = threshold
        self.radius = radius

    def __repr__(self) -> str:
        return f"ImageScreener(registry={self.registry!r}, threshold={self.threshold}, radius={self.radius})"

    def status(self) -> EngineStatus:
        """Readiness: the registry by name@version with its entries, and OCR as a part."""
        return EngineStatus.loaded(self, {self.registry.list_ref: len(self.registry)}, ocr=self.ocr_status)

    def effective_radius(self) -> int:
        """The radius given, or the size-adaptive default (see MAX_RADIUS)."""
        if self.radius is not None:
            return self.radius
        rows = max(1, self.registry.rows)
        reach = 0
        for r in range(MAX_RADIUS + 1):
            reach += math.comb(64, r)
            if rows * reach >= 2**64:
                return max(MIN_RADIUS, r - 1)
        return MAX_RADIUS

    @staticmethod
    def _generic_ramp(grids: npt.NDArray[np.uint8]) -> FloatArray:
        """0 for a distinctive reference grid, rising to 1 as it comes to look like a primitive: how much
        the upload's proportions must agree with a reference's (see _aspect_penalty)."""
        out: FloatArray = np.clip(
            (genericness(grids) - _GENERIC_FROM) / (_GENERIC_FULL - _GENERIC_FROM), 0.0, 1.0
        ).astype(np.float32)
        return out

    def _aspect_penalty(self, ramp: float, entry_id: str, box: Box, orientation: int) -> float:
        """What a generic reference loses when the upload's shape has other proportions.

        Shapes are compared squeezed into a square, which is right for a logo (a resized upload keeps its
        proportions, so nothing is lost) but blind for a primitive: an ellipse of any width squeezes to
        the same disc. For references that look like a primitive, the proportions are the evidence.
        """
        if ramp <= 0.0 or entry_id not in self.registry:
            return 0.0
        refs = _reference_aspects(self.registry.thumbnail(entry_id))
        w, h = max(1, box[2] - box[0]), max(1, box[3] - box[1])
        query = h / w if (orientation // 2) % 2 else w / h  # a quarter turn swaps the sides
        if not refs or any(max(query / r, r / query) <= _ASPECT_TOLERANCE for r in refs):
            return 0.0
        return ramp * _ASPECT_PENALTY

    # ------------------------------------------------------------------ matching
    def match(self, data: bytes) -> MatchReport:
        """Decode and match; raises ImageDecodeError / ImageTooLarge for bad input."""
        return self.match_decoded(self._decode(data))

    def _decode(self, data: bytes) -> DecodedImage:
        """Decoded at the artwork path's size when the registry holds artwork, else at the shape path's."""
        return decode_image(data, target=QUERY_SIDE if len(self.registry.artwork) else FINE_SIDE)

    def match_decoded(self, decoded: DecodedImage) -> MatchReport:
        shape = self._match_shapes(decoded) if self.registry.rows else MatchReport((), None)
        if not len(self.registry.artwork):
            return shape
        art = self._match_artwork(decoded)
        matches = sorted(shape.matches + art.matches, key=lambda m: (-m.score, m.entry))
        bests = [b for b in (shape.best, art.best) if b is not None]
        best = max(bests, key=lambda m: m.score) if bests else None
        return MatchReport(tuple(matches), best)

    def _match_shapes(self, decoded: DecodedImage) -> MatchReport:
        proposals, work = query_shapes(decoded.image)
        return self._match_proposals(proposals, work, decoded.original_size)

    def _match_artwork(self, decoded: DecodedImage) -> MatchReport:
        rgb = working_image(decoded.image, QUERY_SIDE)
        prepared = prepare(rgb)
        work = (prepared[0].shape[1], prepared[0].shape[0])
        found: dict[str, ImageMatch] = {}
        # The index holds every work mirrored too: one extraction finds mirrored copies.
        query = extract(prepared, QUERY_FEATURES)
        _, verified = self.registry.artwork.match(query, 2 * CANDIDATES)
        self._collect(verified, found, work, decoded.original_size, 1.0, (0, 0))
        if not any(m.score >= self.threshold for m in found.values()):
            self._zoom(rgb, query, found, decoded.original_size)
        ranked = sorted(found.values(), key=lambda m: (-m.score, m.entry))
        return MatchReport(
            tuple(m for m in ranked if m.score >= self.threshold), ranked[0] if ranked else None
        )

    def _zoom(
        self,
        rgb: npt.NDArray[np.uint8],
        query: Keypoints,
        found: dict[str, ImageMatch],
        original: tuple[int, int],
    ) -> None:
        """Second pass over the busy region of an upload (a work placed small on a product photo),
        upsampled so the work is near its registered size, when the first pass found nothing: there the
        work's corners are few and small, and ORB finds those of a copy at the registered scale."""
        work = (rgb.shape[1], rgb.shape[0])
        box = busy_region(query.detected, work)
        if box is None:
            return
        x0, y0, x1, y1 = box
        factor = min(ZOOM_MAX_FACTOR, ZOOM_SIDE / max(x1 - x0, y1 - y0))
        if factor < ZOOM_MIN_FACTOR:
            return
        size = (round((x1 - x0) * factor), round((y1 - y0) * factor))
        crop = np.asarray(Image.fromarray(rgb[y0:y1, x0:x1]).resize(size, Image.Resampling.BICUBIC))
        _, verified = self.registry.artwork.match(extract(prepare(crop), QUERY_FEATURES), 2 * CANDIDATES)
        self._collect(verified, found, work, original, factor, (x0, y0))

    def _collect(
        self,
        verified: list[ArtworkMatch],
        found: dict[str, ImageMatch],
        work: tuple[int, int],
        original: tuple[int, int],
        factor: float,
        offset: tuple[int, int],
    ) -> None:
        """Verified works into `found` (the best score per work), their outlines mapped from a pass's
        pixels (a crop upsampled by `factor` at `offset`) to the working image's, then the upload's."""
        w, h = work
        for v in verified:
            corners = v.corners / factor + np.array(offset, dtype=np.float32)
            x0, y0 = np.clip(corners.min(axis=0), 0, (w, h))
            x1, y1 = np.clip(corners.max(axis=0), 0, (w, h))
            box = (int(x0), int(y0), max(int(x0) + 1, int(np.ceil(x1))), max(int(y0) + 1, int(np.ceil(y1))))
            entry = self.registry.entry(v.entry_id) if v.entry_id in self.registry else None
            flat = entry is not None and SHAPE_MATCHER in entry.matchers
            score = artwork_score(v.inliers, artwork_required(flat, v.spread))
            if v.entry_id in found and found[v.entry_id].score >= score:
                continue
            found[v.entry_id] = ImageMatch(
                v.entry_id,
                score,
                None,
                _to_original(box, work, original),
                entry.label if entry else None,
                matcher="artwork",
                inliers=v.inliers,
            )

    def _match_proposals(
        self, proposals: list[Shape], work: tuple[int, int], original: tuple[int, int]
    ) -> MatchReport:
        if not proposals:
            return MatchReport((), None)
        grids = np.stack([g for p in proposals for g in dihedral(p.grid)]).astype(np.float32)
        hashes = phash64(grids)
        query = signatures(small_grids(grids))
        found = self.registry.search(hashes, self.effective_radius())
        if len(found) > _MAX_VERIFIED:
            # Bounded verification cost on huge registries: the nearest rows are the likely matches.
            found = dict(sorted(found.items(), key=lambda kv: kv[1])[:_MAX_VERIFIED])
        rows: list[int] = []
        ids: list[str] = []
        ref_grids = []
        for row in found:
            resolved = self.registry.resolve(row)
            if resolved is not None:
                rows.append(row)
                ids.append(resolved[0])
                ref_grids.append(resolved[1])
        if not rows:
            return MatchReport((), None)
        stacked = np.stack(ref_grids)
        corr = _upright_prior(correlate(query, stacked))
        best_q = corr.argmax(axis=0)
        # Scores are correlations calibrated per reference against its null tail (calibration.py), so
        # that one threshold means the same for a plain disc as for a detailed mark.
        tails = np.array([self.registry.tail(i) for i in ids], dtype=np.float32)
        ramp = self._generic_ramp(stacked)
        best_c = calibrate(corr[best_q, np.arange(len(rows))], tails)
        # Best row per entry, vectorised: ImageMatch objects only for what is reported.
        order = np.lexsort((-best_c, np.asarray(ids)))
        keep: dict[str, int] = {}
        for k in order.tolist():
            keep.setdefault(ids[k], k)
        chosen = sorted(keep.values(), key=lambda k: (-float(best_c[k]), ids[k]))
        for k in chosen[:_REFINED]:
            if _REFINE_FLOOR <= best_c[k] < self.threshold and ids[k] in self.registry:
                q = int(best_q[k])
                refined = refine(query[q : q + 1], self.registry.thumbnail(ids[k]))
                raw = _upright_prior(np.array([[refined]], dtype=np.float32), q % 8)[0]
                best_c[k] = max(best_c[k], float(calibrate(raw, tails[k : k + 1])[0]))
        for k in chosen:
            if best_c[k] < self.threshold:
                continue  # not reported anyway (the order is stale after refinement: no early exit)
            q = int(best_q[k])
            best_c[k] -= self._aspect_penalty(float(ramp[k]), ids[k], proposals[q // 8].box, q % 8)
        chosen.sort(key=lambda k: (-float(best_c[k]), ids[k]))
        reported = [k for k in chosen if best_c[k] >= self.threshold] or chosen[:1]
        ranked = []
        for k in reported:
            entry_id = ids[k]
            proposal = proposals[int(best_q[k]) // 8]
            entry = self.registry.entry(entry_id) if entry_id in self.registry else None
            ranked.append(
                ImageMatch(
                    entry_id,
                    float(best_c[k]),
                    found[rows[k]],
                    _to_original(proposal.box, work, original),
                    entry.label if entry else None,
                )
            )
        return MatchReport(tuple(m for m in ranked if m.score >= self.threshold), ranked[0])

    # ------------------------------------------------------------------ screening
    def _severity(self, entry_id: str) -> Severity:
        return self.registry.entry(entry_id).severity if entry_id in self.registry else Severity.REVIEW

    def screen_image(self, data: bytes) -> Verdict:
        """Findings for every protected image found, and for OCR text the text screener flags."""
        decoded = self._decode(data)
        report = self.match_decoded(decoded)
        findings = [
            Finding(
                kind=FindingKind.ARTWORK if m.matcher == "artwork" else FindingKind.IMAGE,
                list_ref=self.registry.list_ref,
                entry=m.entry,
                score=m.score,
                severity=self._severity(m.entry),
                region=m.region,
                distance=m.distance,
                label=m.label,
            )
            for m in report.matches
        ]
        if self.ocr is not None and self.text_screener is not None:
            findings.extend(self._ocr_findings(data, decoded))
        return Verdict.of(findings)

    def _ocr_findings(self, data: bytes, decoded: DecodedImage | None = None) -> list[Finding]:
        """OCR findings. `decoded` (the matchers' decode) is read as it is when it holds every pixel
        of an image no larger than OCR's size — the OCR decode would give the same pixels. Otherwise
        it is first the preview of an engine's `PreviewGate`: a photo without text is then decoded
        once, at the matchers' size, not a second time at OCR's (~15 ms of a 1 MP photo's ~30)."""
        assert self.ocr is not None
        assert self.text_screener is not None
        whole = decoded is not None and decoded.image.size == decoded.original_size
        if decoded is not None and whole and max(decoded.original_size) <= _OCR_SIDE:
            big = decoded
        elif (
            decoded is not None and isinstance(self.ocr, PreviewGate) and self.ocr.surely_blank(decoded.image)
        ):
            return []  # no text for sure: the 1,280 px decode would only feed a gate that closes
        else:
            big = decode_image(data, target=_OCR_SIDE)
        image: Image.Image = big.image
        out: list[Finding] = []
        for line in self.ocr.read(image):
            region = _to_original(
                (line.box[0], line.box[1], line.box[0] + line.box[2], line.box[1] + line.box[3]),
                image.size,
                big.original_size,
            )
            for f in self.text_screener.screen_text(line.text).findings:
                out.append(
                    Finding(
                        kind=FindingKind.OCR_TEXT,
                        list_ref=f.list_ref,
                        entry=f.entry,
                        score=f.score,
                        severity=f.severity,
                        region=region,
                        category=f.category,
                        label=f.label,
                    )
                )
        return out

    def screen(self, data: bytes, media_type: str) -> Verdict:
        """The `Screener` seam: images are screened; other media types are not this engine's (clear)."""
        if not media_type.startswith("image/"):
            return Verdict.of(())
        return self.screen_image(data)
