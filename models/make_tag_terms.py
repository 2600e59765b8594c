"""Build the auto-tags' term data: which words merge or roll up, which never go on people.

    apt-get install wordnet-base          (WordNet 3.0's database, Princeton licence)
    .venv/bin/python models/make_tag_terms.py [--wordnet /usr/share/wordnet]
        -> models/data/tag_terms.json          synonyms and roll-ups (engine/tag_terms.py)
        -> models/data/sensitive_terms.json    the "never offend" policy (engine/tag_policy.py)
        -> models/data/tag_audit_terms.json    the broader audit list (engine/tag_audit.py)

Synonyms: vocabulary terms that are lemmas of one WordNet synset (their most common sense) are
one tag; the one captions use most (then the shorter) names it ("sand bar" -> "sandbar",
"brassiere" -> "bra"). Roll-ups: a term that is not an everyday word (not COCO, not one of the
hand-made scene/event/activity lists, not an ImageNet group, not named in MIN_CAPTIONS
flickr8k-train photos) goes to its nearest WordNet ancestor that is one, at most MAX_HOPS up
("whippet" -> "dog", "proboscis monkey" -> "monkey").

Sensitive terms: WordNet gives every animal (under animal.n.01, first sense) and every primate,
underwear, weapon and medical instrument in the vocabulary; the hand lists below add what WordNet
files elsewhere (toilets, prisons, coffins, body words, waste). The JSON files are the data the
app reads and may be edited by hand; re-running this script rebuilds them from these lists.
"""
from __future__ import annotations

import argparse
import collections
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
sys.path.insert(0, str(HERE.parent / "app"))
from photolens.engine.captions import CaptionIndex  # noqa: E402

DATASETS = HERE.parent.parent / "shared" / "datasets"
MIN_CAPTIONS = 20  # flickr8k-train photos naming a word for it to count as everyday (as the caption tagger)
MAX_HOPS = 4  # a roll-up further up than this lands on words too general to help ("object")

# Words too general to stand for a fine term: "racer" -> "animal" or "parachute" -> "equipment"
# says less than leaving the fine term out.
TOO_GENERAL = {"animal", "person", "adult", "food", "structure", "equipment", "instrument", "vehicle", "room",
               "sport", "box", "arms", "plant", "place", "paint", "stick", "wheel", "device", "object", "thing",
               "container", "covering", "area", "material", "tool", "machine", "bag", "bush", "shop", "beer",
               "organism", "artifact", "system", "unit", "support", "surface", "part", "line", "mount"}
# WordNet merges these with a word that means something else in a photo ("glove" is a baseball
# glove there, "palace" a castle, "slug" a bullet): each stays its own term.
NOT_SYNONYMS = {"glove", "cod", "hammerhead", "measure", "booster", "cosmos", "carriage", "home plate",
                "long horse", "mini", "palace", "pointer", "scope", "stamp", "slug", "saddle horse", "water rat",
                "safety belt", "bundle", "denim", "random memory", "packet", "american coot", "terrace", "tub"}
# Spellings WordNet does not join (a plural that is a term of its own): merged by hand.
HAND_SYNONYMS = {"sunglass": "sunglasses", "ski": "skis", "flowers": "flower"}
# Where two spellings merge, these name the tag (the more common word, not WordNet's first).
PREFERRED = {"trash can", "affenpinscher", "tandem bicycle", "factory", "telephone", "seashore", "vacation"}

IMAGENET_ANIMALS = 398  # ImageNet-1k's classes 0-397 are animals (tench ... puffer)
IMAGENET_PRIMATES = (365, 385)  # orangutan ... indri: its apes, monkeys and lemurs
ANIMAL, PRIMATE = "00015388", "02469914"
UNDERGARMENT, NIGHTWEAR, SWIMSUIT = "04508163", "03825080", "04371563"
WEAPON, EXECUTION, PUNISHMENT = "04565375", "03575691", "03575958"
MEDICAL_INSTRUMENT, PLUMBING_FIXTURE = "03739693", "03969259"

