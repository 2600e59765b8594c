"""Words: text read in real photos, file and folder names, tags and captions, searched as words
and fused with meaning (the tiny model stands in for meaning; the reader is the real one)."""
from __future__ import annotations

import json
import random
import time
import shutil
from pathlib import Path

import pytest
from PIL import Image

from conftest import dataset, run_cli, write_photo
from photolens.engine.jobs import Control
from photolens.engine.query import parse_query
from photolens.engine.wordsearch import WordHit, edit_distance, fuse, parse_words
from photolens.engine.words import fold, folder_words, name_words
from photolens.engine.wordset import draw_word, find_font

WORDS = ["zorblax", "kivomuta", "belrapin"]


def flickr(n: int, start: int = 0) -> list[Path]:
    return sorted((dataset("flickr8k-dev") / "images").glob("*.jpg"))[start:start + n]


def drawn_photo(src: Path, word: str, dest: Path, seed: int) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(src) as im:
        draw_word(im, word, random.Random(seed), find_font()).save(dest, quality=90)
    return dest


@pytest.fixture
def word_library(tmp_path, catalog):
    """Three real photos with made-up words drawn on them among six plain ones, indexed with
    their text read."""
    photos = tmp_path / "photos"
    drawn = {w: drawn_photo(src, w, photos / f"p{i}.jpg", i) for i, (w, src) in enumerate(zip(WORDS, flickr(3)))}
    for src in flickr(6, start=3):
        shutil.copy(src, photos / src.name)
    catalog.add_folder(photos)
    catalog.index_all()
    return catalog, drawn


def test_words_drawn_on_real_photos_are_read_and_find_their_photo_first(word_library):
    cat, drawn = word_library
    for word, path in drawn.items():
        lines = cat.text_of(cat.photo_id(str(path)))
        assert any(word in fold(ln.text).replace(" ", "") for ln in lines), (word, lines)
        for ln in lines:
            left, top, right, bottom = ln.box
            assert 0 <= left < right <= 1 and 0 <= top < bottom <= 1 and 0.6 <= ln.confidence <= 1
        results = cat.search(word.upper(), k=3)
        assert results[0].path == str(path)
        assert "text" in results[0].matched and results[0].to_json()["matched"] == results[0].matched
    plain = [p for p in cat.search("beach", k=20) if p.path not in map(str, drawn.values())]
    assert all("text" not in r.matched for r in plain)


def test_prefix_and_a_misread_letter_still_find_the_photo(word_library):
    cat, drawn = word_library
    assert cat.search("zorbl", k=1)[0].path == str(drawn["zorblax"])       # prefix
    assert cat.search("zorbiax", k=1)[0].path == str(drawn["zorblax"])     # one letter off (an OCR slip)
    assert cat.search("kivomutta", k=1)[0].path == str(drawn["kivomuta"])  # one letter too many
    assert "text" not in cat.search("zorb1ax", k=9)[0].matched or True     # digits are letters too: no crash


def test_file_and_folder_names_find_their_photos(tmp_path, catalog):
    photos = tmp_path / "photos"
    write_photo(photos / "misc" / "kazumbiTrip_2019-07.jpg", (200, 30, 30))
    write_photo(photos / "Grandpa Theo 80th birthday" / "IMG_0001.jpg", (30, 200, 30))
    write_photo(photos / "Grandpa Theo 80th birthday" / "IMG_0002.jpg", (30, 30, 200))
    for i in range(5):
        write_photo(photos / "misc" / f"IMG_{i + 10:04d}.jpg", (40 * i, 100, 150))
    catalog.add_folder(photos)
    catalog.index_all()
    top = catalog.search("kazumbi", k=3)
    assert top[0].path.endswith("kazumbiTrip_2019-07.jpg") and "file name" in top[0].matched
    assert catalog.search("trip", k=1)[0].path.endswith("kazumbiTrip_2019-07.jpg")  # camel case split
    top = catalog.search("grandpa theo", k=3)
    assert {Path(r.path).name for r in top[:2]} == {"IMG_0001.jpg", "IMG_0002.jpg"}
    assert all("folder" in r.matched for r in top[:2]) and "folder" not in top[2].matched


