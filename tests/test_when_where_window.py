"""When and where in the window itself: typed filters, the panes and the chips drive the grid."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from conftest import shown_window  # noqa: E402
from test_when_where import travel  # noqa: E402,F401  (the library fixture)


@pytest.fixture
def window(qtbot, travel):  # noqa: F811
    catalog, _ = travel
    w = shown_window(qtbot, catalog, timeout=30_000)
    yield w
    w.close()


def _shown(window) -> set[str]:
    return {Path(r.path).name for r in window.results.results}


def test_typed_filters_panes_and_chips_drive_the_grid(qtbot, window):
    ww = window.when_where
    qtbot.waitUntil(lambda: ww.places.model.rowCount() == 4 and ww.timeline.model.rowCount() == 3, timeout=10_000)
    with qtbot.waitSignal(window.search_done, timeout=10_000):
        window.search.set_text("Tokyo 2021")
    assert _shown(window) == {"tokyo_2021_a.jpg", "tokyo_2021_b.jpg"}
    assert [c.text() for c in ww.chips.chips.values()] == ["Taken 2021  ✕", "In Tokyo  ✕"]
    with qtbot.waitSignal(window.search_done, timeout=10_000):
        ww.chips.chips["date"].click()  # Tokyo, any year
    assert window.search.text() == "place:Tokyo"
    assert _shown(window) == {"tokyo_2021_a.jpg", "tokyo_2021_b.jpg", "tokyo_2019.jpg"}
    france = next(r for r in range(ww.places.model.rowCount()) if ww.places.model.item(r, 0).text() == "France")
    with qtbot.waitSignal(window.search_done, timeout=10_000):
        ww.places.view.clicked.emit(ww.places.model.item(france, 0).index())  # replaces Tokyo
    assert _shown(window) == {"paris_2019_a.jpg", "paris_2019_b.jpg", "paris_2021.jpg"}
    y2019 = next(r for r in range(ww.timeline.model.rowCount()) if ww.timeline.model.item(r, 0).text() == "2019")
    with qtbot.waitSignal(window.search_done, timeout=10_000):
        ww.timeline.view.clicked.emit(ww.timeline.model.item(y2019, 0).index())
    assert window.search.text() == 'date:2019 place:France'
    assert _shown(window) == {"paris_2019_a.jpg", "paris_2019_b.jpg"}
    window.search.set_text("")  # back to the recent photos: no filters
    qtbot.waitUntil(lambda: not ww.chips.isVisible(), timeout=10_000)
