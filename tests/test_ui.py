"""The desktop app, headless (pytest-qt, offscreen), with real engine objects on a small real library."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt  # noqa: E402

from conftest import dataset, shown_window, write_photo  # noqa: E402
from photolens.engine import Catalog  # noqa: E402
from photolens.engine.records import TagCount  # noqa: E402
from photolens.engine.search import Result  # noqa: E402
from photolens.ui.status import counted  # noqa: E402
from photolens.ui.main_window import MainWindow  # noqa: E402
from photolens.ui.models import ResultsModel, TagsModel  # noqa: E402


@pytest.fixture(autouse=True)
def _window_settings(qapp, tmp_path):
    """Window geometry and pane layout (QSettings) go to a temporary folder, under the app's
    own names, never to the user's configuration."""
    from PySide6.QtCore import QSettings

    qapp.setOrganizationName("Photolens")
    qapp.setApplicationName("Photolens")
    QSettings.setPath(QSettings.NativeFormat, QSettings.UserScope, str(tmp_path / "qsettings"))
    QSettings.setPath(QSettings.IniFormat, QSettings.UserScope, str(tmp_path / "qsettings"))
    QSettings().clear()
    yield tmp_path / "qsettings"


def colored_library(folder: Path) -> Path:
    for i, color in enumerate([(220, 20, 20), (230, 40, 30), (20, 200, 30), (30, 30, 220), (200, 200, 30)]):
        write_photo(folder / f"{i}.jpg", color=color, size=(120, 90))
    return folder


@pytest.fixture
def window(qtbot, catalog, tmp_path):
    folder = colored_library(tmp_path / "photos")
    catalog.add_folder(folder)
    catalog.index_all()
    catalog.store.set_user_tag(catalog.photo_id(str(folder / "0.jpg")), "red things")
    catalog.store.set_user_tag(catalog.photo_id(str(folder / "1.jpg")), "red things")
    w = shown_window(qtbot, catalog)
    yield w
    w.close()


def test_a_tags_photos_stay_while_indexing_brings_new_photos(qtbot, window):
    """While indexing, the grid shows newly arrived photos only where it shows the recent
    photos: a tag's photos (search bar empty too) are not replaced by them."""
    import time

    from photolens.engine.jobs import Progress
    from photolens.ui.main_window import LIVE_STAGES

    with qtbot.waitSignal(window.search_done, timeout=10_000) as shown:
        window.show_tag("red things")
    assert shown.args[0] == 2 and not window.search.query()
    window._live_refreshed = 0.0
    window._show_progress(Progress(1, 10, 0, time.monotonic(), stage=next(iter(LIVE_STAGES))))
    window.tasks.wait()
    qtbot.wait(200)  # a recent-photos answer, had one been asked for, arrives by now
    assert window.results.rowCount() == 2


def test_window_title_and_typing_a_query_fills_the_grid(qtbot, window):
    assert "Photolens" in window.windowTitle()
    with qtbot.waitSignal(window.search_done, timeout=10_000) as blocker:
        qtbot.keyClicks(window.search.edit, "red")
    assert blocker.args[0] > 0
    assert window.results.rowCount() == blocker.args[0]
    assert window.stack.currentWidget() is window.grid


def test_right_click_find_similar_fills_the_pane(qtbot, window):
    with qtbot.waitSignal(window.search_done, timeout=10_000):
        window.search.set_text("red")
    index = window.results.index(0)
    subject = index.data(Qt.UserRole + 3)
    menu = window.context_menu(index)  # what a right-click on the photo opens
    action = next(a for a in menu.actions() if a.text() == "Find similar")
    with qtbot.waitSignal(window.similar_done, timeout=10_000) as blocker:
        action.trigger()
    assert blocker.args[0] == 4  # every other photo, and never the subject itself
    assert window.similar.isVisible()
    qtbot.waitUntil(lambda: window.similar.thumb.pixmap() is not None and not window.similar.thumb.pixmap().isNull(),
                    timeout=5000)  # the subject itself is shown above its neighbours
    assert subject not in [r.id for r in window.similar.results.results]
    # Clicking a photo in the pane makes it the new subject.
    with qtbot.waitSignal(window.similar_done, timeout=10_000):
        window.similar.grid.clicked.emit(window.similar.results.index(0))
    assert window.similar.subject != subject


