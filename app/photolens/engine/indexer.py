"""The embedding pipeline: decode in a thread pool while the model runs, commit per batch.

Decoding (PIL releases the GIL) and inference (ONNX Runtime releases it too) overlap: while
the model works on one batch, the pool decodes the next ones. Each batch's vectors, metadata
and failures are written in one transaction, so a crash or SIGKILL loses at most the batch in
flight, and the next run picks up from there.
"""
from __future__ import annotations

import logging
import os
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from typing import Callable

import numpy as np

from .embedder import IMAGE_BATCH, Embedder
from .errors import ImageError
from .drafts import DraftSpool, file_stamp
from .imaging import Decoded, closer_look_from_draft, decode_closer_look, decode_for_model, draft_size
from .index import VectorIndex
from .jobs import Control, Progress, one_blas_thread, switching_often
from .metastore import record_metadata
from .models import ModelInfo
from .outputs import PhotoOutputs
from .store import PhotoRow, Store

# Batches decoded ahead of the model: preprocessed images are small (0.6 MB at 224 px), so
# look-ahead costs little memory and keeps the model from waiting on a slow file.
LOOKAHEAD_BATCHES = 3

log = logging.getLogger("photolens.indexer")


# The passes an index run makes over new photos. SEARCHABLE runs the search model on the whole
# photo (its embedding, features and whole-photo tags): what makes a photo findable, as fast as
# that model allows. CLOSER runs afterwards: the model's tag views and tag detail pass, which
# cost several times the search model on a CPU, and the tags they refine.
SEARCHABLE = "searchable"
CLOSER = "closer"
PASSES = (SEARCHABLE, CLOSER)
STAGES = {SEARCHABLE: "making searchable", CLOSER: "looking closer"}


def decode_photo(model: ModelInfo, path: str, views: bool = True, detail: bool = True) -> Decoded:
    """One photo prepared for what `model` runs on it: the whole photo, and (where asked and
    the model has them) its tag views and its tag detail pass, from one decode."""
    detail_spec = model.tag_detail if detail else None
    return decode_for_model(path, model.preprocess, model.tag_views if views else (),
                            detail_spec.size if detail_spec else None)


class BatchStacker:
    """Stacks a batch's photos into arrays kept from one batch to the next (one per kind of
    input, as long as the longest batch), rather than new ones: a new [16, 3, 448, 448] array
    cost 12 ms a batch on an idle core against 6 ms into a kept one (its pages are touched for
    the first time), and several times that while the decoders and the model share the cores.
    What is stacked is used only until the model has run on it."""

    def __init__(self) -> None:
        self._kept: dict[str, np.ndarray] = {}

    def __call__(self, kind: str, arrays: list[np.ndarray]) -> np.ndarray:
        n, first = len(arrays), arrays[0]
        out = self._kept.get(kind)
        if out is None or out.shape[1:] != first.shape or out.dtype != first.dtype or len(out) < n:
            out = self._kept[kind] = np.empty((n, *first.shape), first.dtype)
        return np.stack(arrays, out=out[:n])  # the first n rows: contiguous


def _new_stack(_kind: str, arrays: list[np.ndarray]) -> np.ndarray:
    return np.stack(arrays)


def embed_decoded(embedder: Embedder, decoded: list[Decoded], stack=_new_stack) -> PhotoOutputs:
    """The model's outputs for decoded photos, with the tag views' where the model has tag
    views (their embeddings are not needed: tags use the detectors), and the tag detail pass's
    where it has one. Photos and views go through the model in one call: one larger batch runs
    faster than two. `stack(kind, arrays)` makes the model's inputs (a BatchStacker reuses them)."""
    if not decoded:
        return PhotoOutputs.empty()
    outputs = _embed_with_views(embedder, decoded, stack)
    if decoded[0].detail is not None:  # one decode call: all or none
        outputs.update(embedder.embed_detail(stack("detail", [d.detail for d in decoded])))
    return PhotoOutputs(**outputs)


