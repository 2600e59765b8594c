"""Photos dragged from the grid onto an album in the Albums pane, and smart albums' filters in
the pane's tooltips (pytest-qt, offscreen; a real library)."""
from __future__ import annotations

import os
import shutil

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QItemSelectionModel, QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from photolens.engine.filters import Filters  # noqa: E402
from photolens.engine.search import results_for  # noqa: E402
from photolens.engine.library import hash_file  # noqa: E402
from photolens.ui.albums_pane import AlbumsPane  # noqa: E402
from photolens.ui.grid import PhotoGrid  # noqa: E402
from photolens.ui.models import ResultsModel  # noqa: E402
from photolens.ui.tasks import Tasks  # noqa: E402
from test_tidy import pattern_photo  # noqa: E402


@pytest.fixture
def shots(catalog, tmp_path):
    """Three different photos and an exact copy of the first in another folder."""
    photos = tmp_path / "photos"
    files = [pattern_photo(photos / f"{n}.png", 60 + n) for n in range(3)]
    (photos / "copies").mkdir()
    files.append(shutil.copy(files[0], photos / "copies" / "0.png"))
    catalog.add_folder(photos)
    catalog.index_all()
    return files


def album_hashes(catalog, name: str) -> set[str]:
    """What the album holds, by content (read from the library's database)."""
    return {r[0] for r in catalog.store.query(
        "SELECT ap.hash FROM album_photos ap JOIN albums a ON a.id = ap.album_id WHERE a.name = ?", [name])}


def drop(widget, point: QPoint, mime) -> QDropEvent:
    """Drag `mime` over `widget` (its viewport) and drop it at `point`, as Qt delivers a drag."""
    actions = Qt.CopyAction | Qt.MoveAction
    enter = QDragEnterEvent(point, actions, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(widget, enter)
    move = QDragMoveEvent(point, actions, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(widget, move)
    event = QDropEvent(QPointF(point), actions, mime, Qt.LeftButton, Qt.NoModifier)
    QApplication.sendEvent(widget, event)
    return event


def test_photos_dragged_from_the_grid_onto_an_album_go_in_it_by_content(qtbot, catalog, shots, tmp_path):
    catalog.albums.create("Trip")
    catalog.albums.create("Other")
    tasks = Tasks()
    pane = AlbumsPane(catalog, tasks)
    qtbot.addWidget(pane)
    pane.resize(300, 400)
    pane.show()
    qtbot.waitUntil(lambda: pane.list.count() == 2, timeout=10_000)

    model = ResultsModel(tmp_path / "thumbs", 64)
    model.set_results(results_for(catalog.store, [(catalog.photo_id(str(p)), 1.0) for p in shots]))
    grid = PhotoGrid(model, 64)
    qtbot.addWidget(grid)
    chosen = [0, 1, 3]  # two photos and the copy of the first: two contents
    for row in chosen:
        grid.selectionModel().select(grid.model().index(row, 0), QItemSelectionModel.Select)
    mime = grid.model().mimeData(grid.selectedIndexes())  # what the grid hands a drag
    assert sorted(u.toLocalFile() for u in mime.urls()) == sorted(str(shots[r]) for r in chosen)

    trip = next(pane.list.item(i) for i in range(pane.list.count()) if pane.list.item(i).text().startswith("Trip"))
    at = pane.list.visualItemRect(trip).center()
    with qtbot.waitSignal(pane.changed, timeout=10_000):
        event = drop(pane.list.viewport(), at, mime)
    assert event.isAccepted()
    expected = {hash_file(str(shots[0])), hash_file(str(shots[1]))}
    assert album_hashes(catalog, "Trip") == expected and album_hashes(catalog, "Other") == set()
    qtbot.waitUntil(lambda: next(a.count for a in pane.albums if a.name == "Trip") == 2, timeout=10_000)

    # Dropped beside the albums (on no album): nothing changes.
    below = QPoint(at.x(), pane.list.viewport().height() - 2)
    assert pane.list.itemAt(below) is None
    drop(pane.list.viewport(), below, mime)
    tasks.wait()
    assert album_hashes(catalog, "Trip") == expected and album_hashes(catalog, "Other") == set()

    # The photo moved to another folder is still in the album: it is held by content.
    moved = tmp_path / "photos" / "moved.png"
    shutil.move(shots[1], moved)
    catalog.index_all()
    assert str(moved) in {p.path for p in catalog.albums.get("Trip").photos}
    tasks.wait()


def test_the_album_tooltip_shows_a_smart_album_s_query_and_filters(qtbot, catalog, shots):
    catalog.albums.create("Paris trips", query="beach", filters=Filters.from_flags("2019", None, "Paris", None, "Trips"),
                          people=("Anna",))
    catalog.albums.create("Written", query="beach place:Paris")
    pane = AlbumsPane(catalog, Tasks())
    qtbot.addWidget(pane)
    qtbot.waitUntil(lambda: pane.list.count() == 2, timeout=10_000)
    tips = {pane.list.item(i).text().split("  ")[0]: pane.list.item(i).toolTip() for i in range(2)}
    assert tips["Paris trips"] == "Smart album: beach; from 2019-01-01; place Paris; folder Trips; people Anna"
    assert tips["Written"] == "Smart album: beach place:Paris"
    pane.tasks.wait()
