"""The app never betrays the user (issue 15), and the window is widgets only (issue 13):
pytest-qt, offscreen, with real engine objects on a small real library."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PIL import Image  # noqa: E402
from PySide6.QtCore import QObject, QPoint, QPointF, QSettings, Qt, Slot  # noqa: E402
from PySide6.QtGui import QDesktopServices, QGuiApplication, QWheelEvent  # noqa: E402
from PySide6.QtWidgets import QAbstractButton, QMessageBox, QWidget  # noqa: E402

from conftest import ROOT, shown_window, write_photo  # noqa: E402
from photolens.engine.embedder import CUDA, available_providers  # noqa: E402
from photolens.engine.search import Result  # noqa: E402
from photolens.ui.library_jobs import LibraryJobs  # noqa: E402
from photolens.ui.main_window import MainWindow  # noqa: E402
from photolens.ui.models import ResultsModel  # noqa: E402
from photolens.ui.tasks import Tasks  # noqa: E402


@pytest.fixture(autouse=True)
def _window_settings(qapp, tmp_path):
    """QSettings (window geometry, pane layout) in a temporary folder, under the app's names."""
    qapp.setOrganizationName("Photolens")
    qapp.setApplicationName("Photolens")
    for fmt in (QSettings.NativeFormat, QSettings.IniFormat):
        QSettings.setPath(fmt, QSettings.UserScope, str(tmp_path / "qsettings"))
    QSettings().clear()
    yield tmp_path / "qsettings"


@pytest.fixture
def photos(tmp_path) -> Path:
    folder = tmp_path / "photos"
    for i, color in enumerate([(220, 20, 20), (230, 40, 30), (20, 200, 30), (30, 30, 220), (200, 200, 30)]):
        write_photo(folder / f"{i}.jpg", color=color, size=(120 + 40 * i, 90))
    return folder


@pytest.fixture
def window(qtbot, catalog, photos):
    catalog.add_folder(photos)
    catalog.index_all()
    w = shown_window(qtbot, catalog, watch=False)
    qtbot.waitUntil(lambda: w.results.rowCount() == 5, timeout=10_000)
    yield w
    w.close()


def open_viewer(qtbot, window, row: int = 0, model=None):
    model = model or window.results
    viewer = window.open_viewer(model.result(row).id, model)
    qtbot.addWidget(viewer)
    qtbot.waitUntil(lambda: not viewer.pixmap.isNull() or bool(viewer.note), timeout=10_000)
    return viewer


# -- the window is widgets only (issue 13) -------------------------------------------------------

def test_library_jobs_index_and_report_without_any_widget(qtbot, catalog, photos):
    """The indexing state machine is a plain QObject: its signals tell the whole story."""
    catalog.add_folder(photos)
    tasks = Tasks()
    jobs = LibraryJobs(catalog, tasks, watch=False)
    seen = []
    for name in ("started", "idle"):
        getattr(jobs, name).connect(lambda name=name: seen.append(name))
    jobs.progress.connect(lambda p: seen.append(("progress", p.done, p.total)))
    with qtbot.waitSignal(jobs.indexed, timeout=30_000) as blocker:
        jobs.start_indexing()
        jobs.start_indexing()  # a second call while indexing does nothing
    assert blocker.args[0]["embedded"] == 5
    assert seen[0] == "started" and ("progress", 5, 5) in seen and "idle" in seen
    assert seen.count("started") == 1
    qtbot.waitUntil(lambda: not jobs.busy, timeout=10_000)
    assert not isinstance(jobs, QWidget) and jobs.findChildren(QWidget) == []
    tasks.wait(5000)


def test_the_main_window_module_is_short_and_holds_no_job_state():
    source = (ROOT / "app" / "photolens" / "ui" / "main_window.py").read_text()
    assert len(source.splitlines()) < 500
    for machinery in ("Control(", "Watcher(", "add_tag_details", "index_all"):
        assert machinery not in source


def test_the_window_remembers_its_size_and_pane_layout(qtbot, catalog):
    w = MainWindow(catalog, welcome=False, watch=False)
    qtbot.addWidget(w)
    w.show()
    w.resize(700, 500)
    w.tags.hide()
    w.removeDockWidget(w.folders)
    w.addDockWidget(Qt.RightDockWidgetArea, w.folders)
    w.folders.show()
    w.close()
    assert QSettings().value("window/geometry") is not None
    again = MainWindow(catalog, welcome=False, watch=False)
    qtbot.addWidget(again)
    again.show()
    assert (again.width(), again.height()) == (700, 500)
    assert again.tags.isHidden()
    assert again.dockWidgetArea(again.folders) == Qt.RightDockWidgetArea
    again.close()


