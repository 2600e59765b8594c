"""Fault injection, continued: hostile inputs (a sparse 2 GB "JPEG", FIFOs, /dev/zero, a 16-bit
giant), a full disk, bad settings files and arguments, and privacy (no network, private files).
Each runs the real command and asserts a clear one-line message, nothing lost, bounded memory.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from conftest import run_cli, use_model, write_photo

from photolens.engine.config import Settings
from photolens.engine.errors import FileAccessError, ImageTooLargeError
from photolens.engine.imaging import Preprocess, decode_for_model

SPEC = Preprocess(32, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
# The tiny model's process needs ~250 MB (Python, numpy, ONNX Runtime, PIL); reading a 2 GB
# file whole, or decoding /dev/zero, would take far more.
MEMORY_BOUND_MB = 600
WRAP = ("import resource, subprocess, sys; p = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
        "sys.stdout.write(p.stdout); sys.stderr.write(p.stderr); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024, file=sys.stderr); "
        "sys.exit(p.returncode)")


def measured(library: Path, *args, timeout: float = 120) -> tuple[subprocess.CompletedProcess, int]:
    """The CLI run in a wrapper that reports the command's peak memory (MB) on its last line."""
    cmd = [sys.executable, "-c", WRAP, sys.executable, "-m", "photolens", "--library", str(library), *map(str, args)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    lines = proc.stderr.strip().splitlines()
    peak = int(lines[-1])
    proc.stderr = "\n".join(lines[:-1])
    return proc, peak


def one_clear_line(proc: subprocess.CompletedProcess, *words: str) -> None:
    assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("photolens: error:"), proc.stderr
    for w in words:
        assert w in lines[0], lines[0]


# -- bounded memory and time for every input ----------------------------------------------------

def test_a_sparse_2gb_jpeg_and_a_fifo_in_the_library_cost_no_memory_and_no_hang(tmp_path, library):
    photos = tmp_path / "photos"
    write_photo(photos / "fine.jpg")
    with open(photos / "big.jpg", "wb") as f:
        f.truncate(2 << 30)  # sparse: 2 GB of zeros that take no disk
    os.mkfifo(photos / "pipe.jpg")
    proc, peak = measured(library, "add", "-q", "--json", photos)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["embedded"] == 1 and summary["failed"] == 1
    assert peak < MEMORY_BOUND_MB, f"{peak} MB"
    failures = json.loads(run_cli("status", "--failures", "--json", library=library).stdout)["failures"]
    assert [f["kind"] for f in failures] == ["not-an-image"]


def test_a_fifo_that_replaces_a_pending_photo_does_not_hang_indexing(tmp_path, library):
    photos = tmp_path / "photos"
    write_photo(photos / "a.jpg")
    write_photo(photos / "b.jpg", color=(10, 200, 10))
    run_cli("add", "--no-index", photos, library=library)
    (photos / "b.jpg").unlink()
    os.mkfifo(photos / "b.jpg")
    proc = run_cli("index", "-q", "--json", library=library, timeout=120)  # a hang would time out
    assert json.loads(proc.stdout)["embedded"] == 1


def test_dev_zero_and_a_fifo_as_query_images_are_clear_errors(tmp_path, library):
    write_photo(tmp_path / "photos" / "a.jpg")
    run_cli("add", "-q", tmp_path / "photos", library=library)
    os.mkfifo(tmp_path / "pipe.jpg")
    for target in ("/dev/zero", tmp_path / "pipe.jpg"):
        proc, peak = measured(library, "search", f"image:{target}", timeout=60)
        one_clear_line(proc, "not a regular file")
        assert peak < MEMORY_BOUND_MB
        proc, _ = measured(library, "similar", target, timeout=60)
        one_clear_line(proc, "not a regular file")


def _png_header_only(path: Path, width: int, height: int, bit_depth: int, colour: int) -> Path:
    """A PNG that declares its size and depth and holds (almost) no pixels: a bomb's shape."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return path


def test_decoded_memory_is_capped_by_bytes_not_only_pixels(tmp_path):
    # The 16-bit 15,800 x 15,800 PNG: under the pixel limit, over the memory limit.
    giant = _png_header_only(tmp_path / "giant16.png", 15_800, 15_800, 16, 0)
    with pytest.raises(ImageTooLargeError, match="GB, over the limit"):
        decode_for_model(str(giant), SPEC)
    with pytest.raises(FileAccessError, match="not a regular file"):
        decode_for_model("/dev/zero", SPEC)
    empty = tmp_path / "e.jpg"
    empty.write_bytes(b"")
    with pytest.raises(Exception, match="empty"):
        decode_for_model(str(empty), SPEC)
    small16 = tmp_path / "small16.png"
    from PIL import Image
    import numpy as np

    Image.fromarray(np.full((40, 50), 40000, np.uint16)).save(small16)
    assert decode_for_model(str(small16), SPEC).pixels.shape == (3, 32, 32)  # 16-bit still decodes


def test_a_decode_that_runs_past_its_time_stops_mid_decode(tmp_path):
    import numpy as np
    from PIL import Image

    from photolens.engine.errors import DecodeTimeoutError
    from photolens.engine.imaging import open_image

    noisy = tmp_path / "noise.png"  # ~27 MB of incompressible pixels: a decode of ~0.3 s or more
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (3000, 3000, 3), np.uint8)).save(noisy)
    with open(noisy, "rb") as f:
        assert open_image(str(noisy), f).size == (3000, 3000)  # the default limit lets it through
    with open(noisy, "rb") as f, pytest.raises(DecodeTimeoutError, match="longer than 0.05 s"):
        open_image(str(noisy), f, max_seconds=0.05)  # the header is read in time; the pixels are not


# -- clear one-line errors ----------------------------------------------------------------------

def test_a_full_disk_is_one_clear_line_and_loses_nothing(tmp_path):
    disk = tmp_path / "tiny-disk"
    disk.mkdir()
    # 2 MB: an empty library is ~0.6 MB of 16 KiB pages (the words index's shadow tables are a
    # third of it), and adding three photos must still fit before the disk is filled.
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a 2 MB tmpfs here (needs root and mount rights)")
    try:
        library = disk / "lib"
        use_model(library, "tiny")
        photos = tmp_path / "photos"
        for i in range(3):
            write_photo(photos / f"{i}.jpg", color=(80 * i, 50, 50))
        run_cli("add", "-q", photos, library=library)
        (disk / "filler").write_bytes(b"")
        with open(disk / "filler", "wb") as f:  # fill what is left
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        for i in range(3, 40):
            write_photo(photos / f"{i}.jpg", color=(5 * i, 90, 150), noise=30, seed=i)
        proc = run_cli("index", "-q", library=library, check=False)
        one_clear_line(proc, "full")
        (disk / "filler").unlink()
        status = json.loads(run_cli("status", "--json", library=library).stdout)
        assert status["indexed"] >= 3  # what was indexed before the disk filled is all there
    finally:
        subprocess.run(["umount", str(disk)])


def test_library_that_is_a_file_and_non_utf8_queries_are_one_line(tmp_path, library):
    proc = run_cli("--library", "/etc/hostname", "status", check=False)
    one_clear_line(proc, "is a file")
    assert Path("/etc/hostname").read_text()  # untouched
    write_photo(tmp_path / "p" / "a.jpg")
    run_cli("add", "-q", tmp_path / "p", library=library)
    raw = subprocess.run([sys.executable, "-m", "photolens", "--library", str(library), "search", b"\xff dog"],
                         capture_output=True, text=True, timeout=120)
    one_clear_line(raw, "not valid UTF-8")
    for args, words in ((["search", "x" * 2000], "limit"), (["search", "500*dog"], "too large"),
                        (["similar", tmp_path / "p" / "a.jpg", "--detail", "2"], "between 0 and 1"),
                        (["teach", "foo", "-p", tmp_path / "p" / "a.jpg", "--accept-top", "-5"], "0 or more")):
        one_clear_line(run_cli(*args, library=library, check=False), words)
    verbose = run_cli("--verbose", "--library", "/etc/hostname", "status", check=False)
    assert "Traceback" in verbose.stderr and verbose.returncode == 1  # kept for bug reports


@pytest.mark.parametrize("content", ["[]", "{not json", '{"device": 5, "thorough_tags": "yes"}', "\x00\x01"])
def test_damaged_settings_load_defaults_with_a_warning(tmp_path, library, content, caplog):
    (library / "settings.json").write_text(content)
    settings = Settings.load(library)
    assert settings.device == "auto" and settings.thorough_tags is True
    if content != '{"device": 5, "thorough_tags": "yes"}':  # a wrong-typed value quietly takes its default
        assert "using the default settings" in caplog.text
    proc = run_cli("status", "--json", library=library, check=False)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr


# -- privacy -------------------------------------------------------------------------------------

def test_indexing_and_search_open_no_network_socket(tmp_path, library):
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed (apt-get install strace)")
    write_photo(tmp_path / "p" / "a.jpg")
    trace = tmp_path / "trace"
    env = {k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"}  # the package sets it itself
    for args in (["add", "-q", tmp_path / "p"], ["search", "red"], ["similar", tmp_path / "p" / "a.jpg"]):
        proc = subprocess.run(["strace", "-f", "-qq", "-e", "trace=network", "-o", str(trace), sys.executable,
                               "-m", "photolens", "--library", str(library), *map(str, args)],
                              capture_output=True, text=True, env=env, timeout=300)
        if proc.returncode != 0 and "PTRACE" in proc.stderr.upper():
            pytest.skip(f"strace cannot trace here: {proc.stderr.strip()[:200]}")
        assert proc.returncode == 0, proc.stderr
        calls = trace.read_text()
        families = set(re.findall(r"socket\((AF_\w+)", calls))
        assert families <= {"AF_UNIX", "AF_NETLINK"}, calls
        assert "connect(" not in calls or not re.search(r"connect\(\d+, \{sa_family=AF_INET", calls)


def test_telemetry_is_off_before_onnxruntime_loads():
    code = ("import photolens, os, sys; assert 'onnxruntime' not in sys.modules; "
            "print(os.environ['ORT_DISABLE_TELEMETRY'])")
    env = {k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"}
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env).stdout.strip() == "1"
    spec = (Path(__file__).parents[1] / "packaging" / "photolens.spec").read_text()
    assert "rthook_privacy.py" in spec
    assert "ORT_DISABLE_TELEMETRY" in (Path(__file__).parents[1] / "packaging" / "rthook_privacy.py").read_text()