def _embed_with_views(embedder: Embedder, decoded: list[Decoded], stack=_new_stack) -> dict[str, np.ndarray]:
    n = len(decoded)
    if decoded[0].views is None or "features" not in embedder.image_outputs():
        return embedder.embed_images(stack("photos", [d.pixels for d in decoded]))
    v = len(decoded[0].views)
    # The photos, then every photo's views in turn: one batch through the model.
    out = embedder.embed_images(stack("photos and views", [d.pixels for d in decoded] +
                                      [view for d in decoded for view in d.views]))
    outputs = {k: a[:n] for k, a in out.items()}
    outputs["view_features"] = out["features"][n:].reshape(n, v, -1)
    if "logits" in out:
        outputs["view_logits"] = out["logits"][n:].reshape(n, v, -1)
    return outputs


def embed_closer(embedder: Embedder, decoded: list[Decoded], stack=_new_stack) -> dict[str, np.ndarray]:
    """The closer look alone: the tag views through the image model (not the whole photo: its
    outputs are stored already) and the tag detail pass."""
    out: dict[str, np.ndarray] = {}
    if not decoded:
        return out
    n = len(decoded)
    if decoded[0].views is not None and "features" in embedder.image_outputs():
        v = len(decoded[0].views)
        views = embedder.embed_images(stack("views", [view for d in decoded for view in d.views]))
        out["view_features"] = views["features"].reshape(n, v, -1)
        if "logits" in views:
            out["view_logits"] = views["logits"].reshape(n, v, -1)
    if decoded[0].detail is not None:
        out.update(embedder.embed_detail(stack("detail", [d.detail for d in decoded])))
    return out


BatchHook = Callable[[list[int], PhotoOutputs], None]


