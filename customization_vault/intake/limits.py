"""Upload limits as one frozen value; `api.settings` builds it from `LimitsConfig` and passes it in."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True, slots=True)
class Limits:
    """Every bound intake enforces. Each exists to cap memory or CPU an anonymous upload can cost.

    `max_pixels` bounds width x height x frames, so it caps the decode memory of one frame and the
    total decode work of an animation; `max_frames` additionally stops a 1x1-pixel GIF with millions of
    frames, whose per-frame overhead (not pixels) is the cost.
    """

    max_upload_bytes: int = 25 * 1024 * 1024
    max_pixels: int = 40_000_000
    max_text_chars: int = 5_000
    max_items_per_order: int = 50
    max_font_bytes: int = 10 * 1024 * 1024
    max_frames: int = 1_000

    def __post_init__(self) -> None:
        # A zero or negative limit is a configuration mistake, not client input: fail at start-up.
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Limits.{f.name} must be a positive integer")
