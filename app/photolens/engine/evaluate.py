"""Search-quality measurement on a labelled photo set (the ../shared/datasets format).

The set is indexed into a temporary library with the chosen model, exactly as a user's photos
would be, and measured with the standard retrieval measures. Metrics the set cannot give (no
captions, no classes) are None.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from .errors import LibraryError
from .evaluate_words import words_report

KS = (1, 5, 10)


def load_labels(dataset: Path) -> list[dict]:
    try:
        data = json.loads((dataset / "labels.json").read_text())
    except (OSError, ValueError) as e:
        raise LibraryError(f"{dataset} is not a labelled photo set (needs labels.json): {e}") from e
    return [dict(e, path=os.path.abspath(dataset / e["file"])) for e in data["images"]]


def recall_at_k(scores: np.ndarray, owner: np.ndarray) -> dict[str, float]:
    """scores [Q, N]; owner [Q]: for each query, is its own photo in the top k?"""
    own = scores[np.arange(len(owner)), owner]
    rank = (scores > own[:, None]).sum(1)
    return {f"R@{k}": float((rank < k).mean()) for k in KS}


def average_precision(scores: np.ndarray, relevant: np.ndarray) -> float:
    order = np.argsort(-scores, kind="stable")
    rel = relevant[order]
    if not rel.any():
        return 0.0
    hits = np.cumsum(rel)
    return float((hits[rel] / (np.flatnonzero(rel) + 1)).mean())


def text_to_image(entries, ids, mat, embedder) -> dict | None:
    captions, owner = [], []
    for i, e in enumerate(entries):
        for c in e.get("captions") or []:
            captions.append(c.strip())
            owner.append(i)
    if not captions:
        return None
    q = embedder.embed_texts(captions)
    return recall_at_k(q @ mat.T, np.array(owner))


def class_queries(entries, mat, embedder) -> dict | None:
    classes = sorted({c for e in entries for c in e.get("classes") or []})
    if not classes:
        return None
    q = embedder.embed_texts(classes)
    scores = q @ mat.T
    p10, aps = [], []
    for ci, name in enumerate(classes):
        relevant = np.array([name in (e.get("classes") or []) for e in entries])
        top = np.argsort(-scores[ci], kind="stable")[:10]
        p10.append(relevant[top].mean())
        aps.append(average_precision(scores[ci], relevant))
    return {"P@10": float(np.mean(p10)), "mAP": float(np.mean(aps)), "classes": len(classes)}


def image_to_image(entries, mat) -> dict | None:
    labelled = [i for i, e in enumerate(entries) if e.get("classes")]
    if len(labelled) < 11:
        return None
    sets = [set(entries[i]["classes"]) for i in labelled]
    sub = mat[labelled]
    sims = sub @ sub.T
    np.fill_diagonal(sims, -np.inf)
    p = []
    for row, s in enumerate(sims):
        top = np.argsort(-s, kind="stable")[:10]
        p.append(np.mean([bool(sets[row] & sets[j]) for j in top]))
    return {"P@10": float(np.mean(p))}


def index_dataset(dataset: Path, library: Path, model: str | None, device: str):
    from .catalog import Catalog

    cat = Catalog(library, device=device, model=model)
    cat.add_folder(dataset)
    cat.index_all()
    return cat


def evaluate(dataset: Path, model: str | None = None, device: str = "auto",
             calibration: Path | None = None, words: bool = False) -> dict:
    dataset = Path(dataset).resolve()
    entries = load_labels(dataset)
    with tempfile.TemporaryDirectory(prefix="photolens-eval-") as tmp:
        cat = index_dataset(dataset, Path(tmp), model, device)
        try:
            ids, mat = cat.store.vectors(cat.model.name)
            by_path = {p.path: p.id for p in cat.store.photos_in_folder(cat.store.folders()[0]["id"]).values()}
            pos = {int(pid): i for i, pid in enumerate(ids)}
            keep = [e for e in entries if by_path.get(e["path"]) in pos]
            rows = mat[[pos[by_path[e["path"]]] for e in keep]]
            report = {
                "dataset": str(dataset), "model": cat.model.name, "photos": len(keep),
                "text_to_image": text_to_image(keep, ids, rows, cat.embedder),
                "class_query": class_queries(keep, rows, cat.embedder),
                "image_to_image": image_to_image(keep, rows),
                "tags": tag_quality(cat, keep, dataset, calibration, device),
                "tags_in_captions": tags_in_captions(cat, keep),
            }
            if words:  # words found first, fusion against meaning, OCR cost (evaluate_words.py)
                report["words"] = words_report(cat, keep, by_path, Path(tmp))
        finally:
            cat.close()
    return report


def tag_quality(cat, entries, dataset: Path, calibration: Path | None, device: str) -> dict | None:
    """Auto-tag precision and recall against the set's classes (None without classes or tags)."""
    if not any(e.get("classes") for e in entries):
        return None
    from .tagging import measure_tags

    return measure_tags(cat, entries, dataset, calibration, device)


def tags_in_captions(cat, entries) -> dict | None:
    """Which share of the auto-tags the photos' captions name (None without captions or tags)."""
    if not any(e.get("captions") for e in entries):
        return None
    from .tagging import caption_check

    return caption_check(cat, entries)
