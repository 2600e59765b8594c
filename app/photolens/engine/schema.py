"""The library database's schema, as ordered, named migration steps.

Each step is a function that takes the database inside the migrating transaction; the
database's `user_version` records how many steps have run (Store._migrate runs the rest). A new
feature that needs a table or a column appends a step with a docstring saying why: never edit
or reorder a step that has shipped, libraries out there have already run it.
"""
from __future__ import annotations

import sqlite_utils

__all__ = ["MIGRATIONS"]


def _m1_initial(db: sqlite_utils.Database) -> None:
    """The first schema: folders, photos, vectors per model, tags."""
    db.execute("""CREATE TABLE folders (
        id INTEGER PRIMARY KEY, path BLOB NOT NULL UNIQUE, added_at REAL NOT NULL,
        online INTEGER NOT NULL DEFAULT 1, last_scan REAL)""")
    db.execute("""CREATE TABLE photos (
        id INTEGER PRIMARY KEY, folder_id INTEGER NOT NULL REFERENCES folders(id),
        path BLOB NOT NULL UNIQUE, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
        hash TEXT, width INTEGER, height INTEGER, taken REAL, camera TEXT,
        gps_lat REAL, gps_lon REAL, status TEXT NOT NULL DEFAULT 'pending',
        error_kind TEXT, error TEXT, added_at REAL NOT NULL, indexed_at REAL,
        tagged_with TEXT)""")
    db.execute("CREATE INDEX photos_folder ON photos(folder_id)")
    db.execute("CREATE INDEX photos_size ON photos(size)")
    db.execute("CREATE INDEX photos_status ON photos(status)")
    db.execute("""CREATE TABLE vectors (
        photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        model TEXT NOT NULL, kind TEXT NOT NULL, vec BLOB NOT NULL,
        PRIMARY KEY (photo_id, model, kind)) WITHOUT ROWID""")
    db.execute("CREATE INDEX vectors_model ON vectors(model, kind)")
    db.execute("""CREATE TABLE tags (
        photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        tag TEXT NOT NULL, source TEXT NOT NULL, score REAL, model TEXT,
        PRIMARY KEY (photo_id, tag)) WITHOUT ROWID""")
    db.execute("CREATE INDEX tags_tag ON tags(tag)")
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")


def _m2_concepts(db: sqlite_utils.Database) -> None:
    """Concepts the user teaches (a tag name with example photos); the classifier is small and
    retrained from the examples, so only the examples are stored."""
    db.execute("""CREATE TABLE concept_examples (
        concept TEXT NOT NULL, photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        positive INTEGER NOT NULL, PRIMARY KEY (concept, photo_id)) WITHOUT ROWID""")


def _m3_kept_by_content(db: sqlite_utils.Database) -> None:
    """What a removed photo carried, kept by its content hash (see archive.py): its vectors and
    metadata, so re-adding it embeds nothing, and every user-authored fact (tags, removed-tag
    decisions, concept examples), so removing a folder loses none of the user's work. Folders
    say why they are offline, and which subfolders could not be read."""
    db.execute("""CREATE TABLE kept_photos (hash TEXT PRIMARY KEY, size INTEGER NOT NULL, path BLOB,
        width INTEGER, height INTEGER, taken REAL, camera TEXT, gps_lat REAL, gps_lon REAL,
        tagged_with TEXT, removed_at REAL NOT NULL)""")
    db.execute("CREATE INDEX kept_photos_size ON kept_photos(size)")
    db.execute("""CREATE TABLE kept_vectors (hash TEXT NOT NULL, model TEXT NOT NULL, kind TEXT NOT NULL,
        vec BLOB NOT NULL, PRIMARY KEY (hash, model, kind)) WITHOUT ROWID""")
    db.execute("""CREATE TABLE kept_facts (hash TEXT NOT NULL, kind TEXT NOT NULL, data TEXT NOT NULL,
        PRIMARY KEY (hash, kind, data)) WITHOUT ROWID""")
    db.execute("ALTER TABLE folders ADD COLUMN offline_reason TEXT")
    db.execute("ALTER TABLE folders ADD COLUMN unreachable TEXT")  # JSON [[subfolder, reason], ...]


