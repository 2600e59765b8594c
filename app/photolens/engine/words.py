"""Words stored per photo and searchable as words: the text read in it (OCR), its file and
folder names, its user tags and the user's caption, in an SQLite FTS5 index.

Two full-text tables hold one row per photo (rowid = photo id):
- `words_fts` (unicode61, diacritics removed): whole words and prefixes, one column per source,
  so a hit says why it matched;
- `words_tri` (trigram) over the same words, accents and case already folded: candidates for a
  misread letter (an OCR slip) in a long word, confirmed by edit distance (wordmatch.py).
`words_docs` remembers the path and content hash each row was written for, so a rename, a move
or an edit rewrites it (`sync`). Captions are user data kept by content hash, like user tags:
a photo removed and added again, or edited, keeps its caption.
"""
from __future__ import annotations

import json
import os
import re
import time
import unicodedata
from typing import Iterable

from .fsutil import path_str
from .ocr import TextLine
from .store import Store

__all__ = ["COLUMNS", "REASONS", "WordStore", "fold", "name_words", "folder_words"]

# FTS columns in order, and the reason a hit in each gives ("matched" in results).
COLUMNS = ("text", "name", "folder", "tags", "caption")
REASONS = {"text": "text", "name": "file name", "folder": "folder", "tags": "tag", "caption": "caption"}
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=[0-9])|(?<=[0-9])(?=[A-Za-z])")
_SEPARATORS = re.compile(r"[\s_.\-]+")
_HASHLIKE = re.compile(r"[0-9a-fA-F]*[0-9][0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*|[0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*[0-9][0-9a-fA-F]*")
MAX_CAPTION = 2000  # characters: a note, not a document


