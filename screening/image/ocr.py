"""OCR engines behind the `OcrEngine` seam: RapidOCR (PP-OCRv4 on onnxruntime, the default) and Tesseract.

Chosen by measurement (`benchmarks/bench_ocr.py`: 30 brand names in 6 DejaVu styles, coloured,
rotated up to 6 degrees, on noisy/gradient/flat backgrounds; 60 banners of 900x300 and 12 images of
3 MP; one run on the shared 2-core box at load average ~8): RapidOCR read 100% of the words exactly
(mean normalised edit distance 0.000), Tesseract 5.3 (`--psm 11`) 60% of the banners (NED 0.359) and
50% of the 3 MP images, two of which ran past its 30 s timeout. RapidOCR also ships its ONNX models
inside its PyPI wheel, so it installs from pyproject alone; Tesseract needs the Debian package.
Speed: detection runs on a copy downscaled to 736 px on its long side, recognition only on the
detected boxes cut from the full image, onnxruntime without busy-waiting. In that run a 3 MP image
took 326 ms of CPU (both threads; 831 ms wall at that load) and a 900x300 banner 259 ms wall;
a 640 px detector saves ~25% CPU but missed one banner word in 18.
"""

from __future__ import annotations

import importlib
import io
import math
import os
import shutil
import subprocess
import threading
from typing import Any, ClassVar, Final

import numpy as np
import numpy.typing as npt
from PIL import Image

from screening.image.ocr_base import OcrEngine, OcrLine

__all__ = ["OcrUnavailable", "RapidOcrEngine", "TesseractOcrEngine", "default_ocr_engine"]

# Pixels fed to the text detector along the longest side. DB detection is a full-image CNN whose
# cost grows with area; brand names large enough to matter survive 736 px, and recognition then
# reads each box from the full-resolution image, so small print is not lost to the downscale.
_DET_SIDE: Final = 736
# The gate: detection first on a copy this small; no text box there, no full detection and no
# recognition. Most photos carry no text, and the full detector costs ~5x the gate's pixels.
# Measured by `benchmarks/bench_ocr_gate.py` (what the gate misses on the development set's caption
# family and on rendered brand names); see DESIGN.md.
_GATE_SIDE: Final = 320
# The stroke test before the gate's CNN (see `has_strokes`), on the gate's own small copy: a pixel
# starts a stroke where one colour channel steps by more than _STROKE_CONTRAST and steps back within
# _STROKE_WIDTH pixels; the test passes when some _STROKE_TILE-pixel tile holds _STROKE_MIN of them.
_STROKE_CONTRAST: Final = 16
_STROKE_WIDTH: Final = 6
_STROKE_TILE: Final = 16
_STROKE_MIN: Final = 12
# What follows a gate that found text (see `RapidOcrEngine`; measured in DESIGN.md).
_AFTER_GATE: Final = "region"
# The region pass's margin around the gate's boxes, in gate pixels: a line the gate saw only in part
# (or a neighbour it missed) is still inside the region detected at full scale.
_REGION_MARGIN: Final = 24
# Recognised lines below this confidence are mostly texture read as letters.
_MIN_CONFIDENCE: Final = 0.5
# A decompression bomb must never reach the CNN; the intake layer bounds pixels first, this is
# the engine's own last line.
_MAX_PIXELS: Final = 50_000_000