# What WordNet does not file under the roots above, by hand. Each group says how it may go on a
# photo that shows people: "never" for words that describe the person when put on one, or
# "overwhelming" for things that can stand beside a person (a sink in a bathroom photo) and then
# need overwhelming evidence (engine/tag_policy.py).
HAND = {
    "primates": ("never", ["monkey", "ape", "gorilla", "chimpanzee", "orangutan", "baboon", "gibbon",
                           "macaque", "lemur", "capuchin", "marmoset", "mandrill", "primate"]),
    "animals": ("overwhelming", ["animal", "pet", "wildlife", "beast", "creature", "pig", "hog", "rat",
                                 "cow", "bull", "donkey", "mule", "goat", "sheep", "chicken", "hen",
                                 "snake", "worm", "slug", "leech", "cockroach", "weasel", "sloth",
                                 "koala", "walrus", "hippopotamus", "whale", "seal", "baby bird"]),
    "bathroom": ("overwhelming", ["toilet", "flush toilet", "public toilet", "toilet bowl", "toilet seat",
                                  "toilet tissue", "toilet powder", "urinal", "bidet", "bathtub", "bathing tub",
                                  "tub", "plunger", "bedpan", "potty", "chamber pot", "shower", "washbasin",
                                  "sink", "toilet bag", "toilet articles", "sewer"]),
    "medical": ("overwhelming", ["syringe", "needle", "pill", "vitamin pill", "capsule", "pill bottle",
                                 "bandage", "crutch", "wheelchair", "stretcher", "neck brace", "back brace",
                                 "knee brace", "ankle brace", "oxygen mask", "stethoscope", "hospital bed",
                                 "hospital", "hospital room", "ambulance", "medical instrument",
                                 "surgical instrument", "hearing aid", "respirator"]),
    "underwear": ("never", ["bra", "brassiere", "underwear", "lingerie", "panties", "long johns",
                            "diaper", "nightgown", "pajamas", "corset", "girdle", "thong", "swimming trunks",
                            "bikini", "swimsuit", "bathing cap"]),
    "punishment_death": ("never", ["prison", "jail", "cell", "cage", "guillotine", "gallows", "noose",
                                   "electric chair", "handcuff", "shackle", "chains", "pillory", "stocks",
                                   "whip", "coffin", "casket", "grave", "gravestone", "tombstone", "cemetery",
                                   "portal tomb", "burial chamber", "skull", "skeleton", "corpse", "hearse",
                                   "mummy", "dungeon", "execution"]),
    "weapons": ("overwhelming", ["gun", "rifle", "pistol", "revolver", "sword", "dagger", "bomb", "grenade",
                                 "hand grenade", "car bomb", "missile", "cannon", "machine gun", "spear",
                                 "hatchet", "bullet", "flick knife", "hunting knife", "tear gas", "pepper spray"]),
    "body": ("never", ["tattoo", "wig", "toupee", "belly", "potbelly", "pimple", "wart", "wrinkle", "nipple",
                       "oral cavity", "chest", "hip", "organ", "vein", "marrow", "tail", "fat", "obesity"]),
    "waste": ("overwhelming", ["garbage", "garbage heap", "junk", "trash can", "waste basket", "dumpster",
                               "manure", "dung", "sewage", "rag", "muzzle", "trap", "bait"]),
    # a person is not a thing made to look like one, nor a creature of fiction
    "likeness": ("never", ["statue", "sculpture", "doll", "dolly", "dummy", "mannequin", "scarecrow",
                           "puppet", "gargoyle", "robot", "clown", "monster", "devil", "zombie", "ghost",
                           "alien", "witch", "mask", "half mask", "ski mask"]),
}
# WordNet files these under a sensitive root, but their everyday sense in a photo is harmless
# ("pants" are trousers, "bat" there is mostly a baseball bat's neighbour).
NOT_SENSITIVE = {"pants", "kite", "mouse"}
# The audit is broader than the policy: things a careful reviewer would not want on a person
# either, though the policy lets them through with strong evidence or never sees them.
AUDIT_EXTRA = ["fencing mask", "gasmask", "collar", "leash", "hay", "nest", "broom", "mop", "bib", "pacifier",
               "balaclava", "cage", "kennel", "doghouse", "pigsty", "barn", "stable", "trough", "feeder"]


