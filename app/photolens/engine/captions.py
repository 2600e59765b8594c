"""Which vocabulary terms a photo's captions name: the caption tagger's training labels
(models/train_tagger.py) and the caption check of `photolens eval` share this one definition."""
from __future__ import annotations

import re

PERSON = ("man men woman women boy boys girl girls child children kid kids people person persons baby babies "
          "toddler toddlers player players lady ladies guy guys crowd skier skiers surfer surfers biker bikers "
          "rider riders swimmer swimmers climber climbers runner runners team adult adults teenager teenagers "
          "teen teens family couple worker workers dancer dancers snowboarder snowboarders skateboarder "
          "skateboarders cyclist cyclists bicyclist bicyclists motorcyclist hiker hikers tourist tourists "
          "someone gentleman spectators audience musician musicians performer performers student students")
# Caption words for terms whose name is not how captions say it, separated by spaces ("_" joins
# the words of a phrase). An empty list: the word is ambiguous in captions ("orange shirt"), so
# captions do not label that term.
CAPTION_WORDS = {
    "person": PERSON,
    "dog": "dog dogs puppy puppies",
    "cat": "cat cats kitten kittens",
    "ball": "ball balls football soccer basketball volleyball",
    # "bike" is left out: flickr8k says it of dirt bikes as often as of bicycles (104 of the 359
    # training photos whose captions say "bike" also say motorcycle or dirt bike), which taught
    # the caption tagger that a motorbike is a bicycle.
    "bicycle": "bicycle bicycles cyclist cyclists bicyclist bicyclists",
    "motorbike": "motorcycle motorcycles motorbike motorbikes motocross dirt_bike dirt_bikes",
    "airplane": "airplane airplanes plane planes jet aircraft",
    "boat": "boat boats canoe canoes kayak kayaks raft rafts sailboat sailboats",
    "bird": "bird birds duck ducks seagull seagulls pigeon pigeons",
    "horse": "horse horses pony ponies",
    "cow": "cow cows cattle bull bulls calf",
    "sheep": "sheep lamb lambs",
    "handbag": "purse purses handbag handbags",
    "skis": "skis skiing skier skiers",
    "snowboard": "snowboard snowboards snowboarder snowboarding",
    "skateboard": "skateboard skateboards skateboarding skateboarder",
    "cup": "cup cups mug mugs",
    "sofa": "couch couches sofa sofas",
    "dining table": "table tables",
    "tennis racket": "racket rackets racquet racquets",
    "baseball bat": "bat bats",
    "baseball glove": "glove gloves mitt",
    "television": "television tv",
    "laptop": "laptop laptops computer computers",
    "mobile phone": "phone phones cellphone cellphones",
    "orange": "",
    "mouse": "",
    "remote": "",
}


def caption_words(vocab: dict) -> dict[str, list[str]]:
    """term -> the words captions use for it (plurals, aliases, CAPTION_WORDS); terms that
    captions cannot name are left out."""
    out = {}
    for entry in vocab["terms"]:
        term = entry["term"]
        if term in CAPTION_WORDS:
            words = [w.replace("_", " ") for w in CAPTION_WORDS[term].split()]
        else:
            words = [term, term + "s", term + "es", *entry.get("aliases", [])]
        if words:
            out[term] = [w.lower() for w in words]
    return out


def caption_patterns(vocab: dict) -> dict[str, re.Pattern]:
    """term -> a pattern for the words captions use for it (caption_words)."""
    return {term: re.compile(r"\b(" + "|".join(re.escape(w) for w in words) + r")\b")
            for term, words in caption_words(vocab).items()}


class CaptionIndex:
    """Which terms a text names, fast enough for thousands of photos times thousands of terms:
    the text's word n-grams looked up in a phrase table (the same words as caption_patterns,
    split on anything but letters and digits)."""

    def __init__(self, vocab: dict):
        self.phrases: dict[tuple[str, ...], set[str]] = {}
        for term, words in caption_words(vocab).items():
            for w in words:
                self.phrases.setdefault(tuple(_TOKEN.findall(w)), set()).add(term)
        self.longest = max((len(p) for p in self.phrases), default=1)

    def named(self, text: str) -> set[str]:
        tokens = _TOKEN.findall(text.lower())
        out: set[str] = set()
        for n in range(1, self.longest + 1):
            for i in range(len(tokens) - n + 1):
                out |= self.phrases.get(tuple(tokens[i:i + n]), set())
        return out


_TOKEN = re.compile(r"[a-z0-9]+")