def test_clicking_a_tag_filters_the_grid(qtbot, window):
    qtbot.waitUntil(lambda: window.tags.model.rowCount() > 0, timeout=5_000)
    row = next(i for i in range(window.tags.proxy.rowCount()) if window.tags.proxy.index(i, 0).data() == "red things")
    with qtbot.waitSignal(window.search_done, timeout=10_000) as blocker:
        window.tags.view.clicked.emit(window.tags.proxy.index(row, 0))
    assert blocker.args[0] == 2
    assert {Path(r.path).name for r in window.results.results} == {"0.jpg", "1.jpg"}


def test_adding_a_folder_shows_progress_then_results(qtbot, window, tmp_path):
    more = tmp_path / "more"
    for i in range(40):
        write_photo(more / f"{i}.png", color=(5 * i, 120, 255 - 5 * i), size=(200, 150))
    progress = []
    window.jobs.progress.connect(lambda p: progress.append((p.done, p.total)))
    with qtbot.waitSignal(window.index_done, timeout=60_000) as blocker:
        window.add_folder(str(more))
    assert blocker.args[0]["embedded"] == 40
    assert progress and progress[-1] == (40, 40)
    assert window.folders.list.count() == 2 or qtbot.waitUntil(lambda: window.folders.list.count() == 2)
    with qtbot.waitSignal(window.search_done, timeout=10_000) as done:
        window.search.set_text("blue")
    assert done.args[0] > 0


def test_a_query_with_no_good_match_shows_the_empty_state(qtbot, window, monkeypatch):
    with qtbot.waitSignal(window.search_done, timeout=10_000) as found:
        window.search.set_text("red")
    assert found.args[0] > 0 and f"{counted(found.args[0])} for “red”" in window.status_bar.currentMessage()
    monkeypatch.setitem(window.catalog.model.manifest, "match_threshold", 2.0)  # no cosine reaches 2
    with qtbot.waitSignal(window.search_done, timeout=10_000) as blocker:
        window.search.set_text("green")
    assert blocker.args[0] == 0
    assert window.status_bar.currentMessage() == ""  # not the last search's count beside "No good matches"
    assert window.stack.currentWidget() is window.empty
    assert "No good matches" in window.empty_label.text()
    assert window.weaker.isVisibleTo(window)
    with qtbot.waitSignal(window.search_done, timeout=10_000) as weaker:
        window.weaker.click()
    assert weaker.args[0] == 5


def test_a_malformed_query_shows_its_message(qtbot, window):
    # A lone quote is plain text now (test_an_apostrophe_or_a_lone_quote_searches); a query that
    # ends with an operator is still malformed, and says how to fix it.
    with qtbot.waitSignal(window.search_done, timeout=10_000):
        window.search.set_text('dog -')
    assert window.stack.currentWidget() is window.empty and "add a term after it" in window.empty_label.text()


@pytest.mark.parametrize("text", ["mom's birthday", '"unclosed', "it's a 12\" record"])
def test_an_apostrophe_or_a_lone_quote_searches(qtbot, window, text):
    with qtbot.waitSignal(window.search_done, timeout=10_000) as blocker:
        window.search.set_text(text)
    assert blocker.args[0] > 0 and window.stack.currentWidget() is window.grid


def test_results_model_passes_qtmodeltester(qtmodeltester, tmp_path):
    photo = write_photo(tmp_path / "a.jpg")
    model = ResultsModel(tmp_path / "thumbs", 64)
    model.set_results([Result(1, str(photo), 0.9), Result(2, str(tmp_path / "missing.jpg"), 0.5)])
    qtmodeltester.check(model)


