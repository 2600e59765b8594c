"""The downloadable models (SigLIP 2, CLIP ViT-L/14, XLM-R CLIP, NLLB-CLIP): each shipped manifest against the
form Immich publishes, and generated models of that form installed from a local HTTP server,
tokenized, preprocessed, indexed and searched end to end."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import ROOT, use_model, write_photo
from test_models import FileServer
from tiny_families import FAMILIES, Family, make_immich_folder
from photolens.engine.download import install
from photolens.engine.embedder import Embedder
from photolens.engine.errors import DownloadError, ModelError
from photolens.engine.imaging import preprocess
from photolens.engine.models import ModelInfo, import_model, read_manifest
from photolens.engine.textprep import clean_text, flores_code, prepare_text

NAMES = sorted(FAMILIES)


def shipped(name: str) -> ModelInfo:
    return read_manifest(ROOT / "models" / f"{name}.json", None)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("hub")
    return {n: make_immich_folder(FAMILIES[n], root / n) for n in NAMES}


@pytest.fixture
def installed(tmp_path, folders):
    """Install a family's shipped manifest from a local server, with the served files' sha256."""
    servers = []

    def make(name: str, root: Path | None = tmp_path / "user-models") -> tuple[ModelInfo, FileServer]:
        folder = folders[name]
        manifest = json.loads(json.dumps(shipped(name).manifest))
        for f in manifest["files"]:
            f["sha256"], f["size"] = sha(folder / f["path"]), (folder / f["path"]).stat().st_size
        server = FileServer(folder)
        servers.append(server)
        manifest["source"]["base_url"] = server.url
        info = install(ModelInfo(name, "clip", manifest["dim"], None, manifest), root=root)
        return info, server

    yield make
    for s in servers:
        s.close()


@pytest.mark.parametrize("name", NAMES)
def test_shipped_manifest_has_the_form_immich_publishes(name):
    fam: Family = FAMILIES[name]
    info = shipped(name)
    m = info.manifest
    assert m["source"]["base_url"].startswith("https://huggingface.co/immich-app/")
    assert m["visual"] == {"file": "visual/model.onnx", "input": "image", "outputs": {"embedding": "embedding"},
                           "batch": "fixed"}
    t = m["textual"]
    assert (t["inputs"], t["output"], t["input_dtype"], t["batch"]) == ({"input_ids": "text"}, "embedding", "int32", "fixed")
    assert (t["context_length"], t["pad_token"], t["pad_to_context"]) == (fam.context, fam.pad_token, True)
    p = info.preprocess
    assert (p.size, list(p.mean), list(p.std), p.resize_mode, p.interpolation) == (
        fam.size, fam.mean, fam.std, fam.resize_mode, "bicubic")
    assert info.dim == fam.dim
    assert {f["path"] for f in m["files"]} >= {"visual/model.onnx", "textual/model.onnx", "textual/tokenizer.json"}


@pytest.mark.parametrize("name", NAMES)
def test_shipped_manifest_without_checksums_is_refused(tmp_path, name):
    info = shipped(name)
    assert all(f["sha256"] is None for f in info.manifest["files"]) and "sha256" in info.manifest["source"]["note"]
    with pytest.raises(DownloadError, match="no sha256"):
        install(info, root=tmp_path)
    assert not (tmp_path / name).exists()


@pytest.mark.parametrize("name", NAMES)
def test_importing_an_immich_folder_reads_what_the_shipped_manifest_states(tmp_path, folders, monkeypatch, name):
    """What Immich's runtime reads from the published files (config.json, tokenizer_config.json,
    preprocess_cfg.json, the graphs' inputs) is what the shipped manifest says."""
    monkeypatch.setenv("PHOTOLENS_MODELS", str(tmp_path / "user-models"))
    imported = import_model(folders[name], f"{name}-imported").manifest
    ours = shipped(name).manifest
    keys = ("inputs", "output", "context_length", "pad_token", "pad_to_context", "input_dtype", "batch", "clean",
            "language_prefix")
    assert {k: imported["textual"].get(k) for k in keys} == {k: ours["textual"].get(k) for k in keys}
    assert imported["preprocess"] == ours["preprocess"] and imported["dim"] == ours["dim"]


