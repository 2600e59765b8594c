"""Reading text in photos, offline: RapidOCR's ONNX models (PP-OCR detection and recognition,
shipped inside the `rapidocr` wheel) on ONNX Runtime.

Most photos in a library have no text, so the cost that matters is a photo without any: the
detector looks at the photo drafted down to GATE_SIDE pixels (~27 ms of one CPU core), and
only a photo where it sees text is decoded larger and read (detection at DETECT_SIDE, each
line recognised from the larger decode).
"""
from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .embedder import OrtSession
from .errors import ModelError
from .imaging import open_image
from .reading import open_regular

__all__ = ["TextLine", "TextReader", "OCR_BUILD"]

log = logging.getLogger("photolens.ocr")

# The cheap look for text: the detector's probability map at GATE_SIDE pixels (longer side).
# Its cost grows with the pixel count: 160 px costs ~27 ms of one core and still sees a word 7%
# of the photo's height in 94 of 100 test photos (192 px: 34 ms, 97; 128 px: 19 ms, 87).
GATE_SIDE = 160
# A photo goes on to be read when more than this share of the map is text at GATE_PROB: on
# flickr8k-dev 20% do (many have real text: shirts, signs, numbers), costing ~110 ms each.
GATE_PROB = 0.5
GATE_SHARE = 0.001
# The detector's input when reading (longer side): at 256 the drawn test words are read in 95
# of 100 photos, at 192 in 82 (README.md, "Words").
DETECT_SIDE = 256
# Lines are cropped from this decode for recognition (its input is 48 px high, so larger buys
# nothing for the text people search for and costs decoding time).
READ_SIDE = 1280
# A line read with less confidence than this is noise (leaves, brick, fences): dropped.
MIN_CONFIDENCE = 0.6
# Detection: pixel probability and box mean above which a region is text (RapidOCR's defaults
# are 0.3 / 0.5; measured the same on the test set, kept).
DET_THRESH = 0.3
DET_BOX_THRESH = 0.5
# One thread: the pass runs beside indexing and the app at low priority; on a CPU its cost per
# photo is what matters, not its latency.
THREADS = 1
# The detector the rapidocr wheel ships (PP-OCRv6 small, Apache-2.0), run directly for the look.
DETECT_MODEL = "PP-OCRv6_det_small.onnx"
# Bump when anything above changes what is read: photos read by another build are read again.
OCR_BUILD = f"rapidocr3-ppocrv6-g{GATE_SIDE}-{GATE_SHARE}-d{DETECT_SIDE}-r{READ_SIDE}-c{MIN_CONFIDENCE}"


@dataclass(frozen=True)
class TextLine:
    """One line of text in a photo: its box as fractions of the photo's width and height
    (left, top, right, bottom; 0..1, after EXIF orientation) and the reader's confidence."""
    text: str
    box: tuple[float, float, float, float]
    confidence: float

    def to_json(self) -> dict:
        return {"text": self.text, "box": [round(v, 4) for v in self.box],
                "confidence": round(float(self.confidence), 3)}


