"""The engine's side of "the app never betrays the user" (issue 15): a device or model that
cannot be used falls back with a warning, RAW and HEIC photos are read, offline photos keep
their thumbnails, and Photolens never indexes its own folders or other applications' caches."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import run_cli, write_photo
from photolens.engine import Catalog
from photolens.engine import catalog as catalog_module
from photolens.engine import embedder as embedder_module
from photolens.engine import index as index_module
from photolens.engine.embedder import CUDA, available_providers
from photolens.engine.imaging import IMAGE_EXTENSIONS, display_image, thumbnail
from photolens.engine.raw import RAW_EXTENSIONS

needs_no_cuda = pytest.mark.skipif(CUDA in available_providers(),
                                   reason="this machine has CUDA; the fallback is for machines without it")


def make_dng(path: Path, preview: bool = True) -> Path:
    """A real DNG file: 12-bit RGGB sensor data of a red scene, with (or without) an embedded
    RGB preview in IFD0 and the sensor data in a SubIFD, as cameras and converters write them."""
    tifffile = pytest.importorskip("tifffile")
    h, w = 64, 96
    cfa = np.zeros((h, w), np.uint16)
    cfa[0::2, 0::2], cfa[0::2, 1::2], cfa[1::2, 0::2], cfa[1::2, 1::2] = 3000, 500, 500, 200
    dng = [(50706, "B", 4, (1, 4, 0, 0), True), (50708, "s", 0, "Photolens Test", True),  # DNGVersion, model
           (50728, "2I", 3, (1, 1, 1, 1, 1, 1), True)]  # AsShotNeutral: the camera's white balance
    cfa_tags = [(33421, "H", 2, (2, 2), True), (33422, "B", 4, (0, 1, 1, 2), True),  # 2x2 RGGB pattern
                (50717, "I", 1, 4095, True)]  # WhiteLevel: 12-bit
    path.parent.mkdir(parents=True, exist_ok=True)
    with tifffile.TiffWriter(path) as tif:
        if preview:
            thumb = np.zeros((32, 48, 3), np.uint8)
            thumb[:] = (200, 30, 30)
            tif.write(thumb, photometric="rgb", subfiletype=1, subifds=1, extratags=dng)
            tif.write(cfa, photometric=32803, subfiletype=0, extratags=cfa_tags)
        else:
            tif.write(cfa, photometric=32803, extratags=dng + cfa_tags)
    return path


# -- a device or a model that cannot be used ---------------------------------------------------

@needs_no_cuda
def test_cuda_chosen_without_a_gpu_falls_back_to_the_cpu_with_a_warning(library, tmp_path):
    write_photo(tmp_path / "p" / "a.jpg")
    cat = Catalog(library)
    cat.set_device("cuda")
    assert cat.settings.device == "cuda"  # the choice is kept, and stays changeable
    cat.add_folder(tmp_path / "p")
    cat.index_all()
    assert len(cat.search("red", k=5)) == 1
    assert cat.embedder.device_name == "cpu"
    assert any("CUDA" in w and "CPU" in w for w in cat.warnings)
    assert cat.status().warnings == cat.warnings
    cat.set_device("cpu")
    assert cat.warnings == []
    cat.close()


@needs_no_cuda
def test_cli_settings_device_cuda_warns_on_stderr_and_search_still_works(library, tmp_path):
    write_photo(tmp_path / "p" / "a.jpg")
    run_cli("add", tmp_path / "p", "-q", library=library)
    proc = run_cli("settings", "--device", "cuda", library=library)
    assert "warning" in proc.stderr and "CPU" in proc.stderr
    assert all(len(line) <= 79 for line in proc.stderr.splitlines())  # wrapped for a terminal
    assert json.loads((library / "settings.json").read_text())["device"] == "cuda"
    found = run_cli("search", "red", "--json", library=library)
    assert len(json.loads(found.stdout)["results"]) == 1 and "CPU" in found.stderr
    assert "cuda" in run_cli("settings", "--help").stdout


def test_a_model_that_fails_to_load_falls_back_and_says_so(library, models_dir, tmp_path, monkeypatch):
    _broken_model(models_dir, tmp_path, monkeypatch)
    (library / "settings.json").write_text(json.dumps({"model": "broken"}))
    cat = Catalog(library, device="cpu")
    assert cat.model.name != "broken"
    assert any("broken" in w and "could not be loaded" in w for w in cat.warnings)
    assert cat.embedder.embed_text("a dog").shape[-1] > 0
    cat.close()


def _broken_model(models_dir: Path, tmp_path: Path, monkeypatch) -> None:
    """A model named "broken" whose image graph is not ONNX, installed beside "tiny"."""
    broken_models = tmp_path / "models"
    shutil.copytree(models_dir / "tiny", broken_models / "tiny")
    shutil.copytree(models_dir / "tiny", broken_models / "broken")
    manifest = json.loads((broken_models / "broken" / "manifest.json").read_text())
    manifest["name"] = "broken"
    manifest.pop("files", None)  # no checksums to stop it before it loads
    (broken_models / "broken" / "manifest.json").write_text(json.dumps(manifest))
    (broken_models / "broken" / manifest["visual"]["file"]).write_bytes(b"not an onnx model")
    monkeypatch.setenv("PHOTOLENS_MODELS", str(broken_models))


def _sessions_made(monkeypatch) -> list[str]:
    """The file names of the ONNX Runtime sessions made from now on, in order."""
    made: list[str] = []
    real = embedder_module.OrtSession.__init__

    def recording(self, path, *args, **kwargs):
        made.append(Path(path).name)
        real(self, path, *args, **kwargs)

    monkeypatch.setattr(embedder_module.OrtSession, "__init__", recording)
    return made


def test_a_window_opens_the_index_before_the_image_model_loads(catalog, models_dir, tmp_path, monkeypatch):
    """Catalog.prepare_search, which a window waits for, reads the saved graph (once, verified
    once) and the tokenizer but makes no session (the built-in image model takes 0.2-0.4 s); the
    image model is loaded and checked by the first use that needs the model, which adopts what
    was read, and search then works as ever."""
    colours = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (200, 200, 30)]
    for i, colour in enumerate(colours):
        write_photo(tmp_path / "p" / f"{i}.jpg", colour)
    catalog.add_folder(tmp_path / "p")
    catalog.index_all()
    catalog.index.exact_max = 2  # a graph, as in a large library
    assert catalog.search("red", k=1)  # builds the graph; closing saves it
    catalog.close()
    made = _sessions_made(monkeypatch)
    indexes: list = []
    verified: list = []

    class CountedIndex(catalog_module.VectorIndex):
        def __init__(self, *args, **kwargs):
            indexes.append(self)
            super().__init__(*args, **{**kwargs, "exact_max": 2})

    real_verify = index_module.verify_graph
    monkeypatch.setattr(catalog_module, "VectorIndex", CountedIndex)
    monkeypatch.setattr(index_module, "verify_graph", lambda *a: verified.append(a) or real_verify(*a))
    cat = Catalog(catalog.dir, device="cpu")
    assert cat.prepare_search() is True  # the graph is read
    assert made == [] and len(indexes) == 1 and len(verified) == 1
    unchecked = cat._unchecked[0]
    visual = json.loads((models_dir / "tiny" / "manifest.json").read_text())["visual"]["file"]
    # The index asked for first: the model loads, and the index is the one prepare_search
    # opened, not a second one read again.
    assert cat.index is indexes[0] and made[0] == visual and cat.embedder is unchecked
    assert cat.index.loaded and not cat.index.exact
    found = cat.search("red", k=4)
    assert found and len(cat.recent(10)) == len(colours)
    assert len(indexes) == 1 and len(verified) == 1  # nothing was read twice
    cat.close()


def test_a_model_that_fails_to_load_after_the_window_opened_still_falls_back(library, models_dir, tmp_path,
                                                                             monkeypatch):
    _broken_model(models_dir, tmp_path, monkeypatch)
    (library / "settings.json").write_text(json.dumps({"model": "broken"}))
    cat = Catalog(library, device="cpu")
    cat.prepare_search()  # opens the broken model's (empty) index: nothing is loaded yet
    assert cat.recent(10) == []  # lists that need no model work before it loads
    assert cat.model.name != "broken" and cat.index.model == cat.model.name
    assert any("broken" in w and "could not be loaded" in w for w in cat.warnings)
    assert cat.embedder.embed_text("a dog").shape[-1] > 0
    cat.close()


# -- photos as they are ------------------------------------------------------------------------

@pytest.mark.parametrize("preview", [True, False], ids=["embedded-preview", "no-preview"])
def test_a_dng_is_indexed_and_shown_from_its_preview(catalog, tmp_path, preview):
    """A real DNG file (LibRaw reads it through rawpy): its embedded preview, or the sensor
    data developed at half size when it has none. Both are red, as the scene."""
    dng = make_dng(tmp_path / "raw" / "IMG_0001.DNG", preview)
    assert RAW_EXTENSIONS <= IMAGE_EXTENSIONS
    img = display_image(str(dng))
    assert img.mode == "RGB" and img.size == (48, 32)
    r, g, b = np.asarray(img, np.float32).mean(axis=(0, 1))
    assert r > g + 50 and r > b + 50
    catalog.add_folder(tmp_path / "raw")
    summary = catalog.index_all()
    assert summary["embedded"] == 1 and summary["failed"] == 0
    with Image.open(thumbnail(str(dng), 64, tmp_path / "thumbs")) as thumb:
        assert thumb.size == (48, 32)


def test_a_heic_photo_is_shown_in_full(tmp_path):
    pillow_heif = pytest.importorskip("pillow_heif")
    path = tmp_path / "IMG_0002.HEIC"
    pillow_heif.from_pillow(Image.new("RGB", (80, 60), (20, 180, 40))).save(str(path))
    img = display_image(str(path))
    assert img.size == (80, 60) and img.getpixel((40, 30))[1] > 150


def test_an_offline_photo_keeps_its_cached_thumbnail(tmp_path):
    photo = write_photo(tmp_path / "drive" / "a.jpg", size=(120, 80))
    cache = tmp_path / "thumbs"
    made = thumbnail(str(photo), 64, cache)
    shutil.rmtree(tmp_path / "drive")  # the drive is unplugged
    assert thumbnail(str(photo), 64, cache) == made
    with pytest.raises(OSError):
        thumbnail(str(tmp_path / "never-seen.jpg"), 64, cache)


# -- Photolens's own folders and other caches ---------------------------------------------------

def test_a_library_folder_holding_the_cache_never_indexes_the_cache(catalog, tmp_path, monkeypatch):
    """A home folder added to the library contains ~/.cache (here $XDG_CACHE_HOME, not hidden)
    with Photolens's thumbnails: neither the scan nor the watcher takes them in."""
    from photolens.engine.config import cache_dir
    from photolens.engine.watcher import Watcher

    home = tmp_path / "home"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cachehome"))
    photo = write_photo(home / "Pictures" / "a.jpg", size=(120, 80))
    thumbs = cache_dir() / "thumbnails"
    assert str(thumbs).startswith(str(home))
    thumbnail(str(photo), 64, thumbs)
    write_photo(home / "cachehome" / "otherapp" / "icon.png")
    catalog.add_folder(home)
    assert catalog.index_all()["added"] == 1
    assert [r.path for r in catalog.recent(10)] == [str(photo)]
    watcher = Watcher(catalog)
    thumbnail(str(write_photo(home / "Pictures" / "b.jpg", size=(90, 90))), 64, thumbs)
    summary = watcher.sync([str(home / "Pictures"), *{str(p.parent) for p in thumbs.rglob("*.jpg")}])
    assert summary["added"] == 1 and summary["removed"] == 0
    assert sorted(Path(r.path).name for r in catalog.recent(10)) == ["a.jpg", "b.jpg"]
