"""The words tables (engine/words.py uses them): one named migration step, kept apart from the
queries so that the schema module can list it without importing them."""
from __future__ import annotations

import sqlite_utils

__all__ = ["_m6_words"]


def _m6_words(db: sqlite_utils.Database) -> None:
    """Words: OCR lines per photo (with the reader build that made them, so another build reads
    again), captions by content hash, and the full-text tables with their bookkeeping. Triggers
    drop a removed photo's rows (its caption stays, by content, for when it comes back; photo ids
    can be reused, so the caption's photo id is cleared) and re-key a caption when its photo's content changes."""
    db.execute("""CREATE TABLE photo_text (
        photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
        build TEXT NOT NULL, lines TEXT NOT NULL, error TEXT, read_at REAL NOT NULL)""")
    db.execute("""CREATE TABLE captions (
        hash TEXT PRIMARY KEY, photo_id INTEGER, text TEXT NOT NULL, updated REAL NOT NULL)""")
    db.execute("CREATE INDEX captions_photo ON captions(photo_id)")
    db.execute("""CREATE TABLE words_docs (
        photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
        path BLOB NOT NULL, hash TEXT, text_build TEXT)""")
    db.execute("CREATE VIRTUAL TABLE words_fts USING fts5(text, name, folder, tags, caption, "
               "tokenize = 'unicode61 remove_diacritics 2')")
    db.execute("CREATE VIRTUAL TABLE words_tri USING fts5(body, tokenize = 'trigram')")
    db.execute("""CREATE TRIGGER words_photo_gone AFTER DELETE ON photos BEGIN
        DELETE FROM words_fts WHERE rowid = old.id; DELETE FROM words_tri WHERE rowid = old.id;
        UPDATE captions SET photo_id = NULL WHERE photo_id = old.id; END""")
    # An edited photo (new content) keeps its caption: copied to the new hash, the old row kept
    # for any other copy of the old content. A photo added again points its caption at itself.
    db.execute("""CREATE TRIGGER words_caption_follows AFTER UPDATE OF hash ON photos
        WHEN new.hash IS NOT NULL BEGIN
        INSERT OR IGNORE INTO captions(hash, photo_id, text, updated)
            SELECT new.hash, new.id, text, updated FROM captions WHERE photo_id = new.id AND hash != new.hash
            ORDER BY updated DESC LIMIT 1;
        UPDATE captions SET photo_id = new.id WHERE hash = new.hash; END""")
