"""People in the app (pytest-qt, offscreen), on real photos of people (faces-dev): the face pass
runs in the library's background jobs with progress, stops and resumes; a face clicked in the
viewer can be said to be someone else, someone new, or not the person it is with."""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPoint, Qt  # noqa: E402
from PySide6.QtWidgets import QInputDialog  # noqa: E402

from test_people import BLAIR, POWELL, _two_people, copy  # noqa: E402
from photolens.ui import library_jobs  # noqa: E402
from photolens.ui.face_menu import NEW_PERSON, NOT_THIS_PERSON, THIS_IS, face_at  # noqa: E402
from photolens.ui.library_jobs import LibraryJobs  # noqa: E402
from photolens.ui.tasks import Tasks  # noqa: E402


# -- the face pass, with progress --------------------------------------------------------------

def _jobs(catalog, seen: list) -> tuple[LibraryJobs, Tasks]:
    tasks = Tasks()
    jobs = LibraryJobs(catalog, tasks, watch=False)
    jobs.progress.connect(lambda p: seen.append((p.stage, p.done, p.total)))
    return jobs, tasks


def test_the_face_pass_runs_after_indexing_in_chunks_with_progress(qtbot, catalog, tmp_path, monkeypatch):
    monkeypatch.setattr(library_jobs, "FACE_CHUNK", 1)
    catalog.add_folder(copy(POWELL[:3], tmp_path / "photos")[0].parent)
    seen: list = []
    jobs, tasks = _jobs(catalog, seen)
    chunks = []
    real = catalog.find_faces
    monkeypatch.setattr(catalog, "find_faces", lambda *a, **k: chunks.append(k.get("limit")) or real(*a, **k))
    with qtbot.waitSignal(jobs.faces_done, timeout=120_000) as done:
        jobs.start_indexing()
    assert done.args == [{"photos": 3, "faces": 3}]
    assert chunks == [1, 1, 1]
    faces = [s for s in seen if s[0] == "finding faces"]
    assert faces[0] == ("finding faces", 1, 3) and faces[-1] == ("finding faces", 3, 3)
    assert [(d, t) for _, d, t in faces] == sorted((d, t) for _, d, t in faces)  # counts only go up
    qtbot.waitUntil(lambda: not jobs.busy, timeout=10_000)
    assert catalog.faces_pending() == 0 and [p.photos for p in catalog.people()] == [3]
    tasks.wait()


def test_a_stopped_face_pass_says_nothing_is_done_and_resumes_where_it_stopped(qtbot, catalog, tmp_path, monkeypatch):
    monkeypatch.setattr(library_jobs, "FACE_CHUNK", 1)
    catalog.add_folder(copy(POWELL[:3], tmp_path / "photos")[0].parent)
    seen: list = []
    jobs, tasks = _jobs(catalog, seen)
    finished = []
    jobs.faces_done.connect(finished.append)
    jobs.progress.connect(lambda p: jobs.stop() if p.stage == "finding faces" else None)  # the app closing
    jobs.start_indexing()
    qtbot.waitUntil(lambda: any(s[0] == "finding faces" for s in seen) and not jobs.busy, timeout=120_000)
    tasks.wait()
    assert finished == [] and catalog.faces_pending() == 2  # the photo it was on is done

    seen.clear()
    again, tasks = _jobs(catalog, seen)  # the next start
    with qtbot.waitSignal(again.faces_done, timeout=120_000) as done:
        again.start_indexing()
    assert done.args == [{"photos": 2, "faces": 2}]
    assert [s for s in seen if s[0] == "finding faces"][-1] == ("finding faces", 2, 2)
    assert catalog.faces_pending() == 0 and [p.photos for p in catalog.people()] == [3]
    tasks.wait()


