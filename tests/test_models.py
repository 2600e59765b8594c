"""Model install (against a local HTTP server), Immich-layout CLIP models end to end."""
from __future__ import annotations

import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import cli_json, run_cli, write_photo
from tiny_models import make_immich_clip
from photolens.engine.download import download_file, install
from photolens.engine.errors import ChecksumError, DownloadError
from photolens.engine.models import ModelInfo


class FileServer:
    """Serves a folder on 127.0.0.1 with Range support; can cut the first response short."""

    def __init__(self, root: Path, cut_after: int | None = None):
        self.root = root
        self.cut_after = cut_after
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                path = server.root / self.path.lstrip("/")
                rng = self.headers.get("Range")
                server.requests.append({"path": self.path, "range": rng})
                if not path.is_file():
                    self.send_error(404)
                    return
                data = path.read_bytes()
                start = int(rng.split("=")[1].split("-")[0]) if rng else 0
                body = data[start:]
                self.send_response(206 if rng else 200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if server.cut_after is not None and not rng:
                    self.wfile.write(body[: server.cut_after])
                    self.wfile.flush()
                    self.connection.shutdown(2)
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def served(tmp_path):
    servers = []

    def make(root, **kw):
        s = FileServer(root, **kw)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.close()


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_download_reports_progress_and_resumes_after_a_cut(tmp_path, served):
    src = tmp_path / "srv"
    src.mkdir()
    (src / "blob.bin").write_bytes(bytes(range(256)) * 20_000)  # 5 MB
    server = served(src, cut_after=1_000_000)
    dest = tmp_path / "out" / "blob.bin"
    seen = []
    with pytest.raises(DownloadError, match="resume"):
        download_file(f"{server.url}/blob.bin", dest, sha(src / "blob.bin"), progress=lambda *a: seen.append(a))
    assert not dest.exists() and dest.with_name("blob.bin.part").stat().st_size >= 1_000_000 - 1
    download_file(f"{server.url}/blob.bin", dest, sha(src / "blob.bin"), progress=lambda *a: seen.append(a))
    assert dest.read_bytes() == (src / "blob.bin").read_bytes()
    assert server.requests[-1]["range"].startswith("bytes=")
    assert seen[-1][1] == seen[-1][2] == 5_120_000


def test_a_corrupted_download_is_rejected(tmp_path, served):
    src = tmp_path / "srv"
    src.mkdir()
    (src / "m.onnx").write_bytes(b"tampered bytes")
    server = served(src)
    with pytest.raises(ChecksumError):
        download_file(f"{server.url}/m.onnx", tmp_path / "o" / "m.onnx", "0" * 64)
    assert not (tmp_path / "o" / "m.onnx").exists()


def test_offline_install_is_a_clear_error(tmp_path):
    info = ModelInfo("x", "clip", 4, None, {"name": "x", "source": {"base_url": "http://127.0.0.1:9"},
                                            "files": [{"path": "a.onnx", "sha256": "0" * 64}]})
    with pytest.raises(DownloadError, match="offline"):
        install(info, root=tmp_path)


def _clip_manifest(folder: Path, name: str) -> dict:
    from photolens.engine.models import immich_manifest

    m = immich_manifest(folder, name)
    m["files"] = [{"path": str(p.relative_to(folder)), "sha256": sha(p), "size": p.stat().st_size}
                  for p in sorted(folder.rglob("*")) if p.is_file()]
    return m


def test_clip_model_installs_from_a_server_and_searches_end_to_end(tmp_path, served, models_dir, library):
    clip = make_immich_clip(tmp_path / "hub" / "tiny-clip")
    manifest = _clip_manifest(clip, "tiny-clip")
    server = served(clip)
    manifest["source"] = {"base_url": server.url}
    info = install(ModelInfo("tiny-clip", "clip", manifest["dim"], None, manifest), root=tmp_path / "user-models")
    assert info.installed and (info.folder / "visual" / "model.onnx").exists()
    assert {r["path"] for r in server.requests} == {"/" + f["path"] for f in manifest["files"]}

    photos = tmp_path / "photos"
    for i, color in enumerate([(220, 20, 20), (20, 220, 20), (20, 20, 220), (230, 30, 30)]):
        write_photo(photos / f"{i}.jpg", color=color)
    from photolens.engine import Catalog
    from photolens.engine.embedder import Embedder

    emb = Embedder(info, "cpu")
    assert emb.visual.fixed_batch() == 1
    vecs = emb.embed_texts(["red dog", "a photo of the beach at night"])
    assert vecs.shape == (2, 16)
    cat = Catalog(library, device="cpu")
    cat.add_folder(photos)
    cat.index_all()
    cat._embedder = emb  # the installed CLIP model, used through the same pipeline
    cat._index = cat._searcher = None
    assert cat.embed_pending()["embedded"] == 4
    similar = cat.similar(str(photos / "0.jpg"), k=3)
    assert similar[0].path == str(photos / "3.jpg")
    assert len(cat.search("red + night", k=4)) == 4
    cat.close()


def test_import_immich_folder_use_it_and_switch_back_instantly(tmp_path, library):
    clip = make_immich_clip(tmp_path / "ViT-tiny__test")
    run_cli("models", "import", clip)
    listed = {m["name"]: m for m in cli_json("models", "list", library=library)["models"]}
    assert listed["ViT-tiny__test"]["installed"] and listed["ViT-tiny__test"]["family"] == "clip"
    photos = tmp_path / "photos"
    for i in range(3):
        write_photo(photos / f"{i}.png", color=(60 * i, 90, 200))
    assert cli_json("add", photos, library=library)["embedded"] == 3
    run_cli("models", "use", "ViT-tiny__test", library=library)
    assert cli_json("status", library=library)["model"] == "ViT-tiny__test"
    assert cli_json("index", library=library)["embedded"] == 3
    assert len(cli_json("search", "blue", library=library)["results"]) == 3
    run_cli("models", "use", "tiny", library=library)
    assert cli_json("index", library=library)["embedded"] == 0  # its vectors were kept
    status = cli_json("status", library=library)
    assert status["models_with_vectors"] == {"tiny": 3, "ViT-tiny__test": 3}
