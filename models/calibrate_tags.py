"""Calibrate every auto-tag term that can be shown; drop those whose precision cannot be.

    .venv/bin/python models/tag_outputs.py          (the built model's outputs, cached; minutes)
    .venv/bin/python models/calibrate_tags.py       -> models/data/tag_calibration.json

Weak labels: a term is in a photo when one of its captions names the term, a synonym or a
hyponym (engine/tag_terms.TermMap.family: "whippet" in a caption counts for "dog"), or, on
coco-mini, when its COCO labels have it. Captions name less than a photo shows, so precision
measured this way is a lower bound.

Each term's scores are the tagger's, synonyms merged and fine terms rolled up, with sensitive
terms held back on photos with people, exactly as at run time (engine/tag_terms.py,
engine/tag_policy.py). Its threshold is the lowest at which the photos above it are named
with precision TERM_PRECISION, with CONFIDENCE (Wilson's bound over the weighed counts, coco-mini's
photos weighed as in a natural library), and at least MIN_SUPPORT photos above it; on coco-mini
alone, a COCO term (exactly labelled there) must reach COCO_PRECISION, the precision `photolens
eval` calibrates for. A term that never gets there is left out: it is not suggested.

Reads flickr8k-train (a fixed sample: models/tag_outputs.py) and coco-mini only; flickr8k-dev and
coco128 are where `photolens eval` measures. The caption tagger was trained on all of
flickr8k-train, so its evidence is somewhat better on these photos than on a user's; coco-mini's
photos, which it never saw, are in the calibration too, and the README reports the held-out figures.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "app"))
from tag_outputs import outputs_for  # noqa: E402

from photolens.engine.captions import CaptionIndex, caption_words  # noqa: E402
from photolens.engine.tag_terms import load_term_map  # noqa: E402

# A shown tag is named by the photo's captions at least this often, and at least BASE_LIFT of
# the way from the term's base rate to certainty: "person" is in 78% of flickr8k-train's
# photos, so 0.6 alone would put it on every photo.
TERM_PRECISION = 0.6
BASE_LIFT = 0.25
CONFIDENCE = 0.8  # ... with this confidence (as the COCO threshold: calibration.CALIBRATION_CONFIDENCE)
MIN_SUPPORT = 4.0  # weighed photos above a threshold: fewer cannot show a precision
# Words captions use in another sense than the tag's ("does" is not a doe, "watches" not a
# watch, "fans" not a fan), or that name a person's role, which a tag must not guess ("groom",
# "driver"), or say too little to browse by ("equipment"): never shown, however often named.
NOT_SHOWN = {"empty", "facing", "round", "balance", "lead", "hind", "doe", "steep", "light brown", "knit", "rough",
             "bottom", "cross", "match", "place", "stop", "catch", "course", "fight", "tug", "float", "patch",
             "pack", "block", "star", "ring", "display", "frame", "corner", "fan", "driver", "runner",
             "ballplayer", "racer", "groom", "yellow jacket", "structure", "instrument", "equipment", "hole",
             "step", "track", "spray", "gear", "tackle", "watch", "swing", "slide", "dive", "wave", "sport",
             "stick", "goal", "muzzle", "collar", "plate", "tank", "glass", "deck", "bar", "tube", "net", "rail",
             "trunk", "seat", "platform", "court", "concrete", "wood", "sign", "pipe", "fire", "pole", "skate",
             "harness", "ramp", "wheel", "box", "pants", "lead", "back", "top", "front", "side", "end", "pass",
             "jump", "run", "walk", "play", "kick", "hit", "ride", "climb", "throw", "shot", "pool"}
FLICKR_PHOTOS = 1500  # flickr8k-train photos run through the model (models/tag_outputs.py)


def weak_labels(entries: list[dict], words: list[str], vocab: dict, coco: bool) -> np.ndarray:
    """[N, T] bool: the photo's captions (and COCO labels) name the term or one of its family."""
    index = CaptionIndex(vocab)
    family = load_term_map().family(words)
    col = {w: j for j, w in enumerate(words)}
    y = np.zeros((len(entries), len(words)), bool)
    named = np.zeros((len(entries), len(words)), bool)
    for i, e in enumerate(entries):
        for w in index.named(" \n ".join(e.get("captions") or [])):
            named[i, col[w]] = True
        if coco:
            for c in e.get("classes") or []:
                t = vocab["coco_map"].get(c, c)
                if t in col:
                    named[i, col[t]] = True
    for w, members in family.items():
        y[:, col[w]] = named[:, [col[m] for m in members]].any(axis=1)
    return y