# WordNet's morphy rules for nouns (plural ending -> singular ending).
NOUN_SUFFIXES = (("s", ""), ("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"),
                 ("men", "man"), ("ies", "y"))


class WordNet:
    def __init__(self, folder: Path):
        self.hyper: dict[str, list[str]] = collections.defaultdict(list)
        self.lemmas: dict[str, list[str]] = {}
        for line in (folder / "data.noun").open(encoding="latin-1"):
            if line.startswith("  "):
                continue
            parts = line.split(" | ")[0].split()
            off, n = parts[0], int(parts[3], 16)
            self.lemmas[off] = [parts[4 + 2 * i].lower().replace("_", " ") for i in range(n)]
            i = 4 + 2 * n
            for _ in range(int(parts[i])):
                sym, target, pos = parts[i + 1], parts[i + 2], parts[i + 3]
                i += 4
                if sym in ("@", "@i") and pos == "n":
                    self.hyper[off].append(target)
        self.senses: dict[str, list[str]] = {}
        for line in (folder / "index.noun").open(encoding="latin-1"):
            if not line.startswith("  "):
                p = line.split()
                self.senses[p[0].replace("_", " ")] = p[-int(p[2]):]

    def first(self, term: str) -> str | None:
        """The synset of the term's most common sense; a plural WordNet lists only in the
        singular ("jeans", "pajamas") is found through its singular, as WordNet's morphy does."""
        for form in self.forms(term.lower()):
            s = self.senses.get(form)
            if s:
                return s[0]
        return None

    @staticmethod
    def forms(term: str) -> list[str]:
        """The term, then its last word's singulars by WordNet's suffix rules for nouns."""
        head, _, last = term.rpartition(" ")
        lead = f"{head} " if head else ""
        return [term] + [lead + last[:-len(end)] + base for end, base in NOUN_SUFFIXES
                         if last.endswith(end) and len(last) > len(end)]

    def ancestors(self, off: str) -> list[tuple[int, str]]:
        """(hops, synset) breadth first."""
        out, seen, frontier, hops = [], {off}, [off], 0
        while frontier:
            hops += 1
            nxt = []
            for o in frontier:
                for h in self.hyper.get(o, []):
                    if h not in seen:
                        seen.add(h)
                        nxt.append(h)
                        out.append((hops, h))
            frontier = nxt
        return out

    def under(self, term: str, roots: tuple[str, ...]) -> bool:
        off = self.first(term)
        return off is not None and (off in roots or any(a in roots for _, a in self.ancestors(off)))