def test_face_chunks_of_the_watcher_in_between_count_as_done(qtbot, catalog, tmp_path, monkeypatch):
    """The folder watcher looks for faces in chunks of its own, on the same writer: the progress
    stays out of every photo to do, and what the watcher did counts as done."""
    monkeypatch.setattr(library_jobs, "FACE_CHUNK", 1)
    catalog.add_folder(copy(POWELL[:3], tmp_path / "photos")[0].parent)
    seen: list = []
    jobs, tasks = _jobs(catalog, seen)
    watcher_chunk = []

    def like_the_watcher(p) -> None:
        if p.stage == "finding faces" and not watcher_chunk:
            watcher_chunk.append(tasks.writes.submit(lambda: catalog.find_faces(limit=1)))

    jobs.progress.connect(like_the_watcher)
    with qtbot.waitSignal(jobs.faces_done, timeout=120_000) as done:
        jobs.start_indexing()
    assert watcher_chunk[0].result()["photos"] == 1
    assert done.args == [{"photos": 2, "faces": 2}]  # the jobs' own share
    faces = [(d, t) for stage, d, t in seen if stage == "finding faces"]
    assert faces == [(1, 3), (3, 3)]  # the watcher's photo counted between the two
    tasks.wait()


def test_the_window_shows_finding_faces_then_what_it_found(qtbot, catalog, tmp_path):
    from photolens.ui.main_window import MainWindow

    catalog.add_folder(copy(POWELL + BLAIR, tmp_path / "photos")[0].parent)
    w = MainWindow(catalog, welcome=False, watch=False)
    qtbot.addWidget(w)
    labels = []
    w.jobs.progress.connect(lambda p: labels.append(w.status_bar.progress_label.text()))
    w.show()
    n = len(POWELL + BLAIR)
    qtbot.waitUntil(lambda: w.status_bar.progress_label.text() == f"Found {n} faces in {n} photos", timeout=120_000)
    assert any(t.startswith(f"Finding faces 1/{n} ·") for t in labels), labels
    assert any(t.startswith(f"Finding faces {n}/{n} ·") for t in labels), labels
    assert not w.jobs.busy and w.status_bar.progress.isHidden()
    qtbot.waitUntil(lambda: w.people.list.count() == 2, timeout=20_000)  # the pane shows who it found
    w.close()


# -- a face clicked in the viewer ----------------------------------------------------------------

@pytest.fixture
def viewer_on_powell(qtbot, catalog, tmp_path):
    """A viewer on a photo of Colin Powell, with Powell and Blair named."""
    from photolens.ui.models import ResultsModel
    from photolens.ui.viewer import Viewer

    photos = tmp_path / "photos"
    powell, blair = _two_people(catalog, photos)
    catalog.name_person(powell, "Colin Powell")
    catalog.name_person(blair, "Tony Blair")
    photo = catalog.photo_id(str(photos / POWELL[0]))
    tasks = Tasks()
    model = ResultsModel(tmp_path / "thumbs", 96)
    model.set_results(catalog.person_photos(powell))
    viewer = Viewer(catalog, tasks, model, photo)
    qtbot.addWidget(viewer)
    viewer.show()
    qtbot.waitUntil(lambda: len(viewer._faces_shown) == 1, timeout=20_000)
    yield viewer, powell, blair, photo
    tasks.wait()


def _click_face(qtbot, viewer, face) -> None:
    shown = viewer.image.pixmap()
    left = (viewer.image.width() - shown.width()) / 2
    top = (viewer.image.height() - shown.height()) / 2
    x = left + (face.box[0] + face.box[2]) / 2 * shown.width()
    y = top + (face.box[1] + face.box[3]) / 2 * shown.height()
    qtbot.mouseClick(viewer.image, Qt.LeftButton, pos=QPoint(round(x), round(y)))


def _actions(menu) -> dict:
    return {a.text(): a for a in menu.actions()}