def labelled(words: list[str], vocab: dict) -> np.ndarray:
    """[T] bool: terms the labels can speak for (a caption pattern, or a COCO class)."""
    pats = caption_words(vocab)
    family = load_term_map().family(words)
    coco = set(vocab["coco_map"].values())
    return np.array([any(m in pats or m in coco for m in family[w]) for w in words])


def lower_bound(k: np.ndarray, n: np.ndarray, confidence: float) -> np.ndarray:
    """Wilson's lower confidence bound on a proportion k/n: the precision reached with `confidence`
    (one-sided). Better than the normal one for few photos and precisions near 1."""
    from statistics import NormalDist

    z = NormalDist().inv_cdf(confidence)
    p = k / np.maximum(n, 1e-9)
    centre = p + z * z / (2 * n)
    spread = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - spread) / (1 + z * z / n)


def _threshold(s: np.ndarray, hit: np.ndarray, wt: np.ndarray,
               precision: float = TERM_PRECISION) -> tuple[float, float, float] | None:
    """(threshold, precision, photos) for one term on weighed photos, or None: the lowest score
    whose photos above reach the target (`precision`, raised by BASE_LIFT) with CONFIDENCE."""
    order = np.argsort(-s)
    s_sorted, hit, wt = s[order], hit[order], wt[order]
    n = np.cumsum(wt)
    k = np.cumsum(wt * hit)
    valid = (s_sorted > 0) & (n >= MIN_SUPPORT) & np.append(s_sorted[1:] < s_sorted[:-1], True)
    if not valid.any():
        return None
    idx = np.flatnonzero(valid)
    target = max(precision, k[-1] / n[-1] + BASE_LIFT * (1 - k[-1] / n[-1]))
    ok = idx[lower_bound(k[idx], n[idx], CONFIDENCE) >= target]
    if not len(ok):
        return None
    last = ok.max()  # the lowest threshold that still reaches the target
    return float(s_sorted[last]), float(k[last] / n[last]), float(n[last])


