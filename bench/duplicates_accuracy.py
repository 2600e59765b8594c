"""How well duplicates are found on real photos with planted copies (chooses the thresholds).

    .venv/bin/python bench/duplicates_accuracy.py [--flickr 100] [--coco 60] [--json]

Originals: the first photos of flickr8k-dev and coco128. For each, planted copies: an exact
copy, a half-size re-encode at JPEG quality 70, a 92% centre crop, an EXIF-rotated copy (pixels
turned, Orientation tag turning them back), and two "pan" shots (70% crops at opposite corners,
standing in for a burst: the same scene, not the same photo). All are indexed with the built-in
model, then:
- the score distributions (features and embedding cosine) of each kind of copy against its
  original, and of the closest pairs of different originals (the margin the thresholds sit in);
- what find_duplicates groups: per kind, the share of copies grouped with their original
  (recall), groups holding two different originals (must be none), and pair precision.
"""
from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from common import DATASETS, emit

KINDS = ("exact", "half", "crop", "rotated")
PAN = "pan"


def originals(n_flickr: int, n_coco: int) -> list[Path]:
    out = []
    for name, n in (("flickr8k-dev", n_flickr), ("coco128", n_coco)):
        labels = json.loads((DATASETS / name / "labels.json").read_text())["images"]
        out += [DATASETS / name / e["file"] for e in labels[:n]]
    return out


