"""Generated stand-ins for the models Photolens offers in Immich's ONNX layout.

Each family below is described as Immich's exporter writes it (machine-learning/export in the
Immich repository): an image graph `image` float32 [1, 3, S, S] -> `embedding` [1, D], a text
graph `text` int32 [1, L] -> `embedding` [1, D], open_clip's preprocess_cfg.json and config.json,
and the Hugging Face tokenizer saved as tokenizer.json + tokenizer_config.json. The graphs and the
tokenizers here are tiny and random, but of the same form: same names, dtypes, shapes, and a
tokenizer of the same type (CLIP byte-level BPE, Gemma-style BPE with byte fallback, XLM-R-style
SentencePiece Unigram, NLLB-style SentencePiece BPE with language codes), built with onnx.helper and the `tokenizers` package.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from tiny_models import _save

OPENAI_MEAN = [0.48145466, 0.4578275, 0.40821073]
OPENAI_STD = [0.26862954, 0.26130258, 0.27577711]
CORPUS = [
    "a dog on the beach", "a red car at night", "people walking in the snow", "a cat sleeping on a sofa",
    "birthday cake with candles", "perro en la playa", "un gato en el sofá", "coche rojo de noche",
    "chien sur la plage", "Hund am Strand", "the sunset over the sea", "el atardecer sobre el mar",
    "Wow, a dog! On the beach? Yes.", "¡Hola, amigos!",
]


@dataclass(frozen=True)
class Family:
    """One model as Immich publishes it: what its graphs take and how its text is prepared."""

    manifest: str  # models/<manifest>.json
    tokenizer: str  # "clip", "gemma", "xlmr" or "nllb"
    size: int
    dim: int
    context: int
    pad_token: str
    mean: list = field(default_factory=lambda: [0.5, 0.5, 0.5])
    std: list = field(default_factory=lambda: [0.5, 0.5, 0.5])
    resize_mode: str = "squash"
    text_cfg: dict = field(default_factory=dict)


FAMILIES = {
    "siglip2-vit-b16": Family("siglip2-vit-b16", "gemma", 224, 768, 64, "<pad>",
                              text_cfg={"context_length": 64, "tokenizer_kwargs": {"clean": "canonicalize"}}),
    "clip-vit-l14-dfn2b": Family("clip-vit-l14-dfn2b", "clip", 224, 768, 77, "<|endoftext|>", OPENAI_MEAN,
                                 OPENAI_STD, "shortest", {"context_length": 77}),
    # open_clip's nllb-clip config states no context length: Immich uses its default, 77.
    "xlm-roberta-base-vit-b32": Family("xlm-roberta-base-vit-b32", "xlmr", 224, 512, 77, "<pad>", OPENAI_MEAN,
                                       OPENAI_STD, "shortest", {"hf_tokenizer_name": "xlm-roberta-base"}),
    "nllb-clip-base-siglip": Family("nllb-clip-base-siglip", "nllb", 384, 768, 77, "<pad>",
                                    text_cfg={"hf_tokenizer_name": "facebook/nllb-200-distilled-600M"}),
}
LANGUAGE_CODES = ["eng_Latn", "spa_Latn", "fra_Latn", "deu_Latn"]


def make_image_graph(path: Path, size: int, dim: int, seed: int = 0) -> None:
    """`image` float32 [1, 3, size, size] -> `embedding` [1, dim]: a 4x4 grid of colour means,
    projected (similar-looking photos get similar vectors)."""
    w = np.random.default_rng(seed).standard_normal((48, dim)).astype(np.float32)
    nodes = [helper.make_node("AveragePool", ["image"], ["pooled"], kernel_shape=[size // 4] * 2,
                              strides=[size // 4] * 2),
             helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
             helper.make_node("MatMul", ["flat", "W"], ["embedding"])]
    graph = helper.make_graph(nodes, "image_tower",
                              [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, size, size])],
                              [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [1, dim])],
                              [numpy_helper.from_array(w, "W")])
    _save(graph, path)


def make_text_graph(path: Path, vocab: int, context: int, dim: int, pad_id: int, seed: int = 1) -> None:
    """`text` int32 [1, context] -> `embedding` [1, dim]: the sum of per-token vectors (the pad
    token's is zero, so padding adds nothing)."""
    table = np.random.default_rng(seed).standard_normal((vocab, dim)).astype(np.float32)
    table[pad_id] = 0
    nodes = [helper.make_node("Cast", ["text"], ["ids"], to=TensorProto.INT64),
             helper.make_node("Gather", ["table", "ids"], ["vecs"], axis=0),
             helper.make_node("ReduceSum", ["vecs", "axes"], ["embedding"], keepdims=0)]
    graph = helper.make_graph(nodes, "text_tower",
                              [helper.make_tensor_value_info("text", TensorProto.INT32, [1, context])],
                              [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [1, dim])],
                              [numpy_helper.from_array(table, "table"),
                               numpy_helper.from_array(np.array([1], np.int64), "axes")])
    _save(graph, path)


