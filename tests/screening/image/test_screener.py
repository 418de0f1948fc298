"""ImageScreener end to end on generated logos: altered uploads match, unrelated ones stay clear."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageOps

from screening import FindingKind, Screener, Severity, Verdict, VerdictKind
from screening.findings import Finding
from screening.image import ImageDecodeError, ImageRegistry, ImageScreener
from screening.image.ocr_base import OcrLine
from tests.screening.image.logos import bordered, captioned, encode, glyph, on_white, placed, recolour, tile

SEEDS = range(6)


@pytest.fixture(scope="module")
def registry() -> ImageRegistry:
    reg = ImageRegistry("test-logos", "1")
    for seed in SEEDS:
        reg.add(f"logo{seed}", on_white(glyph(seed)), label=f"Logo {seed}")
    return reg


@pytest.fixture(scope="module")
def screener(registry: ImageRegistry) -> ImageScreener:
    return ImageScreener(registry)


def _entries(v: Verdict) -> set[str]:
    return {f.entry for f in v.findings if f.kind is FindingKind.IMAGE}


ALTERATIONS = {
    "jpeg": lambda g: encode(on_white(g), "JPEG", quality=40),
    "small": lambda g: encode(on_white(g).resize((96, 96), Image.Resampling.LANCZOS)),
    "grey": lambda g: encode(on_white(g).convert("L")),
    "recolour": lambda g: encode(on_white(recolour(g, (20, 120, 220)))),
    "invert": lambda g: encode(ImageOps.invert(on_white(g))),
    "mirror": lambda g: encode(ImageOps.mirror(on_white(g))),
    "rotate": lambda g: encode(on_white(g).rotate(7, expand=True, fillcolor=(255, 255, 255))),
    "transparent": lambda g: encode(g),
    "caption": lambda g: encode(captioned(on_white(g))),
    "border": lambda g: encode(bordered(on_white(g))),
    "placed": lambda g: encode(placed(g, 3)[0], "JPEG", quality=85),
    "crop": lambda g: encode(_cropped(on_white(g), left=0.06, top=0.06)),
}


def _cropped(im: Image.Image, left: float, top: float) -> Image.Image:
    """Cut a share of the design's own extent off its left and top sides (a customer's crop)."""
    x0, y0, x1, y1 = ImageOps.invert(im).getbbox() or (0, 0, im.width, im.height)
    return im.crop((x0 + int(left * (x1 - x0)), y0 + int(top * (y1 - y0)), x1 + 10, y1 + 10))


@pytest.mark.parametrize("alteration", sorted(ALTERATIONS))
def test_altered_logo_is_flagged_for_review(screener: ImageScreener, alteration: str) -> None:
    seed = 2
    verdict = screener.screen_image(ALTERATIONS[alteration](glyph(seed)))
    assert verdict.kind is VerdictKind.FLAGGED
    assert _entries(verdict) == {f"logo{seed}"}
    (finding,) = verdict.findings
    assert finding.severity is Severity.REVIEW
    assert finding.list_ref == "test-logos@1"
    assert finding.label == f"Logo {seed}"
    assert 0.0 <= finding.score <= 1.0
    assert finding.distance is not None


def test_region_is_in_original_pixels(screener: ImageScreener) -> None:
    img, (x, y, w, h) = placed(glyph(4), 9)
    (finding,) = screener.screen_image(encode(img, "JPEG", quality=90)).findings
    assert finding.region is not None
    fx, fy, fw, fh = finding.region
    # The glyph occupies most of its pasted square; its box lies inside that square (a few px slack).
    assert x - 12 <= fx
    assert y - 12 <= fy
    assert fx + fw <= x + w + 12
    assert fy + fh <= y + h + 12
    assert fw > w * 0.5
    assert fh > h * 0.5


def test_unregistered_logos_and_photos_are_clear(screener: ImageScreener) -> None:
    rng = np.random.default_rng(5)
    noise = Image.fromarray(rng.integers(0, 255, (300, 400, 3), dtype=np.uint8))
    gradient = Image.fromarray(np.tile(np.linspace(0, 255, 400, dtype=np.uint8), (300, 1)))
    for data in (
        encode(on_white(glyph(101))),
        encode(on_white(glyph(202, (20, 20, 20)))),
        encode(noise),
        encode(gradient),
        encode(Image.new("RGB", (300, 200), (255, 255, 255))),
    ):
        assert screener.screen_image(data).kind is VerdictKind.CLEAR


def test_removed_reference_no_longer_matches() -> None:
    reg = ImageRegistry()
    reg.add("a", on_white(glyph(1)))
    reg.add("b", on_white(glyph(3)))
    scr = ImageScreener(reg)
    data = encode(on_white(glyph(1)))
    assert _entries(scr.screen_image(data)) == {"a"}
    reg.remove("a")
    assert scr.screen_image(data).kind is VerdictKind.CLEAR


def test_screen_seam_and_bad_input(screener: ImageScreener) -> None:
    assert isinstance(screener, Screener)
    assert screener.screen(b"some text", "text/plain").kind is VerdictKind.CLEAR
    assert screener.screen(encode(on_white(glyph(0))), "image/png").kind is VerdictKind.FLAGGED
    with pytest.raises(ImageDecodeError):
        screener.screen_image(b"\x00\x01 definitely not an image")


def test_match_report_keeps_best_candidate_below_threshold(registry: ImageRegistry) -> None:
    strict = ImageScreener(registry, threshold=1.01)
    report = strict.match(encode(on_white(glyph(5))))
    assert report.matches == ()
    assert report.best is not None
    assert report.best.entry == "logo5"


def test_thread_safe_screening(screener: ImageScreener) -> None:
    uploads = [ALTERATIONS[name](glyph(seed)) for seed in SEEDS for name in ("jpeg", "mirror", "caption")]
    serial = [screener.screen_image(u) for u in uploads]
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(screener.screen_image, uploads))
    assert threaded == serial


class _FakeOcr:
    name = "fake"

    def read(self, image: Image.Image) -> list[OcrLine]:
        w, h = image.size
        return [
            OcrLine("ACME rocks", (w // 4, h // 2, w // 2, h // 10), 0.9),
            OcrLine("fine", (0, 0, 5, 5), 0.9),
        ]


class _FakeText:
    def screen_text(self, text: str) -> Verdict:
        if "ACME" not in text:
            return Verdict.of(())
        f = Finding(
            FindingKind.TRADEMARK, "marks@2", "acme", 0.97, Severity.REVIEW, span=(0, 4), category="tm"
        )
        return Verdict.of([f])


def test_ocr_text_findings_carry_the_line_region(registry: ImageRegistry) -> None:
    scr = ImageScreener(registry, ocr=_FakeOcr(), text_screener=_FakeText())
    big = Image.new("RGB", (2560, 1280), (255, 255, 255))
    verdict = scr.screen_image(encode(big))
    (finding,) = verdict.findings
    assert finding.kind is FindingKind.OCR_TEXT
    assert finding.entry == "acme"
    assert finding.list_ref == "marks@2"
    assert finding.span is None
    assert finding.region == (640, 640, 1280, 128)
    assert verdict.kind is VerdictKind.FLAGGED


@pytest.mark.parametrize(("size", "decodes"), [((480, 400), 1), ((2560, 1280), 2)])
def test_an_image_within_ocrs_size_is_decoded_once_and_ocr_sees_every_pixel(
    registry: ImageRegistry, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int], decodes: int
) -> None:
    from screening.image import screener as module

    calls: list[int] = []
    real = module.decode_image

    def counted(data: bytes, target: int = 512, **kw: Any) -> Any:
        calls.append(target)
        return real(data, target=target, **kw)

    seen: list[tuple[int, int]] = []

    class Sizes(_FakeOcr):
        def read(self, image: Image.Image) -> list[OcrLine]:
            seen.append(image.size)
            return super().read(image)

    monkeypatch.setattr(module, "decode_image", counted)
    scr = ImageScreener(registry, ocr=Sizes(), text_screener=_FakeText())
    verdict = scr.screen_image(encode(Image.new("RGB", size, (255, 255, 255))))
    assert len(calls) == decodes
    # The same region in the original's pixels either way: OCR read the whole image or a 1280 px copy.
    assert [f.region for f in verdict.findings] == [(size[0] // 4, size[1] // 2, size[0] // 2, size[1] // 10)]
    assert seen == [size if decodes == 1 else (1280, 640)]


@pytest.mark.parametrize("blank", [True, False])
def test_a_preview_gate_spares_a_photo_the_second_decode_and_only_a_photo(
    registry: ImageRegistry, monkeypatch: pytest.MonkeyPatch, blank: bool
) -> None:
    """An engine that can judge the matchers' decode (`PreviewGate`) is asked first: a photo it finds
    blank is decoded once and never read; anything else is decoded at OCR's size and read as before."""
    from screening.image import screener as module
    from screening.image.ocr_base import PreviewGate

    calls: list[int] = []
    real = module.decode_image

    def counted(data: bytes, target: int = 512, **kw: Any) -> Any:
        calls.append(target)
        return real(data, target=target, **kw)

    previews: list[tuple[int, int]] = []
    read: list[tuple[int, int]] = []

    class Gated(_FakeOcr):
        def surely_blank(self, preview: Image.Image) -> bool:
            previews.append(preview.size)
            return blank

        def read(self, image: Image.Image) -> list[OcrLine]:
            read.append(image.size)
            return super().read(image)

    assert isinstance(Gated(), PreviewGate)
    monkeypatch.setattr(module, "decode_image", counted)
    scr = ImageScreener(registry, ocr=Gated(), text_screener=_FakeText())
    verdict = scr.screen_image(encode(Image.new("RGB", (2560, 1280), (255, 255, 255))))
    assert len(previews) == 1
    assert max(previews[0]) < 1280  # the matchers' own decode, not a new one
    if blank:
        assert (len(calls), read, verdict.findings) == (1, [], ())
    else:
        assert (len(calls), read) == (2, [(1280, 640)])
        assert [f.entry for f in verdict.findings] == ["acme"]