def test_tags_model_passes_qtmodeltester(qtmodeltester):
    model = TagsModel()
    model.set_tags([TagCount("dog", 3), TagCount("beach", 1)])
    qtmodeltester.check(model)
    model.sort(0)  # it sorts itself (the tag pane's proxy only filters): checked through a sort too
    qtmodeltester.check(model)
    assert [model.index(r, 0).data() for r in range(2)] == ["beach", "dog"]


def test_real_photos_search_in_the_app(qtbot, tmp_path):
    """The built-in model on real photos: typing 'elephant' shows an elephant first."""
    from conftest import needs_builtin, use_model
    import json

    needs_builtin()
    coco = dataset("coco-mini")
    everything = json.loads((coco / "labels.json").read_text())["images"]
    entries = everything[:40] + [e for e in everything[40:] if "elephant" in e["classes"]]
    photos = tmp_path / "coco"
    photos.mkdir()
    for e in entries:
        shutil.copy(coco / e["file"], photos / Path(e["file"]).name)
    lib = tmp_path / "lib"
    use_model(lib, "builtin")
    cat = Catalog(lib, device="cpu")
    cat.add_folder(photos)
    w = MainWindow(cat, welcome=False)
    qtbot.addWidget(w)
    with qtbot.waitSignal(w.index_done, timeout=120_000):
        pass
    with qtbot.waitSignal(w.search_done, timeout=10_000) as blocker:
        qtbot.keyClicks(w.search.edit, "elephant")
    assert blocker.args[0] > 0
    first = Path(w.results.results[0].path).name
    assert "elephant" in next(e["classes"] for e in entries if Path(e["file"]).name == first)
    w.close()
    cat.close()


@pytest.mark.parametrize("pictures_exists", [True, False])
def test_welcome_proposes_pictures_only_where_it_exists(qtbot, catalog, tmp_path, monkeypatch, pictures_exists):
    from PySide6.QtWidgets import QMessageBox

    import photolens.ui.welcome as mw

    pictures = tmp_path / "Pictures"
    if pictures_exists:
        pictures.mkdir()
    monkeypatch.setattr(mw.QStandardPaths, "writableLocation", lambda _loc: str(pictures))
    w = MainWindow(catalog, welcome=False)
    qtbot.addWidget(w)
    w.welcome()
    box = next(c for c in w.findChildren(QMessageBox) if c.windowTitle() == "Welcome to Photolens")
    labels = [b.text() for b in box.buttons()]
    assert ("Add Pictures" in labels) == pictures_exists
    assert any(t.startswith("Choose") for t in labels) and "Later" in labels
    assert (str(pictures) in box.text()) == pictures_exists
    box.close()


def test_signal_emit_keeps_refcounts(qtbot):
    """PySide6 6.12.0 dropped a reference to True on every Signal.emit(); the app then aborted
    ("bool_dealloc") a few thousand emits into indexing a big folder. pyproject.toml keeps that
    version out; this catches it (or a relapse) in any version that gets installed."""
    import sys
    import threading

    from PySide6.QtCore import QObject, Signal

    class Emitter(QObject):
        progress = Signal(object)

    e = Emitter()
    got = []
    e.progress.connect(got.append)
    n = 2000  # a broken emit drops n references; normal noise is a handful
    before = sys.getrefcount(True)
    for i in range(n):
        e.progress.emit(i)
    assert before - sys.getrefcount(True) < 100
    before = sys.getrefcount(True)
    worker = threading.Thread(target=lambda: [e.progress.emit(i) for i in range(n)])
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: len(got) == 2 * n, timeout=5000)
    assert before - sys.getrefcount(True) < 100