class TextReader:
    """Loads RapidOCR's sessions on first use; `release` frees them; loading twice is harmless.
    Safe to use from several threads at once: the look for text shares one session (ONNX
    Runtime runs are thread-safe), and each photo being read takes a RapidOCR engine of its own
    from a small pool (its pipeline keeps state between steps), so at most one engine exists
    per thread reading."""

    def __init__(self, threads: int = THREADS, detect_side: int = DETECT_SIDE, read_side: int = READ_SIDE,
                 min_confidence: float = MIN_CONFIDENCE, gate_side: int = GATE_SIDE):
        self.threads = threads
        self.gate_side = gate_side
        self.detect_side = detect_side
        self.read_side = read_side
        self.min_confidence = min_confidence
        self._engines: list = []  # idle RapidOCR engines
        self._generation = 0  # bumped by release: engines of an older generation are dropped
        self._gate: OrtSession | None = None
        self._lock = threading.Lock()

    @contextmanager
    def _engine(self):
        with self._lock:
            engine = self._engines.pop() if self._engines else None
            generation = self._generation
        if engine is None:
            engine = self._load()
        try:
            yield engine
        finally:
            with self._lock:
                if generation == self._generation:
                    self._engines.append(engine)

    @property
    def gate(self) -> OrtSession:
        with self._lock:
            if self._gate is None:
                self._gate = OrtSession(_package_model(DETECT_MODEL), device="cpu", threads=self.threads)
            return self._gate

    def _load(self):
        RapidOCR = _rapidocr().RapidOCR
        params = {
            "Global.log_level": "error",
            "Global.use_cls": False,  # upside-down text is rare in photos; the classifier costs a pass per line
            "Det.limit_side_len": self.detect_side, "Det.limit_type": "max",
            "Det.thresh": DET_THRESH, "Det.box_thresh": DET_BOX_THRESH,
            "EngineConfig.onnxruntime.intra_op_num_threads": self.threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
        logging.getLogger("RapidOCR").setLevel(logging.ERROR)
        return RapidOCR(params=params)

    def release(self) -> None:
        with self._lock:
            self._engines, self._gate = [], None
            self._generation += 1

    def read_path(self, path: str) -> list[TextLine]:
        """The text in a photo file (ImageError subclasses for files that cannot be decoded).
        The file is decoded small for the look for text and, only when it finds some, larger."""
        with open_regular(path) as f:
            if not self.has_text(open_image(path, f, min_size=self.gate_side)):
                return []
            larger = open_image(path, f, min_size=self.read_side)
        return self._read(larger)

    def read_image(self, image: Image.Image) -> list[TextLine]:
        img = image.convert("RGB")
        return self._read(img) if self.has_text(img) else []

    def has_text(self, image: Image.Image) -> bool:
        """The cheap look: does the detector's map, at GATE_SIDE pixels, show any text?"""
        img = image.convert("RGB")
        scale = self.gate_side / max(img.size)
        w, h = (max(32, round(v * scale / 32) * 32) for v in img.size)
        x = np.asarray(img.resize((w, h), Image.BILINEAR), np.float32) * (2 / 255) - 1.0  # mean 0.5, std 0.5
        session = self.gate
        (prob,) = session.run(None, {next(iter(session.inputs)): x.transpose(2, 0, 1)[None]})
        return float((prob > GATE_PROB).mean()) > GATE_SHARE

    def _read(self, img: Image.Image) -> list[TextLine]:
        if max(img.size) > self.read_side * 2:
            img = img.copy()
            img.thumbnail((self.read_side * 2, self.read_side * 2), Image.BILINEAR)
        w, h = img.size
        with self._engine() as engine:
            result = engine(img)
        if getattr(result, "boxes", None) is None or not result.txts:
            return []
        lines = []
        for quad, text, score in zip(result.boxes, result.txts, result.scores):
            text = " ".join(str(text).split())
            if not text or float(score) < self.min_confidence:
                continue
            q = np.asarray(quad, np.float32)
            box = (max(0.0, float(q[:, 0].min()) / w), max(0.0, float(q[:, 1].min()) / h),
                   min(1.0, float(q[:, 0].max()) / w), min(1.0, float(q[:, 1].max()) / h))
            lines.append(TextLine(text, box, float(score)))
        lines.sort(key=lambda ln: (round(ln.box[1], 2), ln.box[0]))
        return lines


def _rapidocr():
    try:
        import rapidocr
    except ImportError as e:  # a broken install: the package is a dependency
        raise ModelError(f"the text reader (rapidocr) is not installed: {e}") from e
    return rapidocr


def _package_model(name: str) -> Path:
    """A model file shipped inside the rapidocr wheel (no download, ever)."""
    path = Path(_rapidocr().__file__).parent / "models" / name
    if not path.exists():
        raise ModelError(f"the text reader's model {name} is missing from the rapidocr package")
    return path
