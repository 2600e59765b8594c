"""Model manifests: what models exist, which are installed, and how to read their description.

A model is a folder holding `manifest.json` and the files it lists. Manifests that describe
models one can install or build (without files yet) live as `<name>.json` in the application's
`models/` folder; installed models live in `models/<name>/` (the built-in one, built at setup)
or in the user's data folder (downloaded or imported ones).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path

from .config import bundled_models_dir, user_models_dir
from .errors import ModelError, ModelNotFoundError
from .imaging import Preprocess
from .safepath import inside, safe_name, safe_relative

MANIFEST = "manifest.json"
BUILTIN = "builtin"


@dataclass(frozen=True)
class TagDetail:
    """A second image graph for tags: the photo at `size` px, looked at window by window."""

    file: str
    input: str
    size: int
    features: str  # output name: [N, D], each feature's largest window mean
    probs: str  # output name: [N, C], each class's largest probability in any window
    faces: str | None = None  # output name: [N, 1], the strongest face's score (0..1), where it has one


@dataclass
class ModelInfo:
    name: str
    family: str  # "builtin" (CNN + sentence model + trained head) or "clip"
    dim: int
    folder: Path | None  # None: described, not installed
    manifest: dict = field(repr=False, default_factory=dict)

    @property
    def installed(self) -> bool:
        return self.folder is not None

    @property
    def title(self) -> str:
        return self.manifest.get("title", self.name)

    @property
    def preprocess(self) -> Preprocess:
        return Preprocess.from_dict(self.manifest["preprocess"])

    def file_sha(self, relative: str | None) -> str | None:
        """The sha256 the manifest lists for one of the model's files (None if it lists none)."""
        return next((f.get("sha256") for f in self.manifest.get("files", []) if f.get("path") == relative), None)

    @property
    def fingerprint(self) -> str | None:
        """Identifies the image model's weights and preprocessing: vectors made by another build
        (an update that retrained the head) are not comparable with this one's. None where the
        manifest does not list the image model's checksum."""
        sha = self.file_sha((self.manifest.get("visual") or {}).get("file"))
        if not sha:
            return None
        identity = json.dumps([sha, self.manifest.get("preprocess")], sort_keys=True)
        return hashlib.sha256(identity.encode()).hexdigest()[:16]

    @property
    def detail_fingerprint(self) -> str | None:
        """Identifies the tag detail pass (its graph and size): its stored outputs are only for
        tags, so another build of it means computing them again, not embedding again."""
        detail = self.tag_detail
        sha = self.file_sha(detail.file) if detail is not None else None
        if not sha:
            return None
        return hashlib.sha256(json.dumps([sha, detail.size]).encode()).hexdigest()[:16]

    @property
    def tag_views(self) -> tuple[tuple[float, float, float, float], ...]:
        """Regions of a photo the model also looks at for tags (see tagscore.py): none for most
        models. A malformed entry is ignored with the rest, never fatal: tags then use the
        whole photo only."""
        spec = self.manifest.get("tag_views") or []
        if not isinstance(spec, list):
            return ()
        boxes = []
        for box in spec:
            try:
                a, b, c, d = (float(v) for v in box)
            except (TypeError, ValueError):
                return ()
            if not (0 <= a < c <= 1 and 0 <= b < d <= 1):
                return ()
            boxes.append((a, b, c, d))
        return tuple(boxes)

    @property
    def tag_detail(self) -> "TagDetail | None":
        """The model's tag detail pass (see tagscore.py), or None: most models have none, and a
        malformed entry is ignored rather than fatal (tags then do without it)."""
        spec = self.manifest.get("tag_detail")
        if not isinstance(spec, dict):
            return None
        try:
            outputs = spec["outputs"]
            faces = outputs.get("faces")
            detail = TagDetail(str(spec["file"]), str(spec.get("input", "image")), int(spec["size"]),
                               str(outputs["features"]), str(outputs["probs"]), str(faces) if faces else None)
        except (KeyError, TypeError, ValueError):
            return None
        return detail if 32 <= detail.size <= 2048 else None

    @property
    def visual(self) -> dict:
        return self.manifest["visual"]

    @property
    def textual(self) -> dict:
        return self.manifest["textual"]

    def file(self, relative: str) -> Path:
        if self.folder is None:
            raise ModelNotFoundError(self.name)
        return self.folder / relative

    def to_json(self) -> dict:
        return {"name": self.name, "title": self.title, "family": self.family, "dim": self.dim,
                "installed": self.installed, "path": str(self.folder) if self.folder else None,
                "license": self.manifest.get("license"), "size_mb": round(self.size_bytes / 1e6, 1)}

    @property
    def size_bytes(self) -> int:
        return sum(int(f.get("size") or 0) for f in self.manifest.get("files", []))