class Indexer:
    def __init__(self, store: Store, embedder: Embedder, index: VectorIndex | None = None,
                 workers: int | None = None, batch_size: int = IMAGE_BATCH,
                 on_batch: BatchHook | None = None, tag_detail: bool = True, pass_: str = SEARCHABLE,
                 drafts: DraftSpool | None = None):
        self.store = store
        self.embedder = embedder
        self.index = index
        self.workers = workers or os.cpu_count() or 1
        self.batch_size = batch_size
        self.on_batch = on_batch  # e.g. auto-tagging, given (photo ids, model outputs)
        self.tag_detail = tag_detail  # the closer pass runs the tag detail pass (Settings.thorough_tags)
        if pass_ not in PASSES:
            raise ValueError(f"unknown pass {pass_!r}")
        self.pass_ = pass_
        self.stage = STAGES[pass_]  # what the progress says
        # Both passes decode a photo to the same JPEG draft, the one its closer look needs, so the
        # whole photo's pixels (and its embedding) are the same whichever pass ran first, and the
        # first pass can leave its draft for the closer look (drafts.py; only for a model that
        # has a closer look).
        model = embedder.model
        self.draft_size = draft_size(model.preprocess, model.tag_views,
                                     model.tag_detail.size if model.tag_detail else None)
        self.drafts = drafts if model.tag_views or model.tag_detail else None

    def run(self, photos: list[PhotoRow], progress: Callable[[Progress], None] | None = None,
            control: Control | None = None) -> dict:
        model = self.embedder.model
        state = Progress(0, len(photos), 0, time.monotonic(), stage=self.stage)
        embedded = 0
        if not photos:
            return {"embedded": 0, "failed": 0}
        batches = [photos[i:i + self.batch_size] for i in range(0, len(photos), self.batch_size)]
        stacker = BatchStacker()  # this run's input arrays, freed with it
        with switching_often(), one_blas_thread(), ThreadPoolExecutor(self.workers, thread_name_prefix="decode") as pool:
            queue: deque[tuple[list[PhotoRow], list[Future]]] = deque()
            it = iter(batches)

            def feed() -> None:
                while len(queue) < LOOKAHEAD_BATCHES:
                    batch = next(it, None)
                    if batch is None:
                        return
                    queue.append((batch, [pool.submit(self._decode, model, p.path) for p in batch]))

            feed()
            while queue:
                if control is not None:
                    control.wait_if_paused()
                    if control.cancelled.is_set():
                        for _, futures in queue:
                            for f in futures:
                                f.cancel()
                        break
                batch, futures = queue.popleft()
                feed()
                ok: list[tuple[PhotoRow, Decoded]] = []
                failures: list[tuple[PhotoRow, ImageError]] = []
                for photo, fut in zip(batch, futures):
                    try:
                        ok.append((photo, fut.result()))
                    except ImageError as e:
                        failures.append((photo, e))
                    except Exception as e:  # a decoder bug must cost one photo, not the run
                        failures.append((photo, ImageError(photo.path, f"unexpected error: {e!r}")))
                if self.pass_ == SEARCHABLE:
                    self._commit(ok, failures, embed_decoded(self.embedder, [d for _, d in ok], stacker))
                else:
                    self._commit_closer(ok, failures, embed_closer(self.embedder, [d for _, d in ok], stacker))
                embedded += len(ok)
                state.done += len(batch)
                state.failed += len(failures)
                if progress is not None:
                    progress(state)
        if self.index is not None:
            self.index.save()
        return {"embedded": embedded, "failed": state.failed}

    def _decode(self, model: ModelInfo, path: str) -> Decoded:
        if self.pass_ == SEARCHABLE:
            stamp = file_stamp(path) if self.drafts is not None else None  # before the decode
            decoded = decode_for_model(path, model.preprocess, keep_draft=stamp is not None, min_size=self.draft_size)
            if stamp is not None:
                self.drafts.put(path, stamp, self.draft_size, decoded.draft)
            return replace(decoded, draft=None)
        detail = model.tag_detail.size if self.tag_detail and model.tag_detail else None
        kept = self.drafts.take(path, self.draft_size) if self.drafts is not None else None
        if kept is not None:
            return closer_look_from_draft(kept, model.preprocess, model.tag_views, detail)
        return decode_closer_look(path, model.preprocess, model.tag_views, detail)

    def _commit_closer(self, ok: list[tuple[PhotoRow, Decoded]], failures: list[tuple[PhotoRow, ImageError]],
                       closer: dict[str, np.ndarray]) -> None:
        """Keep the closer look's outputs beside the stored ones and retag with them. The
        embedding search uses is untouched, so the vector index is too. A photo that cannot be
        read now (gone, or damaged since) keeps what it has: its whole photo stands in."""
        model = self.embedder.model.name
        with self.store.transaction():
            wanted = [p.id for p, _ in ok]
            ids, outputs = PhotoOutputs.load(self.store, model, wanted, with_features=True)
            rows = [wanted.index(i) for i in ids]  # photos removed meanwhile are left out
            if not ids:
                return
            for kind, value in closer.items():
                setattr(outputs, kind, value[rows])
            outputs.save(self.store, model, ids, kinds=tuple(closer))
            if self.on_batch is not None:
                self.on_batch(ids, outputs)
        for photo, err in failures:
            log.info("looking closer at %s: %s", photo.path, err)

    def _commit(self, ok: list[tuple[PhotoRow, Decoded]], failures: list[tuple[PhotoRow, ImageError]],
                outputs: PhotoOutputs) -> None:
        model = self.embedder.model.name
        ids = [p.id for p, _ in ok]
        with self.store.transaction():
            live = set(self.store.photos_by_ids([p.id for p, _ in ok] + [p.id for p, _ in failures]))
            keep = [i for i, pid in enumerate(ids) if pid in live]  # removed meanwhile (watcher)
            ids = [ids[i] for i in keep]
            outputs = outputs.take(keep)
            # Before record_indexed, which writes the new GPS: a photo whose GPS moved loses its place.
            record_metadata(self.store, [(ok[i][0].id, ok[i][1].info["metadata"]) for i in keep
                                         if "metadata" in ok[i][1].info])
            for i in keep:
                photo, decoded = ok[i]
                self.store.record_indexed(photo.id, decoded.content_hash, decoded.info)
            for photo, err in failures:
                if photo.id in live:
                    self.store.record_failure(photo.id, err.kind, str(err))
            if ids:
                outputs.save(self.store, model, ids)
                if self.on_batch is not None:
                    self.on_batch(ids, outputs)
            generation = self.store.bump_generation(model)
        if self.index is not None and ids:
            self.index.apply(dict(zip(ids, outputs.embedding)), [], generation)
