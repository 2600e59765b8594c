"""Screenshots of the real app on a library of ../shared/datasets/coco-mini.

    xvfb-run -a .venv/bin/python bench/screenshots.py      (or QT_QPA_PLATFORM=offscreen)

Saves screenshots/search.png, similar.png and tags.png (git-ignored): after a search, with the
similar pane open, and after clicking a tag.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from common import DATASETS, ROOT

from PySide6.QtCore import QTimer


def main() -> int:
    from photolens.engine import Catalog
    from photolens.ui.app import make_app
    from photolens.ui.main_window import MainWindow

    out = ROOT / "screenshots"
    out.mkdir(exist_ok=True)
    app = make_app()
    lib = Path(tempfile.mkdtemp(prefix="photolens-shots-"))
    cat = Catalog(lib)
    cat.add_folder(DATASETS / "coco-mini" / "images")
    w = MainWindow(cat, welcome=False)
    w.show()
    steps = []

    def shot(name):
        w.grab().save(str(out / f"{name}.png"))
        print("saved", out / f"{name}.png")

    def after_index(_):
        w.search_done.connect(on_search)
        w.search.set_text("a dog playing with a ball")

    def on_search(n):
        if steps:
            return
        steps.append("search")
        QTimer.singleShot(1500, lambda: (shot("search"), w.find_similar(w.results.results[0].id, w.results.results[0].path)))

    def on_similar(n):
        if "similar" in steps:
            return
        steps.append("similar")
        QTimer.singleShot(1500, lambda: (shot("similar"), w.similar.hide(), w.show_tag(w.tags.model.rows[0].tag)
                                         if w.tags.model.rows else app.quit()))

    def on_tag(n):
        if "similar" in steps and "tags" not in steps:
            steps.append("tags")
            QTimer.singleShot(1500, lambda: (shot("tags"), app.quit()))

    w.index_done.connect(after_index)
    w.similar_done.connect(on_similar)
    w.search_done.connect(on_tag)
    QTimer.singleShot(180_000, app.quit)
    app.exec()
    w.close()  # stops the folder watcher
    cat.close()
    return 0 if len(steps) == 3 else 1


if __name__ == "__main__":
    sys.exit(main())