def make_tokenizer(kind: str, path: Path):
    """A small trained tokenizer of the family's type, saved as tokenizer.json."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    if kind == "clip":  # CLIP: lower-cased byte-level BPE, words end in </w>, start/end tokens
        tok = Tokenizer(models.BPE(end_of_word_suffix="</w>"))
        tok.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "),
                                               normalizers.Lowercase()])
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<|startoftext|>", "<|endoftext|>"],
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), end_of_word_suffix="</w>")
        tok.train_from_iterator(CORPUS, trainer)
        tok.post_processor = processors.TemplateProcessing(
            single="<|startoftext|> $A <|endoftext|>",
            special_tokens=[(t, tok.token_to_id(t)) for t in ("<|startoftext|>", "<|endoftext|>")])
    elif kind == "gemma":  # Gemma (SigLIP 2): case-sensitive BPE over "▁"-joined text, byte fallback
        tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
        tok.normalizer = normalizers.Replace(" ", "▁")
        tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()])
        specials = ["<pad>", "<eos>", "<bos>", "<unk>"] + [f"<0x{b:02X}>" for b in range(256)]
        tok.train_from_iterator(CORPUS, trainers.BpeTrainer(vocab_size=600, special_tokens=specials))
        tok.post_processor = processors.TemplateProcessing(single="<bos> $A", special_tokens=[("<bos>", 2)])
    elif kind == "nllb":  # NLLB: SentencePiece BPE (Metaspace), language codes as special tokens
        tok = Tokenizer(models.BPE(unk_token="<unk>"))
        tok.normalizer = normalizers.NFKC()
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        tok.decoder = decoders.Metaspace()
        tok.train_from_iterator(CORPUS, trainers.BpeTrainer(vocab_size=400,
                                                            special_tokens=["<s>", "<pad>", "</s>", "<unk>"]))
        tok.add_special_tokens(LANGUAGE_CODES)
        tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 2)])
    elif kind == "xlmr":  # XLM-RoBERTa: SentencePiece Unigram (Metaspace), <s> text </s>, <pad> is 1
        tok = Tokenizer(models.Unigram())
        tok.normalizer = normalizers.NFKC()
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        tok.decoder = decoders.Metaspace()
        tok.train_from_iterator(CORPUS, trainers.UnigramTrainer(
            vocab_size=300, special_tokens=["<s>", "<pad>", "</s>", "<unk>"], unk_token="<unk>"))
        tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    else:
        raise ValueError(kind)
    path.parent.mkdir(parents=True, exist_ok=True)
    tok.save(str(path))
    return tok


def make_immich_folder(family: Family, folder: Path) -> Path:
    """A model folder in Immich's published layout, of the family's form."""
    tok = make_tokenizer(family.tokenizer, folder / "textual" / "tokenizer.json")
    (folder / "textual" / "tokenizer_config.json").write_text(json.dumps({"pad_token": family.pad_token}))
    make_image_graph(folder / "visual" / "model.onnx", family.size, family.dim)
    make_text_graph(folder / "textual" / "model.onnx", tok.get_vocab_size(), family.context, family.dim,
                    tok.token_to_id(family.pad_token))
    (folder / "visual" / "preprocess_cfg.json").write_text(json.dumps(
        {"size": [family.size, family.size], "mode": "RGB", "mean": family.mean, "std": family.std,
         "interpolation": "bicubic", "resize_mode": family.resize_mode, "fill_color": 0}))
    (folder / "config.json").write_text(json.dumps({"embed_dim": family.dim, "text_cfg": family.text_cfg}))
    return folder