def caption_counts(vocab: dict) -> collections.Counter:
    index = CaptionIndex(vocab)
    entries = json.loads((DATASETS / "flickr8k-train" / "labels.json").read_text())["images"]
    counts = collections.Counter()
    for e in entries:
        counts.update(index.named(" \n ".join(e.get("captions") or [])))
    return counts


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--wordnet", type=Path, default=Path("/usr/share/wordnet"))
    args = ap.parse_args()
    wn = WordNet(args.wordnet)
    vocab = json.loads((DATA / "vocabulary.json").read_text())
    groups = json.loads((DATA / "imagenet_groups.json").read_text())
    words = [t["term"] for t in vocab["terms"]]
    everyday_sources = {"coco", "scenes", "events", "activities", "weather-time", "everyday"}
    counts = caption_counts(vocab)
    everyday = {t["term"] for t in vocab["terms"] if everyday_sources & set(t["sources"])}
    everyday |= set(groups["ranges"]) | set(groups["names"]) | set(vocab["coco_map"].values())
    everyday |= {t for t, n in counts.items() if n >= MIN_CAPTIONS}

    vocab_set_ = set(words)
    # synonyms: one synset, one tag
    by_synset = collections.defaultdict(list)
    for w in words:
        off = wn.first(w)
        if off is not None and w in wn.lemmas.get(off, []) and w not in NOT_SYNONYMS:
            by_synset[off].append(w)
    synonyms = {}
    for off, ws in by_synset.items():
        if len(ws) > 1:
            head = max(ws, key=lambda w: (w in PREFERRED, w in everyday, counts[w], -len(w.split()), -len(w), w))
            synonyms.update({w: head for w in ws if w != head})
    synonyms.update({w: h for w, h in HAND_SYNONYMS.items() if w in vocab_set_ and h in vocab_set_})
    # roll-ups: a fine term to its nearest everyday ancestor
    canonical = {w: synonyms.get(w, w) for w in words}
    lemma_terms = collections.defaultdict(list)
    for w in words:
        off = wn.first(w)
        if off is not None:
            lemma_terms[off].append(canonical[w])
    rollup = {}
    for w in words:
        if w in synonyms or w in everyday or wn.first(w) is None:
            continue
        for hops, anc in wn.ancestors(wn.first(w)):
            if hops > MAX_HOPS:
                break
            up = [t for t in lemma_terms.get(anc, []) if t in everyday and t != w and t not in TOO_GENERAL]
            if up:
                rollup[w] = up[0]
                break
    (DATA / "tag_terms.json").write_text(json.dumps({
        "about": "Synonyms (one tag per WordNet synset) and roll-ups (a fine term to its everyday word) "
                 "for the auto-tags; made by models/make_tag_terms.py, read by engine/tag_terms.py.",
        "synonyms": dict(sorted(synonyms.items())), "rollup": dict(sorted(rollup.items()))}, indent=1) + "\n")

    # the policy
    wordnet_groups = {
        "primates": (PRIMATE,), "animals": (ANIMAL,), "underwear": (UNDERGARMENT, NIGHTWEAR, SWIMSUIT),
        "weapons": (WEAPON,), "punishment_death": (EXECUTION, PUNISHMENT), "medical": (MEDICAL_INSTRUMENT,),
        "bathroom": (PLUMBING_FIXTURE,)}
    vocab_set = set(words)
    # ImageNet-1k's classes 0-397 are animals; their names in the vocabulary are used in that
    # sense by the tagger's ImageNet evidence whatever WordNet's first sense is ("monarch", "chow")
    classes = json.loads((DATA / "imagenet_classes.json").read_text())["classes"]
    imagenet_animals = {n for c in classes[:IMAGENET_ANIMALS] for n in c["names"] if n in vocab_set}
    policy = {}
    taken: set[str] = set()
    for name, (rule, hand) in HAND.items():  # primates first: a monkey is never "just" an animal
        found = {w for w in words if name in wordnet_groups and wn.under(w, wordnet_groups[name])}
        found |= {w for w in hand if w in vocab_set}
        if name == "animals":
            found |= imagenet_animals
        if name == "primates":  # the apes, monkeys and lemurs of ImageNet-1k
            found |= {n for c in classes[IMAGENET_PRIMATES[0]:IMAGENET_PRIMATES[1]] for n in c["names"] if n in vocab_set}
        # every term that rolls up or merges into one of these is as sensitive
        found |= {w for w in words if canonical[w] in found or rollup.get(w) in found}
        found -= taken | NOT_SENSITIVE
        taken |= found
        policy[name] = {"with_people": rule, "terms": sorted(found)}
    (DATA / "sensitive_terms.json").write_text(json.dumps({
        "about": "Terms never given to a photo that shows people (engine/tag_policy.py): 'never', or "
                 "'overwhelming' where the thing can be beside a person and the evidence is overwhelming. "
                 "Made by models/make_tag_terms.py; add terms by hand to any group.",
        "groups": policy}, indent=1) + "\n")
    audit = set(taken) | {w for w in AUDIT_EXTRA if w in vocab_set}
    audit |= {w for w in words if wn.under(w, (ANIMAL,))}
    audit |= {w for w in words if any(re.search(rf"\b{re.escape(h)}\b", w) for h in
                                      ("monkey", "ape", "toilet", "diaper", "prison", "coffin", "gun", "bra"))}
    audit -= NOT_SENSITIVE
    (DATA / "tag_audit_terms.json").write_text(json.dumps({
        "about": "The audit's list (engine/tag_audit.py): broader than sensitive_terms.json; none of these "
                 "may be shown on a photo with people unless the photo's own labels name it.",
        "terms": sorted(audit)}, indent=1) + "\n")
    print(f"{len(synonyms)} synonyms, {len(rollup)} roll-ups, "
          f"{sum(len(g['terms']) for g in policy.values())} policy terms, {len(audit)} audit terms")


if __name__ == "__main__":
    main()
