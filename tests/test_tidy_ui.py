"""The duplicates review and the Albums pane, headless (pytest-qt, offscreen), on real libraries."""
from __future__ import annotations

import os
import shutil

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QCheckBox, QRadioButton  # noqa: E402

from photolens.ui.albums_pane import AlbumsPane  # noqa: E402
from photolens.ui.duplicates_view import DuplicatesDialog  # noqa: E402
from photolens.ui.tasks import Tasks  # noqa: E402
from test_tidy import pattern_photo  # noqa: E402


@pytest.fixture
def copies(catalog, tmp_path):
    """A library with one photo in three identical files, and another photo."""
    photos = tmp_path / "photos"
    first = pattern_photo(photos / "a.png", 40)
    os.utime(first, ns=(10**18, 10**18))  # the earliest: the one to keep
    for name in ("b.png", "c.png"):
        shutil.copy(first, photos / name)
    pattern_photo(photos / "other.png", 41)
    catalog.add_folder(photos)
    catalog.index_all()
    return photos


def test_review_moves_only_the_confirmed_copies_and_keeps_those_set_aside(qtbot, catalog, copies, tmp_path):
    asked, sent = [], []
    answers = [False, True]

    def confirm(paths):
        asked.append(list(paths))
        return answers.pop(0)

    tasks = Tasks()
    dialog = DuplicatesDialog(catalog, tasks, tmp_path / "thumbs", confirm=confirm,
                              trash=lambda paths, keep: catalog.tidy.trash(paths, keep, send=sent.append))
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.list.count() == 1, timeout=10_000)
    cards = [dialog.cards_layout.itemAt(i).widget() for i in range(dialog.cards_layout.count())]
    assert len(cards) == 3
    assert "a.png" in dialog.status.text() or "a.png" in dialog.list.item(0).text()
    keeps = [c.findChild(QRadioButton) for c in cards]
    assert [k.isChecked() for k in keeps] == [True, False, False]  # the engine's choice: a.png
    keeps[1].setChecked(True)  # keep b.png instead
    cards[2].findChild(QCheckBox).setChecked(True)  # and set c.png aside

    dialog.trash_button.click()  # the user says no: nothing moves
    assert asked == [[str(copies / "a.png")]] and sent == []
    with qtbot.waitSignal(dialog.trashed, timeout=10_000) as moved:
        dialog.trash_button.click()
    assert moved.args == [1] and sent == [str(copies / "a.png")]
    assert all((copies / n).exists() for n in ("a.png", "b.png", "c.png"))  # the fake trash moved nothing
    with pytest.raises(Exception):
        catalog.photo_id(str(copies / "a.png"))  # the library forgot it
    qtbot.waitUntil(lambda: "Moved 1 to the trash" in dialog.status.text(), timeout=10_000)
    tasks.wait()


def test_setting_a_group_aside_hides_it(qtbot, catalog, copies, tmp_path):
    tasks = Tasks()
    dialog = DuplicatesDialog(catalog, tasks, tmp_path / "thumbs", confirm=lambda p: pytest.fail("asked"),
                              trash=lambda p, k: pytest.fail("trashed"))
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.list.count() == 1, timeout=10_000)
    dialog.aside_button.click()
    assert dialog.list.count() == 0 and not dialog.trash_button.isEnabled()
    tasks.wait()


def test_albums_pane_makes_albums_shows_them_and_takes_photos(qtbot, catalog, copies):
    answers = [("Trip", True), ("Everything", True), ("anything at all", True)]
    tasks = Tasks()
    pane = AlbumsPane(catalog, tasks, ask=lambda title, label: answers.pop(0))
    qtbot.addWidget(pane)
    ids = [catalog.photo_id(str(copies / "other.png"))]
    with qtbot.waitSignal(pane.changed, timeout=10_000):
        pane.new_album(ids)
    qtbot.waitUntil(lambda: pane.list.count() == 1, timeout=10_000)
    assert pane.names() == ["Trip"] and "(1)" in pane.list.item(0).text()
    with qtbot.waitSignal(pane.album_shown, timeout=10_000) as shown:
        pane.show_album("Trip")
    assert shown.args[0] == "Trip" and [r.path for r in shown.args[1]] == [str(copies / "other.png")]

    with qtbot.waitSignal(pane.changed, timeout=10_000):
        pane.new_smart_album()  # the tiny model names no cut-off: every photo matches
    qtbot.waitUntil(lambda: pane.list.count() == 2, timeout=10_000)
    smart = next(a for a in pane.albums if a.name == "Everything")
    assert smart.query == "anything at all" and smart.count == 2  # one per content: a, b, c are one
    with qtbot.waitSignal(pane.changed, timeout=10_000):
        pane.add_paths("Trip", [str(copies / "a.png")])
    qtbot.waitUntil(lambda: next(a.count for a in pane.albums if a.name == "Trip") == 2, timeout=10_000)
    tasks.wait()


def test_the_window_has_albums_duplicates_and_add_to_album(qtbot, catalog, copies):
    from photolens.ui.main_window import MainWindow

    w = MainWindow(catalog, welcome=False, watch=False)
    qtbot.addWidget(w)
    w.show()
    with qtbot.waitSignal(w.index_done, timeout=20_000):
        pass
    tools = next(a.menu() for a in w.menuBar().actions() if a.text() == "&Tools")
    assert [a.text() for a in tools.actions()] == ["Find &duplicates..."]
    assert w.tidy.dock.objectName() == "albums" and w.tidy.dock.toggleViewAction() in \
        next(a.menu() for a in w.menuBar().actions() if a.text() == "&View").actions()
    dialog = w.tidy.review_duplicates()
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.list.count() == 1, timeout=10_000)
    dialog.close()

    qtbot.waitUntil(lambda: w.results.rowCount() > 0, timeout=10_000)
    menu = w.context_menu(w.results.index(0))
    add = next(a for a in menu.actions() if a.text().startswith("Add to album"))
    assert [a.text() for a in add.menu().actions()] == ["New album..."]
    w.tidy.notify({"smart_albums": {"Pets": [1, 2, 3]}})
    assert "3 new photos in Pets" in w.status_bar.currentMessage()
    w.tasks.wait()
    w.close()


def test_a_copy_without_a_date_taken_never_shows_its_file_time_as_one():
    from photolens.engine.duplicates import DuplicatePhoto
    from photolens.ui.duplicates_view import describe_photo

    dated = DuplicatePhoto(1, "/p/a.jpg", "/p", 30_000, 640, 480, 1_561_982_400.0)  # 2019-07-01 12:00 UTC
    undated = DuplicatePhoto(2, "/p/b.jpg", "/p", 30_000, 640, 480, 1_700_000_000.0, taken=False)
    assert "no date" not in describe_photo(dated) and "2019-07-01" in describe_photo(dated)
    assert "no date taken (file saved 2023-11-1" in describe_photo(undated)
