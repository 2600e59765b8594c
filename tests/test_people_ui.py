"""The People pane, headless (pytest-qt, offscreen), on real photos of people (faces-dev)."""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QPixmap  # noqa: E402

from conftest import shown_window  # noqa: E402
from test_people import BLAIR, POWELL, copy  # noqa: E402
from photolens.ui.people_pane import FACE_ICON, ROLE_PERSON, PeoplePane, draw_faces  # noqa: E402
from photolens.ui.tasks import Tasks  # noqa: E402


@pytest.fixture
def pane(qtbot, catalog, tmp_path):
    catalog.add_folder(copy(POWELL + BLAIR, tmp_path / "photos")[0].parent)
    catalog.index_all()
    tasks = Tasks()
    p = PeoplePane(catalog, tasks, tmp_path / "thumbs")
    qtbot.addWidget(p)
    p.show()
    p.refresh()
    qtbot.waitUntil(lambda: p.list.count() == 2, timeout=20_000)
    yield p
    tasks.wait()


def test_people_pane_shows_a_face_per_person_most_photos_first(qtbot, pane, catalog):
    ids = [int(pane.list.item(i).data(ROLE_PERSON)) for i in range(pane.list.count())]
    assert ids == [p.id for p in catalog.people()]
    qtbot.waitUntil(lambda: all(not pane.list.item(i).icon().isNull() for i in range(2)), timeout=20_000)
    # each cell holds its whole face and name, laid out before the faces arrived as after
    rects = [pane.list.visualItemRect(pane.list.item(i)) for i in range(2)]
    assert all(r.height() >= FACE_ICON + 20 and r.width() >= FACE_ICON for r in rects)
    assert not rects[0].intersects(rects[1])
    with qtbot.waitSignal(pane.person_chosen) as chosen:
        pane.list.itemClicked.emit(pane.list.item(0))
    assert chosen.args == [ids[0], ""]


def test_naming_inline_and_merging_by_drop(qtbot, pane, catalog):
    first = pane.list.item(0)
    pid = int(first.data(ROLE_PERSON))
    with qtbot.waitSignal(pane.changed, timeout=20_000):
        first.setText("Colin Powell")
    assert catalog.people()[0].name == "Colin Powell"
    qtbot.waitUntil(lambda: pane.list.count() == 2 and pane.list.item(0).text() == "Colin Powell", timeout=20_000)
    other = int(pane.list.item(1).data(ROLE_PERSON))
    with qtbot.waitSignal(pane.changed, timeout=20_000):
        pane.list.merge.emit(pid, other)
    qtbot.waitUntil(lambda: pane.list.count() == 1, timeout=20_000)
    assert [(p.id, p.name, p.photos) for p in catalog.people()] == [(pid, "Colin Powell", len(POWELL) + len(BLAIR))]


def test_faces_are_outlined(qtbot, catalog, tmp_path):
    catalog.add_folder(copy(POWELL[:1], tmp_path / "photos")[0].parent)
    catalog.index_all()
    faces = catalog.faces_in_photo(catalog.photo_id(str(tmp_path / "photos" / POWELL[0])))
    assert faces
    blank = QPixmap(200, 200)
    blank.fill(Qt.black)
    drawn = draw_faces(blank, faces).toImage()
    box = faces[0].box
    edge = drawn.pixelColor(int(box[0] * 200) + 1, int((box[1] + box[3]) / 2 * 200))
    assert edge.red() > 200 and edge.green() > 150  # the outline, not the black photo


def test_the_window_has_a_people_dock_and_a_person_fills_the_grid(qtbot, catalog, tmp_path):
    catalog.add_folder(copy(POWELL + BLAIR, tmp_path / "photos")[0].parent)
    catalog.index_all()
    w = shown_window(qtbot, catalog, timeout=60_000, watch=False)
    w.people.show()
    w.people.raise_()  # a tab beside Tags: raised, it shows and fills itself
    qtbot.waitUntil(lambda: w.people.list.count() == 2, timeout=20_000)
    first = w.people.list.item(0)
    w.people.list.itemClicked.emit(first)
    qtbot.waitUntil(lambda: w.results.rowCount() == len(POWELL), timeout=20_000)
    # The viewer outlines the faces of the photo it shows.
    viewer = w.open_viewer(catalog.photo_id(str(tmp_path / "photos" / POWELL[0])))
    qtbot.waitUntil(lambda: not viewer.pixmap.isNull(), timeout=20_000)
    w.tasks.wait()
    qtbot.wait(200)
    image = viewer.pixmap.toImage()
    face = catalog.faces_in_photo(catalog.photo_id(str(tmp_path / "photos" / POWELL[0])))[0]
    x, y = int(face.box[0] * image.width()) + 1, int((face.box[1] + face.box[3]) / 2 * image.height())
    color = image.pixelColor(x, y)
    assert (color.red(), color.green(), color.blue()) == (255, 214, 0)
    viewer.close()
    w.close()


def test_a_named_person_s_face_arriving_writes_nothing(qtbot, pane, catalog):
    """An icon set on a named item signals itemChanged too: it must not be taken for a rename
    (which would refresh the pane, load the icons again, and so on for ever)."""
    catalog.name_person(catalog.people()[0].id, "Colin Powell")
    pane.refresh()
    qtbot.waitUntil(lambda: pane.list.item(0).text() == "Colin Powell", timeout=20_000)
    qtbot.waitUntil(lambda: not pane.list.item(0).icon().isNull(), timeout=20_000)
    generation = pane._generation
    qtbot.wait(1000)
    pane.tasks.wait()
    assert pane._generation == generation


def test_the_viewer_lists_faces_and_takes_one_from_its_person(qtbot, catalog, tmp_path):
    from photolens.ui.models import ResultsModel
    from photolens.ui.tasks import Tasks
    from photolens.ui.viewer import Viewer

    catalog.add_folder(copy(POWELL, tmp_path / "photos")[0].parent)
    catalog.index_all()
    photo = catalog.photo_id(str(tmp_path / "photos" / POWELL[0]))
    tasks = Tasks()
    model = ResultsModel(tmp_path / "thumbs", 96)
    model.set_results(catalog.person_photos(catalog.people()[0].id))
    viewer = Viewer(catalog, tasks, model, photo)
    qtbot.addWidget(viewer)
    qtbot.waitUntil(lambda: viewer.faces_box.count() >= 1, timeout=20_000)
    grouped = next(viewer.faces_box.item(i) for i in range(viewer.faces_box.count())
                   if viewer.faces_box.item(i).data(ROLE_PERSON + 1))
    with qtbot.waitSignal(viewer.faces_box.changed, timeout=20_000):
        viewer.faces_box.not_this_person(grouped)
    assert catalog.people()[0].photos == len(POWELL) - 1
    tasks.wait()