def read_manifest(path: Path, folder: Path | None) -> ModelInfo:
    """A manifest, checked: its name is one safe folder name and every file it lists stays
    inside the model's folder (a manifest decides what Photolens writes and deletes)."""
    try:
        m = json.loads(path.read_text())
        if not isinstance(m, dict):
            raise ValueError("not a JSON object")
        info = ModelInfo(name=m["name"], family=m["family"], dim=int(m["dim"]), folder=folder, manifest=m)
        files = m.get("files") or []
        if not isinstance(files, list) or not all(isinstance(f, dict) for f in files):
            raise ValueError("'files' must be a list of objects")
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ModelError(f"{path}: not a valid model manifest ({e})") from e
    safe_name(info.name)
    for f in files:
        safe_relative(f.get("path"))
    return info


def model_roots() -> list[Path]:
    """Installed-model folders, in order of precedence (a user's copy shadows the bundled one)."""
    return [user_models_dir(), bundled_models_dir()]


def installed_models() -> dict[str, ModelInfo]:
    found: dict[str, ModelInfo] = {}
    for root in model_roots():
        if not root.is_dir():
            continue
        for manifest in sorted(root.glob(f"*/{MANIFEST}")):
            try:
                info = read_manifest(manifest, manifest.parent)
            except ModelError:
                continue  # a half-installed or foreign folder must not hide the others
            found.setdefault(info.name, info)
    return found


def known_models() -> dict[str, ModelInfo]:
    """Every model Photolens can use: installed ones, and those it knows how to get."""
    models = {}
    for path in sorted(bundled_models_dir().glob("*.json")):
        try:
            info = read_manifest(path, None)
        except ModelError:
            continue
        models[info.name] = info
    models.update(installed_models())
    return models


def get_model(name: str) -> ModelInfo:
    installed = installed_models()
    if name in installed:
        return installed[name]
    raise ModelNotFoundError(name, sorted(installed))


def default_model_name(preferred: str = "") -> str:
    """The model to use: the one chosen in settings if installed, else the built-in one, else
    whatever is installed."""
    installed = installed_models()
    if preferred and preferred in installed:
        return preferred
    if BUILTIN in installed:
        return BUILTIN
    if installed:
        return sorted(installed)[0]
    raise ModelNotFoundError(preferred or BUILTIN, [])


def import_model(source: Path, name: str | None = None) -> ModelInfo:
    """Copy a model folder in: either one of ours (with manifest.json) or one in the layout
    Immich publishes (visual/model.onnx, textual/model.onnx, preprocess and tokenizer files)."""
    source = Path(source)
    if (source / MANIFEST).exists():
        info = read_manifest(source / MANIFEST, source)
        manifest = info.manifest
    elif (source / "visual" / "model.onnx").exists() and (source / "textual" / "model.onnx").exists():
        manifest = immich_manifest(source, name or source.name)
    else:
        raise ModelError(f"{source} is not a model folder: it needs {MANIFEST}, or visual/model.onnx "
                         "and textual/model.onnx")
    name = safe_name(name or manifest["name"])
    manifest["name"] = name
    for f in manifest.get("files") or []:
        safe_relative(f.get("path"))
    root = user_models_dir()
    root.mkdir(parents=True, exist_ok=True)
    dest = inside(root, name)
    tmp = inside(root, f".{name}.importing")
    _remove_tree(tmp)
    try:
        _copy_model_files(source, tmp)
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2))
        _remove_tree(dest)
        tmp.rename(dest)
    except OSError as e:
        _remove_tree(tmp)
        raise ModelError(f"cannot import {source}: {e.strerror or e}") from e
    except BaseException:
        _remove_tree(tmp)
        raise
    return read_manifest(dest / MANIFEST, dest)


# A model folder is a few files of at most a few GB; more than this is not a model folder (a
# home folder given by mistake) and copying it would fill the disk.
MAX_IMPORT_BYTES = 8 << 30


