"""A query searched as words, and fused with the meaning search into one ranking.

    zorblax                 a word: whole words and prefixes ("zorbl" finds "ZORBLAX"), any case
                            or accent; a word of 5+ letters also finds a misread one ("Z0RBLAX")
    "open 24 hours"         quotes: the exact phrase, in that order
    receipt hardware store  several words: photos with more of them first

Each photo found gets a coverage (the share of the query's words it has) and a rank; the
fusion adds, per photo, WORDS_WEIGHT * coverage^COVERAGE_POWER / (RRF_K + word rank) to
1 / (RRF_K + meaning rank): weighted reciprocal rank fusion. Coverage keeps a long sentence
("a dog runs on the beach") from being outranked by a photo that has one of its words written
on it, while a made-up word that only the word index knows still comes first.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .words import COLUMNS, REASONS, WordStore, fold

__all__ = ["WordQuery", "WordHit", "parse_words", "search_words", "fuse", "edit_distance",
           "RRF_K", "WORDS_WEIGHT", "COVERAGE_POWER"]

# Reciprocal rank fusion's constant (Cormack et al. 2009 use 60): flattens the top ranks so
# that agreement between the two lists counts more than either list's first place.
RRF_K = 60
# Chosen by measurement (photolens eval --words on flickr8k-dev, README "Words"): at power 3
# the caption R@1/R@10 are those of the meaning search alone (0.3084 / 0.7472) for every weight
# from 1 to 3, while at power 2 R@1 drops from weight 2 (0.3072); below 1.25 a word on one photo
# ties with the meaning search's first (a folder's photos lost to it); 1.5 sits in the middle.
WORDS_WEIGHT = 1.5
COVERAGE_POWER = 3
PREFIX_MIN = 3
# How many hits each side contributes, at most (trigram candidates: photos sharing the most of
# a word's trigrams, then checked by edit distance; a near word shares all but three).
WORD_CANDIDATES = 200
# A word in this many photos or more (a library folder's name, "img") does not rank photos by
# words: it would say nothing, and ranking that many by BM25 costs ~0.15 s per 25,000.
COMMON = 2000
TRIGRAM_CANDIDATES = 100
# Fuzzy matching: words this long or longer may differ by a letter (two from 9 letters):
# shorter words have too many neighbours ("cat" ~ "car").
FUZZY_MIN = 5
FUZZY_TWO_FROM = 9
# A word found only one letter off counts for half a word: the photo that has it as written
# comes first, and a near miss does not outweigh the meaning search.
FUZZY_CREDIT = 0.5
# Words that carry no meaning of their own as a word search (the meaning search still sees them).
STOPWORDS = frozenset("""a an and are as at be by for from has in into is it its of on or that the
    their there they this to was were with while near some two three his her he she who what where""".split())
_PHRASE = re.compile(r'"([^"]*)"')
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class WordQuery:
    words: tuple[str, ...]      # folded, stopwords removed
    phrases: tuple[str, ...]    # folded exact phrases (quoted)

    @property
    def empty(self) -> bool:
        return not self.words and not self.phrases

    @property
    def size(self) -> int:
        return len(self.words) + len(self.phrases)


@dataclass
class WordHit:
    id: int
    coverage: float
    rank: int
    reasons: list[str] = field(default_factory=list)


def parse_words(source: str) -> WordQuery:
    """The words of a query as the word index sees them (weights, '+' and '-' terms and
    image: terms are the meaning search's business: a '-' term and image paths are left out)."""
    phrases = []
    for m in _PHRASE.finditer(source):
        tokens = _WORD.findall(fold(m.group(1)))
        if tokens:
            phrases.append(" ".join(tokens))
    rest = _PHRASE.sub(" ", source)
    words: list[str] = []
    negative = False  # inside a '-' term, up to the next '+'
    for raw in rest.split():
        if raw in ("+", "-"):
            negative = raw == "-"
            continue
        if negative or raw.startswith("image:"):
            continue
        raw = re.sub(r"^[0-9]*\.?[0-9]+\*", "", raw)  # a weight, as in 2*dog
        for token in _WORD.findall(fold(raw)):
            if token not in STOPWORDS and token not in words and not (len(token) == 1 and token.isalpha()):
                words.append(token)
    return WordQuery(tuple(words), tuple(phrases))


def _quote(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


def _term(word: str) -> str:
    """A word as an FTS5 term: a prefix query from PREFIX_MIN letters ("zorbl" finds "zorblax");
    shorter ones match whole words only ("ac" is not every word starting so)."""
    return _quote(word) + ("*" if len(word) >= PREFIX_MIN else "")


def search_words(words: WordStore, query: WordQuery, limit: int = WORD_CANDIDATES) -> list[WordHit]:
    """Photos having the query's words, most of them first, then by BM25; each with the
    reasons (which of text, file name, folder, tag, caption) it matched by."""
    if query.empty:
        return []
    found: dict[int, dict] = {}  # id -> {"units": {query unit: credit}, "bm25": summed, "cols": set}

    def note(pid: int, unit: int, bm: float, cols: list[str], credit: float = 1.0) -> None:
        e = found.setdefault(pid, {"units": {}, "bm25": 0.0, "cols": set()})
        e["units"][unit] = max(credit, e["units"].get(unit, 0.0))
        e["bm25"] += bm
        e["cols"].update(cols)

    units = [(_quote(p), p.split(), False) for p in query.phrases] + [(_term(w), [w], True) for w in query.words]
    for unit, (expression, tokens, single) in enumerate(units):
        if words.count(expression, COMMON) >= COMMON:
            continue  # in too many photos to say which: the meaning search ranks those
        hits = words.match(expression, limit)
        cols = words.columns_for([pid for pid, _ in hits])
        for pid, bm in hits:
            note(pid, unit, bm, [c for c, text in cols.get(pid, {}).items() if _has(text, tokens)])
        # A misread letter: only while the word itself leaves room (it ranks after exact hits).
        if single and len(tokens[0]) >= FUZZY_MIN and len(hits) < limit:
            for pid, cols_f in _fuzzy(words, tokens[0], {pid for pid, _ in hits}):
                note(pid, unit, 0.0, cols_f, FUZZY_CREDIT)
    n = len(units)
    # A quoted phrase is a condition: with one, only photos that have it are word hits.
    phrase_units = set(range(len(query.phrases)))
    ranked = [(pid, sum(e["units"].values()) / n, e) for pid, e in found.items() if phrase_units <= e["units"].keys()]
    ranked.sort(key=lambda x: (-x[1], x[2]["bm25"], x[0]))
    return [WordHit(pid, coverage, rank, [REASONS[c] for c in COLUMNS if c in e["cols"]])
            for rank, (pid, coverage, e) in enumerate(ranked[:limit])]


def _has(text: str, tokens: list[str]) -> bool:
    """Whether a column has the word as a prefix of one of its words, or the phrase's words in
    a row (as FTS5 matched them)."""
    have = _WORD.findall(fold(text))
    if len(tokens) == 1:
        return any(t.startswith(tokens[0]) for t in have)
    n = len(tokens)
    return any(have[i:i + n] == tokens for i in range(len(have) - n + 1))


def _fuzzy(words: WordStore, word: str, exclude: set[int]) -> list[tuple[int, list[str]]]:
    """Photos with a word one letter off (two for long words): an OCR slip, a typo."""
    grams = sorted({word[i:i + 3] for i in range(len(word) - 2)})
    allowed = 1 if len(word) < FUZZY_TWO_FROM else 2

    gram_set = set(grams)
    # One edit changes at most three trigrams: a token sharing fewer cannot be near (cheap test first).
    need = len(gram_set) - 3 * allowed

    seen: dict[str, bool] = {}

    def close(t: str) -> bool:
        if t not in seen:
            seen[t] = (abs(len(t) - len(word)) <= allowed
                       and len(gram_set & {t[i:i + 3] for i in range(len(t) - 2)}) >= need
                       and edit_distance(word, t, allowed) <= allowed)
        return seen[t]

    def near(text: str) -> bool:
        return any(close(t) for t in _WORD.findall(text))

    found = [pid for pid, body in words.trigram_candidates(grams, TRIGRAM_CANDIDATES)
             if pid not in exclude and near(body)]
    cols = words.columns_for(found)
    return [(pid, [c for c, text in cols.get(pid, {}).items() if near(fold(text))]) for pid in found]


def edit_distance(a: str, b: str, cap: int = 99) -> int:
    """Levenshtein distance, stopping early once it exceeds `cap`."""
    if abs(len(a) - len(b)) > cap:
        return cap + 1
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        if min(cur) > cap:
            return cap + 1
        prev = cur
    return prev[-1]


def fuse(meaning: list[tuple[int, float]], hits: list[WordHit], k: int,
         weight: float = WORDS_WEIGHT, power: float = COVERAGE_POWER) -> list[tuple[int, float, list[str]]]:
    """One ranking from the meaning search's (id, score) list, best first, and the word hits:
    (id, fused score, word reasons), best first."""
    fused: dict[int, float] = {}
    for rank, (pid, _) in enumerate(meaning):
        fused[pid] = 1.0 / (RRF_K + rank + 1)
    reasons = {}
    for h in hits:
        fused[h.id] = fused.get(h.id, 0.0) + weight * h.coverage ** power / (RRF_K + h.rank + 1)
        reasons[h.id] = h.reasons
    # On a tie (a word hit alone against the meaning search's first), the word hit goes first.
    order = sorted(fused.items(), key=lambda x: (-x[1], x[0] not in reasons))[:k]
    return [(pid, score, reasons.get(pid, [])) for pid, score in order]