def test_clicking_a_face_outline_offers_people_a_new_person_and_not_this_person(qtbot, viewer_on_powell):
    viewer, powell, blair, _ = viewer_on_powell
    qtbot.mouseClick(viewer.image, Qt.LeftButton, pos=QPoint(1, 1))  # a corner: no face there
    assert viewer.face_menu is None
    face = viewer._faces_shown[0]
    _click_face(qtbot, viewer, face)
    menu = viewer.face_menu
    assert menu is not None and menu.isVisible()
    actions = _actions(menu)
    assert "Colin Powell" in actions and not actions["Colin Powell"].isEnabled()  # whose it is now
    assert {f"{THIS_IS} …", NEW_PERSON, NOT_THIS_PERSON} <= set(actions)
    others = [a.text() for a in actions[f"{THIS_IS} …"].menu().actions()]
    assert others == ["Tony Blair"]  # the other named people, not the one it is with
    menu.close()


def test_a_face_moved_to_another_person_from_the_viewer(qtbot, viewer_on_powell, catalog):
    viewer, powell, blair, photo = viewer_on_powell
    _click_face(qtbot, viewer, viewer._faces_shown[0])
    this_is = _actions(viewer.face_menu)[f"{THIS_IS} …"].menu()
    with qtbot.waitSignal(viewer.faces_box.changed, timeout=20_000):
        _actions(this_is)["Tony Blair"].trigger()
    assert [f.person_id for f in catalog.faces_in_photo(photo)] == [blair]
    people = {p.name: p.photos for p in catalog.people()}
    assert people == {"Colin Powell": len(POWELL) - 1, "Tony Blair": len(BLAIR) + 1}
    # The viewer shows the photo again, the face now Blair's.
    qtbot.waitUntil(lambda: [f.name for f in viewer._faces_shown] == ["Tony Blair"], timeout=20_000)
    assert viewer.faces_box.item(0).text() == "Tony Blair"


def test_a_face_becomes_a_new_named_person_from_the_viewer(qtbot, viewer_on_powell, catalog):
    viewer, powell, blair, photo = viewer_on_powell
    _click_face(qtbot, viewer, viewer._faces_shown[0])
    _actions(viewer.face_menu)[NEW_PERSON].trigger()
    dialog = viewer.faces_box.actions.dialog
    assert isinstance(dialog, QInputDialog) and dialog.isVisible()
    dialog.setTextValue("  Powell's double ")
    with qtbot.waitSignal(viewer.faces_box.changed, timeout=20_000):
        dialog.accept()
    face = catalog.faces_in_photo(photo)[0]
    assert face.person_id not in (powell, blair) and face.name == "Powell's double"
    assert {p.name: p.photos for p in catalog.people()}["Colin Powell"] == len(POWELL) - 1


def test_not_this_person_from_a_clicked_face(qtbot, viewer_on_powell, catalog):
    viewer, powell, blair, photo = viewer_on_powell
    _click_face(qtbot, viewer, viewer._faces_shown[0])
    with qtbot.waitSignal(viewer.faces_box.changed, timeout=20_000):
        _actions(viewer.face_menu)[NOT_THIS_PERSON].trigger()
    assert catalog.faces_in_photo(photo)[0].person_id is None
    qtbot.waitUntil(lambda: bool(viewer._faces_shown) and viewer._faces_shown[0].person_id is None, timeout=20_000)
    assert NOT_THIS_PERSON not in _actions(viewer.faces_box.actions.menu(viewer._faces_shown[0], viewer))


def test_face_at_takes_the_smallest_box_holding_the_point():
    from photolens.engine.records import FaceInfo

    big = FaceInfo(1, 1, (0.1, 0.1, 0.9, 0.9), None, None)
    small = FaceInfo(2, 1, (0.4, 0.4, 0.6, 0.6), 3, "Anna")
    assert face_at([big, small], 0.5, 0.5) is small
    assert face_at([big, small], 0.2, 0.2) is big
    assert face_at([big, small], 0.95, 0.5) is None