@pytest.mark.skipif(not hasattr(os, "setpriority"), reason="per-thread priority is a Linux/Unix facility")
def test_writer_threads_yield_the_cpu_to_the_window():
    """Indexing runs on the writer at a lower priority, and so do the threads it starts."""
    import threading

    from photolens.ui.tasks import Pool

    def nice_here():
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    def nice_of_a_thread_started_here():
        out = []
        t = threading.Thread(target=lambda: out.append(nice_here()))
        t.start()
        t.join()
        return out[0]

    def can_renice():
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), max(7, os.getpriority(os.PRIO_PROCESS, 0)))
            return True
        except OSError:
            return False

    probe = []
    t = threading.Thread(target=lambda: probe.append(can_renice()))
    t.start()
    t.join()
    if not probe[0]:
        pytest.skip("this system refuses to lower a thread's priority (the app then runs the writer at normal priority)")
    pool = Pool(1, "test-writer", nice=7)
    try:
        base = os.getpriority(os.PRIO_PROCESS, 0)
        assert pool.submit(nice_here).result(10) == max(base, 7)
        assert pool.submit(nice_of_a_thread_started_here).result(10) == max(base, 7)
        assert Pool(1, "test-normal").submit(nice_here).result(10) == base
    finally:
        pool.shutdown()


def test_the_window_shows_with_its_saved_graph_read_and_waits_little_for_the_interpreter(qtbot, library, tmp_path,
                                                                                         monkeypatch):
    """A library past exact search opens its saved graph, and the tokenizer loads, before the
    window shows (both hold the interpreter while they read: a freeze in a shown window), and
    the app lets the window's
    thread take the interpreter back within a millisecond of asking."""
    import sys

    from photolens.ui.app import SWITCH_INTERVAL_S, make_app

    folder = colored_library(tmp_path / "photos")
    with Catalog(library, device="cpu") as first:
        first.add_folder(folder)
        first.index_all()
        first.index.exact_max = 2
        assert first.search("red", k=1)  # builds the graph; closing saves it
    catalog = Catalog(library, device="cpu")
    catalog.index.exact_max = 2
    assert not catalog.index.loaded
    monkeypatch.setattr(catalog, "warm_up", lambda: None)  # only the window's own read may load it
    w = MainWindow(catalog, welcome=False, watch=False)
    qtbot.addWidget(w)
    try:
        assert catalog.index.loaded and not catalog.index.exact  # read while the window was built
        assert catalog.embedder._tokenizer is not None  # so was the tokenizer
        before = sys.getswitchinterval()
        make_app()
        assert sys.getswitchinterval() == SWITCH_INTERVAL_S
        sys.setswitchinterval(before)
    finally:
        w.close()
        w.tasks.wait()
        catalog.close()


def test_scrolling_a_large_grid_calls_into_python_a_few_times_a_tile(qtbot, tmp_path, monkeypatch):
    """Each call Qt makes into the Python model waits for the interpreter while another thread
    computes; the grid's proxy and delegate keep a scroll to about a few calls a tile shown
    (it was ~1,400 calls for 35 tiles at 59,000 photos)."""
    import collections

    from photolens.ui.grid import PhotoGrid

    calls = collections.Counter()
    for name in ("data", "flags", "rowCount", "tile"):
        original = getattr(ResultsModel, name)

        def counted(self, *a, _original=original, _name=name, **k):
            calls[_name] += 1
            return _original(self, *a, **k)
        monkeypatch.setattr(ResultsModel, name, counted)
    model = ResultsModel(tmp_path / "thumbs", 64)
    grid = PhotoGrid(model, 64)
    qtbot.addWidget(grid)
    grid.resize(600, 400)
    grid.show()
    model.set_results([Result(i, str(tmp_path / f"{i}.jpg"), 1.0) for i in range(20_000)])
    bar = grid.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 100 * bar.pageStep(), timeout=20_000)  # laid out to the end
    for value in (bar.maximum(), 0, bar.pageStep() * 7):
        calls.clear()
        bar.setValue(value)
        grid.viewport().repaint()
        shown = calls["tile"]
        assert shown > 0
        assert sum(calls.values()) <= 6 * shown, dict(calls)


