"""Measuring words (photolens eval --words): does a word find its photo first, does fusion keep
meaning-based queries where they were, and what does reading text cost per photo.

On a library indexed from a labelled set (evaluate.py):
- captions: each caption as a query, R@1/R@10 of its own photo by meaning alone and fused with
  words, for several word weights (the weight in wordsearch.py was chosen from this table);
- OCR cost: CPU milliseconds per photo (one thread) of the reader over the set's photos;
then made-up words are drawn on some of the set's photos, written into file names and into a
folder's name (wordset.py), added to the same library, and each word is searched:
- drawn: the share of words whose photo comes first, and the share the reader read exactly;
- file names: the share of words whose file comes first;
- folders: the share of folder words whose folder's photos come first.
"""
from __future__ import annotations

import os
import random
import shutil
import time
from pathlib import Path

from .query import Query, Term
from .wordsearch import COVERAGE_POWER, fuse, parse_words, search_words
from .wordset import made_up_word, make_word_set

__all__ = ["words_report", "WEIGHTS"]

WEIGHTS = (0.0, 1.0, 1.5, 2.0, 3.0)  # word weights measured on the captions (0: meaning alone)
DRAWN = 100        # photos with a word drawn on them
NAMED = 20         # files with a made-up word in their name
FOLDERS = 5        # folders with a made-up word in their name, PER_FOLDER photos each
PER_FOLDER = 3
DEPTH = 200        # the meaning list's depth, as in wordapi.FUSE_DEPTH


def caption_fusion(cat, entries: list[dict], by_path: dict[str, int]) -> dict:
    """R@1 and R@10 of each caption's own photo, by meaning alone and fused at each weight."""
    hits_at = {w: [0, 0] for w in WEIGHTS}
    n = 0
    for e in entries:
        own = by_path.get(e["path"])
        for caption in e.get("captions") or []:
            q = caption.strip()
            # The caption as one phrase, as text_to_image embeds it (no query syntax: "man 's hat").
            meaning = [(r.id, r.score) for r in cat.searcher.search(Query((Term(q),), q), DEPTH)]
            words = search_words(cat.words, parse_words(q))
            n += 1
            for w in WEIGHTS:
                ranked = [pid for pid, _, _ in fuse(meaning, words, 10, weight=w, power=COVERAGE_POWER)]
                hits_at[w][0] += ranked[:1] == [own]
                hits_at[w][1] += own in ranked
    return {"captions": n, "coverage_power": COVERAGE_POWER,
            "by_weight": {str(w): {"R@1": hits_at[w][0] / max(1, n), "R@10": hits_at[w][1] / max(1, n)}
                          for w in WEIGHTS}}


def ocr_cost(cat, paths: list[str]) -> dict:
    """CPU time of reading text, per photo, over these photos (one thread, as the pass runs)."""
    reader = cat.text_reader
    reader.read_path(paths[0])  # sessions loaded outside the measurement
    cpu, wall, with_text = time.process_time(), time.monotonic(), 0
    for p in paths:
        with_text += bool(reader.read_path(p))
    n = max(1, len(paths))
    return {"photos": len(paths), "cpu_ms_per_photo": 1000 * (time.process_time() - cpu) / n,
            "wall_ms_per_photo": 1000 * (time.monotonic() - wall) / n, "photos_with_text": with_text}


def words_report(cat, entries: list[dict], by_path: dict[str, int], work: Path, seed: int = 20) -> dict:
    """The whole words measurement (see the module's docstring); `work` is a scratch folder."""
    report = {"captions": caption_fusion(cat, entries, by_path),
              "ocr": ocr_cost(cat, [e["path"] for e in entries])}
    rng = random.Random(seed)
    sources = [e["path"] for e in entries]
    picked = rng.sample(sources, min(len(sources), DRAWN + NAMED + FOLDERS * PER_FOLDER))
    root = work / "words-set"
    drawn = make_word_set(picked[:DRAWN], root / "drawn", seed)
    used = {w.word for w in drawn}  # every word of the set names one thing only
    named = _copies(picked[DRAWN:DRAWN + NAMED], root / "named", rng, "{word}_{i:03d}.jpg", used)
    folders = []
    rest = picked[DRAWN + NAMED:]
    for f in range(FOLDERS):
        word = _new_word(rng, used)
        folder = root / "folders" / f"{word.capitalize()} {rng.choice(['trip', 'birthday', 'wedding'])} 2019"
        _copies(rest[f * PER_FOLDER:(f + 1) * PER_FOLDER], folder, rng, "IMG_{i:04d}.jpg", used)
        folders.append((word, folder))
    cat.add_folder(root)
    cat.index_all()
    report["drawn"] = _firsts(cat, [(w.word, [w.path]) for w in drawn])
    report["drawn"]["read_exactly"] = sum(
        any(w.word in ln.text.lower().replace(" ", "") for ln in cat.text_of(cat.photo_id(w.path)) or [])
        for w in drawn) / max(1, len(drawn))
    report["file_names"] = _firsts(cat, named)
    report["folders"] = _firsts(cat, [(w, [str(p) for p in sorted(folder.iterdir())]) for w, folder in folders])
    return report


def _new_word(rng: random.Random, used: set[str]) -> str:
    word = made_up_word(rng)
    while word in used:
        word = made_up_word(rng)
    used.add(word)
    return word


def _copies(sources: list[str], folder: Path, rng: random.Random, pattern: str,
            used: set[str]) -> list[tuple[str, list[str]]]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i, src in enumerate(sources):
        word = _new_word(rng, used)
        dest = folder / pattern.format(word=word, i=i)
        shutil.copyfile(src, dest)
        out.append((word, [str(dest)]))
    return out


def _firsts(cat, cases: list[tuple[str, list[str]]]) -> dict:
    """The share of words whose photos (all of them) are the first results."""
    first = 0
    misses = []
    for word, paths in cases:
        top = [r.path for r in cat.search(word, k=len(paths))]
        ok = sorted(top) == sorted(os.path.abspath(p) for p in paths)
        first += ok
        if not ok:
            misses.append(word)
    return {"words": len(cases), "first": first / max(1, len(cases)), "missed": misses[:20]}