@pytest.mark.parametrize("name", NAMES)
def test_each_family_installs_from_a_server_and_searches_end_to_end(tmp_path, installed, library, monkeypatch, name):
    fam = FAMILIES[name]
    monkeypatch.setenv("PHOTOLENS_MODELS", str(tmp_path / "user-models"))  # where `models install` puts it
    for var, value in (("LC_ALL", ""), ("LC_MESSAGES", ""), ("LANG", "es_ES.UTF-8")):
        monkeypatch.setenv(var, value)  # a Spanish-speaking user's system
    info, server = installed(name, root=None)
    assert info.folder == tmp_path / "user-models" / name
    assert {r["path"] for r in server.requests} == {"/" + f["path"] for f in info.manifest["files"]}
    emb = Embedder(info, "cpu")
    image_in = emb.visual.session.get_inputs()[0]
    text_in = emb.textual.session.get_inputs()[0]
    assert (image_in.name, image_in.shape, image_in.type) == ("image", [1, 3, fam.size, fam.size], "tensor(float)")
    assert (text_in.name, text_in.shape, text_in.type) == ("text", [1, fam.context], "tensor(int32)")
    vecs = emb.embed_texts(["perro en la playa", "a dog on the beach"])
    assert vecs.shape == (2, fam.dim) and np.allclose(np.linalg.norm(vecs, axis=1), 1, atol=1e-5)
    assert not np.allclose(vecs[0], vecs[1])

    photos = tmp_path / "photos"
    for i, color in enumerate([(220, 20, 20), (20, 220, 20), (20, 20, 220), (230, 30, 30)]):
        write_photo(photos / f"{i}.jpg", color=color)
    from photolens.engine import Catalog

    use_model(library, name)  # the library's chosen model: loaded by name, as the app and CLI do
    cat = Catalog(library, device="cpu")
    try:
        cat.add_folder(photos)
        assert cat.index_all()["embedded"] == 4
        assert cat.embedder.model.name == name and cat.embedder.model.dim == fam.dim
        assert cat.similar(str(photos / "0.jpg"), k=3)[0].path == str(photos / "3.jpg")
        query = cat.embedder.embed_text("perro en la playa")
        assert np.allclose(query, vecs[0], atol=1e-5)  # the same text preparation inside the catalog
        assert len(cat.search("perro en la playa", k=4)) == 4
    finally:
        cat.close()


def _ids(emb: Embedder, text: str) -> list[int]:
    return emb.tokenize([text])[0].ids


def test_siglip2_text_is_canonical_and_padded_to_64(installed):
    info, _ = installed("siglip2-vit-b16")
    emb = Embedder(info, "cpu")
    tok = emb.tokenizer
    ids = _ids(emb, "A  Dog, on the BEACH!")
    assert ids == _ids(emb, "a dog on the beach") and len(ids) == 64
    assert ids[0] == tok.token_to_id("<bos>")
    words = 1 + len(tok.encode("a▁dog▁on▁the▁beach", add_special_tokens=False).ids)
    assert ids[words:] == [tok.token_to_id("<pad>")] * (64 - words) and tok.token_to_id("<pad>") == 0
    # the Gemma-style tokenizer is case-sensitive: without canonicalising, "BEACH" is other tokens
    assert tok.encode("BEACH").ids != tok.encode("beach").ids
    assert emb.tokenize(["x " * 200])[0].ids.__len__() == 64  # long text is cut, never overflows the graph


def test_clip_text_keeps_punctuation_and_pads_with_end_of_text(installed):
    info, _ = installed("clip-vit-l14-dfn2b")
    emb = Embedder(info, "cpu")
    tok = emb.tokenizer
    ids = _ids(emb, "A dog, on the beach")
    start, end = tok.token_to_id("<|startoftext|>"), tok.token_to_id("<|endoftext|>")
    assert len(ids) == 77 and ids[0] == start and ids[-1] == end
    assert ids != _ids(emb, "a dog on the beach")  # the comma is a token (CLIP is not canonicalised)
    assert ids == _ids(emb, "a DOG, on the beach")  # CLIP's tokenizer lower-cases itself


