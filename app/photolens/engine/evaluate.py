"""Search and tag quality measured on a labelled photo set (a folder with labels.json).

The set is indexed into a temporary library with the chosen model, exactly as a user's photos
would be, and measured with the standard retrieval measures; auto-tags are measured against its
classes and captions. Metrics the set cannot give (no captions, no classes) are None. Where the
sets are is the caller's business: nothing here knows a dataset path. Evaluation only: nothing
that runs while indexing imports this module.
"""
from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

from .calibration import calibrate, coco_terms
from .captions import caption_patterns
from .catalog import Catalog
from .config import bundled_models_dir
from .errors import LibraryError
from .evaluate_words import words_report
from .outputs import PhotoOutputs
from .tag_audit import audit
from .tagger import Tagger, vocabulary

KS = (1, 5, 10)
NONSENSE_FILE = "nonsense_queries.json"


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


def text_to_image(entries, ids, mat, embedder, shift=0.0) -> dict | None:
    """Caption recall at k, scored as text search scores: similarity plus `shift` [N], each
    photo's hub correction (hubness.py; 0 for a model without a query bank)."""
    captions, owner = [], []
    for i, e in enumerate(entries):
        for c in e.get("captions") or []:
            captions.append(c.strip())
            owner.append(i)
    if not captions:
        return None
    q = embedder.embed_texts(captions)
    return recall_at_k(q @ mat.T + shift, np.array(owner))


def nonsense_queries() -> list[str]:
    """The hand-written nonsense and stop-word queries (models/data/nonsense_queries.json)."""
    return json.loads((bundled_models_dir() / "data" / NONSENSE_FILE).read_text())["queries"]


def honest_cutoff(entries, mat, embedder, cut: float, shift=0.0) -> dict:
    """How the match cut-off behaves: the share of captions whose own photo is a good match
    (scores at or above the cut-off), and the share of nonsense queries with no good match.
    Scores as text search gives them: similarity plus `shift` (see text_to_image)."""
    captions, owner = [], []
    for i, e in enumerate(entries):
        for c in e.get("captions") or []:
            captions.append(c.strip())
            owner.append(i)
    nonsense = nonsense_queries()
    best = (embedder.embed_texts(nonsense) @ mat.T + shift).max(1) if len(mat) else np.zeros(len(nonsense))
    report = {"threshold": round(cut, 3), "nonsense_queries": len(nonsense),
              "nonsense_no_good_match": float((best < cut).mean()), "caption_own_photo_good": None}
    if captions:
        own = (embedder.embed_texts(captions) @ mat.T + shift)[np.arange(len(owner)), owner]
        report["caption_own_photo_good"] = float((own >= cut).mean())
    return report


def class_queries(entries, cat, photo_ids: list[int]) -> dict | None:
    """Each class name as a query, ranked by the catalog's own search (as a user gets it:
    the joint space and, for a name the tagger knows, its tags)."""
    classes = sorted({c for e in entries for c in e.get("classes") or []})
    if not classes:
        return None
    row_of = {pid: i for i, pid in enumerate(photo_ids)}
    p10, aps = [], []
    for name in classes:
        relevant = np.array([name in (e.get("classes") or []) for e in entries])
        ranked = [row_of[r.id] for r in cat.search(name, k=len(photo_ids)) if r.id in row_of]
        scores = np.full(len(entries), -np.inf)
        scores[ranked] = -np.arange(len(ranked), dtype=float)  # rank order; unranked photos last
        top = np.argsort(-scores, kind="stable")[:10]
        p10.append(relevant[top].mean())
        aps.append(average_precision(scores, relevant))
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
    cat = Catalog(library, device=device, model=model)
    cat.add_folder(dataset)
    cat.index_all(faces=False)  # search quality only: the face pass has its own bench
    return cat