def _m9_tag_counts(db: sqlite_utils.Database) -> None:
    """How many photos carry each tag, kept up to date by triggers: the tag pane asks for every
    count at start and after each change, and counting a million tag rows each time took
    seconds at 200,000 photos. A tag the user removed ('rejected') is not counted."""
    db.execute("CREATE TABLE tag_counts (tag TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID")
    db.execute("""INSERT INTO tag_counts SELECT tag, count(*) FROM tags WHERE source != 'rejected' GROUP BY tag""")
    db.execute("""CREATE TRIGGER tag_counts_insert AFTER INSERT ON tags WHEN NEW.source != 'rejected' BEGIN
        INSERT INTO tag_counts(tag, n) VALUES (NEW.tag, 1) ON CONFLICT(tag) DO UPDATE SET n = n + 1; END""")
    db.execute("""CREATE TRIGGER tag_counts_delete AFTER DELETE ON tags WHEN OLD.source != 'rejected' BEGIN
        UPDATE tag_counts SET n = n - 1 WHERE tag = OLD.tag; DELETE FROM tag_counts WHERE tag = OLD.tag AND n <= 0; END""")
    db.execute("""CREATE TRIGGER tag_counts_update AFTER UPDATE OF tag, source ON tags BEGIN
        UPDATE tag_counts SET n = n - 1 WHERE OLD.source != 'rejected' AND tag = OLD.tag;
        DELETE FROM tag_counts WHERE tag = OLD.tag AND n <= 0;
        INSERT INTO tag_counts(tag, n) SELECT NEW.tag, 1 WHERE NEW.source != 'rejected'
            ON CONFLICT(tag) DO UPDATE SET n = n + 1; END""")


def _m4_dates_places(db: sqlite_utils.Database) -> None:
    """When and where (engine/metadata.py, engine/places.py): the date as the wall clock where
    the photo was taken (ISO text, so a month is a range of an index) with its offset and where
    it came from, the place named from GPS, and indexes for filtering by date, place and camera.
    meta_version NULL marks photos whose metadata the next index run reads again (headers only)."""
    for column in ("taken_local TEXT", "tz_offset INTEGER", "date_source TEXT", "place_city TEXT",
                   "place_region TEXT", "place_country TEXT", "place_cc TEXT", "meta_version INTEGER"):
        db.execute(f"ALTER TABLE photos ADD COLUMN {column}")
    # Each index also holds status (and the place index the date), so a filter is answered from
    # the index alone, without reading every matching photo's row (6.8k photos of a year at
    # 100k: 65 ms -> a few ms).
    db.execute("CREATE INDEX photos_taken ON photos(taken_local, status)")
    db.execute("CREATE INDEX photos_place ON photos(place_cc, place_region, place_city, taken_local, status)")
    db.execute("CREATE INDEX photos_camera ON photos(camera, status)")


def _m5_albums(db: sqlite_utils.Database) -> None:
    """Albums, and the pixel signatures (and sharpness) that tell duplicates apart. Both are
    keyed by photo content (hash), so they survive a photo's move, its folder's removal and a
    re-index; an album is user data and never goes with a photo. `state` of an album photo:
    'member' (the user put it in), 'matched' (a smart album's query took it in), 'pinned' (kept
    in whatever the query says), 'excluded' (kept out whatever the query says); `score`, a
    match's score when taken in. No extra indexes: albums are small, and SQLite indexes a join
    on hash by itself when it pays (each index costs a 16 KiB page in every library). (Issue 21;
    named for the step it was planned as; it runs after the steps that shipped before it.)"""
    db.execute("""CREATE TABLE albums (
        id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, query TEXT, created REAL NOT NULL)""")
    db.execute("""CREATE TABLE album_photos (
        album_id INTEGER NOT NULL REFERENCES albums(id) ON DELETE CASCADE, hash TEXT NOT NULL,
        state TEXT NOT NULL, added REAL NOT NULL, score REAL, PRIMARY KEY (album_id, hash)) WITHOUT ROWID""")
    db.execute("""CREATE TABLE photo_signatures (
        hash TEXT PRIMARY KEY, version INTEGER NOT NULL, sig BLOB NOT NULL, sharpness REAL NOT NULL)
        WITHOUT ROWID""")


