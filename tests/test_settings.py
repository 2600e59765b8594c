"""Library settings: versioned, upgraded step by step, and never able to break loading."""
from __future__ import annotations

import json

import pytest

from photolens.engine.config import SETTINGS_NAME, SETTINGS_UPGRADES, SETTINGS_VERSION, Settings, upgrade_settings


def _write(folder, data) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / SETTINGS_NAME).write_text(json.dumps(data) if not isinstance(data, str) else data)


def test_a_file_from_before_versions_is_upgraded_and_saved_with_the_version(tmp_path):
    _write(tmp_path, {"model": "tiny", "device": "gpu0", "thorough_tags": False})
    s = Settings.load(tmp_path)
    assert (s.version, s.model, s.device, s.thorough_tags) == (SETTINGS_VERSION, "tiny", "auto", False)
    s.save(tmp_path)
    assert json.loads((tmp_path / SETTINGS_NAME).read_text())["version"] == SETTINGS_VERSION


def test_upgrade_steps_run_in_order_from_the_files_version():
    seen = []
    steps = list(SETTINGS_UPGRADES)
    try:
        SETTINGS_UPGRADES.append(lambda d: seen.append(("second", dict(d))) or dict(d, extra=1))
        data = upgrade_settings({"version": 0, "device": "cpu"})
        assert seen == [("second", {"version": 0, "device": "cpu"})]
        assert data["version"] == len(SETTINGS_UPGRADES) and data["extra"] == 1
        seen.clear()
        upgrade_settings({"version": len(SETTINGS_UPGRADES), "device": "cpu"})
        assert seen == []  # a current file runs no step
    finally:
        SETTINGS_UPGRADES[:] = steps


def test_a_current_file_keeps_its_values(tmp_path):
    _write(tmp_path, {"version": SETTINGS_VERSION, "device": "cpu", "thumbnail_size": 256})
    s = Settings.load(tmp_path)
    assert (s.device, s.thumbnail_size) == ("cpu", 256)


@pytest.mark.parametrize("content", ["[]", "3", "{not json", '{"device": 7, "thorough_tags": "yes"}', ""])
def test_a_damaged_settings_file_loads_the_defaults(tmp_path, content, caplog):
    _write(tmp_path, content)
    s = Settings.load(tmp_path)
    assert (s.device, s.thorough_tags, s.model) == ("auto", True, "")