def test_xlm_roberta_text_is_padded_with_its_own_pad_id(installed):
    """XLM-R's text tower masks padding by the pad token's id: padding with 0 (<s>) would be read as text."""
    info, _ = installed("xlm-roberta-base-vit-b32")
    emb = Embedder(info, "cpu")
    enc = emb.tokenize(["perro en la playa"])[0]
    n = enc.tokens.index("</s>") + 1
    assert enc.tokens[0] == "<s>" and "".join(enc.tokens[1:n - 1]) == "▁perro▁en▁la▁playa"
    assert len(enc.ids) == 77 and enc.ids[n:] == [1] * (77 - n) and emb.tokenizer.token_to_id("<pad>") == 1
    assert enc.attention_mask == [1] * n + [0] * (77 - n)


def test_nllb_text_starts_with_the_query_language(installed, monkeypatch):
    info, _ = installed("nllb-clip-base-siglip")
    tok = Embedder(info, "cpu").tokenizer
    spanish = Embedder(info, "cpu", language="es").tokenize(["perro en la playa"])[0]
    assert spanish.tokens[0] == "spa_Latn" and spanish.ids[0] == tok.token_to_id("spa_Latn")
    assert "<unk>" not in spanish.tokens and "▁perro" in spanish.tokens
    n = spanish.tokens.index("</s>") + 1
    assert len(spanish.ids) == 77 and spanish.ids[n:] == [1] * (77 - n)  # NLLB's <pad> is id 1
    assert Embedder(info, "cpu", language="en").tokenize(["dog"])[0].tokens[0] == "eng_Latn"
    monkeypatch.setenv("LC_ALL", "")
    monkeypatch.setenv("LC_MESSAGES", "")
    monkeypatch.setenv("LANG", "es_ES.UTF-8")
    assert Embedder(info, "cpu").tokenize(["perro"])[0].tokens[0] == "spa_Latn"  # the system's language
    a, b = Embedder(info, "cpu", language="es").embed_texts(["perro en la playa", "perro en la playa"])
    assert np.allclose(a, b)


@pytest.mark.parametrize("name", NAMES)
def test_preprocessing_has_the_family_size_resize_and_normalisation(name):
    fam = FAMILIES[name]
    spec = shipped(name).preprocess
    stripes = np.zeros((100, 300, 3), np.uint8)
    stripes[:, :100] = (255, 0, 0)
    stripes[:, 100:200] = (0, 255, 0)
    stripes[:, 200:] = (0, 0, 255)
    x = preprocess(Image.fromarray(stripes), spec)
    assert x.shape == (3, fam.size, fam.size) and x.dtype == np.float32
    mean, std = np.array(fam.mean), np.array(fam.std)
    left = x[:, fam.size // 2, 2]
    if fam.resize_mode == "squash":  # the whole photo, stretched: red at the left edge
        expected = (np.array([1.0, 0, 0]) - mean) / std
    else:  # the short side scaled, the centre cropped: green everywhere
        expected = (np.array([0, 1.0, 0]) - mean) / std
    assert np.allclose(left, expected, atol=1e-3)


def test_text_preparation_rules():
    assert clean_text("  Perro,  en la\tPLAYA! ", "canonicalize") == "perro en la playa"
    assert clean_text("  Perro,  en la\tPLAYA! ") == "Perro, en la PLAYA!"
    assert flores_code("es_MX") == "spa_Latn" and flores_code("zh-TW") == "zho_Hant"
    assert flores_code("xx") == flores_code(None) == "eng_Latn" and flores_code("fra_Latn") == "fra_Latn"
    assert prepare_text(" perro ", {"language_prefix": "flores200"}, "es") == "spa_Latnperro"


def test_unknown_text_option_or_missing_pad_token_is_a_clear_error(tmp_path, folders):
    folder = tmp_path / "m"
    shutil.copytree(folders["siglip2-vit-b16"], folder)
    manifest = json.loads(json.dumps(shipped("siglip2-vit-b16").manifest))
    manifest["textual"]["clean"] = "stem"
    with pytest.raises(ModelError, match="unknown text cleaning"):
        Embedder(ModelInfo("m", "clip", 768, folder, manifest), "cpu").embed_text("dog")
    manifest["textual"].update(clean="canonicalize", pad_token="[PAD]")
    with pytest.raises(ModelError, match="pad token"):
        Embedder(ModelInfo("m", "clip", 768, folder, manifest), "cpu").embed_text("dog")