# -- settings cannot break the app ---------------------------------------------------------------

@pytest.mark.skipif(CUDA in available_providers(), reason="this machine has CUDA")
def test_an_unavailable_device_warns_in_the_status_bar_and_settings_still_open(qtbot, catalog, photos):
    catalog.set_device("cuda")
    catalog.add_folder(photos)
    w = MainWindow(catalog, welcome=False, watch=False)
    qtbot.addWidget(w)
    w.show()
    with qtbot.waitSignal(w.index_done, timeout=20_000):
        pass
    assert "CPU" in w.status_bar.currentMessage() and "CUDA" in w.status_bar.currentMessage()
    with qtbot.waitSignal(w.search_done, timeout=10_000) as blocker:
        w.search.set_text("red")
    assert blocker.args[0] > 0  # search works, on the CPU
    dialog = w.open_settings()
    qtbot.addWidget(dialog)
    assert dialog.isVisible() and "CPU" in dialog.active.text()
    dialog.device.setCurrentText("cpu")
    dialog.apply()
    assert catalog.settings.device == "cpu" and catalog.warnings == []
    assert w.width() <= w.screen().availableGeometry().width()


def test_long_errors_never_widen_the_window(qtbot, window):
    width = window.width()
    message = "Indexing stopped: " + "a very long error about a device that is not there " * 60
    window.jobs.failed.emit(message)
    qtbot.wait(50)
    assert window.width() == width
    assert window.minimumSizeHint().width() < window.screen().availableGeometry().width()
    label = window.status_bar.progress_label
    assert label.text().startswith("Indexing stopped") and label.toolTip() == label.text()


# -- removing a folder ----------------------------------------------------------------------------

def test_the_remove_folder_dialog_says_what_happens_and_enter_keeps_the_folder(qtbot, window, photos):
    qtbot.waitUntil(lambda: window.folders.list.count() == 1, timeout=5000)
    window.folders.list.setCurrentRow(0)
    window.folders.remove_button.click()
    box = window.folders.dialog
    assert box is not None and box.isVisible()
    text = box.text()
    assert "stay on disk" in text and "tags" in text and "come back" in text
    assert box.defaultButton() is box.button(QMessageBox.Cancel)
    removed = []
    window.folders.remove_confirmed.connect(removed.append)
    qtbot.keyClick(box, Qt.Key_Return)
    qtbot.waitUntil(lambda: not box.isVisible(), timeout=2000)
    assert removed == [] and len(window.catalog.folders()) == 1
    window.folders.remove_button.click()
    box = window.folders.dialog
    box.property("remove_button").click()
    qtbot.waitUntil(lambda: window.results.rowCount() == 0 and window.folders.list.count() == 0, timeout=10_000)
    assert removed == [str(photos)] and window.catalog.folders() == []
    assert all(p.exists() for p in photos.iterdir())  # nothing on disk touched


# -- photos as they are ---------------------------------------------------------------------------

def test_thumbnails_are_uniform_square_crops_with_exif_orientation(qtbot, tmp_path):
    wide = write_photo(tmp_path / "wide.jpg", size=(300, 100))
    tall = write_photo(tmp_path / "tall.jpg", size=(80, 240))
    # 120x60 as stored, left red and right blue; EXIF 6 turns it upright: red on top, blue below.
    rotated = tmp_path / "rotated.jpg"
    img = Image.new("RGB", (120, 60), (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, 60, 60))
    exif = Image.Exif()
    exif[0x0112] = 6
    img.save(rotated, exif=exif)
    model = ResultsModel(tmp_path / "thumbs", 64)
    model.set_results([Result(1, str(wide), 1.0), Result(2, str(tall), 0.9), Result(3, str(rotated), 0.8)])
    for row in range(3):
        model.data(model.index(row), Qt.DecorationRole)  # asks for the thumbnails
    qtbot.waitUntil(lambda: all(model.thumbnail_loaded(r.id) for r in model.results), timeout=10_000)
    pixmaps = [model.data(model.index(r), Qt.DecorationRole) for r in range(3)]
    assert {(p.width(), p.height()) for p in pixmaps} == {(64, 64)}
    image = pixmaps[2].toImage()
    top, bottom = image.pixelColor(32, 4), image.pixelColor(32, 60)
    assert top.red() > 200 and top.blue() < 60 and bottom.blue() > 200 and bottom.red() < 60
    model.set_results(list(reversed(model.results)))  # a refresh: the same square tiles again
    assert model.data(model.index(0), Qt.DecorationRole).size() == pixmaps[2].size()


