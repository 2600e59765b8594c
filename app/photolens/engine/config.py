"""Where things live, and the library's typed settings (readable without Qt)."""
from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import platformdirs

from .fsutil import atomic_write_text

APP_NAME = "photolens"
LIBRARY_ENV = "PHOTOLENS_LIBRARY"
MODELS_ENV = "PHOTOLENS_MODELS"
DB_NAME = "library.db"
SETTINGS_NAME = "settings.json"

log = logging.getLogger("photolens.config")


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


def _s1_first_versioned(data: dict) -> dict:
    """Settings written before settings had a version. Their keys are today's; a device name
    the app does not know (a hand edit, a typo) would fail every search, so it becomes "auto"."""
    if data.get("device") not in DEVICES:
        data["device"] = "auto"
    return data


# Ordered upgrade steps, like the store's migrations: a file at version v runs steps v+1...
# Append, never edit; each says why it exists.
SETTINGS_UPGRADES = [_s1_first_versioned]
SETTINGS_VERSION = len(SETTINGS_UPGRADES)
DEVICES = ("auto", "cpu", "cuda")


def upgrade_settings(data: dict) -> dict:
    """Bring a settings document written by any older version up to SETTINGS_VERSION."""
    version = data.get("version", 0)
    if not isinstance(version, int) or version < 0:
        version = 0
    for step in SETTINGS_UPGRADES[version:]:
        data = step(dict(data))
    data["version"] = len(SETTINGS_UPGRADES)
    return data


@dataclass
class Settings:
    """Per-library settings, stored as JSON next to the database.

    Each field has a default, so a settings file from an older version still loads (after the
    upgrade steps above); unknown keys from a newer version are kept out rather than crashing,
    and a file that is not a JSON object loads the defaults with a warning.
    """

    version: int = SETTINGS_VERSION
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
            log.warning("%s cannot be read (%s): using the default settings", path, e)
            return cls()
        if not isinstance(data, dict):
            log.warning("%s does not hold settings (a JSON object): using the default settings", path)
            return cls()
        data = upgrade_settings(data)
        defaults = cls()
        known = {f.name: type(getattr(defaults, f.name)) for f in fields(cls)}
        # A value of the wrong type (a hand edit) falls back to its default, not a crash later.
        kept = {k: v for k, v in data.items() if k in known and isinstance(v, known[k])}
        return cls(**kept)

    def save(self, library_dir: Path) -> None:
        library_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(library_dir / SETTINGS_NAME, json.dumps(asdict(self), indent=2))
