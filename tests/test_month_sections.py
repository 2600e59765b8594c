"""Month headers in the photo grid: "July 2019 · 3 photos" above each month's photos when the
list is in date order, none in relevance order; headers are never photos."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from PySide6.QtCore import QItemSelectionModel, QPoint, Qt  # noqa: E402

from photolens.engine.catalog import SORT_DATE  # noqa: E402
from photolens.ui.grid import PhotoGrid  # noqa: E402
from photolens.ui.main_window import MainWindow  # noqa: E402
from photolens.ui.models import IdRole, ResultsModel  # noqa: E402
from photolens.ui.month_sections import month_sections  # noqa: E402
from test_when_where import travel  # noqa: E402,F401  (the library fixture)

# The travel library, newest first: months with their photo counts, the undated photo last.
MONTHS = [("2021-05", 1), ("2021-04", 2), ("2020-02", 1), ("2020-01", 1), ("2019-11", 1), ("2019-07", 3), ("", 1)]
TITLES = ["May 2021 · 1 photo", "April 2021 · 2 photos", "February 2020 · 1 photo", "January 2020 · 1 photo",
          "November 2019 · 1 photo", "July 2019 · 3 photos", "No date · 1 photo"]


def test_the_library_in_date_order_falls_into_months_with_the_undated_last(travel):  # noqa: F811
    catalog, _ = travel
    recent = catalog.recent(50)
    sections = month_sections(recent)
    assert [(s.key, s.count) for s in sections] == MONTHS
    assert [s.title for s in sections] == TITLES
    assert [s.first for s in sections] == [0, 1, 3, 4, 5, 6, 9]
    assert Path(recent[-1].path).name == "bare.jpg"  # no date: at the end, never placed by its file time
    by_date = catalog.search("photo", k=50, sort=SORT_DATE)
    assert [(s.key, s.count) for s in month_sections(by_date)] == MONTHS
    assert month_sections([r for r in recent if r.when_where.taken is None]) == []  # a lone "No date" says nothing


@pytest.fixture
def grid(qtbot, travel, tmp_path):  # noqa: F811
    catalog, _ = travel
    model = ResultsModel(tmp_path / "thumbs", 64)
    view = PhotoGrid(model, 64)
    qtbot.addWidget(view)
    view.resize(420, 500)
    view.show()
    model.set_results(catalog.recent(50), by_date=True)
    qtbot.waitUntil(lambda: len(view.sections.headers) == len(MONTHS), timeout=5_000)
    return view


def _check_layout(view: PhotoGrid) -> None:
    """Every header spans the view; each month's photos lie between its header and the next."""
    headers = view.sections.headers
    assert [s.title for s, _ in headers] == TITLES
    model = view.model()
    for i, (section, rect) in enumerate(headers):
        assert rect.left() == 0 and rect.width() == view.viewport().width()
        below = headers[i + 1][1].top() if i + 1 < len(headers) else 10 ** 9
        for row in range(section.first, section.first + section.count):
            photo = view.rectForIndex(model.index(row, 0))
            assert rect.bottom() < photo.top() and photo.bottom() < below, (section.title, row)


def test_headers_span_the_grid_and_stay_full_width_when_resized(qtbot, grid):
    _check_layout(grid)
    narrow = grid.sections.headers[-2][1].top()  # July 2019: 3 photos, in one row or two
    grid.resize(900, 500)
    qtbot.waitUntil(lambda: grid.sections.headers[0][1].width() == grid.viewport().width(), timeout=5_000)
    _check_layout(grid)
    assert grid.sections.headers[-2][1].top() <= narrow
    grid.resize(150, 500)  # one column
    qtbot.waitUntil(lambda: grid.sections.headers[0][1].width() == grid.viewport().width(), timeout=5_000)
    _check_layout(grid)
    july = grid.sections.headers[-2][0]
    tops = [grid.rectForIndex(grid.model().index(r, 0)).top() for r in range(july.first, july.first + 3)]
    assert tops == sorted(set(tops))  # one photo a row


def test_relevance_order_has_no_headers(qtbot, grid):
    model = grid.rows
    model.set_results(list(model.results), by_date=False)
    qtbot.waitUntil(lambda: not grid.sections.headers, timeout=5_000)
    assert grid.rectForIndex(grid.model().index(0, 0)).top() == 0  # a plain grid from the top
    assert not grid.scroll_to_period("2019-07")


