"""Shared fixtures: tiny real ONNX models, generated photos, temporary libraries."""
from __future__ import annotations

import gc
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tiny_models import make_tiny_model  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
BUILTIN = ROOT / "models" / "builtin" / "manifest.json"


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory) -> Path:
    """A user models folder holding the tiny model; PHOTOLENS_MODELS points at it."""
    folder = tmp_path_factory.mktemp("models")
    make_tiny_model(folder / "tiny")
    return folder


@pytest.fixture(autouse=True)
def _isolated_env(models_dir, tmp_path, monkeypatch):
    """No test touches the real user data folder."""
    monkeypatch.setenv("PHOTOLENS_MODELS", str(models_dir))
    monkeypatch.setenv("PHOTOLENS_LIBRARY", str(tmp_path / "default-library"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


@pytest.fixture(autouse=True)
def _qt_garbage_collected_between_tests(request):
    """What a test's windows left in reference cycles (models, timers, the task relay: Qt
    objects Python owns) is collected here, once pytest-qt has closed and deleted the windows
    and no event is being dispatched, not by a collection that happens to run inside a later
    test's event loop. The suite crashed that way, rarely, always in the GUI thread's
    collector during tests/test_ui.py::test_real_photos_search_in_the_app, the window tests
    before it having left their windows' Python side behind; the app itself has one window
    for the life of the process. Only after tests that had a qtbot: a collection costs a
    few hundred milliseconds once the models are loaded."""
    yield
    if "qtbot" not in request.fixturenames or "PySide6.QtWidgets" not in sys.modules:
        return
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is not None:
        app.processEvents()
        gc.collect()
        app.processEvents()


def write_photo(path: Path, color=(200, 30, 30), size=(96, 64), fmt: str | None = None, noise: int = 0,
                seed: int = 0) -> Path:
    """A real image file: a solid colour with a lighter block, optionally noisy."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.zeros((size[1], size[0], 3), np.uint8)
    arr[:] = color
    arr[: size[1] // 3, : size[0] // 3] = [min(255, c + 40) for c in color]
    if noise:
        rng = np.random.default_rng(seed)
        arr = np.clip(arr.astype(int) + rng.integers(-noise, noise + 1, arr.shape), 0, 255).astype(np.uint8)
    Image.fromarray(arr).save(path, fmt)
    return path


def use_model(library: Path, name: str) -> None:
    library.mkdir(parents=True, exist_ok=True)
    (library / "settings.json").write_text(json.dumps({"model": name}))


@pytest.fixture
def library(tmp_path) -> Path:
    lib = tmp_path / "library"
    use_model(lib, "tiny")
    return lib


@pytest.fixture
def catalog(library):
    from photolens.engine import Catalog

    cat = Catalog(library, device="cpu")
    yield cat
    cat.close()


def run_cli(*args, library: Path | None = None, check: bool = True, env: dict | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "photolens"]
    if library is not None:
        cmd += ["--library", str(library)]
    cmd += [str(a) for a in args]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{cmd} exited {proc.returncode}:\n{proc.stderr}")
    return proc


def cli_json(*args, library: Path | None = None) -> dict:
    return json.loads(run_cli(*args, "--json", library=library).stdout)


def dataset(name: str) -> Path:
    folder = DATASETS / name
    if not folder.is_dir():
        pytest.skip(f"{folder} is not present (the shared photo sets sit beside the project)")
    return folder


def coco_library(tmp_path: Path, n: int) -> tuple[Path, Path]:
    """The first n photos of coco-mini in a folder, and a library set to the built-in model:
    (photos, library). Skips without the shared sets; fails without the built-in model."""
    needs_builtin()
    coco = dataset("coco-mini")
    photos = tmp_path / "photos"
    photos.mkdir()
    for e in json.loads((coco / "labels.json").read_text())["images"][:n]:
        shutil.copy(coco / e["file"], photos / Path(e["file"]).name)
    library = tmp_path / "lib"
    use_model(library, "builtin")
    return photos, library


def shown_window(qtbot, catalog, timeout: int = 20_000, **options):
    """The app's MainWindow on `catalog`, shown, once its start-up catch-up has finished (the
    caller closes it). Qt is imported here: only the UI tests pay for it."""
    from photolens.ui.main_window import MainWindow

    window = MainWindow(catalog, welcome=False, **options)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.index_done, timeout=timeout):
        pass
    return window


def collage(left: Path, right: Path, dest: Path) -> Path:
    """Two photos side by side in one JPEG (a region search's subject: each half is one photo)."""
    from PIL import Image

    out = Image.new("RGB", (1200, 500))
    for i, src in enumerate((left, right)):
        with Image.open(src) as im:
            out.paste(im.convert("RGB").resize((600, 500)), (600 * i, 0))
    out.save(dest, quality=92)
    return dest


def coco_catalog_without_tag_details(tmp_path: Path, n: int):
    """A catalog of n coco-mini photos indexed without the tag detail pass (as an older version,
    or thorough tags off, left it), with thorough tags on again: the pass is still to come."""
    from photolens.engine import Catalog

    photos, library = coco_library(tmp_path, n)
    cat = Catalog(library, device="cpu")
    cat.set_thorough_tags(False)
    cat.add_folder(photos)
    cat.index_all()
    cat.set_thorough_tags(True)
    return cat


def needs_builtin() -> None:
    if not BUILTIN.exists():
        pytest.fail("the built-in model is missing: run `make setup` (it builds models/builtin)")
