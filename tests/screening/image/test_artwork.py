"""The artwork path: paintings register (per-reference matchers), survive what customers do to them, and
are outlined where they lie in the upload; unrelated works and logos are not matched by it."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

import screening.image.screener as screener_module
from screening.findings import FindingKind, Severity, VerdictKind
from screening.image import ImageRegistry, ImageScreener, RegistryError
from screening.image.artwork import QUERY_FEATURES, busy_region, extract, prepare
from screening.image.artwork_index import ArtworkIndex
from screening.image.registry import ARTWORK, SHAPE
from screening.image.screener import (
    ARTWORK_INLIERS,
    FLAT_ARTWORK_INLIERS,
    FLAT_SPREAD,
    FLAT_SPREAD_INLIERS,
    artwork_required,
    artwork_score,
)
from screening.image.vocabulary import Vocabulary
from tests.screening.image.artworks import captioned, crop_turn_place, hue_turn, illustration, painting
from tests.screening.image.logos import encode, glyph, on_white

WORKS = 6


@pytest.fixture(scope="module")
def works() -> list[Image.Image]:
    return [painting(seed) for seed in range(WORKS + 3)]  # the last 3 are never registered


@pytest.fixture(scope="module")
def registry(works: list[Image.Image]) -> ImageRegistry:
    reg = ImageRegistry("art", "1")
    for i in range(WORKS):
        reg.add(f"W{i}", encode(works[i]), label=f"Work {i}")
    reg.add("logo", encode(on_white(glyph(3))))
    return reg


@pytest.fixture(scope="module")
def screener(registry: ImageRegistry) -> ImageScreener:
    return ImageScreener(registry)


def test_the_registry_decides_the_matchers_per_reference(registry: ImageRegistry) -> None:
    assert registry.entry("W0").matchers == (ARTWORK,)
    assert registry.entry("logo").matchers == (SHAPE,)
    report = registry.report()
    assert report["by_matcher"]["artwork_only"] == WORKS
    assert report["by_matcher"]["shape_only"] == 1
    row = next(r for r in report["references"] if r["id"] == "W2")
    assert row["matchers"] == ["artwork"]
    assert row["keypoints"] >= 150


def test_an_illustration_gets_both_matchers_and_a_placed_crop_is_found_by_features() -> None:
    reg = ImageRegistry()
    reg.add("cartoon", encode(illustration(4)))
    assert reg.entry("cartoon").matchers == (SHAPE, ARTWORK)
    upload, _ = crop_turn_place(illustration(4), seed=2)
    report = ImageScreener(reg).match(encode(upload, "JPEG", quality=85))
    (m,) = [m for m in report.matches if m.matcher == "artwork"]
    assert m.entry == "cartoon"
    # A flat design needs more inliers than ARTWORK_INLIERS (how many depends on how far they spread).
    assert m.inliers is not None
    assert m.score < artwork_score(m.inliers, ARTWORK_INLIERS)
    assert any(
        m.score == pytest.approx(artwork_score(m.inliers, n))
        for n in (FLAT_SPREAD_INLIERS, FLAT_ARTWORK_INLIERS)
    )


def test_matchers_can_be_forced_and_are_refused_when_they_cannot_apply(works: list[Image.Image]) -> None:
    reg = ImageRegistry()
    reg.add("p", encode(works[0]))
    assert reg.entry("p").matchers == (ARTWORK,)
    reg.add("p", encode(works[0]), matchers="artwork")
    assert reg.entry("p").matchers == (ARTWORK,)
    blank = encode(Image.new("RGB", (300, 300), (20, 120, 40)))
    with pytest.raises(RegistryError, match="texture"):
        reg.add("blank", blank, matchers="artwork")
    with pytest.raises(RegistryError, match="no design"):
        reg.add("blank", blank, matchers="shape")
    with pytest.raises(RegistryError, match="neither"):
        reg.add("blank", blank)
    with pytest.raises(RegistryError, match="matchers"):
        reg.add("p", encode(works[0]), matchers="sometimes")
    assert len(reg) == 1


@pytest.mark.parametrize(
    "alter",
    [
        lambda im: im.convert("L"),
        lambda im: hue_turn(im, 120),
        ImageOps.mirror,
        lambda im: im.rotate(17, Image.Resampling.BICUBIC, expand=True, fillcolor=(10, 200, 10)),
        lambda im: im.crop((0, 0, im.width * 3 // 4, im.height * 2 // 3)),
        lambda im: im.resize((im.width // 4, im.height // 4), Image.Resampling.LANCZOS),
        captioned,
    ],
    ids=["greyscale", "hue", "mirror", "rotate", "crop-half", "small", "caption"],
)
def test_altered_copies_are_found(screener: ImageScreener, works: list[Image.Image], alter: object) -> None:
    assert callable(alter)
    upload = alter(works[2])
    report = screener.match(encode(upload, "JPEG", quality=70) if upload.mode == "RGB" else encode(upload))
    assert [m.entry for m in report.matches] == ["W2"]
    assert report.matches[0].matcher == "artwork"
    assert report.matches[0].score >= screener.threshold


def test_a_placed_turned_mirrored_crop_is_outlined_where_it_lies(
    screener: ImageScreener, works: list[Image.Image]
) -> None:
    upload, (x, y, w, h) = crop_turn_place(works[4], seed=1)
    report = screener.match(encode(upload, "JPEG", quality=80))
    (m,) = report.matches
    assert m.entry == "W4"
    rx, ry, rw, rh = m.region
    # The outline is the whole work's rectangle projected into the upload: it contains the pasted crop's
    # centre and is of its size, not the whole product photo.
    assert rx <= x + w / 2 <= rx + rw
    assert ry <= y + h / 2 <= ry + rh
    assert 0.5 * w <= rw <= 2.0 * w
    assert 0.5 * h <= rh <= 2.0 * h
    assert rw < upload.width / 2


def test_unrelated_works_and_plain_images_are_clear(
    screener: ImageScreener, works: list[Image.Image]
) -> None:
    for other in works[WORKS:]:
        assert screener.match(encode(other, "JPEG", quality=85)).matches == ()
    assert screener.match(encode(Image.new("RGB", (640, 480), (200, 200, 200)))).matches == ()
    noise = np.random.default_rng(5).integers(0, 256, (600, 800, 3), dtype=np.uint8)
    assert screener.match(encode(Image.fromarray(noise))).matches == ()


def test_logos_are_still_found_by_shape_beside_artwork(screener: ImageScreener) -> None:
    report = screener.match(encode(on_white(glyph(3)), "JPEG", quality=60))
    assert [(m.entry, m.matcher) for m in report.matches] == [("logo", "shape")]


def test_findings_carry_kind_region_and_the_entry_severity(works: list[Image.Image]) -> None:
    reg = ImageRegistry("art", "2")
    reg.add("review-me", encode(works[0]))
    reg.add("block-me", encode(works[1]), severity=Severity.BLOCK)
    screener = ImageScreener(reg)
    flagged = screener.screen_image(encode(works[0].crop((40, 40, 400, 380))))
    assert flagged.kind is VerdictKind.FLAGGED
    (f,) = flagged.findings
    assert (f.kind, f.entry, f.severity) == (FindingKind.ARTWORK, "review-me", Severity.REVIEW)
    assert f.region is not None
    assert f.region[2] > 0
    blocked = screener.screen_image(encode(ImageOps.mirror(works[1])))
    assert blocked.kind is VerdictKind.BLOCKED
    assert blocked.findings[0].entry == "block-me"


def test_save_and_load_keep_artwork_matching(
    tmp_path: Path, registry: ImageRegistry, works: list[Image.Image]
) -> None:
    registry.save(tmp_path / "reg")
    back = ImageRegistry.load(tmp_path / "reg")
    assert back.entry("W1").matchers == (ARTWORK,)
    assert back.entry("logo").matchers == (SHAPE,)
    assert len(back.artwork) == WORKS
    report = ImageScreener(back).match(encode(hue_turn(works[1], 60)))
    assert [m.entry for m in report.matches] == ["W1"]
    assert Image.open(io.BytesIO(back.thumbnail("W1"))).format == "JPEG"


def test_removed_work_is_not_matched(works: list[Image.Image]) -> None:
    reg = ImageRegistry()
    reg.add("a", encode(works[0]))
    reg.add("b", encode(works[1]))
    screener = ImageScreener(reg)
    assert [m.entry for m in screener.match(encode(works[0])).matches] == ["a"]
    assert reg.remove("a")
    assert screener.match(encode(works[0])).matches == ()
    assert [m.entry for m in screener.match(encode(works[1])).matches] == ["b"]


def test_score_scale_meets_the_shape_threshold_at_the_calibrated_inliers() -> None:
    assert artwork_score(0) == 0.0
    assert artwork_score(ARTWORK_INLIERS) == pytest.approx(0.95)
    assert artwork_score(ARTWORK_INLIERS - 1) < 0.95 < artwork_score(ARTWORK_INLIERS + 1) < 1.0
    assert artwork_score(FLAT_ARTWORK_INLIERS, FLAT_ARTWORK_INLIERS) == pytest.approx(0.95)
    assert artwork_score(ARTWORK_INLIERS, FLAT_ARTWORK_INLIERS) < 0.95


def test_a_flat_design_needs_fewer_inliers_only_when_they_span_the_work() -> None:
    assert artwork_required(False, 0.0) == ARTWORK_INLIERS
    assert artwork_required(True, FLAT_SPREAD / 2) == FLAT_ARTWORK_INLIERS  # a shared motif: an eye, a hand
    assert artwork_required(True, FLAT_SPREAD) == FLAT_SPREAD_INLIERS
    assert ARTWORK_INLIERS < FLAT_SPREAD_INLIERS < FLAT_ARTWORK_INLIERS


def test_a_young_vocabulary_is_trained_again_as_the_registry_grows(
    tmp_path: Path, works: list[Image.Image]
) -> None:
    from screening.image.artwork import reference_keypoints

    keypoints = [reference_keypoints(w) for w in works]
    index = ArtworkIndex()
    index.add("w0", *keypoints[0])
    index.add("w1", *keypoints[1])
    index.build()
    first, trained = index.vocabulary, index.trained_on
    assert trained == sum(len(k) for k in (*keypoints[0], *keypoints[1]))  # both works, both orientations
    index.save(tmp_path / "young.npz")
    index = ArtworkIndex.load(tmp_path / "young.npz")  # the descriptors travel with a young vocabulary
    assert index.trained_on == trained
    index.add("w2", *keypoints[2])
    index.build()
    assert index.vocabulary is not None
    assert index.trained_on == trained
    assert first is not None
    assert np.array_equal(index.vocabulary.leaves, first.leaves)
    for i in range(3, 5):
        index.add(f"w{i}", *keypoints[i])
    index.build()
    assert index.trained_on >= 2 * trained
    assert not np.array_equal(index.vocabulary.leaves, first.leaves)
    for i in range(5):  # every work, old and new, is quantised with the new words and still found
        _, found = index.match(keypoints[i][0])
        best = max(found, key=lambda m: m.inliers)
        assert (best.entry_id, best.inliers >= ARTWORK_INLIERS) == (f"w{i}", True)


def test_vocabulary_is_deterministic_and_quantises_a_descriptor_to_its_own_word() -> None:
    rng = np.random.default_rng(0)
    points = rng.integers(0, 256, (3000, 32), dtype=np.uint8)
    a = Vocabulary.train(points, 16, 16, seed=1)
    b = Vocabulary.train(points, 16, 16, seed=1)
    assert np.array_equal(a.leaves, b.leaves)
    words = a.quantise(points[:50])
    assert words.shape == (50,)
    assert words.max() < a.size
    flipped = points[:50].copy()
    flipped[:, 0] ^= 1  # one bit of 256: the same word almost always
    assert (a.quantise(flipped) == words).mean() > 0.8
    tiny = Vocabulary.train(points[:5], 16, 16)  # fewer descriptors than words: still a full tree
    assert tiny.leaves.shape == (16, 16, 32)
    assert set(tiny.quantise(points[:5]).tolist()) <= set(range(256))


def test_index_round_trip_and_bad_file(tmp_path: Path, works: list[Image.Image]) -> None:
    from screening.image.artwork import reference_keypoints

    index = ArtworkIndex()
    index.add("a", *reference_keypoints(works[0]))
    index.build()
    index.save(tmp_path / "a.npz")
    back = ArtworkIndex.load(tmp_path / "a.npz")
    assert "a" in back
    assert back.keypoint_count("a") == index.keypoint_count("a")
    assert back.memory_bytes() > 0
    (tmp_path / "bad.npz").write_bytes(b"junk")
    with pytest.raises(RegistryError):
        ArtworkIndex.load(tmp_path / "bad.npz")


def test_keypoints_keep_every_detected_corner_for_the_region_proposal() -> None:
    # A small textured work on a smooth product: the grid cap keeps ~2 fair shares per cell, so the kept
    # keypoints under-state how crowded the work's cells are; the detected corners say it.
    ground = np.full((768, 1024), 128, np.uint8)
    ground[300:428, 400:528] = np.asarray(painting(1).convert("L").resize((128, 128)))
    kp = extract(prepare(np.stack([ground] * 3, axis=2)), QUERY_FEATURES)
    assert len(kp.detected) > 2 * len(kp)
    for xy in (kp.xy, kp.detected):
        assert (xy.min(axis=0) >= (390, 290)).all()
        assert (xy.max(axis=0) <= (538, 438)).all()
    box = busy_region(kp.detected, (1024, 768))
    assert box is not None
    x0, y0, x1, y1 = box
    assert x0 <= 400
    assert y0 <= 300
    assert x1 >= 528
    assert y1 >= 428
    assert (x1 - x0) * (y1 - y0) < 0.1 * 1024 * 768


def test_the_busy_region_is_the_densest_cluster_and_none_when_it_is_most_of_the_upload() -> None:
    rng = np.random.default_rng(1)
    work = rng.uniform((600, 200), (800, 360), (400, 2))  # a work at x 600-800, y 200-360
    ground = rng.uniform((0, 0), (1024, 768), (40, 2))  # sparse corners elsewhere: noise, the outline
    corner = rng.uniform((60, 60), (100, 100), (30, 2))  # a product's corner: busy, but apart
    box = busy_region(np.concatenate([work, ground, corner]).astype(np.float32), (1024, 768))
    assert box is not None
    x0, y0, x1, y1 = box
    assert x0 <= 600
    assert y0 <= 200
    assert x1 >= 800
    assert y1 >= 360
    # Grid cells and half a cell of margin around the work, not the product's corner.
    assert (x1 - x0) * (y1 - y0) <= 3 * 200 * 160
    assert x0 > 100
    everywhere = rng.uniform((0, 0), (1024, 768), (2000, 2)).astype(np.float32)
    assert busy_region(everywhere, (1024, 768)) is None
    assert busy_region(np.zeros((0, 2), np.float32), (1024, 768)) is None


def test_a_work_placed_very_small_is_found_by_the_zoom_pass_and_outlined(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reg = ImageRegistry()
    for i in range(6):
        reg.add(f"c{i}", encode(illustration(i)))
    for i in range(4):
        reg.add(f"p{i}", encode(painting(i)))
    screener = ImageScreener(reg)
    upload, (x, y, w, h) = crop_turn_place(illustration(0), seed=3, side=100)
    data = encode(upload, "JPEG", quality=80)
    found = [m for m in screener.match(data).matches if m.entry == "c0"]
    assert len(found) == 1
    rx, ry, rw, rh = found[0].region  # mapped back from the zoomed crop to the upload's pixels
    assert rx <= x + w / 2 <= rx + rw
    assert ry <= y + h / 2 <= ry + rh
    assert 0.5 * w <= rw <= 2.5 * w
    # Without the region proposal the first pass alone finds nothing (the zoom pass ran, and found it).
    monkeypatch.setattr(screener_module, "busy_region", lambda *_: None)
    assert screener.match(data).matches == ()