def has_strokes(img: npt.NDArray[np.uint8]) -> bool:
    """Whether a small colour copy (H x W x 3) holds anything shaped like the strokes of letters.

    Letters are thin strokes with edges on both sides: a step in a channel, then a step back in the
    same channel within a few pixels. Smooth colour fields, soft shapes and fine noise (averaged away
    at this size) have edges on one side only or none. Every channel counts, so text whose colour
    differs from its background but whose brightness does not is not lost to a grey conversion.
    ~2 ms at 320 px, against ~40 ms for the CNN detector it spares: it only has to say "surely no
    text"; texture that passes it is sent on to the detector.
    """
    a = img.astype(np.int16)
    h, w = a.shape[:2]
    if h < 3 or w < 3:
        return False
    hits = _row_strokes(a)
    hits |= _row_strokes(np.ascontiguousarray(a.transpose(1, 0, 2))).T  # the columns, as rows
    t = _STROKE_TILE
    th, tw = -(-h // t) * t, -(-w // t) * t
    padded = np.zeros((th, tw), dtype=np.int32)
    padded[:h, :w] = hits
    tiles = padded.reshape(th // t, t, tw // t, t).sum(axis=(1, 3))
    return bool(tiles.max() >= _STROKE_MIN)


def _row_strokes(a: npt.NDArray[np.int16]) -> npt.NDArray[np.bool_]:
    """Where a stroke starts along the rows: in one channel, a step up with a step down 1 to
    _STROKE_WIDTH pixels after it (or down, then up). Per channel, because one edge between two
    colours often raises one channel and lowers another at the same place: that is not a stroke."""
    h, w = a.shape[:2]
    d = np.diff(a, axis=1).transpose(2, 0, 1).reshape(3 * h, w - 1)  # each channel's rows in turn
    up = d > _STROKE_CONTRAST
    down = d < -_STROKE_CONTRAST
    pairs = (up[:, :-1] & _within(down[:, 1:])) | (down[:, :-1] & _within(up[:, 1:]))
    hits = np.zeros((h, w), dtype=bool)
    hits[:, :-2] = pairs.reshape(3, h, w - 2).any(axis=0)
    return hits


def _within(m: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """True where `m` is True at this pixel or one of the next _STROKE_WIDTH - 1 along the rows
    (an OR over a sliding window, by doubling: 3 shifts instead of 6)."""
    out = m.copy()
    span = 1
    while span < _STROKE_WIDTH:
        step = min(span, _STROKE_WIDTH - span)
        out[:, :-step] |= out[:, step:]
        span += step
    return out


class OcrUnavailable(RuntimeError):
    """The OCR engine (its package or binary) is not installed here; nothing was downloaded."""


def _check_image(image: Image.Image) -> Image.Image:
    if image.width * image.height > _MAX_PIXELS:
        raise ValueError("image too large for OCR")
    return image.convert("RGB") if image.mode != "RGB" else image


class RapidOcrEngine:
    """RapidOCR (PaddleOCR PP-OCRv4 det + rec models in onnxruntime), models from its own wheel.

    Loading the models takes ~0.5 s, so it happens on the first `read`, not on import or
    construction; one instance is meant to be shared. onnxruntime sessions are thread-safe, but
    RapidOCR's Python wrappers keep per-call state, so calls are serialised by a lock (each call
    already uses every core through onnxruntime's intra-op threads).
    """

    name: str = "rapidocr"

    def __init__(
        self,
        *,
        det_side: int = _DET_SIDE,
        min_confidence: float = _MIN_CONFIDENCE,
        use_angle_classifier: bool = False,
        threads: int | None = None,
        gate_side: int | None = _GATE_SIDE,
        second_pass: str = _AFTER_GATE,
        stroke_test: bool = True,
    ) -> None:
        """`gate_side`: the long side of the gate's detection pass (None: no gate, always read).
        `second_pass` once the gate found text: "full" detects again on the whole image at
        `det_side`, "region" only on the part of it the gate's boxes cover (at the same scale),
        "none" reads the gate's own boxes. `stroke_test`: the cheap classical test (`has_strokes`)
        before the gate's CNN."""
        if second_pass not in ("full", "region", "none"):
            raise ValueError("second_pass is one of full, region, none")
        self._after_gate = second_pass
        self._stroke_test = stroke_test
        try:
            import rapidocr_onnxruntime
        except ImportError:
            raise OcrUnavailable(
                "RapidOCR is not installed (pip package `rapidocr-onnxruntime`, a project dependency)"
            ) from None
        self._module: Any = rapidocr_onnxruntime
        self._det_side = int(det_side)
        self._min_confidence = float(min_confidence)
        self._use_cls = bool(use_angle_classifier)
        self._threads = threads
        self._gate_side = None if gate_side is None else int(gate_side)
        # How many reads the gate ended (no text at the small size) and let through: for benchmarks.
        self.gate_closed = 0
        self.gate_opened = 0
        self.strokes_closed = 0  # of gate_closed, how many the stroke test closed alone
        self._engine: Any = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RapidOcrEngine(det_side={self._det_side}, loaded={self._engine is not None})"

    def _load(self) -> Any:
        if self._engine is None:
            kwargs: dict[str, Any] = {}
            if self._threads:
                kwargs["intra_op_num_threads"] = self._threads
            try:
                engine = self._module.RapidOCR(**kwargs)
            except Exception as exc:  # a broken install (model file missing) surfaces here
                raise OcrUnavailable(f"RapidOCR could not load its models ({type(exc).__name__})") from None
            # We downscale ourselves; the detector must not upscale the result again to 736 px
            # on its short side (its default), which would cost more than it saves.
            engine.text_det.limit_type = "max"
            engine.text_det.limit_side_len = self._det_side
            _tune_sessions(engine, self._threads)
            self._engine = engine
        return self._engine

    def warm_up(self) -> None:
        """Load the models now (e.g. at service start) rather than on the first upload."""
        with self._lock:
            self._load()

    @staticmethod
    def _bgr(rgb: Image.Image, side: int) -> tuple[npt.NDArray[np.uint8], float]:
        """The image scaled down to `side` on its long side (never up), as BGR, and the scale."""
        w, h = rgb.size
        scale = min(1.0, side / max(h, w))
        small = rgb
        if scale < 1.0:
            # reducing_gap: a box-filter reduce first, then a short bilinear pass (~4x cheaper at 3 MP).
            size = (max(1, round(w * scale)), max(1, round(h * scale)))
            small = rgb.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
        return np.ascontiguousarray(np.asarray(small)[:, :, ::-1]), scale  # models expect OpenCV's BGR

    def _detect(
        self,
        engine: Any,
        rgb: Image.Image,
        side: int,
        small: tuple[npt.NDArray[np.uint8], float] | None = None,
    ) -> npt.NDArray[np.float32] | None:
        """Text boxes found on a copy `side` pixels long (`small`, if made already), as quads in
        `rgb`'s pixels; None if none."""
        w, h = rgb.size
        det_img, scale = small if small is not None else self._bgr(rgb, side)
        det_img, top = self._letterbox(engine, det_img)
        limit = engine.text_det.limit_side_len
        engine.text_det.limit_side_len = side
        try:
            boxes, _ = engine.text_det(det_img)
        finally:
            engine.text_det.limit_side_len = limit
        if boxes is None or len(boxes) == 0:
            return None
        quads = np.asarray(engine.sorted_boxes(boxes), dtype=np.float32)
        quads[:, :, 1] -= top
        quads /= scale
        quads[:, :, 0] = np.clip(quads[:, :, 0], 0, w - 1)
        quads[:, :, 1] = np.clip(quads[:, :, 1], 0, h - 1)
        return quads

    def surely_blank(self, preview: Image.Image) -> bool:
        """The stroke test on a preview at least as large as the gate's copy (`PreviewGate`): the
        matchers' 512 px decode serves, so a photo without text costs no 1,280 px decode. Counted as
        a gate closed by strokes, as in `read`. Thread-safe without the lock: no engine state."""
        if self._gate_side is None or not self._stroke_test or max(preview.size) < self._gate_side:
            return False
        small, _ = self._bgr(_check_image(preview), self._gate_side)
        if has_strokes(small):
            return False
        self.gate_closed += 1
        self.strokes_closed += 1
        return True

    def read(self, image: Image.Image) -> list[OcrLine]:
        rgb = _check_image(image)
        gated = self._gate_side is not None and max(rgb.size) > self._gate_side
        with self._lock:
            engine = self._load()
            if gated:
                assert self._gate_side is not None
                small = self._bgr(rgb, self._gate_side)
                if self._stroke_test and not has_strokes(small[0]):
                    self.gate_closed += 1
                    self.strokes_closed += 1
                    return []
                found = self._detect(engine, rgb, self._gate_side, small)
                if found is None:
                    self.gate_closed += 1
                    return []
                self.gate_opened += 1
                quads = self._second(engine, rgb, found)
            else:
                quads = self._detect(engine, rgb, self._det_side)
            if quads is None:
                return []
            crops = [self._crop(engine, rgb, quad) for quad in quads]
            if self._use_cls:
                crops, _, _ = engine.text_cls(crops)
            recognised, _ = engine.text_rec(crops)
        lines = []
        for quad, rec in zip(quads, recognised, strict=True):
            text, confidence = str(rec[0]).strip(), float(rec[1])
            if text and confidence >= self._min_confidence:
                lines.append(OcrLine(text, _bbox(quad), confidence))
        return lines

    def _second(
        self, engine: Any, rgb: Image.Image, gate: npt.NDArray[np.float32]
    ) -> npt.NDArray[np.float32] | None:
        """The boxes to recognise once the gate found text. The full pass costs ~5x the gate; a
        design's text usually covers a band of it, and detecting only that band at the full pass's
        scale finds the same lines for a fraction of the pixels."""
        if self._after_gate == "none":
            return gate
        w, h = rgb.size
        if self._after_gate == "full":
            return self._detect(engine, rgb, self._det_side)
        assert self._gate_side is not None
        margin = _REGION_MARGIN * max(w, h) / self._gate_side
        x0 = max(0, math.floor(gate[:, :, 0].min() - margin))
        y0 = max(0, math.floor(gate[:, :, 1].min() - margin))
        x1 = min(w, math.ceil(gate[:, :, 0].max() + margin))
        y1 = min(h, math.ceil(gate[:, :, 1].max() + margin))
        scale = min(1.0, self._det_side / max(w, h))
        region = rgb.crop((x0, y0, x1, y1))
        side = max(1, round(max(x1 - x0, y1 - y0) * scale))
        quads = self._detect(engine, region, side)
        if quads is None:
            return None
        quads[:, :, 0] += x0
        quads[:, :, 1] += y0
        return quads

    @staticmethod
    def _crop(engine: Any, rgb: Image.Image, quad: npt.NDArray[np.float32]) -> npt.NDArray[np.uint8]:
        """The text box cut from the full-resolution image: only its bounding rectangle is converted
        to an array, never the whole 3 MP frame, then RapidOCR's perspective crop straightens it."""
        x0, y0, bw, bh = _bbox(quad)
        region = rgb.crop((x0, y0, x0 + bw, y0 + bh))
        arr = np.ascontiguousarray(np.asarray(region)[:, :, ::-1])
        local = np.ascontiguousarray(quad - np.array([x0, y0], dtype=np.float32))
        crops: list[npt.NDArray[np.uint8]] = engine.get_crop_img_list(arr, [local])
        return crops[0]

    @staticmethod
    def _letterbox(engine: Any, img: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.uint8], int]:
        """Very wide or very short images get padding above and below, as RapidOCR's own pipeline
        does: the detector misses a single line of text that fills the whole frame."""
        padded, record = engine.maybe_add_letterbox(img, {})
        return padded, int(record["padding_1"]["top"])


def _tune_sessions(engine: Any, threads: int | None) -> None:
    """Re-open the det/rec/cls ONNX sessions with busy-waiting off.

    onnxruntime's worker threads spin between operators by default; on cores shared with the image
    hashing workers (or other services) that spinning steals the CPU the other threads need: measured
    on a loaded 2-core box, a 3 MP read took 1.29 s wall / 524 ms CPU with spinning and 0.65-0.74 s /
    274-290 ms without. RapidOCR exposes no option for it, so its sessions are replaced from the same
    model files; if its internals ever differ, its own sessions are kept (slower, still correct).
    """
    try:
        # onnxruntime ships no type information; it is RapidOCR's own dependency.
        ort: Any = importlib.import_module("onnxruntime")
        from rapidocr_onnxruntime.main import DEFAULT_CFG_PATH
        from rapidocr_onnxruntime.utils import read_yaml, update_model_path

        config = update_model_path(read_yaml(DEFAULT_CFG_PATH))
        parts = (
            (engine.text_det.infer, config["Det"]["model_path"]),
            (engine.text_rec.session, config["Rec"]["model_path"]),
            (engine.text_cls.infer, config["Cls"]["model_path"]),
        )
        opts = ort.SessionOptions()
        opts.log_severity_level = 4
        opts.enable_cpu_mem_arena = False
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.intra_op_num_threads = threads or max(1, min(4, os.cpu_count() or 1))
        opts.inter_op_num_threads = 1
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        sessions = [
            ort.InferenceSession(str(path), sess_options=opts, providers=["CPUExecutionProvider"])
            for _, path in parts
        ]
    except Exception:  # any mismatch with RapidOCR's internals: keep its own sessions
        return
    for (wrapper, _), session in zip(parts, sessions, strict=True):
        wrapper.session = session


def _bbox(quad: npt.NDArray[np.float32]) -> tuple[int, int, int, int]:
    x0, y0 = np.floor(quad.min(axis=0)).astype(int).tolist()
    x1, y1 = np.ceil(quad.max(axis=0)).astype(int).tolist()
    return (x0, y0, max(1, x1 - x0), max(1, y1 - y0))


class TesseractOcrEngine:
    """Tesseract through its command line (Debian `tesseract-ocr`), kept as the measured alternative.

    A subprocess per call: no shared state, so it is thread-safe without a lock. Sparse-text mode
    (`--psm 11`) because uploads are designs with scattered words, not pages.
    """

    name: str = "tesseract"
    _TIMEOUT_S: ClassVar[float] = 30.0

    def __init__(self, *, binary: str = "tesseract", psm: int = 11, lang: str = "eng") -> None:
        path = shutil.which(binary)
        if path is None:
            raise OcrUnavailable("the `tesseract` binary is not installed (Debian package tesseract-ocr)")
        self._binary = path
        self._psm = int(psm)
        self._lang = lang

    def __repr__(self) -> str:
        return f"TesseractOcrEngine(psm={self._psm})"

    def read(self, image: Image.Image) -> list[OcrLine]:
        rgb = _check_image(image)
        buf = io.BytesIO()
        rgb.save(buf, format="PNG", compress_level=1)
        cmd = [self._binary, "stdin", "stdout", "--psm", str(self._psm), "-l", self._lang, "tsv"]
        try:
            # Fixed argv, binary resolved by shutil.which, no shell: nothing customer-controlled.
            done = subprocess.run(  # noqa: S603
                cmd,
                input=buf.getvalue(),
                capture_output=True,
                timeout=self._TIMEOUT_S,
                check=False,
                env=_TESSERACT_ENV,
            )
        except subprocess.TimeoutExpired:
            raise OcrUnavailable("tesseract timed out") from None
        if done.returncode != 0:
            raise OcrUnavailable(f"tesseract failed with exit code {done.returncode}")
        return _parse_tsv(done.stdout.decode("utf-8", "replace"))


# Tesseract's OpenMP threads help one page a little and hurt badly when cores are shared (its own
# documentation recommends one thread per process for throughput); the screener runs many in parallel.
_TESSERACT_ENV: Final = {**os.environ, "OMP_THREAD_LIMIT": "1"}


def _parse_tsv(tsv: str) -> list[OcrLine]:
    """Words grouped into lines by (block, paragraph, line); confidence is the mean word confidence."""
    groups: dict[tuple[int, int, int], list[tuple[str, int, int, int, int, float]]] = {}
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5":
            continue
        text = cols[11].strip()
        conf = float(cols[10])
        if not text or conf < 0:
            continue
        key = (int(cols[2]), int(cols[3]), int(cols[4]))
        groups.setdefault(key, []).append(
            (text, int(cols[6]), int(cols[7]), int(cols[8]), int(cols[9]), conf / 100.0)
        )
    lines = []
    for words in groups.values():
        x0 = min(w[1] for w in words)
        y0 = min(w[2] for w in words)
        x1 = max(w[1] + w[3] for w in words)
        y1 = max(w[2] + w[4] for w in words)
        confidence = math.fsum(w[5] for w in words) / len(words)
        if confidence >= _MIN_CONFIDENCE / 2:
            lines.append(OcrLine(" ".join(w[0] for w in words), (x0, y0, x1 - x0, y1 - y0), confidence))
    return lines


def default_ocr_engine(threads: int | None = None) -> OcrEngine:
    """The engine the screener uses: RapidOCR (see the module docstring for why); `threads` is its
    onnxruntime thread count (one per screening process, so processes, not threads, use the cores)."""
    return RapidOcrEngine(threads=threads)