def term_thresholds(sets: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]], can_label: np.ndarray,
                    words: list[str]) -> dict[str, dict]:
    """Each term's threshold on all sets together, raised where one set on its own (a set
    with MIN_SUPPORT * 2 photos above it) does not reach the target there: photos unlike
    flickr8k-train's (coco-mini's) must not pay for its base rates. A set is (scores, labels,
    weights, exact): `exact` [T] marks the terms whose labels there are exact (coco-mini's COCO
    classes), held on their own to COCO_PRECISION: weak labels from captions understate
    precision, so TERM_PRECISION is lower; exact ones do not, and a wrong tag of a COCO class
    is as costly as the threshold `photolens eval` asks for."""
    from photolens.engine.calibration import COCO_PRECISION

    scores = np.concatenate([s for s, _, _, _ in sets])
    y = np.concatenate([t for _, t, _, _ in sets])
    weights = np.concatenate([w for _, _, w, _ in sets])
    out = {}
    for j, w in enumerate(words):
        if not can_label[j] or w in NOT_SHOWN:
            continue
        found = _threshold(scores[:, j], y[:, j], weights)
        if found is None:
            continue
        thr = found[0]
        for s, t, wt, exact in sets:
            if wt[s[:, j] >= thr].sum() >= 2 * MIN_SUPPORT:
                own = _threshold(s[:, j], t[:, j], wt, COCO_PRECISION if exact[j] else TERM_PRECISION)
                thr = max(thr, own[0]) if own is not None else np.inf
        if not np.isfinite(thr):
            continue
        above = scores[:, j] >= thr
        n = float(weights[above].sum())
        if n < MIN_SUPPORT:
            continue
        out[w] = {"threshold": round(thr, 4), "precision": round(float((weights * y[:, j])[above].sum()) / n, 3),
                  "photos": round(n, 1)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=int, default=FLICKR_PHOTOS)
    args = ap.parse_args()
    from photolens.engine.embedder import Embedder
    from photolens.engine.models import get_model
    from photolens.engine.calibration import COCO_PRECISION, coco_terms, natural_weights, threshold_for_precision
    from photolens.engine.outputs import DETAIL_KINDS
    from photolens.engine.shown_tags import ShownTags
    from photolens.engine.tagscore import FACE_TERMS
    from photolens.engine.tagger import Tagger, faces_seen, vocabulary

    vocab = vocabulary()
    words = [t["term"] for t in vocab["terms"]]
    model = get_model("builtin")
    tagger = Tagger(None, Embedder(model, "cpu"), words)
    shown = ShownTags(words, tagger.threshold, True)  # everything but the per-term thresholds
    sets, faceless_sets = [], []
    for name, n in (("coco-mini", None), ("flickr8k-train", args.photos)):
        entries, out = outputs_for(name, n)
        out = {k: v.astype(np.float32) for k, v in out.items()}
        raw = tagger.raw_scores(out, tagger.stats(out))
        seen = faces_seen(out)
        held, people = shown(raw, seen), shown.people(raw)
        coco = name == "coco-mini"
        weights = natural_weights([set(e.get("classes") or []) for e in entries]) if coco else np.ones(len(entries))
        y = weak_labels(entries, words, vocab, coco)
        truth_people = y[:, words.index("person")]
        print(f"{name}: photos with people by their labels {truth_people.sum()}/{len(entries)}; the policy "
              f"finds {(people & truth_people).sum()} of them, and {(people & ~truth_people).sum()} others", flush=True)
        # A photo the detail pass has not reached (or never will, with thorough tags off) has no face
        # score, and "person" is scored without it (tagscore.stacked_by_faces): the face terms get
        # thresholds for that state too, measured with the whole photo standing in for the pass.
        no_pass = {k: v for k, v in out.items() if k not in DETAIL_KINDS}
        raw_faceless = tagger.raw_scores(no_pass, tagger.stats(out))
        faceless = shown.people(raw_faceless)
        print(f"  without the face score: it finds {(faceless & truth_people).sum()}, and "
              f"{(faceless & ~truth_people).sum()} others", flush=True)
        exact = np.array([coco and w in set(vocab["coco_map"].values()) for w in words])
        sets.append((held, y, weights, exact))
        faceless_sets.append((shown(raw_faceless), y, weights, exact))
    result = term_thresholds(sets, labelled(words, vocab), words)
    face_terms = np.array([w in FACE_TERMS and w in result for w in words])
    faceless_result = term_thresholds(faceless_sets, labelled(words, vocab) & face_terms, words)
    print(f"without the face score: {faceless_result}", flush=True)
    # The COCO terms without a threshold of their own get one for the group (the same precision target), on coco-mini's
    # exact labels (weighed as in a natural library), as `photolens eval` calibrates.
    entries, out = outputs_for("coco-mini", None)
    out = {k: v.astype(np.float32) for k, v in out.items()}
    group = np.array([w in set(vocab["coco_map"].values()) and w not in result for w in words])
    allowed, mapping = coco_terms(words)
    cal = threshold_for_precision(shown(tagger.raw_scores(out, tagger.stats(out)), faces_seen(out)),
                                  [{mapping.get(c, c) for c in e.get("classes") or []} for e in entries],
                                  words, group, TERM_PRECISION)
    for w in np.array(words)[group]:
        result[str(w)] = {"threshold": round(cal.threshold, 4), "group": "coco"}
    print(f"{int(group.sum())} COCO terms as a group: threshold {cal.threshold:.3f}, precision {cal.precision:.3f}, "
          f"recall {cal.recall:.3f} on coco-mini", flush=True)
    sha = hashlib.sha256((model.folder / model.manifest["tagger"]["file"]).read_bytes()).hexdigest()
    path = HERE / "data" / "tag_calibration.json"
    path.write_text(json.dumps({
        "about": "Per-term thresholds of the built-in model's tagger (engine/tag_terms.py); terms left out "
                 "are never suggested. Made by models/calibrate_tags.py on flickr8k-train and coco-mini.",
        "tagger_sha256": sha, "term_precision": TERM_PRECISION, "confidence": CONFIDENCE,
        "coco_precision": COCO_PRECISION,
        "terms": dict(sorted(result.items())),
        "faceless_terms": dict(sorted(faceless_result.items()))}, indent=1) + "\n")
    coco_terms = set(vocab["coco_map"].values())
    print(f"{len(result)} terms can be shown ({sum(t in coco_terms for t in result)} COCO terms); wrote {path}")


if __name__ == "__main__":
    main()
