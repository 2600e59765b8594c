"""ONNX Runtime sessions, execution providers, batching and tokenisation.

Models load lazily on first use and are released explicitly; loading twice is harmless.
"""
from __future__ import annotations

import contextlib
import functools
import io
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import numpy as np

from .config import DEVICES
from .errors import ModelError
from . import models as model_registry
from .models import ModelInfo
from .textprep import check_text_spec, prepare_text

log = logging.getLogger(__name__)

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
# cuDNN picks its convolution algorithms by its own heuristics instead of trying them all. The
# trials (ONNX Runtime's default) come back for every new batch size, and a library's batches
# come in many (every remainder, the watcher's few): measured on an H200 (bench/cuda_session.py),
# a new size took 0.63 s for the search model and 0.92 s for the detail pass with trials, 0.24
# and 0.49 s without, and a batch ran as fast either way (0.18-0.19 and 0.63 ms a photo).
CUDA_OPTIONS = {"cudnn_conv_algo_search": "HEURISTIC"}
# Images per inference call: large enough to keep the CPU's vector units and a GPU busy,
# small enough that a batch of 224-pixel inputs (0.6 MB each) stays far below any memory limit.
IMAGE_BATCH = 32
TEXT_BATCH = 128
# On the CPU, an image batch runs in chunks of CPU_CHUNK side by side, one chunk per core, each
# session run on one thread (its calling thread). Measured on 96 12-MP JPEGs, 2 cores, the tag
# detail pass (448 px): one run on two threads took 58-65 ms of CPU a photo where two runs on
# one thread each took 46-55, as ONNX Runtime's threads wait on each other at every layer; and
# a small chunk keeps a run's buffers in the caches (a 448-px batch of 32 needs about 200 MB a
# layer, and took 55 against 46 ms a photo on one thread). Chunks of 4 run as fast as chunks of
# 8 (448 px: 21.6 against 21.8 ms a photo, 224 px: 5.3 against 5.2, two chunks at a time), and
# each session's arena, which a fresh session (or one after release_memory) fills page by page
# on its first batch, holds half as much: the detail pass's first batch faulted in 80,000 pages
# instead of 176,000 (0.16 against 0.34 s of system time), and an index run's peak memory fell
# from 1.70 to 1.23 GB.
CPU_CHUNK = 4


def available_providers() -> list[str]:
    import onnxruntime as ort

    return ort.get_available_providers()


def choose_providers(device: str = "auto") -> list[str]:
    """CUDA then CPU for auto; an explicit device that is not available is an error, not a
    silent fallback, so `--device cuda` never quietly runs on the CPU."""
    if device not in DEVICES:
        raise ModelError(f"unknown device {device!r}: choose one of {', '.join(DEVICES)}")
    available = available_providers()
    if device == "cpu":
        return [CPU]
    if device == "cuda":
        if CUDA not in available:
            raise ModelError("CUDA was requested but ONNX Runtime has no CUDA provider here "
                             "(install onnxruntime-gpu and an NVIDIA driver)")
        return [CUDA, CPU]
    return [CUDA, CPU] if CUDA in available else [CPU]


@functools.cache
def preload_cuda_libraries() -> None:
    """Load the CUDA and cuDNN libraries that pip installs beside onnxruntime-gpu
    (`onnxruntime-gpu[cuda,cudnn]`): its CUDA provider does not find them by itself, and without
    them the session starts on the CPU. Libraries the system already provides are found either way.
    Once per process (loading twice at once would be harmless); what ONNX Runtime prints about
    it (a library it could not load) goes to the log, not to a command's output."""
    import onnxruntime as ort

    preload = getattr(ort, "preload_dlls", None)  # ONNX Runtime 1.21 and later
    if preload is None:
        return
    said = io.StringIO()
    try:
        with contextlib.redirect_stdout(said):
            preload()
    except Exception as e:  # its own errors (a missing folder); the session tells what failed
        log.info("CUDA libraries not preloaded: %s", e)
    if said.getvalue().strip():
        log.info("preloading CUDA libraries: %s", said.getvalue().strip())


def cpu_fallback_warning(device: str, reason: str) -> str:
    """What the user is told when the device they chose cannot be used."""
    return f"The {device.upper()} device is not available, so Photolens uses the CPU: {reason}"