# -- the search bar --------------------------------------------------------------------------------

def test_searching_by_a_photo_shows_a_chip_not_a_path(qtbot, window, photos):
    path = window.results.result(0).path
    menu = window.context_menu(window.results.index(0))
    with qtbot.waitSignal(window.search_done, timeout=10_000) as blocker:
        next(a for a in menu.actions() if a.text() == "This photo, but at night").trigger()
    assert blocker.args[0] >= 0
    assert window.search.chip.isVisible() and not window.search.chip.icon().isNull()
    assert window.search.text() == "at night"
    assert "image:" not in window.search.edit.text() and path not in window.search.edit.text()
    with qtbot.waitSignal(window.search_done, timeout=10_000):
        window.search.chip.click()  # back to words only
    assert not window.search.chip.isVisible() and window.search.query() == "at night"


def test_a_pasted_image_searches_with_a_chip(qtbot, window):
    from PySide6.QtGui import QImage

    image = QImage(40, 30, QImage.Format_RGB32)
    image.fill(Qt.red)
    QGuiApplication.clipboard().setImage(image)
    with qtbot.waitSignal(window.search_done, timeout=10_000) as blocker:
        window.paste_image()
    assert blocker.args[0] > 0
    assert window.search.chip.text().startswith("Pasted image") and window.search.edit.text() == ""


# -- the viewer ------------------------------------------------------------------------------------

def test_the_viewer_keeps_its_photo_when_the_grid_changes(qtbot, window):
    viewer = open_viewer(qtbot, window, row=2)
    shown = viewer.photo_id
    window.results.set_results(list(reversed(window.results.results))[:3])  # a live update
    window.catalog.add_tag(shown, "keep me")
    viewer.refresh_tags()
    viewer.tags.setCurrentRow(0)
    with qtbot.waitSignal(viewer.tags_changed, timeout=5000):
        viewer.remove_tag()
    assert [t.tag for t in window.catalog.tags_of(shown) if t.source == "user"] == []
    with qtbot.waitSignal(viewer.shown, timeout=10_000) as blocker:
        viewer.step(1)
    assert blocker.args[0] != shown and blocker.args[0] in {r.id for r in window.results.results}


def test_enter_in_the_tag_box_adds_the_tag_and_stays(qtbot, window):
    viewer = open_viewer(qtbot, window, row=1)
    shown = viewer.photo_id
    viewer.new_tag.setFocus()
    qtbot.keyClicks(viewer.new_tag, "mom's birthday")
    with qtbot.waitSignal(viewer.tags_changed, timeout=5000):
        qtbot.keyClick(viewer.new_tag, Qt.Key_Return)
    assert viewer.photo_id == shown and viewer.isVisible()
    assert "mom's birthday" in [t.tag for t in window.catalog.tags_of(shown)]


def test_the_viewer_zooms_with_the_wheel_and_keys_and_goes_full_screen(qtbot, window):
    viewer = open_viewer(qtbot, window, row=4)
    viewer.setFocus()
    qtbot.keyClick(viewer, Qt.Key_1)
    assert viewer.zoom == 1.0
    center = QPointF(viewer.scroll.viewport().rect().center())
    wheel = QWheelEvent(center, viewer.scroll.viewport().mapToGlobal(center), QPoint(0, 0), QPoint(0, 120),
                        Qt.NoButton, Qt.NoModifier, Qt.NoScrollPhase, False)
    QGuiApplication.sendEvent(viewer.scroll.viewport(), wheel)
    assert viewer.zoom == pytest.approx(1.25)
    qtbot.keyClick(viewer, Qt.Key_0)
    assert viewer.zoom is None
    qtbot.keyClick(viewer, Qt.Key_F)
    assert viewer.isFullScreen() and not viewer.side.isVisible()
    qtbot.keyClick(viewer, Qt.Key_Escape)
    assert not viewer.isFullScreen() and viewer.isVisible()  # Esc leaves full screen first
    with qtbot.waitSignal(viewer.shown, timeout=10_000):
        qtbot.keyClick(viewer, Qt.Key_Right)