def test_a_new_list_starts_at_its_top_the_same_list_keeps_its_place_and_no_sideways_bar(qtbot, tmp_path):
    from photolens.ui.grid import PhotoGrid

    model = ResultsModel(tmp_path / "thumbs", 64)
    grid = PhotoGrid(model, 64)
    qtbot.addWidget(grid)
    grid.resize(600, 400)
    grid.show()
    many = [Result(i, str(tmp_path / f"{i}.jpg"), 1.0) for i in range(5_000)]
    grid.show_list(many, key="dog")
    bar = grid.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 50 * bar.pageStep(), timeout=20_000)
    middle = bar.maximum() // 2
    bar.setValue(middle)
    width = grid.viewport().width()
    grid.show_list(many, key="dog")  # the same search again (a watched folder changed): in place
    qtbot.waitUntil(lambda: bar.value() == middle, timeout=10_000)  # once laid out that far
    grid.show_list([Result(i, str(tmp_path / f"{i}.jpg"), 1.0) for i in range(1_000)], key="cat")  # a new search
    qtbot.waitUntil(lambda: bar.maximum() > 0, timeout=20_000)
    assert bar.value() == 0
    grid.show_list([Result(1, str(tmp_path / "1.jpg"), 1.0)])  # fits on a screen: the width stays
    qtbot.wait(300)  # the layout and the scroll bars settle
    assert grid.viewport().width() == width and not grid.horizontalScrollBar().isVisible()


def test_the_app_follows_the_folders_live(qtbot, window, tmp_path):
    """Once the start-up catch-up is done the window watches its folders: a photo copied in
    becomes searchable and the views refresh, without a restart."""
    assert window.jobs.watching
    folder = Path(window.catalog.folders()[0].path)
    before = window.catalog.status().indexed
    with qtbot.waitSignal(window.library_changed, timeout=20_000,
                          check_params_cb=lambda s: s.get("embedded", 0) >= 1):
        write_photo(folder / "arrived.jpg", color=(250, 10, 10), size=(120, 90))
    assert window.catalog.status().indexed == before + 1
    assert "Library updated" in window.status_bar.progress_label.text()
    window.close()
    assert not window.jobs.watching  # closing stops the observers


def test_teaching_a_tag_from_selected_photos_proposes_others(qtbot, window):
    """Select photos, name them, and the grid shows proposals to accept or reject."""
    from PySide6.QtCore import QItemSelectionModel

    window.show_recent()
    qtbot.waitUntil(lambda: window.results.rowCount() == 5, timeout=10_000)
    chosen = [window.results.result(r).id for r in (0, 1)]
    for r in (0, 1):
        window.grid.selectionModel().select(window.grid.model().index(r, 0), QItemSelectionModel.Select)
    assert sorted(window.selected_photo_ids()) == sorted(chosen)
    with qtbot.waitSignal(window.proposals_done, timeout=10_000) as blocker:
        window.teach_from_selection("Minou")
    assert blocker.args[0] == 3  # every other photo, never the examples
    assert not set(chosen) & {r.id for r in window.results.results}
    assert {pid for pid, _ in window.catalog.store.photos_with_tag("Minou")} == set(chosen)
    menu = window.context_menu(window.results.index(0))
    texts = [a.text() for a in menu.actions()]
    assert "Yes, this is “Minou”" in texts and "No, this is not “Minou”" in texts
    accepted = window.results.result(0).id
    with qtbot.waitSignal(window.proposals_done, timeout=10_000) as blocker:
        next(a for a in menu.actions() if a.text() == "Yes, this is “Minou”").trigger()
    assert blocker.args[0] == 2
    assert accepted in {pid for pid, _ in window.catalog.store.photos_with_tag("Minou")}
    rejected = window.results.result(0).id
    with qtbot.waitSignal(window.proposals_done, timeout=10_000) as blocker:
        window.judge_proposal(rejected, False)
    assert rejected not in {r.id for r in window.results.results}  # a rejected photo is not proposed again