def fold(text: str) -> str:
    """Lower case without accents ("Café" -> "cafe"), as the unicode61 tokenizer folds."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _split(name: str) -> str:
    """A name's words: the pieces between _ - . and spaces as written, then the camel-case and
    letter-digit splits of those ("kazumbiTrip_2019-07" -> "kazumbiTrip 2019 07 kazumbi Trip");
    a piece that looks like a hash or a counter ("693b08cb0e") is not split into noise."""
    pieces = [p for p in _SEPARATORS.split(name) if p]
    extra = [w for p in pieces if not _HASHLIKE.fullmatch(p) for w in _CAMEL.split(p) if w and w != p]
    return " ".join(pieces + extra)


def name_words(path: str) -> str:
    """A file name (without its extension) as words."""
    return _split(os.path.splitext(os.path.basename(path))[0])


def folder_words(path: str, root: str | None) -> str:
    """The names of the folders a photo is in, from its library folder down, as words."""
    parent = os.path.dirname(path)
    base = os.path.dirname(root.rstrip(os.sep)) if root else os.path.dirname(parent)
    rel = os.path.relpath(parent, base) if base else parent
    return " ".join(_split(p) for p in rel.split(os.sep) if p and p not in (".", ".."))


class WordStore:
    """Every query on the words tables (the store's connection and lock)."""

    def __init__(self, store: Store):
        self.store = store

    # -- OCR rows ---------------------------------------------------------------------------

    def photos_to_read(self, build: str, limit: int | None = None) -> tuple[list[tuple[int, str]], int]:
        """(id, path) of indexed photos without text read by `build`, oldest first, and how
        many there are in all."""
        where = ("FROM photos p WHERE p.status = 'indexed' AND NOT EXISTS "
                 "(SELECT 1 FROM photo_text t WHERE t.photo_id = p.id AND t.build = ?)")
        total = self.store.query(f"SELECT count(*) {where}", [build])[0][0]
        rows = self.store.query(f"SELECT p.id, p.path {where} ORDER BY p.id LIMIT ?", [build, limit or -1])
        return [(r[0], path_str(r[1])) for r in rows], total

    def put_text(self, photo_id: int, build: str, lines: list[TextLine], error: str | None = None) -> None:
        data = json.dumps([ln.to_json() for ln in lines])
        self.store.execute("INSERT OR REPLACE INTO photo_text(photo_id, build, lines, error, read_at) "
                           "VALUES (?, ?, ?, ?, ?)", [photo_id, build, data, error, time.time()])

    def text_of(self, photo_id: int) -> list[TextLine] | None:
        """The lines read in a photo; None when it has not been read yet."""
        rows = self.store.query("SELECT lines FROM photo_text WHERE photo_id = ?", [photo_id])
        if not rows:
            return None
        return [TextLine(d["text"], tuple(d["box"]), d["confidence"]) for d in json.loads(rows[0][0])]

    def texts_read(self, build: str) -> int:
        return self.store.query("SELECT count(*) FROM photo_text WHERE build = ?", [build])[0][0]

    # -- captions ---------------------------------------------------------------------------

    def set_caption(self, photo_id: int, content_hash: str, text: str) -> None:
        if text:
            self.store.execute("INSERT OR REPLACE INTO captions(hash, photo_id, text, updated) VALUES (?, ?, ?, ?)",
                               [content_hash, photo_id, text, time.time()])
        else:
            self.store.execute("DELETE FROM captions WHERE hash = ?", [content_hash])

    def caption_of(self, photo_id: int) -> str:
        rows = self.store.query("SELECT c.text FROM captions c JOIN photos p ON c.hash = p.hash WHERE p.id = ?",
                                [photo_id])
        return rows[0][0] if rows else ""

    # -- the full-text rows -----------------------------------------------------------------

    def stale_docs(self) -> list[int]:
        """Indexed photos whose word row is missing or was written for another path, content or
        text: renamed, moved, edited, or read since."""
        return [r[0] for r in self.store.query(
            """SELECT p.id FROM photos p LEFT JOIN words_docs d ON d.photo_id = p.id
               LEFT JOIN photo_text t ON t.photo_id = p.id
               WHERE p.status = 'indexed' AND (d.photo_id IS NULL OR d.path != p.path
                  OR d.hash IS NOT p.hash OR d.text_build IS NOT t.build)""")]

    def write_docs(self, ids: Iterable[int]) -> int:
        """(Re)write the word rows of these photos from what the database holds now."""
        ids = list(ids)
        roots = {r[0]: path_str(r[1]) for r in self.store.query("SELECT id, path FROM folders")}
        n = 0
        with self.store.transaction():
            for chunk, marks in Store._id_chunks(ids):
                rows = self.store.query(
                    f"""SELECT p.id, p.path, p.folder_id, p.hash, t.lines, t.build, c.text
                        FROM photos p LEFT JOIN photo_text t ON t.photo_id = p.id
                        LEFT JOIN captions c ON c.hash = p.hash WHERE p.id IN ({marks})""", chunk)
                tags = self._user_tags(chunk, marks)
                for pid, raw_path, folder_id, content_hash, lines, build, caption in rows:
                    path = path_str(raw_path)
                    text = " ".join(d["text"] for d in json.loads(lines)) if lines else ""
                    cols = (text, name_words(path), folder_words(path, roots.get(folder_id)),
                            " ".join(tags.get(pid, [])), caption or "")
                    self._put(pid, cols)
                    self.store.execute("INSERT OR REPLACE INTO words_docs(photo_id, path, hash, text_build) "
                                       "VALUES (?, ?, ?, ?)", [pid, raw_path, content_hash, build])
                    n += 1
        return n

    def _user_tags(self, chunk: list[int], marks: str) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        for pid, tag in self.store.query(f"SELECT photo_id, tag FROM tags WHERE source = 'user' "
                                         f"AND photo_id IN ({marks}) ORDER BY tag", chunk):
            out.setdefault(pid, []).append(tag)
        return out

    def _put(self, photo_id: int, cols: tuple[str, ...]) -> None:
        # A file name that is not valid UTF-8 carries surrogates: its other letters are still words.
        cols = tuple(c.encode("utf-8", "replace").decode("utf-8") for c in cols)
        self.store.execute("DELETE FROM words_fts WHERE rowid = ?", [photo_id])
        self.store.execute("DELETE FROM words_tri WHERE rowid = ?", [photo_id])
        self.store.execute("INSERT INTO words_fts(rowid, text, name, folder, tags, caption) VALUES (?, ?, ?, ?, ?, ?)",
                           [photo_id, *cols])
        self.store.execute("INSERT INTO words_tri(rowid, body) VALUES (?, ?)", [photo_id, fold(" ".join(cols))])

    def sync(self) -> int:
        """Bring every stale word row up to date; returns how many were written."""
        return self.write_docs(self.stale_docs())

    # -- queries ----------------------------------------------------------------------------

    def match(self, expression: str, limit: int) -> list[tuple[int, float]]:
        """(photo id, bm25 rank: lower is better) for an FTS5 expression, best first."""
        return self.store.query("SELECT rowid, bm25(words_fts) FROM words_fts WHERE words_fts MATCH ? "
                                "ORDER BY bm25(words_fts) LIMIT ?", [expression, limit])

    def count(self, expression: str, cap: int) -> int:
        """How many photos match, counting no further than `cap`."""
        return self.store.query("SELECT count(*) FROM (SELECT rowid FROM words_fts WHERE words_fts MATCH ? LIMIT ?)",
                                [expression, cap])[0][0]

    def columns_for(self, ids: list[int]) -> dict[int, dict[str, str]]:
        """Each photo's word columns (by rowid: quick however common the words are)."""
        out: dict[int, dict[str, str]] = {}
        for chunk, marks in Store._id_chunks(ids):
            for row in self.store.query(f"SELECT rowid, text, name, folder, tags, caption FROM words_fts "
                                        f"WHERE rowid IN ({marks})", chunk):
                out[row[0]] = dict(zip(COLUMNS, row[1:]))
        return out

    def trigram_candidates(self, grams: list[str], limit: int) -> list[tuple[int, str]]:
        """(photo id, folded body) of photos sharing the most of these trigrams."""
        expression = " OR ".join('"' + g.replace('"', '""') + '"' for g in grams)
        return self.store.query("SELECT rowid, body FROM words_tri WHERE words_tri MATCH ? "
                                "ORDER BY bm25(words_tri) LIMIT ?", [expression, limit])