@pytest.mark.parametrize("key", [Qt.Key_Return, Qt.Key_Space])
def test_enter_or_space_in_the_grid_opens_the_viewer(qtbot, window, key):
    window.grid.setFocus()
    window.grid.setCurrentIndex(window.grid.model().index(3, 0))
    qtbot.keyClick(window.grid, key)
    assert len(window.viewers) == 1 and window.viewers[0].photo_id == window.results.result(3).id
    qtbot.addWidget(window.viewers[0])


def test_the_viewer_shows_heic_raw_and_offline_photos(qtbot, catalog, tmp_path):
    pillow_heif = pytest.importorskip("pillow_heif")
    from test_trust import make_dng

    folder = tmp_path / "formats"
    folder.mkdir()
    pillow_heif.from_pillow(Image.new("RGB", (80, 60), (20, 180, 40))).save(str(folder / "a.heic"))
    make_dng(folder / "b.dng")
    drive = tmp_path / "drive"
    write_photo(drive / "c.jpg", size=(160, 120))
    catalog.add_folder(folder)
    catalog.add_folder(drive)
    assert catalog.index_all()["embedded"] == 3
    w = shown_window(qtbot, catalog, watch=False)
    qtbot.waitUntil(lambda: w.results.rowCount() == 3, timeout=10_000)
    for row in range(3):  # shown once, so the grid has made their thumbnails
        w.results.data(w.results.index(row), Qt.DecorationRole)
    qtbot.waitUntil(lambda: all(w.results.thumbnail_loaded(r.id) for r in w.results.results), timeout=10_000)
    names = {Path(r.path).name: r for r in w.results.results}
    for name in ("a.heic", "b.dng"):
        viewer = open_viewer(qtbot, w, w.results.row_of(names[name].id))
        assert not viewer.pixmap.isNull() and viewer.note == "", name
    (drive / "c.jpg").unlink()  # the drive is unplugged: the viewer shows the cached thumbnail
    viewer = open_viewer(qtbot, w, w.results.row_of(names["c.jpg"].id))
    assert not viewer.pixmap.isNull() and "small copy" in viewer.note
    w.close()


# -- the window fits the screen ---------------------------------------------------------------------

FIT_SCRIPT = r"""
import json, sys
from PySide6.QtWidgets import QAbstractButton, QApplication, QWidget
from photolens.engine import Catalog
from photolens.ui.app import make_app
from photolens.ui.main_window import MainWindow
app = make_app()
cat = Catalog(sys.argv[1], device="cpu")
w = MainWindow(cat, welcome=False, watch=False)
w.show()
for _ in range(20):
    app.processEvents()
screen = w.screen().availableGeometry()
frame = w.frameGeometry()
outside = []
for child in [w.statusBar(), w.folders.add_button, w.folders.remove_button, w.search, w.grid]:
    top_left = child.mapTo(w, child.rect().topLeft())
    bottom_right = child.mapTo(w, child.rect().bottomRight())
    if not (child.isVisible() and w.rect().contains(top_left) and w.rect().contains(bottom_right)):
        outside.append(type(child).__name__)
print(json.dumps({"screen": [screen.width(), screen.height()], "window": [frame.x(), frame.y(), frame.width(),
                  frame.height()], "fits": screen.contains(frame), "outside": outside,
                  "dpr": w.devicePixelRatioF()}))
w.close()
cat.close()
"""


