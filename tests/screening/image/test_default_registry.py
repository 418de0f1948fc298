"""The shipped simple-icons registry: loads once, holds real logos, and finds one of its own thumbnails."""

from __future__ import annotations

import io

from PIL import Image

from screening.image import ImageRegistry, ImageScreener


def test_default_registry_is_shipped_and_cached() -> None:
    reg = ImageRegistry.default()
    assert reg is ImageRegistry.default()
    assert reg.list_ref.startswith("simple-icons@")
    assert len(reg) > 3000
    assert "github" in reg
    assert reg.entry("github").label == "GitHub"
    thumb = Image.open(io.BytesIO(reg.thumbnail("github")))
    assert thumb.format == "PNG"
    assert max(thumb.size) <= 128


def test_a_shipped_logo_is_found_in_an_upload() -> None:
    reg = ImageRegistry.default()
    logo = Image.open(io.BytesIO(reg.thumbnail("github"))).convert("RGB")
    upload = Image.new("RGB", (600, 400), (255, 255, 255))
    upload.paste(logo.resize((256, 256), Image.Resampling.LANCZOS), (200, 80))
    buf = io.BytesIO()
    upload.save(buf, format="JPEG", quality=85)
    verdict = ImageScreener(reg).screen_image(buf.getvalue())
    assert "github" in {f.entry for f in verdict.findings}