def test_selection_keys_and_clicks_never_give_a_header(qtbot, grid):
    model = grid.rows
    ids = {r.id for r in model.results}
    grid.selectAll()
    chosen = grid.selectionModel().selectedIndexes()
    assert len(chosen) == len(ids) and {i.data(IdRole) for i in chosen} == ids
    assert [u.toLocalFile() for u in grid.model().mimeData(chosen).urls()] == [r.path for r in model.results]
    for _, rect in grid.sections.headers[:3]:  # a click on a header is a click on empty space
        assert not grid.indexAt(rect.center() - QPoint(0, grid.verticalOffset())).isValid()
    grid.selectionModel().setCurrentIndex(grid.model().index(0, 0), QItemSelectionModel.ClearAndSelect)
    grid.setFocus()
    seen = [0]
    for _ in range(len(ids) + 2):  # down through every month, the undated photo last
        qtbot.keyClick(grid, Qt.Key_Down)
        current = grid.currentIndex()
        assert current.isValid() and current.data(IdRole) in ids
        seen.append(current.row())
    assert seen[1] == 1  # May 2021's only photo, then April's first: the header is stepped over
    assert seen[-1] == len(ids) - 1 and seen == sorted(seen)


def test_scroll_to_a_month_brings_its_header_to_the_top(qtbot, grid):
    grid.resize(420, 300)
    qtbot.waitUntil(lambda: grid.viewport().height() < 300, timeout=5_000)
    assert grid.scroll_to_period("2020-01")
    top = next(rect.top() for s, rect in grid.sections.headers if s.key == "2020-01")
    assert grid.verticalOffset() == min(top, grid.verticalScrollBar().maximum()) > 0
    assert grid.scroll_to_period("2021")  # a year: its newest month
    assert grid.verticalOffset() == 0
    assert not grid.scroll_to_period("2018")


@pytest.fixture
def window(qtbot, travel):  # noqa: F811
    catalog, _ = travel
    w = MainWindow(catalog, welcome=False)
    qtbot.addWidget(w)
    w.resize(900, 500)
    w.show()
    with qtbot.waitSignal(w.index_done, timeout=30_000):
        pass
    yield w
    w.close()


def _november_2019(timeline):
    """The timeline's November 2019 row (looked up each time: the pane refreshes its rows)."""
    model = timeline.model
    year = next(model.item(r, 0) for r in range(model.rowCount()) if model.item(r, 0).text() == "2019")
    return year.child(0, 0).index()


def test_the_window_shows_months_and_the_timeline_scrolls_to_them(qtbot, window):
    grid, ww = window.grid, window.when_where
    qtbot.waitUntil(lambda: [s.key for s, _ in grid.sections.headers] == [k for k, _ in MONTHS], timeout=10_000)
    qtbot.waitUntil(lambda: ww.timeline.model.rowCount() == 3, timeout=10_000)
    ww.timeline.view.clicked.emit(_november_2019(ww.timeline))  # the library scrolls to it
    top = next(rect.top() for s, rect in grid.sections.headers if s.key == "2019-11")
    assert grid.verticalOffset() == min(top, grid.verticalScrollBar().maximum()) > 0
    assert window.search.text() == ""  # scrolled, not filtered
    ww.timeline.scrubber.setValue(2020)  # the scrubber: a year's newest month
    top = next(rect.top() for s, rect in grid.sections.headers if s.key == "2020-02")
    assert grid.verticalOffset() == min(top, grid.verticalScrollBar().maximum()) > 0
    ww.timeline.scrubber.setValue(2021)
    assert grid.verticalOffset() == 0
    window.sort.setCurrentIndex(1)  # date taken: a search in date order has headers too
    with qtbot.waitSignal(window.search_done, timeout=10_000):
        window.search.set_text("place:Tokyo")
    qtbot.waitUntil(lambda: [s.title for s, _ in grid.sections.headers] == [
        "April 2021 · 2 photos", "November 2019 · 1 photo"], timeout=5_000)
    with qtbot.waitSignal(window.search_done, timeout=10_000):  # while searching, a month filters
        ww.timeline.view.clicked.emit(_november_2019(ww.timeline))
    assert window.search.text() == "date:2019-11 place:Tokyo"
    window.sort.setCurrentIndex(0)
    with qtbot.waitSignal(window.search_done, timeout=10_000):
        window.search.set_text("place:Tokyo")
    qtbot.waitUntil(lambda: not grid.sections.headers, timeout=5_000)  # relevance: no headers
