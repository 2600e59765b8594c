"""People on faces-dev: detection, clustering, name search, and what the face pass costs.

    python bench/faces.py [--json] [--model builtin] [--limit N]

A library is made of faces-dev's photos (indexed with thorough tags off), then the tag detail
pass (add_tag_details) and the face pass (find_faces) run over the same photos, each timed.
Measures (labels.json says who is in each photo):
  detection_rate   named faces found: per photo min(faces found, people named) / people named
                   (also on the whole photos alone: the LFW crops are easy)
  pairwise P / R   over faces of photos naming one person (the largest face carries the name;
                   faces of the others are unlabelled), "same person" = in the same cluster
  people_found     clusters, against the people with 2+ photos (a person seen once cannot form one)
  name_search_precision
                   each person's largest cluster is named after them (as a user would, one
                   cluster per person), then `search NAME`: share of the photos returned that
                   show them (micro over all names, and the mean per name)
  face/detail pass cost: seconds per photo, wall clock and CPU (all threads of this process)
The last line printed is one JSON document.
"""
from __future__ import annotations

import argparse
import itertools
import json
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from common import DATASETS, emit

from photolens.engine.catalog import Catalog  # noqa: E402 (common puts app/ on the path)


def timed(fn):
    wall, cpu = time.monotonic(), time.process_time()
    out = fn()
    return out, time.monotonic() - wall, time.process_time() - cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--model", default="builtin")
    ap.add_argument("--limit", type=int, default=None, help="only the first N photos (quick look)")
    ap.add_argument("--sides", help="instead: for each analysis size (e.g. 800,896,1024), detection on the "
                                    "whole photos and the face pass's CPU per 12-MP photo")
    ap.add_argument("--large", type=int, default=24,
                    help="also time both passes on N 12-MP JPEGs (bench/indexing.py's; 0: skip)")
    args = ap.parse_args()
    root = DATASETS / "faces-dev"
    if args.sides:
        emit(sides(root, [int(x) for x in args.sides.split(",")], args.large or 24), args.json)
        return
    entries = json.loads((root / "labels.json").read_text())["images"][: args.limit]
    tmp = Path(tempfile.mkdtemp(prefix="photolens-faces-"))
    photos = tmp / "photos"
    photos.mkdir()
    who, kinds = {}, {}
    for e in entries:
        name = Path(e["file"]).name
        shutil.copy(root / e["file"], photos / name)
        who[name] = e["people"]
        kinds[name] = e["image_type"]
    try:
        result = run(tmp, photos, who, kinds, args.model)
        if args.large:
            result.update(large(tmp, args.large, args.model))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    emit(result, args.json)


def run(tmp: Path, photos: Path, who: dict[str, list[str]], kinds: dict[str, str], model: str) -> dict:
    cat = Catalog(tmp / "lib", model=model)
    try:
        cat.set_thorough_tags(False)
        cat.add_folder(photos)
        cat.index_all(tag_details=False, faces=False)
        cat.set_thorough_tags(True)
        detail, d_wall, d_cpu, found, f_wall, f_cpu = both_passes(cat)
        n = len(who)
        clusters = {p.id: [Path(r.path).name for r in cat.person_photos(p.id)] for p in cat.people(True)}
        faces = {name: cat.faces_in_photo(cat.photo_id(str(photos / name))) for name in who}
        out = {"photos": n, "faces_found": cat.face_counts()["faces"], "detection_rate": detection(who, faces)}
        whole = {k: v for k, v in who.items() if kinds[k] == "photo"}
        out["whole_photos"] = len(whole)
        out["detection_rate_whole_photos"] = detection(whole, faces)
        out.update(pairwise(who, faces))
        seen = Counter(p for names in who.values() for p in names)
        out["people_there"] = len(seen)
        out["people_with_2_photos"] = sum(1 for c in seen.values() if c >= 2)
        out["people_found"] = len(clusters)
        out.update(name_search(cat, who, clusters))
        out["detail_pass_photos"] = detail["embedded"]
        out["detail_pass_s_per_photo"] = round(d_wall / max(1, detail["embedded"]), 4)
        out["detail_pass_cpu_s_per_photo"] = round(d_cpu / max(1, detail["embedded"]), 4)
        out["face_pass_s_per_photo"] = round(f_wall / max(1, found["photos"]), 4)
        out["face_pass_cpu_s_per_photo"] = round(f_cpu / max(1, found["photos"]), 4)
        out["face_vs_detail_cpu"] = round(out["face_pass_cpu_s_per_photo"] / max(1e-9, out["detail_pass_cpu_s_per_photo"]), 2)
        return out
    finally:
        cat.close()


def both_passes(cat: Catalog) -> tuple:
    """The detail pass, then the face pass, each timed after its first photo (which loads its
    models: a library pays that once, not per photo). Returns (summary, wall s, cpu s) twice."""
    cat.add_tag_details(limit=1)
    detail, d_wall, d_cpu = timed(cat.add_tag_details)
    cat.find_faces(limit=1)
    found, f_wall, f_cpu = timed(cat.find_faces)
    return detail, d_wall, d_cpu, found, f_wall, f_cpu


