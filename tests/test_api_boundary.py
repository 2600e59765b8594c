"""The app and the CLI go through `Catalog` only, and so behave the same."""
from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT, cli_json, write_photo

FRONT_ENDS = [ROOT / "app" / "photolens" / "ui", ROOT / "app" / "photolens" / "cli"]
# Modules that would let a front end write SQL or reach rows behind the Catalog's back.
STORAGE_MODULES = {"sqlite3", "sqlite_utils", "photolens.engine.store", "photolens.engine.schema"}


def _front_end_files() -> list[Path]:
    files = [p for folder in FRONT_ENDS for p in folder.rglob("*.py")]
    assert len(files) >= 8, "the walk found the front-end modules"
    return files


def _storage_uses(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "store":
            found.append(f"{path.name}:{node.lineno} .store")
        elif isinstance(node, ast.Import):
            found += [f"{path.name}:{node.lineno} import {a.name}" for a in node.names if a.name in STORAGE_MODULES]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if module in STORAGE_MODULES or module.endswith("engine.store") or module.endswith("engine.schema") \
                    or (module.endswith("engine") and any(a.name in ("store", "schema") for a in node.names)):
                found.append(f"{path.name}:{node.lineno} from {module}")
    return found


def test_the_app_and_the_cli_never_touch_the_store():
    uses = [u for p in _front_end_files() for u in _storage_uses(p)]
    assert uses == []


def test_the_walk_would_catch_a_store_use(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f(catalog):\n    return catalog.store.query('SELECT 1')\nimport sqlite3\n")
    assert sorted(_storage_uses(bad)) == ["bad.py:2 .store", "bad.py:3 import sqlite3"]


def test_teaching_from_the_cli_tags_the_examples_as_the_app_does(tmp_path, library, catalog):
    """Both front ends call Catalog.teach: the examples get the concept as a user tag."""
    folder = tmp_path / "p"
    shots = [write_photo(folder / f"{i}.jpg", color=(40 * i, 200 - 30 * i, 90), noise=10, seed=i) for i in range(5)]
    catalog.add_folder(folder)
    catalog.index_all()
    catalog.close()
    cli_json("teach", "Minou", "-p", shots[0], shots[1], "-x", shots[4], library=library)
    tags = cli_json("tags", shots[0], library=library)["tags"]
    assert {"tag": "Minou", "source": "user"} in [{k: t[k] for k in ("tag", "source")} for t in tags]
    assert all(t["tag"] != "Minou" for t in cli_json("tags", shots[4], library=library)["tags"])


def test_search_marks_good_matches_and_sorts_by_date_in_the_engine(tmp_path, catalog):
    """The match cut-off and the date order are the Catalog's, so the CLI and app agree."""
    folder = tmp_path / "p"
    for i in range(4):
        write_photo(folder / f"{i}.jpg", color=(60 * i, 100, 200 - 40 * i))
    catalog.add_folder(folder)
    catalog.index_all()
    results = catalog.search("red", k=4)
    cut = catalog.match_threshold
    assert [r.good for r in results] == [r.score >= cut for r in results]
    by_date = catalog.search("red", k=4, sort="date")
    assert sorted(r.id for r in by_date) == sorted(r.id for r in results)