def test_captions_are_case_accent_insensitive_exact_phrases_and_kept_by_content(tmp_path, catalog):
    photos = tmp_path / "photos"
    for i in range(6):
        write_photo(photos / f"p{i}.jpg", (30 * i, 90, 160))
    catalog.add_folder(photos)
    catalog.index_all()
    a, b = catalog.photo_id(str(photos / "p1.jpg")), catalog.photo_id(str(photos / "p4.jpg"))
    assert catalog.set_caption(a, "  Café  Müller: open 24 hours ") == "Café Müller: open 24 hours"
    catalog.set_caption(b, "hours: open from 24 May")
    for query in ("cafe", "MULLER", "Caf", "müll"):
        top = catalog.search(query, k=2)
        assert top[0].id == a and "caption" in top[0].matched, query
    top = catalog.search('"open 24 hours"', k=6)
    assert top[0].id == a and "caption" in top[0].matched
    assert all("caption" not in r.matched for r in top if r.id == b)  # all three words, not the phrase
    catalog.add_tag([b], "Théo")
    assert catalog.search("theo", k=1)[0].id == b and "tag" in catalog.search("theo", k=1)[0].matched
    catalog.teach("Minou", [a])  # a taught concept is a user tag too: its words follow
    assert "tag" in catalog.search("minou", k=1)[0].matched and catalog.search("minou", k=1)[0].id == a
    catalog.remove_tag([a], "Minou")
    assert all("tag" not in r.matched for r in catalog.search("minou", k=6))
    # Removed and added again: the caption comes back with the content, and the photo that gets
    # the old id (SQLite may reuse it) does not inherit it.
    catalog.remove_folder(str(photos))
    catalog.add_folder(photos)
    catalog.index_all()
    again = catalog.photo_id(str(photos / "p1.jpg"))
    assert catalog.caption_of(again) == "Café Müller: open 24 hours"
    assert [catalog.caption_of(catalog.photo_id(str(photos / f"p{i}.jpg"))) for i in (0, 2, 3, 5)] == [""] * 4
    assert catalog.search("muller", k=1)[0].id == again
    catalog.set_caption(again, "")
    assert catalog.caption_of(again) == "" and "caption" not in catalog.search("muller", k=1)[0].matched


def test_text_pass_is_deferred_resumable_and_does_only_the_rest(tmp_path, catalog):
    photos = tmp_path / "photos"
    drawn_photo(flickr(1)[0], "zorblax", photos / "sign.jpg", 0)
    for src in flickr(4, start=1):
        shutil.copy(src, photos / src.name)
    catalog.add_folder(photos)
    catalog.index_all(tag_details=False)  # as the app does: deferred passes come later, in chunks
    sign = catalog.photo_id(str(photos / "sign.jpg"))
    assert catalog.text_of(sign) is None
    assert sign in {r.id for r in catalog.search("zorblax", k=5)}  # searchable by meaning already
    first = catalog.read_text(limit=2)
    assert first == {"done": 2, "failed": 0, "remaining": 3}
    control, seen = Control(), []

    def stop_after_one(p):
        seen.append(p.stage)
        if p.done == 1:
            control.cancel()

    interrupted = catalog.read_text(progress=stop_after_one, control=control)
    assert interrupted["done"] == 1 and interrupted["remaining"] == 2 and "reading text" in seen
    rest = catalog.read_text()
    assert rest == {"done": 2, "failed": 0, "remaining": 0}
    assert catalog.read_text() == {"done": 0, "failed": 0, "remaining": 0}
    assert catalog.search("zorblax", k=1)[0].id == sign


def test_fusion_keeps_a_meaning_ranking_and_puts_a_sole_word_match_first():
    meaning = [(i, 1.0 - i / 100) for i in range(50)]
    assert [p for p, _, _ in fuse(meaning, [], 10)] == list(range(10))
    # One of six words, written on photo 7: it may move up a little, never above the first places.
    weak = [WordHit(7, 1 / 6, 0, ["text"])]
    order = [p for p, _, _ in fuse(meaning, weak, 10)]
    assert order[:3] == [0, 1, 2] and order.index(7) <= 7
    # The query's one word, on a photo the meaning search ranks last: first.
    assert fuse(meaning, [WordHit(49, 1.0, 0, ["text"])], 10)[0][:1] == (49,)