def large(tmp: Path, n: int, model: str) -> dict:
    """Both passes timed on 12-MP JPEGs (what a camera library holds; faces-dev is mostly
    250-px crops), made from the shared photo sets as bench/indexing.py makes them."""
    from indexing import make_large_jpegs

    cat = Catalog(tmp / "lib-large", model=model)
    try:
        cat.set_thorough_tags(False)
        cat.add_folder(make_large_jpegs(n))
        cat.index_all(tag_details=False, faces=False)
        cat.set_thorough_tags(True)
        detail, d_wall, d_cpu, found, f_wall, f_cpu = both_passes(cat)
        return {"large_photos": found["photos"], "large_faces_found": cat.face_counts()["faces"],
                "large_detail_cpu_s_per_photo": round(d_cpu / max(1, detail["embedded"]), 4),
                "large_face_cpu_s_per_photo": round(f_cpu / max(1, found["photos"]), 4),
                "large_detail_s_per_photo": round(d_wall / max(1, detail["embedded"]), 4),
                "large_face_s_per_photo": round(f_wall / max(1, found["photos"]), 4),
                "large_face_vs_detail_cpu": round(f_cpu / max(1, found["photos"]) /
                                                  max(1e-9, d_cpu / max(1, detail["embedded"])), 2)}
    finally:
        cat.close()


def sides(root: Path, values: list[int], n: int) -> dict:
    """engine/faces.py's ANALYSIS_SIDE tried at several values (the module constant is set)."""
    from indexing import make_large_jpegs

    from photolens.engine import faces as face_module

    entries = [e for e in json.loads((root / "labels.json").read_text())["images"] if e["image_type"] == "photo"]
    large = sorted(make_large_jpegs(n).glob("*.jpg"))
    out = {}
    for side in values:
        face_module.ANALYSIS_SIDE, face_module.DECODE_SHORT_SIDE = side, side * 2 // 3
        finder = face_module.FaceFinder()
        finder.find(str(large[0]))  # loaded before the clock starts
        named = sum(len(e["people"]) for e in entries)
        found = sum(min(len(e["people"]), len(finder.find(str(root / e["file"])).faces)) for e in entries)
        _, _, cpu = timed(lambda: [finder.find(str(p)) for p in large])
        out[f"side{side}"] = {"detection_rate_whole_photos": round(found / max(1, named), 4),
                              "large_face_cpu_s_per_photo": round(cpu / len(large), 4)}
    return out


def detection(who: dict, faces: dict) -> float:
    named = sum(len(p) for p in who.values())
    found = sum(min(len(faces[name]), len(p)) for name, p in who.items())
    return round(found / max(1, named), 4)


def pairwise(who: dict, faces: dict) -> dict:
    labelled = []  # (person label, cluster id or None)
    for name, people in who.items():
        if len(people) == 1 and faces[name]:
            main = max(faces[name], key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))
            labelled.append((people[0], main.person_id))
    tp = fp = fn = 0
    for (la, ca), (lb, cb) in itertools.combinations(labelled, 2):
        same, together = la == lb, ca is not None and ca == cb
        tp += same and together
        fp += together and not same
        fn += same and not together
    return {"labelled_faces": len(labelled), "pairwise_precision": round(tp / max(1, tp + fp), 4),
            "pairwise_recall": round(tp / max(1, tp + fn), 4), "unclustered_labelled_faces":
            sum(1 for _, c in labelled if c is None)}


def name_search(cat: Catalog, who: dict, clusters: dict[int, list[str]]) -> dict:
    """Name each person's largest cluster (by majority label), then search each name."""
    best: dict[str, tuple[int, int]] = {}
    for pid, names in clusters.items():
        votes = Counter(p for n in names for p in who[n])
        if not votes:
            continue
        person, count = votes.most_common(1)[0]
        if count > best.get(person, (0, -1))[0]:
            best[person] = (count, pid)
    for person, (_, pid) in best.items():
        cat.name_person(pid, person)
    right = returned = 0
    per_name = []
    recall = []
    for person in best:
        hits = [Path(r.path).name for r in cat.search(person, k=1000)]
        ok = sum(1 for h in hits if person in who[h])
        right, returned = right + ok, returned + len(hits)
        per_name.append(ok / max(1, len(hits)))
        recall.append(ok / sum(1 for p in who.values() if person in p))
    return {"people_named": len(best), "name_search_precision": round(right / max(1, returned), 4),
            "name_search_precision_mean": round(sum(per_name) / max(1, len(per_name)), 4),
            "name_search_recall_mean": round(sum(recall) / max(1, len(recall)), 4)}


if __name__ == "__main__":
    sys.exit(main())