@pytest.mark.parametrize("scale", ["1", "1.5"])
def test_the_window_fits_a_1366x768_screen(tmp_path, library, scale):
    """A 1366x768 laptop screen (offscreen platform, from a screen configuration file), at
    100% and 150% scaling: the window, its status bar and the folder buttons are all on it."""
    config = tmp_path / "screens.json"
    config.write_text(json.dumps({"screens": [{"name": "laptop", "x": 0, "y": 0, "width": 1366, "height": 768,
                                               "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}))
    env = {**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={config}", "QT_SCALE_FACTOR": scale,
           "PYTHONPATH": str(ROOT / "app")}
    proc = subprocess.run([sys.executable, "-c", FIT_SCRIPT, str(library)], capture_output=True, text=True,
                          env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    expected = [round(1366 / float(scale)), round(768 / float(scale))]
    assert abs(got["screen"][0] - expected[0]) <= 1 and abs(got["screen"][1] - expected[1]) <= 1, got
    assert got["fits"] and got["outside"] == [], got


# -- the grid fills while indexing -------------------------------------------------------------------

def test_the_grid_fills_while_indexing_without_moving(qtbot, catalog, tmp_path, monkeypatch):
    from photolens.ui import main_window

    monkeypatch.setattr(main_window, "LIVE_REFRESH_S", 0.0)
    w = MainWindow(catalog, welcome=False, watch=False)
    qtbot.addWidget(w)
    w.show()
    folder = tmp_path / "many"
    for i in range(96):
        write_photo(folder / f"{i:03}.png", color=(2 * i, 100, 255 - 2 * i), size=(64, 48))
    rows_during = []
    resets = []
    w.results.rowsInserted.connect(lambda *_: rows_during.append(w.results.rowCount()))
    w.results.modelReset.connect(lambda: resets.append(w.results.rowCount()))
    counts = []  # the folder's line in the folders pane, each time it is refreshed during the run
    w.folders.list.model().rowsInserted.connect(lambda *_: counts.append(w.folders.list.item(0).text()))
    with qtbot.waitSignal(w.index_done, timeout=60_000):
        w.add_folder(str(folder))
    assert any(0 < n < 96 for n in rows_during + resets), (rows_during, resets)  # before the run ended
    assert rows_during, "photos arrived as inserted rows, not only by resetting the grid"
    assert any(c.endswith("·  96") for c in counts), counts
    qtbot.waitUntil(lambda: w.results.rowCount() == 96, timeout=10_000)
    w.close()


def test_new_rows_are_inserted_without_resetting_the_view(qtbot, qtmodeltester, tmp_path):
    model = ResultsModel(tmp_path / "thumbs", 32)
    model.set_results([Result(i, f"/p/{i}.jpg", 1.0) for i in (5, 3, 1)])
    qtmodeltester.check(model)  # and it keeps checking every insertion below
    resets = []
    model.modelReset.connect(lambda: resets.append(1))
    model.update_results([Result(i, f"/p/{i}.jpg", 1.0) for i in (6, 5, 4, 3, 2, 1)])
    assert [r.id for r in model.results] == [6, 5, 4, 3, 2, 1] and resets == []
    assert model.row_of(4) == 2
    model.update_results([Result(i, f"/p/{i}.jpg", 1.0) for i in (1, 2)])  # not a superset: reset
    assert resets == [1] and [r.id for r in model.results] == [1, 2]


# -- palette, focus, help, tooltips --------------------------------------------------------------------

@pytest.mark.parametrize("dark", [True, False], ids=["dark", "light"])
def test_the_palette_is_readable_in_light_and_dark(qapp, dark):
    from PySide6.QtGui import QPalette

    from photolens.ui.theme import MIN_CONTRAST, TEXT_PAIRS, apply_theme, contrast

    colors = apply_theme(qapp, dark=dark)
    try:
        for fg, bg in TEXT_PAIRS:
            assert contrast(colors[fg], colors[bg]) >= MIN_CONTRAST, (fg, bg)
        p = qapp.palette()
        for fg, bg in ((QPalette.Text, QPalette.Base), (QPalette.WindowText, QPalette.Window),
                       (QPalette.HighlightedText, QPalette.Highlight), (QPalette.ToolTipText, QPalette.ToolTipBase),
                       (QPalette.ButtonText, QPalette.Button)):
            assert contrast(p.color(fg).name(), p.color(bg).name()) >= MIN_CONTRAST
        assert ":focus" in qapp.styleSheet()
    finally:
        qapp.setStyleSheet("")
        qapp.setPalette(QGuiApplication.palette())


def test_help_lists_the_shortcuts_and_icon_buttons_have_tooltips(qtbot, window):
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    action = next(a for a in help_menu.actions() if "shortcuts" in a.text().lower())
    action.trigger()
    box = next(b for b in window.findChildren(QMessageBox) if b.objectName() == "shortcuts")
    assert "Full screen" in box.text() and "Ctrl+F" in box.text()
    box.close()
    viewer = open_viewer(qtbot, window)
    for widget in (window, viewer):
        for button in widget.findChildren(QAbstractButton):
            shown = button.isVisible() and not button.visibleRegion().isEmpty()
            if shown and not button.text().strip(" ◀▶✕"):  # an icon or a symbol says little on its own
                assert button.toolTip(), button.text()


# -- the similar pane ------------------------------------------------------------------------------------

def test_the_similar_pane_opens_photos_follows_its_slider_and_goes_back(qtbot, window):
    first, second = window.results.result(0), window.results.result(1)
    with qtbot.waitSignal(window.similar_done, timeout=10_000):
        window.find_similar(first.id, first.path)
    pane = window.similar
    with qtbot.waitSignal(window.similar_done, timeout=10_000):  # the keyboard moves the slider
        pane.detail.setFocus()
        qtbot.keyClick(pane.detail, Qt.Key_PageUp)
    assert pane.detail.value() == 10
    with qtbot.waitSignal(window.similar_done, timeout=10_000):  # a click on the track jumps there
        groove = pane.detail.rect()
        qtbot.mouseClick(pane.detail, Qt.LeftButton, pos=QPoint(groove.left() + groove.width() * 8 // 10,
                                                                groove.center().y()))
    assert 70 <= pane.detail.value() <= 90
    index = pane.results.index(0)
    opened = pane.results.result(0).id
    pane.grid.doubleClicked.emit(index)
    assert window.viewers and window.viewers[-1].photo_id == opened
    qtbot.addWidget(window.viewers[-1])
    with qtbot.waitSignal(window.similar_done, timeout=10_000):
        window.find_similar(second.id, second.path)
    assert pane.back_button.isEnabled() and not pane.forward_button.isEnabled()
    with qtbot.waitSignal(window.similar_done, timeout=10_000):
        pane.back()
    assert pane.subject == first.id and pane.forward_button.isEnabled()
    with qtbot.waitSignal(window.similar_done, timeout=10_000):
        pane.forward()
    assert pane.subject == second.id


# -- actions on selected photos -----------------------------------------------------------------------

class _UrlCatcher(QObject):
    """Stands in for the desktop: QDesktopServices hands it file URLs instead of opening them."""

    def __init__(self):
        super().__init__()
        self.urls = []

    @Slot("QUrl")
    def open(self, url):
        self.urls.append(url.toLocalFile())


def test_actions_on_selected_photos(qtbot, window, tmp_path):
    from PySide6.QtCore import QItemSelectionModel

    from photolens.ui import photo_actions

    for r in (0, 1):
        window.grid.selectionModel().select(window.grid.model().index(r, 0), QItemSelectionModel.Select)
    paths = window.selected_paths()
    assert len(paths) == 2
    catcher = _UrlCatcher()
    QDesktopServices.setUrlHandler("file", catcher, "open")
    try:
        menu = window.context_menu(window.results.index(0))
        next(a for a in menu.actions() if a.text().startswith("Open with default application")).trigger()
        next(a for a in menu.actions() if a.text() == "Show in file manager").trigger()
    finally:
        QDesktopServices.unsetUrlHandler("file")
    assert catcher.urls == paths + [os.path.dirname(paths[0])]
    next(a for a in menu.actions() if a.text() == "Copy paths").trigger()
    assert QGuiApplication.clipboard().text().splitlines() == paths
    target = tmp_path / "export"
    target.mkdir()
    (target / Path(paths[0]).name).write_bytes(b"already here")
    window.copy_to_folder(paths, str(target))
    assert (target / Path(paths[0]).name).read_bytes() == b"already here"  # never overwritten
    copies = sorted(p.name for p in target.iterdir())
    assert len(copies) == 3 and any("(2)" in c for c in copies)
    mime = window.results.mimeData([window.results.index(0), window.results.index(1)])
    assert [u.toLocalFile() for u in mime.urls()] == paths
    assert window.results.flags(window.results.index(0)) & Qt.ItemIsDragEnabled
    made, failed = photo_actions.copy_files_to([str(tmp_path / "gone.jpg")], str(target))
    assert made == [] and failed and failed[0][0].endswith("gone.jpg")