def _copy_model_files(source: Path, dest: Path) -> None:
    """Copy the regular files below `source` (a file symlink's content is copied, as in Hugging
    Face's cache; folder symlinks are never followed, so a loop cannot make it copy forever)."""
    total = 0
    for folder, dirs, files in os.walk(source, followlinks=False):
        rel = Path(folder).relative_to(source)
        for name in sorted(files):
            src = Path(folder) / name
            try:
                st = src.stat()  # follows a file symlink; a loop or dangling link raises
            except OSError as e:
                raise ModelError(f"{src}: {e.strerror or e} (a broken or looping link?)") from e
            if not stat.S_ISREG(st.st_mode):
                continue  # a FIFO, a device, or a link to a folder: not a model file
            total += st.st_size
            if total > MAX_IMPORT_BYTES:
                raise ModelError(f"{source} holds more than {MAX_IMPORT_BYTES >> 30} GB: not a model folder")
            target = dest / rel / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, target)


def _remove_tree(path: Path) -> None:
    """Delete a folder Photolens made (a link is unlinked, never followed)."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)


def immich_manifest(folder: Path, name: str) -> dict:
    """Describe a CLIP-style model folder in Immich's layout (batch fixed at 1, int32 text of the
    context length), read the way Immich's runtime reads it: the pad token from
    tokenizer_config.json, the context length and text cleaning from config.json, an M-CLIP text
    graph by its two inputs (input_ids, attention_mask), an NLLB tokenizer by its language codes."""
    pre = json.loads((folder / "visual" / "preprocess_cfg.json").read_text())
    config = {}
    if (folder / "config.json").exists():
        config = json.loads((folder / "config.json").read_text())
    text_cfg = config.get("text_cfg", {})
    dim = config.get("embed_dim")
    if dim is None:
        dim = _onnx_output_dim(folder / "visual" / "model.onnx")
    pad = "<|endoftext|>"
    tok_cfg = folder / "textual" / "tokenizer_config.json"
    if tok_cfg.exists():
        pad_tok = json.loads(tok_cfg.read_text()).get("pad_token", pad)
        pad = pad_tok.get("content", pad) if isinstance(pad_tok, dict) else pad_tok
    size = pre.get("size", 224)
    text_inputs = _onnx_input_names(folder / "textual" / "model.onnx")
    if "attention_mask" in text_inputs and "input_ids" in text_inputs:
        inputs = {"input_ids": "input_ids", "attention_mask": "attention_mask"}
    else:
        inputs = {"input_ids": text_inputs[0]}
    textual = {"file": "textual/model.onnx", "inputs": inputs, "output": "embedding",
               "tokenizer": "textual/tokenizer.json", "context_length": int(text_cfg.get("context_length", 77)),
               "pad_to_context": True, "pad_token": pad, "input_dtype": "int32",
               "batch": "fixed" if _fixed_batch(folder / "textual" / "model.onnx") else "dynamic"}
    if (text_cfg.get("tokenizer_kwargs") or {}).get("clean") == "canonicalize":
        textual["clean"] = "canonicalize"
    if _has_flores_codes(folder / "textual" / "tokenizer.json"):
        textual["language_prefix"] = "flores200"
    return {
        "name": name, "family": "clip", "title": f"CLIP {name}", "dim": int(dim),
        "license": config.get("license", "see the model's source"),
        "source": {"layout": "immich"},
        "visual": {"file": "visual/model.onnx", "input": "image", "outputs": {"embedding": "embedding"},
                   "batch": "fixed" if _fixed_batch(folder / "visual" / "model.onnx") else "dynamic"},
        "textual": textual,
        "preprocess": {"size": size[0] if isinstance(size, list) else size, "mean": pre["mean"], "std": pre["std"],
                       "resize_mode": pre.get("resize_mode", "shortest"),
                       "interpolation": pre.get("interpolation", "bicubic")},
        "files": [],
    }


def _has_flores_codes(tokenizer: Path) -> bool:
    """Whether a tokenizer.json is NLLB's: its added tokens include FLORES-200 language codes."""
    try:
        added = json.loads(tokenizer.read_text()).get("added_tokens") or []
    except (OSError, ValueError):
        return False
    return any(isinstance(t, dict) and t.get("content") == "eng_Latn" for t in added)


def _onnx_input_names(path: Path) -> list[str]:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return [i.name for i in sess.get_inputs()]


def _onnx_output_dim(path: Path) -> int:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return int(sess.get_outputs()[0].shape[-1])


def _fixed_batch(path: Path) -> bool:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return isinstance(sess.get_inputs()[0].shape[0], int)