class OrtSession:
    """The one wrapper around `onnxruntime.InferenceSession`; every setting can be overridden,
    with defaults computed for this machine.

    A device that cannot be used (CUDA asked for where ONNX Runtime has no CUDA provider, or
    where the GPU session fails to start) never breaks the app: the session runs on the CPU and
    `warning` says why. Explicit `providers` are used as given, with no fallback."""

    def __init__(self, path: Path, device: str = "auto", providers: list[str] | None = None,
                 threads: int | None = None):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.intra_op_num_threads = threads or os.cpu_count() or 1
        opts.log_severity_level = 3  # warnings about unused initialisers are noise to users
        # Idle ONNX Runtime threads spin by default, burning the cores the decoders need.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.warning: str | None = None
        explicit = providers is not None
        if providers is None:
            try:
                providers = choose_providers(device)
            except ModelError as e:
                if device not in DEVICES:
                    raise
                self.warning, providers = cpu_fallback_warning(device, str(e)), [CPU]
        if CUDA in providers:
            preload_cuda_libraries()
        try:
            self.session = ort.InferenceSession(str(path), sess_options=opts,
                                                providers=[(p, CUDA_OPTIONS) if p == CUDA else p for p in providers])
        except Exception as e:  # onnxruntime raises its own untyped errors
            if explicit or providers == [CPU]:
                raise ModelError(f"cannot load {path}: {e}") from e
            self.warning = cpu_fallback_warning(device, f"its session failed to start ({e})")
            try:
                self.session = ort.InferenceSession(str(path), sess_options=opts, providers=[CPU])
            except Exception as e2:
                raise ModelError(f"cannot load {path}: {e2}") from e2
        if device == "cuda" and self.warning is None and self.session.get_providers()[0] != CUDA:
            self.warning = cpu_fallback_warning(device, "ONNX Runtime could not start CUDA (check the NVIDIA "
                                                        "driver and CUDA libraries)")
        self.inputs = {i.name: i for i in self.session.get_inputs()}
        self.outputs = [o.name for o in self.session.get_outputs()]
        self.provider = self.session.get_providers()[0]  # the one it runs on

    def fixed_batch(self) -> int | None:
        first = next(iter(self.inputs.values()))
        return first.shape[0] if isinstance(first.shape[0], int) else None

    def run(self, outputs: list[str] | None, feeds: dict[str, np.ndarray], release: bool = False) -> list[np.ndarray]:
        """`release`: hand the memory ONNX Runtime keeps between runs back after this one. Its
        CPU arena keeps the largest batch's buffers (Embedder.release_memory). Running without the
        arena made a batch 45% slower, so it is kept while work goes on and released after."""
        if not release:
            return self.session.run(outputs, feeds)
        import onnxruntime as ort

        options = ort.RunOptions()
        options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0" if self.provider == CPU
                                     else "cpu:0;gpu:0")
        return self.session.run(outputs, feeds, options)


