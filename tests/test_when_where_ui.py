"""The places and timeline panes, headless, over a real library with GPS and dates."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt  # noqa: E402

from photolens.engine.filters import Filters  # noqa: E402
from photolens.ui.filter_chips import FilterChips  # noqa: E402
from photolens.ui.models import ResultsModel  # noqa: E402
from photolens.ui.places_pane import PlaceRole, PlacesPane  # noqa: E402
from photolens.ui.tasks import Tasks  # noqa: E402
from photolens.ui.timeline_pane import PeriodRole, TimelinePane  # noqa: E402
from photolens.ui.viewer import Viewer  # noqa: E402
from test_when_where import _names, travel  # noqa: E402,F401  (the library fixture)


def test_places_pane_lists_countries_then_cities_and_a_click_filters(qtbot, qtmodeltester, travel):  # noqa: F811
    catalog, _ = travel
    pane = PlacesPane(catalog, Tasks())
    qtbot.addWidget(pane)
    pane.refresh()  # asks the catalog on a worker thread
    qtbot.waitUntil(lambda: pane.model.rowCount() == 4, timeout=10_000)
    qtmodeltester.check(pane.model)
    countries = {pane.model.item(r, 0).text(): r for r in range(pane.model.rowCount())}
    assert set(countries) == {"France", "Japan", "Australia", "Brazil"}
    france = pane.model.item(countries["France"], 0)
    assert pane.model.item(countries["France"], 1).text() == "3"
    paris = france.child(0, 0)
    assert paris.text() == "Paris (Île-de-France)" and paris.data(PlaceRole) == "Paris, France"
    pane.view.expandAll()
    with qtbot.waitSignal(pane.placeChosen) as chosen:
        qtbot.mouseClick(pane.view.viewport(), Qt.LeftButton, pos=pane.view.visualRect(paris.index()).center())
    assert chosen.args == ["Paris, France"]
    assert _names(catalog.search("photo", k=50, filters=Filters(place=chosen.args[0]))) == {
        "paris_2019_a.jpg", "paris_2019_b.jpg", "paris_2021.jpg"}
    pane.set_places([])
    assert pane.model.rowCount() == 0 and pane.empty.isVisibleTo(pane)


def test_timeline_pane_groups_months_under_years_and_scrubs(qtbot, qtmodeltester, travel):  # noqa: F811
    catalog, _ = travel
    pane = TimelinePane(catalog, Tasks())
    qtbot.addWidget(pane)
    pane.refresh()
    qtbot.waitUntil(lambda: pane.model.rowCount() == 3, timeout=10_000)
    qtmodeltester.check(pane.model)
    years = [pane.model.item(r, 0).text() for r in range(pane.model.rowCount())]
    assert years == ["2021", "2020", "2019"]
    y2019 = pane.model.item(2, 0)
    assert pane.model.item(2, 1).text() == "4"
    months = [(y2019.child(r, 0).text(), y2019.child(r, 0).data(PeriodRole)) for r in range(y2019.rowCount())]
    assert months == [("November", "2019-11"), ("July", "2019-07")]
    assert "1 photo without a date" in pane.undated.text()
    pane.scrubber.setValue(2019)
    assert pane.view.currentIndex() == y2019.index() and pane.year_label.text() == "2019"
    with qtbot.waitSignal(pane.periodChosen) as chosen:
        pane.view.clicked.emit(y2019.child(1, 0).index())
    assert chosen.args == ["2019-07"]
    assert _names(catalog.search("photo", k=50, filters=Filters.from_flags(*chosen.args * 2))) == {
        "paris_2019_a.jpg", "paris_2019_b.jpg", "IMG_20190714_153000.jpg"}


def test_the_viewer_and_tooltips_say_when_and_where(qtbot, travel, tmp_path):  # noqa: F811
    catalog, _ = travel
    results = catalog.search("place:Paris", k=10)
    model = ResultsModel(tmp_path / "thumbs", 64)
    model.set_results(results)
    row = next(i for i, r in enumerate(results) if r.path.endswith("paris_2019_a.jpg"))
    tip = model.data(model.index(row), Qt.ToolTipRole)
    assert "14 Jul 2019 15:30 (UTC+02:00)" in tip and "Paris, France" in tip and "Canon EOS 80D" in tip
    tasks = Tasks()
    viewer = Viewer(catalog, tasks, model, results[row].id)
    qtbot.addWidget(viewer)
    text = viewer.info.text()
    assert "Taken: 14 Jul 2019 15:30 (UTC+02:00)" in text and "camera, with time zone" in text
    assert "Place: Paris, Île-de-France, France" in text and "Camera: Canon EOS 80D" in text
    tasks.wait()  # the viewer's pixels load on a worker: let it finish before the objects go
    viewer.close()


def test_filter_chips_show_what_was_understood_and_remove_one(qtbot, travel):  # noqa: F811
    catalog, _ = travel
    chips = FilterChips()
    qtbot.addWidget(chips)
    chips.show()
    understood = catalog.understand("red Tokyo 2021")
    chips.set_filters(understood.filters)
    assert [c.text() for c in chips.chips.values()] == ["Taken 2021  ✕", "In Tokyo  ✕"]
    with qtbot.waitSignal(chips.removed) as removed:
        qtbot.mouseClick(chips.chips["place"], Qt.LeftButton)
    assert removed.args == ["place"]
    again = catalog.understand(understood.query_without("place"))
    assert again.words == "red" and again.filters.place is None and again.filters.date_from.year == 2021
    chips.set_filters(again.filters)
    assert list(chips.chips) == ["date"]
    chips.set_filters(catalog.understand("red").filters)
    assert not chips.isVisible()