def test_unreadable_files_show_in_the_status_bar(qtbot, window, tmp_path):
    bad = tmp_path / "bad"
    write_photo(bad / "fine.jpg", color=(10, 200, 10))
    (bad / "broken.jpg").write_bytes(b"not a jpeg at all")
    with qtbot.waitSignal(window.index_done, timeout=60_000):
        window.add_folder(str(bad))
    assert window.status_bar.failures_button.isVisible()
    assert window.status_bar.failures_button.text() == "1 could not be read"


def test_the_app_updates_tags_made_by_an_older_tagger_at_start(qtbot, catalog, tmp_path):
    """After an update that ships another tagger, the start-up catch-up retags the library from
    its stored vectors and says so, with progress labelled as such."""
    folder = colored_library(tmp_path / "photos")
    catalog.add_folder(folder)
    catalog.index_all()
    # As an older release leaves a library: tagged under another identity, no finished retag recorded.
    catalog.store.execute("UPDATE photos SET tagged_with = 'tiny@an-older-tagger'")
    catalog.store.execute("DELETE FROM meta WHERE key = 'tags_retagged_under'")
    w = MainWindow(catalog, welcome=False, watch=False)
    qtbot.addWidget(w)
    labels = []
    w.jobs.progress.connect(lambda p: labels.append(w.status_bar.progress_label.text()))
    w.show()
    with qtbot.waitSignal(w.index_done, timeout=20_000) as blocker:
        pass
    assert blocker.args[0]["retagged"] == 5 and blocker.args[0]["embedded"] == 0
    assert any(text.startswith("Updating tags 5/5") for text in labels), labels
    assert "tags updated on 5" in w.status_bar.progress_label.text()
    assert catalog.index_all()["retagged"] == 0
    w.close()


def test_settings_dialog_turns_thorough_tags_off_and_keeps_it(qtbot, window):
    """Settings → "Look closely for small things when tagging": unticked and OK, the library
    remembers it (the next index run skips the tag detail pass)."""
    from photolens.engine.config import Settings
    from photolens.ui.settings import SettingsDialog

    cat = window.catalog
    dialog = SettingsDialog(cat, window)
    qtbot.addWidget(dialog)
    assert dialog.thorough.isChecked() is True
    dialog.thorough.setChecked(False)
    dialog.apply()
    assert cat.settings.thorough_tags is False and Settings.load(cat.dir).thorough_tags is False


@pytest.mark.e2e
def test_the_app_adds_tag_details_in_chunks_after_catching_up(qtbot, tmp_path, monkeypatch):
    """A library indexed without the tag detail pass (an older version, or thorough tags off):
    after the start-up catch-up, the app adds it in the background, a chunk per writer job, with
    "Adding tag details" progress; search works throughout."""
    from conftest import coco_catalog_without_tag_details
    from photolens.ui import library_jobs

    cat = coco_catalog_without_tag_details(tmp_path, 5)
    monkeypatch.setattr(library_jobs, "TAG_DETAIL_CHUNK", 2)
    chunks = []
    real = Catalog.add_tag_details
    monkeypatch.setattr(Catalog, "add_tag_details", lambda self, *a, **k: chunks.append(k.get("limit")) or
                        real(self, *a, **k))
    w = MainWindow(cat, welcome=False, watch=False)
    qtbot.addWidget(w)
    labels = []
    w.jobs.progress.connect(lambda p: labels.append(w.status_bar.progress_label.text()))
    w.show()
    qtbot.waitUntil(lambda: w.status_bar.progress_label.text() == "Tag details added to 5 photos", timeout=60_000)
    assert chunks == [2, 2, 2]
    assert any(text.startswith("Looking closer 5/5") for text in labels), labels
    assert not w.jobs.busy and w.status_bar.progress.isHidden()
    assert cat.store.query("SELECT count(*) FROM vectors WHERE kind = 'detail_probs'")[0][0] == 5
    assert len(cat.search("a photo", k=5)) == 5
    w.close()
    cat.close()