def test_query_words_and_name_splitting():
    q = parse_words('A dog on the "Open  24 hours" beach - cat + image:/x.jpg 2*Café')
    assert q.words == ("dog", "beach", "cafe") and q.phrases == ("open 24 hours",)
    assert name_words("/p/kazumbiTrip_2019-07.jpg") == "kazumbiTrip 2019 07 kazumbi Trip"
    assert folder_words("/lib/Grandpa Theo/80th-birthday/x.jpg", "/lib") == "lib Grandpa Theo 80th birthday 80 th"
    assert parse_query("Theo's birthday").terms[0].text == "Theo's birthday"  # an apostrophe is no quote
    assert parse_words("Theo's birthday").words == ("theo", "birthday")
    assert edit_distance("zorblax", "zorbiax") == 1 and edit_distance("zorblax", "blax", 1) > 1


def test_cli_text_caption_and_search_say_why(tmp_path, library):
    photos = tmp_path / "photos"
    sign = drawn_photo(flickr(1)[0], "zorblax", photos / "sign.jpg", 0)
    write_photo(photos / "plain.jpg")
    run_cli("add", photos, library=library)
    text = json.loads(run_cli("text", sign, "--json", library=library).stdout)
    assert "ZORBLAX" in text["text"].upper().replace(" ", "") and text["lines"][0]["box"]
    assert "(no text found)" in run_cli("text", photos / "plain.jpg", library=library).stdout
    run_cli("caption", photos / "plain.jpg", "Theo's 80th birthday cake", library=library)
    assert "birthday cake" in run_cli("caption", photos / "plain.jpg", library=library).stdout
    found = json.loads(run_cli("search", "birthday", "--json", library=library).stdout)["results"]
    assert found[0]["path"].endswith("plain.jpg") and "caption" in found[0]["matched"]
    found = json.loads(run_cli("search", "zorblax", "--json", library=library).stdout)["results"]
    assert found[0]["path"].endswith("sign.jpg") and "text" in found[0]["matched"]
    proc = run_cli("caption", tmp_path / "elsewhere.jpg", "x", library=library, check=False)
    assert proc.returncode == 1 and "not in the library" in proc.stderr


def test_watcher_reads_text_when_nothing_else_waits(tmp_path, catalog):
    from photolens.engine.watcher import Watcher

    photos = tmp_path / "photos"
    sign = drawn_photo(flickr(1)[0], "zorblax", photos / "sign.jpg", 0)
    catalog.add_folder(photos)
    catalog.index_all(tag_details=False)
    pid = catalog.photo_id(str(sign))
    watcher = Watcher(catalog)
    watcher.start()
    try:
        deadline = time.monotonic() + 120
        while catalog.text_of(pid) is None and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        watcher.stop()
    assert catalog.search("zorblax", k=1)[0].matched[-1:] == ["text"]


def test_eval_words_measures_drawn_file_and_folder_words_and_fusion(tmp_path, catalog, monkeypatch):
    from photolens.engine import evaluate_words
    from photolens.engine.evaluate import load_labels

    monkeypatch.setattr(evaluate_words, "DRAWN", 4)
    monkeypatch.setattr(evaluate_words, "NAMED", 2)
    monkeypatch.setattr(evaluate_words, "FOLDERS", 1)
    flickr_set = dataset("flickr8k-dev")
    photos = tmp_path / "set"
    (photos / "images").mkdir(parents=True)
    entries = load_labels(flickr_set)[:12]
    for e in entries:
        shutil.copy(e["path"], photos / "images" / Path(e["path"]).name)
        e["path"] = str(photos / "images" / Path(e["path"]).name)
    catalog.add_folder(photos)
    catalog.index_all()
    by_path = {e["path"]: catalog.photo_id(e["path"]) for e in entries}
    report = evaluate_words.words_report(catalog, entries, by_path, tmp_path / "work")
    assert report["captions"]["captions"] == 60 and set(report["captions"]["by_weight"]) == {
        str(w) for w in evaluate_words.WEIGHTS}
    assert report["ocr"]["photos"] == 12 and report["ocr"]["cpu_ms_per_photo"] > 0
    drawn = report["drawn"]  # four words are too few for the 90% goal: every word read comes first
    assert drawn["words"] == 4 and drawn["read_exactly"] > 0 and drawn["first"] >= drawn["read_exactly"]
    assert report["file_names"] == {"words": 2, "first": 1.0, "missed": []}
    assert report["folders"] == {"words": 1, "first": 1.0, "missed": []}


