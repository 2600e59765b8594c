"""The tagger's own joint-space head, in numpy: tags keep the evidence they were calibrated on.

The built-in model's search head (in visual.onnx) can be replaced by a stronger one without
touching the tags: the tagger's third kind of evidence, each term's z-scored similarity to the
photo (tagscore.py), was fitted and calibrated on the embedding of an earlier head. That head
ships beside the model as plain arrays (its manifest's `tag_head`), and the tagger computes the
photo's tag-space embedding here from the CNN features the indexer keeps anyway, so retagging a
library still decodes nothing. The arithmetic is builtin_parts.Head and JointImageModel's:

    x = LayerNorm(features);  c = ConSE(softmax(logits))
    joint = normalize(linear(x) + mlp(x) + conse_weight * c)
    embedding = normalize(mix * joint + (1 - mix) * c)

about 2.2 M multiply-adds a photo, against the CNN's 400 M. models/build_builtin.py checks that
this gives the exported graph's embedding for the same head.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import numpy as np

from .embedder import normalize
from .errors import PhotolensError
from .tagscore import softmax

__all__ = ["TagHead", "load_tag_head"]

log = logging.getLogger(__name__)

LAYER_NORM_EPS = 1e-5  # torch.nn.LayerNorm's default
# Photos per product: 2,048 x 1,280 hidden floats is 10 MB.
CHUNK = 2048


def _gelu(x: np.ndarray) -> np.ndarray:
    # Imported here: scipy.special takes 0.1-0.2 s to import, which every start of the app
    # would pay before its window shows; only tagging needs it (TagHead.prepare, in warm_up).
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


@dataclass(frozen=True)
class TagHead:
    arrays: dict[str, np.ndarray]  # Head's state: norm, linear, mlp.0, mlp.3, conse_weight (float32)
    class_text: np.ndarray  # [C, D] the class names' text vectors ConSE weighs
    classifier: tuple[np.ndarray, np.ndarray]  # ([C, F], [C]): logits from features
    mix: float
    conse_top_k: int

    def prepare(self) -> None:
        """Import now what embedding needs (scipy.special, 0.1-0.2 s), not in the first batch
        of photos tagged."""
        _gelu(np.zeros(1, np.float32))

    def embed(self, features: np.ndarray, logits: np.ndarray | None = None) -> np.ndarray:
        """[N, D] the tag-space embeddings of N photos from their CNN features (and logits,
        which are computed from the features where not given)."""
        features = np.asarray(features, np.float32)
        out = np.empty((len(features), self.class_text.shape[1]), np.float32)
        for start in range(0, len(features), CHUNK):
            part = slice(start, start + CHUNK)
            out[part] = self._embed(features[part], None if logits is None else np.asarray(logits[part], np.float32))
        return out

    def _embed(self, f: np.ndarray, logits: np.ndarray | None) -> np.ndarray:
        a = self.arrays
        if logits is None:
            weights, bias = self.classifier
            logits = f @ weights.T + bias
        conse = self._conse(logits)
        mu = f.mean(-1, keepdims=True)
        var = np.square(f - mu).mean(-1, keepdims=True)
        x = (f - mu) / np.sqrt(var + LAYER_NORM_EPS) * a["norm.weight"] + a["norm.bias"]
        hidden = _gelu(x @ a["mlp.0.weight"].T + a["mlp.0.bias"])
        joint = x @ a["linear.weight"].T + a["linear.bias"] + hidden @ a["mlp.3.weight"].T + a["mlp.3.bias"]
        joint = normalize(joint + a["conse_weight"] * conse)
        return normalize(self.mix * joint + (1.0 - self.mix) * conse)

    def _conse(self, logits: np.ndarray) -> np.ndarray:
        """ConSE: the probability-weighted sum of the top-k classes' name vectors, normalised."""
        probs = softmax(logits)
        k = self.conse_top_k
        top = np.argpartition(-probs, k - 1, axis=-1)[:, :k]
        p = np.take_along_axis(probs, top, -1)
        p /= p.sum(-1, keepdims=True)
        return normalize(np.einsum("nk,nkd->nd", p, self.class_text[top]))


HEAD_KEYS = ("norm.weight", "norm.bias", "linear.weight", "linear.bias", "mlp.0.weight", "mlp.0.bias",
             "mlp.3.weight", "mlp.3.bias", "conse_weight")


def load_tag_head(model, classifier: tuple[np.ndarray, np.ndarray] | None) -> TagHead | None:
    """The model's tag head (its manifest's `tag_head`: a file of the head's arrays, its class
    vectors and settings), or None where it ships none. A tag head that cannot be read is an
    error: tags scored on another embedding than they were calibrated on would be wrong."""
    spec = model.manifest.get("tag_head")
    if not spec:
        return None
    if classifier is None:
        raise PhotolensError(f"{model.name}: a tag head needs the model's classifier")
    try:
        data = np.load(model.file(spec["file"]), allow_pickle=False)
        meta = json.loads(bytes(data["__meta__"]).decode())
        arrays = {k: data[k].astype(np.float32) for k in HEAD_KEYS}
        head = TagHead(arrays, data["class_text"].astype(np.float32),
                       (np.asarray(classifier[0], np.float32), np.asarray(classifier[1], np.float32)),
                       float(meta["mix"]), int(meta["conse_top_k"]))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise PhotolensError(f"{model.name}: cannot read its tag head ({e})") from e
    if head.class_text.shape[1] != model.dim:
        raise PhotolensError(f"{model.name}: its tag head gives {head.class_text.shape[1]}-d vectors, not {model.dim}")
    return head
