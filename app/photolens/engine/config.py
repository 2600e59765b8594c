"""Where things live, and the library's typed settings (readable without Qt)."""
from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import platformdirs

log = logging.getLogger(__name__)

APP_NAME = "photolens"
LIBRARY_ENV = "PHOTOLENS_LIBRARY"
MODELS_ENV = "PHOTOLENS_MODELS"
DB_NAME = "library.db"
SETTINGS_NAME = "settings.json"


def default_library_dir() -> Path:
    env = os.environ.get(LIBRARY_ENV)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME)) / "library"


def user_models_dir() -> Path:
    """Where downloaded and imported models go (writable, per user)."""
    env = os.environ.get(MODELS_ENV)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME)) / "models"


def bundled_models_dir() -> Path:
    """The `models/` folder that ships with the application: the source tree's, or the
    PyInstaller bundle's. It holds the manifests and the built-in model once built."""
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen) / "models"
    return Path(__file__).resolve().parents[3] / "models"


def cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir(APP_NAME))


@dataclass
class Settings:
    """Per-library settings, stored as JSON next to the database.

    Each field has a default, so a settings file from an older version still loads; unknown
    keys from a newer version are kept out rather than crashing.
    """

    model: str = ""  # empty: the best installed model (the built-in one when nothing else is)
    device: str = "auto"  # auto | cpu | cuda
    # The model's tag detail pass (tagscore.py): better tags for small things, but on a CPU it
    # makes indexing about 3x slower. Off: photos are tagged from the whole photo and its views.
    thorough_tags: bool = True
    thumbnail_size: int = 192

    @classmethod
    def load(cls, library_dir: Path) -> "Settings":
        path = library_dir / SETTINGS_NAME
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as e:
            log.warning("%s is unreadable (%s): using the default settings", path, e)
            return cls()
        if not isinstance(data, dict):
            log.warning("%s does not hold settings: using the default settings", path)
            return cls()
        defaults = cls()
        values = {}
        for f in fields(cls):
            if f.name in data:
                value, default = data[f.name], getattr(defaults, f.name)
                if type(value) is type(default):  # a damaged or hand-edited value of the wrong type
                    values[f.name] = value
                else:
                    log.warning("%s: %s=%r is not a %s: using %r", path, f.name, value, type(default).__name__,
                                default)
        return cls(**values)

    def save(self, library_dir: Path) -> None:
        from .fsutil import atomic_write_text

        library_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(library_dir / SETTINGS_NAME, json.dumps(asdict(self), indent=2))