def evaluate(dataset: Path, model: str | None = None, device: str = "auto",
             calibration: Path | None = None, words: bool = False) -> dict:
    dataset = Path(dataset).resolve()
    entries = load_labels(dataset)
    with tempfile.TemporaryDirectory(prefix="photolens-eval-") as tmp:
        # The library and the words set side by side: a folder inside the library's own folder
        # is never indexed (its thumbnails and backups are not photos).
        cat = index_dataset(dataset, Path(tmp) / "library", model, device)
        try:
            ids, mat = cat.store.vectors(cat.model.name)
            by_path = {p.path: p.id for p in cat.store.photos_in_folder(cat.store.folders()[0]["id"]).values()}
            pos = {int(pid): i for i, pid in enumerate(ids)}
            keep = [e for e in entries if by_path.get(e["path"]) in pos]
            rows = mat[[pos[by_path[e["path"]]] for e in keep]]
            bank = cat.searcher.query_bank
            shift = bank.correction(rows, bank.mean_hub(mat))[None] if bank is not None and len(rows) else 0.0
            report = {
                "dataset": str(dataset), "model": cat.model.name, "photos": len(keep),
                "text_to_image": text_to_image(keep, ids, rows, cat.embedder, shift),
                # The same without the hub correction: what the joint space alone ranks.
                "text_to_image_similarity_only": text_to_image(keep, ids, rows, cat.embedder) if bank else None,
                "class_query": class_queries(keep, cat, [by_path[e["path"]] for e in keep]),
                "image_to_image": image_to_image(keep, rows),
                "match_cutoff": honest_cutoff(keep, rows, cat.embedder, cat.match_threshold, shift),
                "tags": tag_quality(cat, keep, dataset, calibration, device),
                "tags_in_captions": tags_in_captions(cat, keep),
                "tag_audit": tag_audit(cat, keep),
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
    return measure_tags(cat, entries, dataset, calibration, device)


def tags_in_captions(cat, entries) -> dict | None:
    """Which share of the auto-tags the photos' captions name (None without captions or tags)."""
    if not any(e.get("captions") for e in entries):
        return None
    return caption_check(cat, entries)


# -- tags --------------------------------------------------------------------------------

def tag_audit(cat, entries) -> dict | None:
    """The audit (tag_audit.py) of the tags on the set's photos with people, by their labels:
    `offensive_tags` must be 0. None where no labels say which photos show people."""
    if not any(e.get("captions") or e.get("classes") for e in entries):
        return None
    tagger = cat.tagger
    keep, outputs = _labelled_outputs(tagger, cat, entries)
    if not keep:
        return None
    tags = tagger.tags_for(outputs, tagger.stats(outputs))
    return audit(keep, tags, vocabulary()).to_json()


def _prf(tagger, scores, entries, threshold, allowed, mapping) -> tuple[float, float]:
    tp = fp = fn = 0
    for tags, e in zip(tagger.tags_from_scores(scores, threshold, allowed), entries):
        truth = {mapping.get(c, c) for c in e.get("classes") or []}
        got = {w for w, _ in tags}
        tp += len(got & truth)
        fp += len(got - truth)
        fn += len(truth - got)
    return (tp / (tp + fp) if tp + fp else 1.0), (tp / (tp + fn) if tp + fn else 0.0)


def _labelled_outputs(tagger: Tagger, cat, entries: list[dict]) -> tuple[list[dict], PhotoOutputs]:
    """The stored outputs of a set indexed into `cat`, in the order of its labelled entries."""
    rows = {p.path: p.id for p in cat.store.photos_in_folder(cat.store.folders()[0]["id"]).values()}
    ids, outputs = tagger.stored_outputs([rows[e["path"]] for e in entries if e["path"] in rows], cat.store)
    have = set(ids)
    keep = [e for e in entries if rows.get(e["path"]) in have]
    return keep, outputs


def caption_check(cat, entries: list[dict]) -> dict | None:
    """How many of the auto-tags a photo's own captions name (CAPTION_WORDS, plurals, aliases),
    for COCO terms and for the rest of the vocabulary, and the most frequent tags that captions
    seldom name. A lower bound on precision: captions do not name everything a photo shows
    ("whippet": the captions say "dog"). It is the only measure here for the thousands of terms
    no labelled set covers."""
    tagger = cat.tagger
    keep, outputs = _labelled_outputs(tagger, cat, [e for e in entries if e.get("captions")])
    if not keep:
        return None
    patterns = caption_patterns(vocabulary())
    coco = set(vocabulary()["coco_map"].values())
    named, count, per_term, per_term_named = Counter(), Counter(), Counter(), Counter()
    for tags, e in zip(tagger.tags_for(outputs, tagger.stats(outputs)), keep):
        text = " \n ".join(c.lower() for c in e["captions"])
        for term, _ in tags:
            hit = term in patterns and bool(patterns[term].search(text))
            kind = "coco_terms" if term in coco else "other_terms"
            count[kind] += 1
            named[kind] += hit
            per_term[term] += 1
            per_term_named[term] += hit
    seldom = [{"tag": t, "photos": n, "named": round(per_term_named[t] / n, 2)}
              for t, n in per_term.most_common() if n >= max(3, len(keep) // 50) and per_term_named[t] / n < 0.2]
    return {"tags_per_photo": round(sum(count.values()) / len(keep), 2),
            **{kind: {"tags": count[kind], "named_in_captions": round(named[kind] / count[kind], 3)}
               for kind in ("coco_terms", "other_terms") if count[kind]},
            "seldom_named": seldom[:10]}


def measure_tags(cat, entries, dataset: Path, calibration: Path | None, device: str) -> dict | None:
    """Precision and recall of auto-tags against COCO classes, with the threshold calibrated on
    the `calibration` set (the caller's choice: the CLI's default is coco-mini), never on the set
    measured; without one, at the model's own threshold."""
    tagger = Tagger(cat.store, cat.embedder)
    threshold, calibrated_on = tagger.threshold, None
    if calibration is not None and calibration.is_dir() and calibration.resolve() != dataset.resolve():
        cal_entries = load_labels(calibration)
        with tempfile.TemporaryDirectory() as tmp:
            cal = index_dataset(calibration, Path(tmp), cat.model.name, device)
            try:
                keep, outputs = _labelled_outputs(tagger, cal, cal_entries)
                threshold = calibrate(tagger, outputs, keep)
                calibrated_on = str(calibration)
            finally:
                cal.close()
    keep, outputs = _labelled_outputs(tagger, cat, entries)
    allowed, mapping = coco_terms(tagger.words)
    p, r = _prf(tagger, tagger.scores(outputs, tagger.stats(outputs)), keep, threshold, allowed, mapping)
    return {"precision": p, "recall": r, "threshold": round(threshold, 3), "calibrated_on": calibrated_on}