def _concatenate(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def normalize(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    n = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(n, 1e-12)


class Embedder:
    """Images and texts into one model's joint space."""

    def __init__(self, model: ModelInfo, device: str = "auto", threads: int | None = None,
                 language: str | None = None):
        self.model = model
        self.device = device
        self.threads = threads
        self.workers = threads or os.cpu_count() or 1  # image runs side by side on the CPU (_in_chunks)
        self.language = language  # the query language, for models that want it (textprep.py)
        self._visual: OrtSession | None = None
        self._textual: OrtSession | None = None
        self._detail: OrtSession | None = None
        self._tokenizer = None
        self._lock = threading.Lock()
        self._tokenizer_lock = threading.Lock()  # read once, also when two threads ask at once

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def visual(self) -> OrtSession:
        with self._lock:
            if self._visual is None:
                self._visual = OrtSession(self.model.file(self.model.visual["file"]), self.device, threads=1)
            return self._visual

    @property
    def textual(self) -> OrtSession:
        with self._lock:
            if self._textual is None:
                self._textual = OrtSession(self.model.file(self.model.textual["file"]), self.device,
                                           threads=self.threads)
            return self._textual

    @property
    def detail(self) -> OrtSession:
        """The tag detail pass's session (only for models that have one: ModelInfo.tag_detail)."""
        spec = self.model.tag_detail
        if spec is None:
            raise ValueError(f"model {self.model.name!r} has no tag detail pass")
        with self._lock:
            if self._detail is None:
                self._detail = OrtSession(self.model.file(spec.file), self.device, threads=1)
            return self._detail

    def release_memory(self) -> None:
        """Hand back what ONNX Runtime keeps between image runs (its CPU arena holds the largest
        batch's buffers: 1.18 GB resident after indexing 48 12-MP photos, 0.51 GB after this;
        1.79 and 0.96 GB when a batch ran whole, before CPU_CHUNK).
        One single-photo run per loaded image session, with the arena shrunk after it. Released
        after every index run instead, the next run's regrowth made indexing 16% slower."""
        with self._lock:
            visual, detail = self._visual, self._detail
        if visual is not None:
            size = self.model.preprocess.size
            self.embed_images(np.zeros((1, 3, size, size), np.float32), release=True)
        if detail is not None:
            size = self.model.tag_detail.size
            self.embed_detail(np.zeros((1, 3, size, size), np.float32), release=True)

    def release(self) -> None:
        with self._lock:
            self._visual = self._textual = self._detail = None
            self._tokenizer = None

    @property
    def warnings(self) -> list[str]:
        """Why a session does not run where it was asked to (each reason once)."""
        sessions = (self._visual, self._textual, self._detail)
        return list(dict.fromkeys(s.warning for s in sessions if s is not None and s.warning))

    @property
    def provider(self) -> str:
        """The execution provider in use (loads the image model if needed)."""
        return self.visual.provider

    @property
    def device_name(self) -> str:
        return "cuda" if self.provider == CUDA else "cpu"

    # -- images -----------------------------------------------------------------------------

    def image_outputs(self) -> dict[str, str]:
        """Logical output -> graph output name (embedding always; features, logits if any)."""
        return dict(self.model.visual.get("outputs", {"embedding": "embedding"}))

    def embed_images(self, pixels: np.ndarray, release: bool = False) -> dict[str, np.ndarray]:
        """float32 [N, 3, S, S] -> {"embedding": [N, D] unit vectors, and "features"/"logits"
        where the model has them}. `release`: see OrtSession.run."""
        sess = self.visual
        names = self.image_outputs()
        input_name = self.model.visual.get("input", "image")

        def run(chunk: np.ndarray, release: bool) -> dict[str, np.ndarray]:
            if sess.fixed_batch() == 1 and len(chunk) > 1:
                parts = [run(chunk[i:i + 1], release and i == len(chunk) - 1) for i in range(len(chunk))]
                return _concatenate(parts)
            results = sess.run(list(names.values()), {input_name: np.ascontiguousarray(chunk, dtype=np.float32)},
                               release)
            return dict(zip(names.keys(), results))

        out = self._in_chunks(sess, run, pixels, release)
        out["embedding"] = normalize(out["embedding"])
        return out

    def embed_detail(self, pixels: np.ndarray, release: bool = False) -> dict[str, np.ndarray]:
        """float32 [N, 3, S, S] at the detail size -> {"detail_features": [N, D], "detail_probs": [N, C]},
        and "detail_faces" [N, 1] where the pass has a face detector."""
        spec = self.model.tag_detail
        sess = self.detail
        names = [spec.features, spec.probs] + ([spec.faces] if spec.faces else [])

        def run(chunk: np.ndarray, release: bool) -> dict[str, np.ndarray]:
            out = sess.run(names, {spec.input: np.ascontiguousarray(chunk, dtype=np.float32)}, release)
            return dict(zip(("detail_features", "detail_probs", "detail_faces"), out))

        return self._in_chunks(sess, run, pixels, release)

    def _in_chunks(self, sess: OrtSession, run: Callable[[np.ndarray, bool], dict[str, np.ndarray]],
                   pixels: np.ndarray, release: bool) -> dict[str, np.ndarray]:
        """`run` over `pixels`: at once on a GPU; on the CPU in chunks of CPU_CHUNK, up to
        `threads` at a time, each on its own thread (CPU_CHUNK says why). The threads are made
        for the call, so they run at the caller's priority (the app's background work is niced).
        A run that releases the arena after it (`release`) goes whole: it is a single photo."""
        if release or sess.provider != CPU or len(pixels) <= CPU_CHUNK:
            return run(pixels, release)
        chunks = [pixels[i:i + CPU_CHUNK] for i in range(0, len(pixels), CPU_CHUNK)]
        workers = min(self.workers, len(chunks))
        if workers == 1:
            return _concatenate([run(c, False) for c in chunks])
        with ThreadPoolExecutor(workers, thread_name_prefix="model") as pool:
            return _concatenate(list(pool.map(run, chunks, [False] * len(chunks))))

    # -- text -------------------------------------------------------------------------------

    def prepare(self) -> None:
        """Import ONNX Runtime and read the tokenizer now. Both hold the interpreter while they
        load (0.05-0.15 s and 0.1-0.2 s here), so a window has them done before it shows
        (Catalog.prepare_search); the sessions mostly release it."""
        import onnxruntime  # noqa: F401

        self.tokenizer  # noqa: B018 (loaded and kept on first use)

    @property
    def tokenizer(self):
        """The model's own tokenizer (tokenizers' tokenizer.json), truncating at the context
        length and, for graphs of fixed length, padding to it with the model's pad token."""
        with self._tokenizer_lock:
            if self._tokenizer is None:
                self._tokenizer = self._read_tokenizer()
            return self._tokenizer

    def _read_tokenizer(self):
        from tokenizers import Tokenizer

        t = self.model.textual
        check_text_spec(t)
        tok = Tokenizer.from_file(str(self.model.file(t["tokenizer"])))
        length = int(t.get("context_length", 128))
        tok.enable_truncation(length)
        if t.get("pad_to_context"):
            pad = t.get("pad_token", "<|endoftext|>")
            pad_id = tok.token_to_id(pad)
            if pad_id is None:  # padding with another token's id would change what the text says
                raise ModelError(f"{self.model.name}: the pad token {pad!r} is not in its tokenizer")
            tok.enable_padding(length=length, pad_id=pad_id, pad_token=pad)
        else:
            tok.enable_padding()
        return tok

    def tokenize(self, texts: list[str]) -> list:
        """The tokenizer's encodings of `texts`, each prepared as the model wants (textprep.py)."""
        t = self.model.textual
        return self.tokenizer.encode_batch([prepare_text(x, t, self.language) for x in texts])

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.model.dim), np.float32)
        t = self.model.textual
        sess = self.textual
        dtype = np.int32 if t.get("input_dtype") == "int32" else np.int64
        inputs = t.get("inputs", {"input_ids": "input_ids", "attention_mask": "attention_mask"})
        batch = 1 if sess.fixed_batch() == 1 else TEXT_BATCH
        out = []
        for i in range(0, len(texts), batch):
            enc = self.tokenize(texts[i:i + batch])
            feeds = {inputs["input_ids"]: np.array([e.ids for e in enc], dtype=dtype)}
            if "attention_mask" in inputs:
                feeds[inputs["attention_mask"]] = np.array([e.attention_mask for e in enc], dtype=dtype)
            out.append(sess.run([t.get("output", "embedding")], feeds)[0])
        return normalize(np.concatenate(out))

    def embed_text(self, text: str) -> np.ndarray:
        return self.embed_texts([text])[0]


def load_embedder(preferred: str, device: str = "auto", threads: int | None = None,
                  unchecked: "Embedder | None" = None) -> tuple[Embedder, str | None]:
    """The chosen model's sessions, loaded now (a broken model shows here, not mid-search). A
    chosen model that is not installed or fails to load gives way to the built-in one: the
    second value says so (None when nothing was given up), so a setting never breaks the app.
    `unchecked`, the chosen model's embedder made earlier without a session
    (Catalog.prepare_search), is checked and used rather than made again."""
    name = model_registry.default_model_name(preferred)
    warning = None
    if preferred and name != preferred:
        warning = f"The model {preferred!r} is not installed, so Photolens uses {name!r} (choose another in Settings)"
    if unchecked is not None and unchecked.model.name == name:
        embedder = unchecked
    else:
        embedder = Embedder(model_registry.get_model(name), device, threads)
    try:
        embedder.visual  # noqa: B018 (loads the image model's session)
    except ModelError as e:
        fallback = model_registry.default_model_name()
        if fallback == name:
            raise
        warning = f"The model {name!r} could not be loaded, so Photolens uses {fallback!r}: {e}"
        embedder = Embedder(model_registry.get_model(fallback), device, threads)
    return embedder, warning