@pytest.mark.e2e
def test_indexing_started_while_tag_details_are_added_stops_them_and_they_resume(qtbot, tmp_path, monkeypatch):
    """Adding a folder while tag details are being added: the indexing run goes first (the
    details stop at their next batch), and the details resume after it and finish."""
    from conftest import coco_catalog_without_tag_details
    from photolens.ui import library_jobs

    cat = coco_catalog_without_tag_details(tmp_path, 6)
    monkeypatch.setattr(library_jobs, "TAG_DETAIL_CHUNK", 1)
    w = MainWindow(cat, welcome=False, watch=False)
    qtbot.addWidget(w)
    summaries = []
    w.index_done.connect(summaries.append)
    interrupted = []

    def on_progress(p):
        if p.stage == "looking closer" and not interrupted:
            interrupted.append(p.done)
            w.start_indexing()  # what "Add folder" does

    w.jobs.progress.connect(on_progress)
    w.show()
    qtbot.waitUntil(lambda: len(summaries) == 2 and not w.jobs.busy, timeout=60_000)
    assert interrupted and summaries[1]["embedded"] == 0
    assert cat.store.query("SELECT count(*) FROM vectors WHERE kind = 'detail_probs'")[0][0] == 6
    assert w.status_bar.progress_label.text().startswith("Tag details added to")
    w.close()
    cat.close()


def test_an_offline_folder_says_why_and_removing_a_folder_keeps_its_tags(qtbot, window, tmp_path):
    from PySide6.QtWidgets import QMessageBox

    folder = tmp_path / "photos"
    folder.rename(tmp_path / "unplugged")
    folder.mkdir()  # the empty mount point an unplugged drive leaves
    with qtbot.waitSignal(window.index_done, timeout=60_000):
        window.start_indexing()
    window.folders.refresh()
    qtbot.waitUntil(lambda: "(offline)" in window.folders.list.item(0).text())
    assert "unmounted" in window.folders.list.item(0).toolTip() and "kept" in window.folders.list.item(0).toolTip()
    folder.rmdir()
    (tmp_path / "unplugged").rename(folder)

    window.folders.list.setCurrentRow(0)
    window.folders.ask_remove()
    box = window.folders.dialog
    asked = {"text": box.text(), "default": box.defaultButton()}
    box.property("remove_button").click()
    qtbot.waitUntil(lambda: window.folders.list.count() == 0, timeout=20_000)
    assert asked["default"] is box.button(QMessageBox.Cancel) and "come back" in asked["text"]
    with qtbot.waitSignal(window.index_done, timeout=60_000):
        window.add_folder(str(folder))
    pid = window.catalog.photo_id(str(folder / "0.jpg"))
    assert "red things" in {t["tag"] for t in window.catalog.store.tags_of(pid)}


def test_a_newer_list_drops_the_older_ones_not_yet_started():
    """The grid's lists go through one lane: clicking through tags runs the one in progress and
    the newest, not every one clicked past (and dropping them does not deadlock the lane)."""
    import threading

    from photolens.ui.tasks import Lane

    lane, ran, gate, done = Lane("test-lists"), [], threading.Event(), threading.Event()
    try:
        lane.submit(1, lambda: (gate.wait(10), ran.append(1)))  # in progress: it finishes
        for serial in (2, 3, 4):  # queued behind it, each newer than the last
            lane.submit(serial, lambda s=serial: ran.append(s))
        lane.submit(5, lambda: (ran.append(5), done.set()))
        gate.set()
        assert done.wait(10) and lane.wait(10_000)
        assert ran == [1, 5]
    finally:
        lane.shutdown()


def test_counts_read_as_words():
    assert counted(1) == "1 photo" and counted(0) == "0 photos" and counted(12345) == "12,345 photos"
    assert counted(1, "person", "people") == "1 person" and counted(3, "person", "people") == "3 people"
