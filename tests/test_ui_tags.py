"""The tag pane's menu in the app: accept or reject a tag on the selected photos, rename or
merge, remove everywhere, never suggest; the counts update as soon as the change is written."""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QItemSelectionModel  # noqa: E402

from test_ui import colored_library  # noqa: E402
from conftest import shown_window  # noqa: E402


@pytest.fixture
def window(qtbot, catalog, tmp_path):
    folder = colored_library(tmp_path / "photos")
    catalog.add_folder(folder)
    catalog.index_all()
    catalog.add_tag([catalog.photo_id(str(folder / f"{i}.jpg")) for i in (0, 1)], "red things")
    w = shown_window(qtbot, catalog, watch=False)
    yield w
    w.close()


def counts(window) -> dict[str, int]:
    m = window.tags.model
    return {m.index(r, 0).data(): int(m.index(r, 1).data()) for r in range(m.rowCount())}


def test_the_tag_menu_accepts_and_rejects_on_the_selected_photos(qtbot, window):
    qtbot.waitUntil(lambda: window.results.rowCount() == 5, timeout=10_000)  # the start's recent photos
    window.tasks.wait()
    qtbot.wait(200)  # their delivery: nothing resets the grid after this
    for r in (2, 3, 4):
        window.grid.selectionModel().select(window.grid.model().index(r, 0), QItemSelectionModel.Select)
    qtbot.waitUntil(lambda: counts(window).get("red things") == 2, timeout=5_000)
    tagged = {pid for pid, _ in window.catalog.store.photos_with_tag("red things")}
    selected = set(window.selected_photo_ids())
    texts = [a.text() for a in window.tag_menu.menu_for("red things").actions() if a.text()]
    assert texts[:2] == ["Add “red things” to the 3 selected photos", "Remove “red things” from the 3 selected photos"]
    assert {"Rename or merge...", "Remove “red things” from every photo", "Never suggest “red things”"} <= set(texts)
    window.tag_menu.accept("red things")
    qtbot.waitUntil(lambda: counts(window).get("red things") == len(tagged | selected), timeout=15_000)
    window.tag_menu.reject("red things")
    qtbot.waitUntil(lambda: counts(window).get("red things", 0) == len(tagged - selected), timeout=15_000)


def test_the_tag_menu_renames_merges_deletes_and_never_suggests(qtbot, window):
    cat = window.catalog
    qtbot.waitUntil(lambda: counts(window).get("red things") == 2, timeout=15_000)
    window.tag_menu.rename("red things", "warm")
    qtbot.waitUntil(lambda: "red things" not in counts(window) and counts(window).get("warm") == 2, timeout=5_000)
    cat.add_tag(next(iter({pid for pid, _ in cat.store.photos_with_tag("warm")})), "sunny")
    window.tag_menu.rename("warm", "sunny")  # merge
    qtbot.waitUntil(lambda: "warm" not in counts(window), timeout=5_000)
    window.tag_menu.never("sunny")
    qtbot.waitUntil(lambda: [r.tag for r in cat.tag_rules() if r.rule == "never"] == ["sunny"], timeout=5_000)
    window.tag_menu.delete("sunny", confirm=False)
    qtbot.waitUntil(lambda: "sunny" not in counts(window), timeout=5_000)


def test_the_tag_pane_sorts_in_its_model_keeping_order_selection_and_filter(qtbot):
    from PySide6.QtCore import Qt

    from photolens.engine.records import TagCount
    from photolens.ui.panes import TagsPane

    pane = TagsPane(None, None)
    qtbot.addWidget(pane)
    rows = [TagCount("beach", 5), TagCount("Dog", 9), TagCount("cat", 5), TagCount("apple", 1)]
    pane.model.set_tags(rows)

    def names() -> list[str]:
        return [pane.proxy.index(i, 0).data() for i in range(pane.proxy.rowCount())]

    assert names() == ["Dog", "beach", "cat", "apple"]  # the most used first, equal counts by name
    pane.view.selectRow(2)  # "cat"
    pane.view.sortByColumn(0, Qt.AscendingOrder)  # as a click on the Tag header
    assert names() == ["apple", "beach", "cat", "Dog"]  # by name, whatever the case
    assert pane.view.horizontalHeader().sortIndicatorSection() == 0
    assert [i.data() for i in pane.view.selectionModel().selectedRows()] == ["cat"]  # the selection follows
    pane.model.set_tags(rows + [TagCount("zebra", 50)])  # a refresh keeps the order chosen
    assert names() == ["apple", "beach", "cat", "Dog", "zebra"]
    pane.filter.setText("a")  # the filter still filters, in that order
    assert names() == ["apple", "beach", "cat", "zebra"]
    pane.view.sortByColumn(1, Qt.AscendingOrder)
    assert names() == ["apple", "beach", "cat", "zebra"]
    assert [pane.proxy.index(i, 1).data() for i in range(4)] == [1, 5, 5, 50]
