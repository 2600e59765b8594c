"""Words in the app: the viewer shows a photo's text and outlines it on hover, saves a caption,
and a result's tooltip says why it matched."""
from __future__ import annotations

import os
import random

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PIL import Image  # noqa: E402
from PySide6.QtCore import QEvent, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QEnterEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from conftest import dataset, write_photo  # noqa: E402
from photolens.engine.wordset import draw_word, find_font  # noqa: E402
from photolens.ui.models import ResultsModel  # noqa: E402
from photolens.ui.tasks import Tasks  # noqa: E402
from photolens.ui.viewer import Viewer  # noqa: E402


def test_viewer_shows_the_text_outlines_it_on_hover_and_saves_a_caption(qtbot, catalog, tmp_path):
    src = sorted((dataset("flickr8k-dev") / "images").glob("*.jpg"))[0]
    photos = tmp_path / "photos"
    photos.mkdir()
    with Image.open(src) as im:
        draw_word(im, "zorblax", random.Random(0), find_font()).save(photos / "sign.jpg", quality=90)
    write_photo(photos / "plain.jpg")
    catalog.add_folder(photos)
    catalog.index_all()
    results = catalog.search("zorblax", k=2)
    model = ResultsModel(tmp_path / "thumbs")
    model.set_results(results)
    tip = model.data(model.index(0), Qt.ToolTipRole)
    assert "matched by" in tip and "text" in tip.split("matched by")[1]

    tasks = Tasks()
    viewer = Viewer(catalog, tasks, model, results[0].id)
    qtbot.addWidget(viewer)
    with qtbot.waitSignal(viewer.shown, timeout=20_000):
        viewer.show()
    panel = viewer.words
    assert "ZORBLAX" in panel.text.toPlainText().upper().replace(" ", "")
    panel.text.selectAll()
    panel.text.copy()
    assert "ZORBLAX" in QApplication.clipboard().text().upper().replace(" ", "")
    plain = viewer.image.pixmap().toImage()
    QApplication.sendEvent(panel.text.viewport(), QEnterEvent(QPointF(1, 1), QPointF(1, 1), QPointF(1, 1)))
    assert viewer.image.pixmap().toImage() != plain  # the lines are outlined
    QApplication.sendEvent(panel.text.viewport(), QEvent(QEvent.Leave))
    assert viewer.image.pixmap().toImage() == plain

    panel.caption.setText("Theo's 80th birthday")
    panel.caption.editingFinished.emit()
    qtbot.waitUntil(lambda: catalog.caption_of(results[0].id) == "Theo's 80th birthday", timeout=10_000)
    top = catalog.search("birthday", k=1)[0]
    assert top.id == results[0].id and "caption" in top.matched
    viewer.close()
    tasks.wait()
