"""The query language: words and sentences, combined with weights and negatives.

    dog on beach                       one phrase
    dog + beach - people               add two phrases, subtract a third
    "red car" + 0.5*sunset             quotes group words; WEIGHT*term scales a term
    image:/path/to/photo.jpg + at night   a photo plus words ("this photo, but at night")

`+` and `-` are operators only when they stand alone between spaces, so "t-shirt" and
"x+y" stay words. The combined vector is the weighted sum of the terms' unit vectors.

Any plain text is a query: apostrophes are letters ("mom's birthday"), and a double quote
without a closing partner is taken literally; only a pair of double quotes groups words.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import QueryError

IMAGE_PREFIX = "image:"
_WEIGHT = re.compile(r"^([0-9]*\.?[0-9]+)\*(.*)$")
MAX_TERMS = 16
MAX_LENGTH = 1000
# A weight beyond this drowns every other term as surely as leaving them out; larger numbers
# (1e308) only overflow the vector arithmetic.
MAX_WEIGHT = 100.0


@dataclass(frozen=True)
class Term:
    text: str  # words, or an image path when is_image
    weight: float = 1.0
    is_image: bool = False


@dataclass(frozen=True)
class Query:
    terms: tuple[Term, ...]
    source: str

    @property
    def positive_text(self) -> str:
        return " ".join(t.text for t in self.terms if t.weight > 0 and not t.is_image)


def split_words(text: str) -> list[str]:
    """Words split at spaces; a pair of double quotes keeps the words between them together
    (`"red car"`, `image:"/my photos/a.jpg"`). Apostrophes, single quotes and an unpaired double
    quote are ordinary characters, so no typed text is ever an error."""
    tokens: list[str] = []
    word: list[str] = []
    started = False
    i = 0
    while i < len(text):
        c = text[i]
        if c.isspace():
            if started:
                tokens.append("".join(word))
            word, started = [], False
            i += 1
            continue
        started = True
        close = text.find('"', i + 1) if c == '"' else -1
        if close != -1:
            word.append(text[i + 1:close])
            i = close + 1
        else:
            word.append(c)
            i += 1
    if started:
        tokens.append("".join(word))
    return tokens


def parse_query(source: str | list[str]) -> Query:
    """Parse a query given as one string (search bar) or as shell arguments (CLI)."""
    if isinstance(source, list):
        tokens = [t for t in source]
        text = " ".join(source)
    else:
        text = source
    if len(text) > MAX_LENGTH:
        raise QueryError(f"query is {len(text)} characters long; the limit is {MAX_LENGTH}")
    if not isinstance(source, list):
        tokens = split_words(text)
    if not any(t.strip() for t in tokens):
        raise QueryError("the query is empty")

    terms: list[Term] = []
    sign = 1.0
    words: list[str] = []

    def flush() -> None:
        nonlocal words, sign
        if not words:
            return
        phrase = " ".join(words).strip()
        weight = 1.0
        m = _WEIGHT.match(phrase)
        if m:
            weight, phrase = float(m.group(1)), m.group(2).strip()
            if weight > MAX_WEIGHT:
                raise QueryError(f"a weight of {m.group(1)} is too large; weights go up to {MAX_WEIGHT:g}")
        if not phrase:
            raise QueryError("a weight needs a term after it, as in 2*dog")
        is_image = phrase.startswith(IMAGE_PREFIX)
        if is_image:
            phrase = phrase[len(IMAGE_PREFIX):].strip()
            if not phrase:
                raise QueryError("image: needs a file path after it")
        elif not _is_text(phrase):
            raise QueryError(f"the query {printable_text(phrase)!r} is not valid UTF-8 text")
        terms.append(Term(phrase, sign * weight, is_image))
        words, sign = [], 1.0

    for token in tokens:
        if token in ("+", "-"):
            if words:
                flush()
            elif terms and token == "+":
                raise QueryError("two operators in a row")
            sign = -1.0 if token == "-" else 1.0
            continue
        if token.strip():
            words.append(token.strip())
    if not words and tokens and tokens[-1] in ("+", "-"):
        raise QueryError(f"the query ends with {tokens[-1]!r}: add a term after it")
    flush()
    if len(terms) > MAX_TERMS:
        raise QueryError(f"too many terms ({len(terms)}); the limit is {MAX_TERMS}")
    if not any(t.weight > 0 for t in terms):
        raise QueryError("the query needs at least one term to look for, not only ones to leave out")
    return Query(tuple(terms), text)


def _is_text(s: str) -> bool:
    """False for words holding bytes that were not UTF-8 (a shell argument such as $'\\xff dog'
    arrives with them as lone surrogates, which no tokenizer can encode)."""
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable_text(s: str) -> str:
    return s.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")

