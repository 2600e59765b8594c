"""Build the auto-tag vocabulary: everyday photo concepts from public category lists.

    pip download --no-deps timm -d /tmp/timm && unzip -o /tmp/timm/timm-*.whl 'timm/data/_info/*' -d /tmp/timm
    pip install -e '.[vocabulary]'                     (wordfreq: common-word filter)
    python models/make_vocabulary.py --timm-info /tmp/timm/timm/data/_info   -> models/data/vocabulary.json

Sources: ImageNet-1k class names (models/data/imagenet_classes.json, from timm's WordNet lemma
lists), the 80 COCO categories, a hand-curated list of scenes and places, events, activities,
weather and times of day in the spirit of Places365 (whose name list is not available offline
here), and everyday concepts from the ImageNet-12k synsets timm ships (the 21k classes with
enough images). From those only: no synset under person (WordNet's person offsets, and any
definition about people), the first lower-case lemma of at most two words, every word common
in English (wordfreq Zipf >= 3.5: "apartment building" yes, "wallaby" no), no colours,
and not a word whose everyday sense is another one (NOT_TAGS). Duplicates are removed and synonyms merged (the first name of a
WordNet synset wins; COCO's short names map onto it). Labels about race, ethnicity, religion,
bodies or attractiveness are left out: see DENY in this file, which a test also checks.
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"

COCO = ["person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
        "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
        "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
        "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
        "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
        "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
        "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard",
        "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
        "teddy bear", "hair drier", "toothbrush"]

SCENES = ["beach", "mountain", "forest", "lake", "river", "waterfall", "desert", "snow", "field", "garden", "park",
          "city", "street", "skyline", "bridge", "harbor", "countryside", "farm", "vineyard", "island", "ocean",
          "sea", "coast", "cliff", "cave", "canyon", "glacier", "meadow", "jungle", "road", "highway",
          "railway station", "airport", "market", "restaurant", "cafe", "bar", "kitchen", "living room", "bedroom",
          "bathroom", "office", "classroom", "library", "museum", "church building", "castle", "stadium", "gym",
          "swimming pool", "playground", "zoo", "aquarium", "concert hall", "shop", "supermarket", "campsite",
          "backyard", "rooftop", "tunnel", "parking lot", "sidewalk", "pier", "lighthouse", "temple building"]
EVENTS = ["birthday party", "wedding", "graduation", "concert", "festival", "christmas", "halloween", "picnic",
          "barbecue", "holiday", "road trip", "camping", "parade", "fireworks", "sports game", "family gathering",
          "dinner party", "vacation"]
ACTIVITIES = ["swimming", "surfing", "skiing", "snowboarding", "hiking", "running", "cycling", "climbing",
              "fishing", "sailing", "kayaking", "dancing", "cooking", "eating", "reading", "playing", "singing",
              "skateboarding", "playing tennis", "playing soccer", "playing baseball", "horse riding", "jumping"]
WEATHER_TIME = ["sunset", "sunrise", "night", "rain", "fog", "storm", "cloudy sky", "blue sky", "rainbow",
                "autumn leaves", "spring flowers", "winter", "summer", "daytime", "golden hour", "moon", "stars"]
THINGS = ["puppy", "kitten", "baby", "child", "family", "friends", "crowd", "selfie", "portrait", "food", "dessert",
          "coffee", "drink", "flowers", "tree", "sand", "grass", "building", "house", "window", "door", "painting",
          "toy", "ball", "boat trip", "sculpture", "fountain", "statue", "flag", "sign", "car interior", "bike",
          "document", "screenshot", "receipt", "whiteboard"]

# Never tags: identity, belief, bodies, looks. Matched as whole words against every term.
DENY = {"black", "white", "asian", "african", "caucasian", "hispanic", "latino", "arab", "indian", "negro", "jew",
        "jewish", "muslim", "christian", "hindu", "buddhist", "catholic", "religion", "religious", "race", "ethnic",
        "fat", "thin", "obese", "skinny", "ugly", "beautiful", "attractive", "sexy", "hot", "nude", "naked",
        "bikini", "breast", "body", "gay", "lesbian", "transgender", "disabled", "old", "young"}
# Vulgar words that are also WordNet lemmas for animals and things.
DENY |= {"pussy", "cock", "ass", "tit", "boob", "booby", "bitch", "dick", "screw", "shag", "crap"}
# Class names that are fine as concepts but carry one of those words in another sense.
ALLOW = {"hot dog", "white shark", "black swan", "polar bear"}

SYNONYMS = {"tv": "television", "cell phone": "mobile phone", "couch": "sofa", "motorcycle": "motorbike",
            "airplane": "airplane", "hair drier": "hair dryer", "sports ball": "ball", "dining table": "dining table",
            "bike": "bicycle", "cock": "rooster",
            # ImageNet names these garments in the singular, which English does not ("jean" reads
            # as a name): the tag says what a caption would.
            "jean": "jeans", "pajama": "pajamas"}

# WordNet 3.0 noun offsets of the person subtree (adults, workers, believers, ...): never tags.
PERSON_OFFSETS = (9_600_000, 10_800_000)
PERSONISH = re.compile(r"\b(person|persons|someone|somebody|a man|a woman|one who|people|member of|native of|"
                       r"inhabitant|follower|adherent|an adult|a child|girl|boy)\b")
MIN_ZIPF = 3.5
COLOUR = re.compile(r"\b(colou?r|shade of|hue|tinge)\b")
# Lemmas whose everyday sense is not the synset's: captions and people read "down", "back" or
# "bite" as words, not as feathers, a body part or a snack. Body parts are not tags either.
NOT_TAGS = {"down", "back", "bite", "front", "top", "side", "middle", "end", "line", "edge", "way", "stand",
            "jump", "trick", "fall", "air", "blue", "gray", "grey", "mouth", "hand", "face", "head", "arm", "leg",
            "foot", "hair", "eye", "neck", "nose", "lip", "tongue", "tooth", "finger", "knee", "chest", "skin",
            "belly", "shoulder", "lap", "cheek", "ear", "mess", "spread", "pull", "slot", "nan", "gem", "tangle",
            "exhaust", "electric", "emperor", "porter", "weaver", "rocker", "racing", "tin", "spat", "background",
            "pink", "drive"}


def clean(name: str) -> str:
    name = name.strip().lower().replace("_", " ")
    return re.sub(r"\s+", " ", name)


def denied(term: str) -> bool:
    return term not in ALLOW and bool(set(re.findall(r"[a-z]+", term)) & DENY)


def imagenet12k(info: Path) -> list[str]:
    """Everyday concept names from the ImageNet-12k synsets (see the module docstring)."""
    from wordfreq import zipf_frequency

    synsets = (info / "imagenet12k_synsets.txt").read_text().split()
    lemmas = dict(line.split("\t", 1) for line in (info / "imagenet_synset_to_lemma.txt").read_text().splitlines())
    defs = dict(line.split("\t", 1) for line in (info / "imagenet_synset_to_definition.txt").read_text().splitlines())
    out = []
    for s in synsets:
        definition = defs.get(s, "")
        if PERSON_OFFSETS[0] <= int(s[1:]) < PERSON_OFFSETS[1] or PERSONISH.search(definition) \
                or COLOUR.search(definition):
            continue
        for name in (n.strip() for n in lemmas[s].split(",")):
            words = name.split()
            if name not in NOT_TAGS and name == name.lower() and len(words) <= 2 and all(w.isalpha() for w in words) and \
                    all(zipf_frequency(w, "en") >= MIN_ZIPF for w in words):
                out.append(name)
                break
    return out


def build(timm_info: Path | None = None) -> dict:
    imagenet = json.loads((DATA / "imagenet_classes.json").read_text())["classes"]
    terms: dict[str, dict] = {}

    def add(term: str, source: str, aliases=()):
        term = SYNONYMS.get(clean(term), clean(term))
        if not term or denied(term) or len(term) > 40:
            return
        entry = terms.setdefault(term, {"term": term, "sources": [], "aliases": []})
        if source not in entry["sources"]:
            entry["sources"].append(source)
        for a in aliases:
            a = clean(a)
            if a != term and a not in entry["aliases"] and not denied(a):
                entry["aliases"].append(a)

    for c in COCO:
        add(c, "coco", [c] if SYNONYMS.get(c, c) != c else [])
    for c in imagenet:
        add(c["names"][0], "imagenet", c["names"][1:3])
    for name in imagenet12k(timm_info) if timm_info else []:
        add(name, "imagenet-12k")
    for source, names in (("scenes", SCENES), ("events", EVENTS), ("activities", ACTIVITIES),
                          ("weather-time", WEATHER_TIME), ("everyday", THINGS)):
        for n in names:
            add(n, source)
    vocab = sorted(terms.values(), key=lambda t: t["term"])
    return {"about": __doc__.split("\n")[0], "terms": vocab,
            "coco_map": {c: SYNONYMS.get(c, c) for c in COCO}}


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--timm-info", type=Path, default=None,
                    help="timm/data/_info from the timm wheel (see above); without it, no ImageNet-12k terms")
    out = build(ap.parse_args().timm_info)
    (DATA / "vocabulary.json").write_text(json.dumps(out, indent=0))
    print(f"{len(out['terms'])} terms -> {DATA / 'vocabulary.json'}")
