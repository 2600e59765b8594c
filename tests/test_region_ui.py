"""Search by a part of a photo in the app: drag a rectangle in the viewer, then "Find photos like
this part" fills the similar pane (built-in model, real photos)."""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from PySide6.QtCore import QPoint, QRect, QSize, Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from conftest import coco_library, collage  # noqa: E402
from photolens.engine import Catalog  # noqa: E402
from photolens.ui.main_window import MainWindow  # noqa: E402
from photolens.ui.models import PathRole  # noqa: E402
from photolens.ui.region_select import region_of  # noqa: E402


def test_a_rectangle_drawn_on_a_centred_photo_is_a_share_of_the_photo():
    # a 400x200 photo centred in a 600x300 label: it starts at (100, 50)
    assert region_of(QRect(100, 50, 200, 200), QSize(400, 200), QSize(600, 300)) == (0.0, 0.0, 0.5, 1.0)
    assert region_of(QRect(0, 0, 700, 400), QSize(400, 200), QSize(600, 300)) == (0.0, 0.0, 1.0, 1.0)  # clipped
    assert region_of(QRect(0, 0, 50, 40), QSize(400, 200), QSize(600, 300)) is None  # beside the photo


@pytest.fixture
def collage_window(qtbot, tmp_path):
    photos, library = coco_library(tmp_path, 12)
    files = sorted(photos.iterdir())
    left, right = files[2], files[7]
    collage(left, right, photos / "collage.jpg")
    cat = Catalog(library, device="cpu")
    cat.add_folder(photos)
    cat.index_all()
    w = MainWindow(cat, welcome=False)
    qtbot.addWidget(w)
    w.show()
    with qtbot.waitSignal(w.index_done, timeout=60_000):
        pass
    yield w, cat, str(photos / "collage.jpg"), str(left), str(right)
    w.close()
    cat.close()


def _drag(image, start: QPoint, end: QPoint) -> None:
    QTest.mousePress(image, Qt.LeftButton, Qt.NoModifier, start)
    for t in (0.1, 0.5, 1.0):
        QTest.mouseMove(image, start + (end - start) * t)
    QTest.mouseRelease(image, Qt.LeftButton, Qt.NoModifier, end)


def test_dragging_over_half_of_a_collage_finds_the_photo_that_half_came_from(qtbot, collage_window):
    window, cat, collage, left, right = collage_window
    viewer = window.open_viewer(cat.photo_id(collage))
    qtbot.waitUntil(lambda: viewer.image.pixmap() is not None and not viewer.image.pixmap().isNull(), timeout=20_000)
    image, select = viewer.image, viewer.region_select
    width, height = image.width(), image.height()
    QTest.mouseClick(image, Qt.LeftButton, Qt.NoModifier, QPoint(width // 4, height // 2))
    assert select.menu is None  # a click is no selection
    for (x0, x1), expected in (((width // 2 + 2, width - 2), right), ((2, width // 2 - 2), left)):
        if not viewer.isVisible():  # the viewer made way for the results: the user opens it again
            viewer = window.open_viewer(cat.photo_id(collage))
            qtbot.waitUntil(lambda: viewer.image.pixmap() is not None and not viewer.image.pixmap().isNull(),
                            timeout=20_000)
            image, select = viewer.image, viewer.region_select
        _drag(image, QPoint(x0, 2), QPoint(x1, height - 2))
        assert select.band.isVisible() and select.menu is not None and select.menu.isVisible()
        x, y, w, h = select.region
        assert abs(x + w / 2 - (x0 + x1) / 2 / width) < 0.02 and h > 0.95
        with qtbot.waitSignal(window.similar_done, timeout=30_000) as done:
            select.menu.actions()[0].trigger()  # "Find photos like this part"
        assert done.args[0] > 0 and not select.band.isVisible()
        pane = window.similar
        assert not viewer.isVisible() and pane.isVisible()  # the results are in front
        assert pane.region == select.region and pane.label.text() == "Like part of collage.jpg"
        assert pane.results.index(0).data(PathRole) == expected
    pane.back()  # the history keeps each part
    qtbot.waitUntil(lambda: pane.results.index(0).data(PathRole) == right, timeout=30_000)

