"""A measuring set for words: made-up words drawn on real photos (and put in file and folder
names), so that finding a photo by a word on it can be measured without committing images.

Used by `photolens eval --words` and the tests; never while indexing.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageStat

from .errors import LibraryError

__all__ = ["WordPhoto", "find_font", "made_up_word", "draw_word", "make_word_set"]

# Fonts tried in order: DejaVu ships with most Linux systems (Debian: fonts-dejavu-core).
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
    "/Library/Fonts/Arial Bold.ttf",
    "C:/Windows/Fonts/arialbd.ttf",
)
_CONSONANTS = "bdfgkklmnprstvzx"
_VOWELS = "aeiou"
# Text height as a share of the photo's height: a sign or a caption across a photo, from small
# to large. Smaller words than this are not what people search a library for.
HEIGHT_RANGE = (0.07, 0.14)


@dataclass(frozen=True)
class WordPhoto:
    path: str      # the photo with the word drawn on it
    word: str      # the word drawn (as written on the photo)
    source: str    # the original photo


def find_font() -> str:
    for candidate in FONT_CANDIDATES:
        if Path(candidate).exists():
            return candidate
    raise LibraryError("no TrueType font found to draw words with (install fonts-dejavu-core)")


def made_up_word(rng: random.Random, syllables: int | None = None) -> str:
    """A pronounceable word no dictionary has ("zorblax"-like): 3-4 syllables, 6-9 letters."""
    n = syllables or rng.choice((3, 3, 4))
    word = "".join(rng.choice(_CONSONANTS) + rng.choice(_VOWELS) for _ in range(n))
    return word + rng.choice(_CONSONANTS)


def draw_word(image: Image.Image, word: str, rng: random.Random, font_path: str) -> Image.Image:
    """The photo with `word` written on it at a random place, size and style (light letters with
    a dark outline, dark letters on a light plate, or plain letters that contrast)."""
    im = image.convert("RGB").copy()
    w, h = im.size
    size = max(12, int(h * rng.uniform(*HEIGHT_RANGE)))
    text = rng.choice((word.upper(), word.capitalize(), word.lower()))
    font = ImageFont.truetype(font_path, size)
    draw = ImageDraw.Draw(im)
    while True:
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        if right - left <= w * 0.9 or size <= 12:
            break
        size = int(size * 0.85)
        font = ImageFont.truetype(font_path, size)
    tw, th = right - left, bottom - top
    x = rng.randint(int(w * 0.03), max(int(w * 0.03), w - tw - int(w * 0.03)))
    y = rng.randint(int(h * 0.03), max(int(h * 0.03), h - th - int(h * 0.05)))
    style = rng.choice(("outline", "plate", "plain"))
    if style == "outline":
        draw.text((x - left, y - top), text, font=font, fill=(255, 255, 255), stroke_width=max(1, size // 14),
                  stroke_fill=(0, 0, 0))
    elif style == "plate":
        pad = size // 5
        draw.rectangle((x - pad, y - pad, x + tw + pad, y + th + pad), fill=(240, 236, 220))
        draw.text((x - left, y - top), text, font=font, fill=(20, 20, 20))
    else:
        mean = ImageStat.Stat(im.crop((x, y, x + tw, y + th)).convert("L")).mean[0]
        fill = (15, 15, 15) if mean > 128 else (250, 250, 250)
        draw.text((x - left, y - top), text, font=font, fill=fill)
    return im


def make_word_set(sources: list[str], out_dir: Path, seed: int = 20) -> list[WordPhoto]:
    """Each source photo once, with its own made-up word, saved as JPEG under `out_dir`, plus
    `words.json` listing them. Words are unique within the set."""
    rng = random.Random(seed)
    font = find_font()
    out_dir.mkdir(parents=True, exist_ok=True)
    used: set[str] = set()
    made = []
    for i, src in enumerate(sources):
        word = made_up_word(rng)
        while word in used:
            word = made_up_word(rng)
        used.add(word)
        with Image.open(src) as im:
            drawn = draw_word(im, word, rng, font)
        path = out_dir / f"w{i:04d}.jpg"
        drawn.save(path, quality=90)
        made.append(WordPhoto(str(path), word, str(src)))
    (out_dir / "words.json").write_text(json.dumps([p.__dict__ for p in made], indent=1))
    return made