def test_generic_shape_reference_needs_a_closer_match() -> None:
    from PIL import ImageDraw

    from screening.image.verify import genericness

    disc = Image.new("RGB", (512, 512), (255, 255, 255))
    ImageDraw.Draw(disc).ellipse((60, 60, 452, 452), fill=(0, 90, 200))
    blob = Image.new("RGB", (512, 512), (255, 255, 255))
    ImageDraw.Draw(blob).rounded_rectangle((70, 60, 442, 452), radius=150, fill=(10, 10, 10))
    reg = ImageRegistry()
    reg.add("disc", disc)
    reg.add("logo1", on_white(glyph(1)))
    scr = ImageScreener(reg)
    assert genericness(reg.resolve(0)[1][None]) > 0.9  # type: ignore[index]
    assert _entries(scr.screen_image(encode(disc, "JPEG", quality=80))) == {"disc"}
    assert scr.screen_image(encode(blob)).kind is VerdictKind.CLEAR


@pytest.mark.parametrize(
    ("width", "height", "found"), [(400, 400, True), (400, 340, True), (400, 260, False), (250, 400, False)]
)
def test_a_generic_reference_keeps_its_proportions(width: int, height: int, found: bool) -> None:
    """Shapes are compared squeezed into a square, so every ellipse looks like a disc; for a reference
    that is a primitive, the proportions decide: a disc logo matches a disc (or a slightly cut one),
    not a 1.5:1 ellipse in an upload."""
    from PIL import ImageDraw

    disc = Image.new("RGB", (512, 512), (255, 255, 255))
    ImageDraw.Draw(disc).ellipse((56, 56, 456, 456), fill=(240, 110, 30))
    reg = ImageRegistry()
    reg.add("disc", disc)
    upload = Image.new("RGB", (600, 600), (255, 255, 255))
    ImageDraw.Draw(upload).ellipse(
        (300 - width // 2, 300 - height // 2, 300 + width // 2, 300 + height // 2), fill=(240, 110, 30)
    )
    assert (_entries(ImageScreener(reg).screen_image(encode(upload))) == {"disc"}) is found


def _crop_design(
    im: Image.Image, left: float = 0, right: float = 0, top: float = 0, bottom: float = 0
) -> bytes:
    x0, y0, x1, y1 = ImageOps.invert(im).getbbox() or (0, 0, im.width, im.height)
    w, h = x1 - x0, y1 - y0
    return encode(im.crop((x0 + int(left * w), y0 + int(top * h), x1 - int(right * w), y1 - int(bottom * h))))


TILE_ALTERATIONS = {
    # A turned tile shows the page's white in its corners (the reference's turned variants once showed
    # the tile's own colour there, and missed).
    "rotate": lambda im: encode(im.rotate(-8, expand=True, fillcolor=(255, 255, 255))),
    # Cropped so the tile runs off the edges: most of the border is the tile's colour, so the white of
    # the page must be tried as the ground too.
    "crop-left": lambda im: _crop_design(im, left=0.07),
    "crop-top-bottom": lambda im: _crop_design(im, top=0.065, bottom=0.065),
    # Cut on the left, the page's white kept only on the right: three sides of the border are tile.
    "crop-left-page-right": lambda im: _crop_box(im, (0.07, 0.0, -0.02, 0.0)),
}


def _crop_box(im: Image.Image, cut: tuple[float, float, float, float]) -> bytes:
    """Crop the design's box by (left, top, right, bottom) shares; a negative share keeps some page."""
    x0, y0, x1, y1 = ImageOps.invert(im).getbbox() or (0, 0, im.width, im.height)
    w, h = x1 - x0, y1 - y0
    box = (x0 + int(cut[0] * w), y0 + int(cut[1] * h), x1 - int(cut[2] * w), y1 - int(cut[3] * h))
    return encode(im.crop(box))


@pytest.mark.parametrize("alteration", sorted(TILE_ALTERATIONS))
def test_altered_tile_logo_is_found(alteration: str) -> None:
    reg = ImageRegistry("tiles", "1")
    for seed in SEEDS:
        reg.add(f"tile{seed}", on_white(tile(seed)))
        reg.add(f"logo{seed + 10}", on_white(glyph(seed + 10)))
    report = ImageScreener(reg).match(TILE_ALTERATIONS[alteration](on_white(tile(4))))
    assert report.matches, "the altered tile was not found"
    assert report.matches[0].entry == "tile4"  # the best match; another turned tile may come close