def _m8_tag_rules(db: sqlite_utils.Database) -> None:
    """The user's library-wide tag decisions ("never suggest", renames), kept apart from the
    tags so that retagging, which rewrites every auto tag, cannot forget them (tag_rules.py)."""
    db.execute("""CREATE TABLE IF NOT EXISTS tag_rules (
        tag TEXT PRIMARY KEY, rule TEXT NOT NULL, target TEXT)""")


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
    # User tags, however they are set (a tag, a taught concept, a repair): the photo's tag words
    # follow at once (the trigram row in lower case: accents fold at its next full rewrite).
    for event, row in (("INSERT", "new"), ("DELETE", "old"), ("UPDATE", "new")):
        db.execute(f"""CREATE TRIGGER words_tags_{event.lower()} AFTER {event} ON tags BEGIN
            UPDATE words_fts SET tags = coalesce((SELECT group_concat(tag, ' ') FROM (SELECT tag FROM tags
                WHERE photo_id = {row}.photo_id AND source = 'user' ORDER BY tag)), '') WHERE rowid = {row}.photo_id;
            UPDATE words_tri SET body = (SELECT lower(text || ' ' || name || ' ' || folder || ' ' || tags || ' '
                || caption) FROM words_fts WHERE rowid = {row}.photo_id) WHERE rowid = {row}.photo_id; END""")


def _m7_people(db: sqlite_utils.Database) -> None:
    """People (issue 19): the content hash the face pass saw on each photo (NULL: not looked at
    yet; a column, so it goes with its photo). The face tables themselves (facestore.SCHEMA) are
    made when the library first uses people: a library that never does carries no empty B-trees
    (16 KiB each in every library). Checked first, so the step may take another place in the list."""
    if "faces_hash" not in {r[1] for r in db.execute("PRAGMA table_info(photos)").fetchall()}:
        db.execute("ALTER TABLE photos ADD COLUMN faces_hash TEXT")


def _m10_tag_hints(db: sqlite_utils.Database) -> None:
    """Search hints (issue 16, ranking.py): each photo's most likely vocabulary terms with the
    tagger's probability, shown tags or not, so a one-word query ranks by what the tagger sees.
    Derived data, rewritten with the auto tags. Terms by a small id (hint_terms) and scores in
    thousandths keep a row near 10 bytes; the index on (term, score) reads a term's best photos
    first, and the key on photo_id replaces a photo's hints (and cascades when it goes)."""
    db.execute("CREATE TABLE hint_terms (id INTEGER PRIMARY KEY, term TEXT NOT NULL UNIQUE)")
    db.execute("""CREATE TABLE tag_hints (
        photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        term INTEGER NOT NULL, score INTEGER NOT NULL,
        PRIMARY KEY (photo_id, term)) WITHOUT ROWID""")
    db.execute("CREATE INDEX tag_hints_term ON tag_hints(term, score)")


# Ordered, named steps; user_version records how many have run. Append, never edit.
MIGRATIONS = [_m1_initial, _m2_concepts, _m3_kept_by_content, _m9_tag_counts, _m4_dates_places, _m5_albums,
              _m8_tag_rules, _m6_words, _m7_people, _m10_tag_hints]