def test_export_carries_the_text_read_and_the_caption(tmp_path, library):
    photos = tmp_path / "photos"
    drawn_photo(flickr(1)[0], "zorblax", photos / "sign.jpg", 0)
    write_photo(photos / "plain.jpg")
    run_cli("add", photos, library=library)
    run_cli("caption", photos / "plain.jpg", "Theo's cake", library=library)
    out = run_cli("export", "--json", library=library).stdout
    records = {Path(r["path"]).name: r for r in (json.loads(line) for line in out.splitlines() if line.strip())} \
        if not out.lstrip().startswith("[") else {Path(r["path"]).name: r for r in json.loads(out)}
    assert "ZORBLAX" in records["sign.jpg"]["text"].upper().replace(" ", "")
    assert records["plain.jpg"]["text"] == "" and records["plain.jpg"]["caption"] == "Theo's cake"


def test_reading_on_several_threads_writes_what_one_thread_reads(tmp_path, catalog):
    """The text pass reads photos on several threads at once (each with an engine of its own)
    and writes them one by one: what it stores is what a lone reader reads, photo by photo, and
    a photo that vanished is counted as failed, not lost in the crowd."""
    from photolens.engine.ocr import TextReader
    from photolens.engine.textpass import TextPass

    photos = tmp_path / "photos"
    for i, (word, src) in enumerate(zip(WORDS, flickr(3))):
        drawn_photo(src, word, photos / f"sign{i}.jpg", i)
    for src in flickr(4, start=3):
        shutil.copy(src, photos / src.name)
    catalog.add_folder(photos)
    catalog.index_all(tag_details=False)
    gone = photos / flickr(1, start=3)[0].name
    gone.unlink()
    alone = TextReader()
    expected = {p: alone.read_path(str(p)) for p in sorted(photos.glob("*.jpg"))}
    result = TextPass(catalog.words, catalog.text_reader, workers=3).run()
    assert result == {"done": 6, "failed": 1, "remaining": 0}
    for path, lines in expected.items():
        stored = catalog.text_of(catalog.photo_id(str(path)))
        assert [ln.to_json() for ln in stored] == [ln.to_json() for ln in lines], path  # boxes kept to 4 places
    assert sum(bool(lines) for lines in expected.values()) >= 3  # the drawn words were read
    assert catalog.text_of(catalog.photo_id(str(gone))) == []


def test_eval_words_runs_whole_as_a_user_runs_it(tmp_path, monkeypatch):
    """`photolens eval SET --words` end to end: the words set lies beside the eval's library,
    never inside its folder, which is never indexed (the command failed with "... is not in the
    library" while the set was made inside it)."""
    from photolens.engine import evaluate_words
    from photolens.engine.evaluate import evaluate

    monkeypatch.setattr(evaluate_words, "DRAWN", 3)
    monkeypatch.setattr(evaluate_words, "NAMED", 2)
    monkeypatch.setattr(evaluate_words, "FOLDERS", 1)
    flickr_set = dataset("flickr8k-dev")
    data = json.loads((flickr_set / "labels.json").read_text())
    data["images"] = data["images"][:10]
    small = tmp_path / "set"
    (small / "images").mkdir(parents=True)
    for e in data["images"]:
        shutil.copy(flickr_set / e["file"], small / e["file"])
    (small / "labels.json").write_text(json.dumps(data))
    words = evaluate(small, model="tiny", device="cpu", words=True)["words"]
    assert words["drawn"]["words"] == 3 and words["drawn"]["read_exactly"] > 0
    assert words["file_names"]["first"] == 1.0 and words["folders"]["first"] == 1.0