def plant(src: Path, folder: Path, n: int) -> dict[str, Path]:
    """The original and its planted copies, written under `folder`; kind -> path."""
    img = Image.open(src).convert("RGB")
    w, h = img.size
    paths = {"original": folder / f"o{n:04d}.jpg"}
    shutil.copy(src, paths["original"])
    paths["exact"] = folder / "copies" / f"o{n:04d} copy.jpg"
    paths["exact"].parent.mkdir(exist_ok=True)
    shutil.copy(src, paths["exact"])
    paths["half"] = folder / "small" / f"o{n:04d}.jpg"
    paths["half"].parent.mkdir(exist_ok=True)
    img.resize((w // 2, h // 2), Image.LANCZOS).save(paths["half"], quality=70)
    cw, ch = round(w * 0.92), round(h * 0.92)
    left, top = (w - cw) // 2, (h - ch) // 2
    paths["crop"] = folder / "cropped" / f"o{n:04d}.jpg"
    paths["crop"].parent.mkdir(exist_ok=True)
    img.crop((left, top, left + cw, top + ch)).save(paths["crop"], quality=90)
    paths["rotated"] = folder / "rotated" / f"o{n:04d}.jpg"
    paths["rotated"].parent.mkdir(exist_ok=True)
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned 90 degrees clockwise: undoes the counter-clockwise turn
    img.transpose(Image.ROTATE_90).save(paths["rotated"], quality=92, exif=exif)
    pw, ph = round(w * 0.7), round(h * 0.7)
    for i, (x, y) in enumerate(((0, 0), (w - pw, h - ph))):
        p = folder / "pans" / f"o{n:04d}-{i}.jpg"
        p.parent.mkdir(exist_ok=True)
        img.crop((x, y, x + pw, y + ph)).resize((w, h), Image.LANCZOS).save(p, quality=90)
        paths[f"{PAN}{i}"] = p
    return paths


def _paths(folder: Path, n: int) -> dict[str, Path]:
    """The paths plant() wrote for original n."""
    name = f"o{n:04d}"
    return {"original": folder / f"{name}.jpg", "exact": folder / "copies" / f"{name} copy.jpg",
            "half": folder / "small" / f"{name}.jpg", "crop": folder / "cropped" / f"{name}.jpg",
            "rotated": folder / "rotated" / f"{name}.jpg", f"{PAN}0": folder / "pans" / f"{name}-0.jpg",
            f"{PAN}1": folder / "pans" / f"{name}-1.jpg"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--flickr", type=int, default=100)
    ap.add_argument("--coco", type=int, default=60)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--keep", type=Path, help="build the planted library here and keep it (reused if present)")
    args = ap.parse_args()

    from photolens.engine import Catalog
    from photolens.engine.duplicates import find_duplicates
    from photolens.engine.embedder import normalize

    srcs = originals(args.flickr, args.coco)
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        photos, lib = root / "photos", root / "lib"
        reuse = lib.is_dir()
        photos.mkdir(parents=True, exist_ok=True)
        planted = [plant(s, photos, n) for n, s in enumerate(srcs)] if not reuse else [
            _paths(photos, n) for n in range(len(srcs))]
        lib.mkdir(exist_ok=True)
        (lib / "settings.json").write_text(json.dumps({"model": "builtin", "thorough_tags": False}))
        cat = Catalog(lib, device="cpu")
        cat.add_folder(photos)
        t = time.perf_counter()
        cat.index_all(tag_details=False)
        index_s = time.perf_counter() - t
        model = cat.model.name
        id_of = {str(p): cat.photo_id(str(p)) for family in planted for p in family.values()}
        family_of = {id_of[str(p)]: n for n, family in enumerate(planted) for p in family.values()}
        kind_of = {id_of[str(p)]: k for family in planted for k, p in family.items()}

        ids, emb = cat.store.vectors(model)
        fids, feats = cat.store.vectors(model, "features")
        assert (ids == fids).all()
        emb, feats = normalize(emb), normalize(feats)
        row = {int(p): i for i, p in enumerate(ids)}
        fam = np.array([family_of[int(p)] for p in ids])
        scores = {}
        for name, mat in (("features", feats), ("embedding", emb)):
            sims = mat @ mat.T
            per_kind = {}
            for kind in (*KINDS, PAN):
                vals = []
                for family in planted:
                    o = row[id_of[str(family["original"])]]
                    keys = [k for k in family if k.startswith(kind)] if kind == PAN else [kind]
                    vals += [float(sims[o, row[id_of[str(family[k])]]]) for k in keys]
                per_kind[kind] = {"min": round(min(vals), 4), "p5": round(float(np.percentile(vals, 5)), 4),
                                  "median": round(float(np.median(vals)), 4)}
            pan_pairs = [float(sims[row[id_of[str(f["pan0"])]], row[id_of[str(f["pan1"])]]]) for f in planted]
            per_kind["pan_vs_pan"] = {"min": round(min(pan_pairs), 4), "median": round(float(np.median(pan_pairs)), 4)}
            different = fam[:, None] != fam[None, :]
            per_kind["different_photos_max"] = round(float(sims[different].max()), 4)
            top = np.sort(sims[different])[::-1][:20:2]  # each pair counted twice
            per_kind["different_photos_top10"] = [round(float(x), 4) for x in top]
            scores[name] = per_kind

        t = time.perf_counter()
        groups = find_duplicates(cat.store, model, with_similar=True)
        find_s = time.perf_counter() - t
        cat.close()

    copies = [g for g in groups if g.kind != "similar"]
    grouped_with = {}
    for g in copies:
        for p in g.ids:
            grouped_with[p] = set(g.ids)
    recall = {}
    for kind in (*KINDS, PAN):
        hits = total = 0
        for family in planted:
            o = id_of[str(family["original"])]
            for k, p in family.items():
                if k == kind or (kind == PAN and k.startswith(PAN)):
                    total += 1
                    hits += o in grouped_with.get(id_of[str(p)], ())
        recall[kind] = round(hits / total, 4)
    mixed = [g for g in copies if len({family_of[p] for p in g.ids}) > 1]
    # Pair precision per kind of group: pairs of one photo's copies over all pairs. For copies
    # (exact, near) a pan counts as another photo; for similar shots, the same scene is right.
    precision = {}
    for kind in ("exact", "near", "similar"):
        pairs = same = 0
        for g in groups:
            if g.kind != kind:
                continue
            for i, a in enumerate(g.ids):
                for b in g.ids[i + 1:]:
                    pairs += 1
                    one_photo = family_of[a] == family_of[b]
                    if kind != "similar":
                        one_photo &= not (kind_of[a].startswith(PAN) or kind_of[b].startswith(PAN))
                    same += one_photo
        precision[kind] = round(same / pairs, 4) if pairs else None
    similar = [g for g in groups if g.kind == "similar"]
    mixed_similar = [g for g in similar if len({family_of[p] for p in g.ids}) > 1]
    pan_families = sum(1 for f in planted if any(
        {id_of[str(f["pan0"])], id_of[str(f["original"])]} <= set(g.ids) for g in similar))
    emit({"originals": len(srcs), "photos": len(family_of), "index_s": round(index_s, 1),
          "find_s": round(find_s, 2), "scores": scores, "recall": recall,
          "groups": len(copies), "groups_with_two_photos": len(mixed),
          "pair_precision": precision,
          "keep_is_original": round(sum(family_of[g.keep] is not None and kind_of[g.keep] in ("original", "exact")
                                        for g in copies) / max(1, len(copies)), 4),
          "keep_kinds": {k: sum(kind_of[g.keep] == k for g in copies)
                         for k in sorted({kind_of[g.keep] for g in copies})},
          "similar_groups": len(similar), "similar_groups_mixing_photos": len(mixed_similar),
          "pans_found_as_similar": round(pan_families / len(planted), 4)}, args.json)


if __name__ == "__main__":
    main()
