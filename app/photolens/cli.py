"""The command line: a thin layer over the engine.

Every command prints human-readable output, or one JSON document with --json. Errors are one
line on stderr and a non-zero exit status.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path

from . import __version__
from .engine.errors import PhotolensError
from .engine.fsutil import printable

QUERY_HELP = """query syntax:
  dog on beach                    words and sentences
  "dog" + "beach" - "people"      add phrases, subtract ones to leave out
  2*sunset + "red car"            WEIGHT*term weighs a term
  image:photo.jpg + "at night"    a photo plus words
"""


class ProgressBar:
    """count, rate and ETA on stderr, redrawn in place at most ~10 times a second."""

    def __init__(self, label: str, stream=sys.stderr):
        self.label = label
        self.stream = stream
        self.last = 0.0
        self.tty = stream.isatty()

    def __call__(self, p) -> None:
        now = time.monotonic()
        if now - self.last < 0.1 and p.done < p.total:
            return
        self.last = now
        eta = f"{p.eta:,.0f}s" if p.eta is not None else "?"
        label = getattr(p, "stage", None) or self.label
        line = f"{label}: {p.done:,}/{p.total:,} photos, {p.rate:,.1f}/s, ETA {eta}, {p.failed} failed"
        if self.tty:
            self.stream.write("\r" + line.ljust(79))
            if p.done >= p.total:
                self.stream.write("\n")
        elif p.done >= p.total or now - getattr(self, "_printed", 0) > 5:
            self._printed = now
            self.stream.write(line + "\n")
        self.stream.flush()


def _catalog(args):
    from .engine.catalog import Catalog

    return Catalog(args.library, device=args.device)


def _emit(args, data, human) -> None:
    if args.json:
        print(json.dumps(data, ensure_ascii=False))
    else:
        human(data)


def cmd_add(args) -> int:
    cat = _catalog(args)
    for folder in args.folders:
        cat.add_folder(folder)
        print(f"added {folder}", file=sys.stderr)
    if args.no_index:
        return 0
    return _index(cat, args)


def cmd_index(args) -> int:
    return _index(_catalog(args), args)


def _index(cat, args) -> int:
    summary = cat.index_all(progress=None if args.quiet else ProgressBar("indexing"))
    _emit(args, summary, lambda s: print(
        f"{s['added']} added, {s['updated']} updated, {s['moved']} moved, {s['removed']} removed, "
        f"{s['embedded']} embedded, {s['failed']} failed"
        + (f", tag details added to {s['tag_details_added']}" if s.get("tag_details_added") else "")
        + (f", tags updated on {s['retagged']}" if s.get("retagged") else "") + f" in {s['seconds']:.1f}s"
        + (f"; offline: {', '.join(s['offline_folders'])}" if s["offline_folders"] else "")))
    cat.close()
    return 0


def _print_results(data) -> None:
    if data.get("related"):
        print("related: " + ", ".join(data["related"]))
    if not data["results"]:
        print("no matches")
    for r in data["results"]:
        print(f"{r['score']:.3f}  {r['path']}{'  (offline)' if r.get('offline') else ''}")


def cmd_search(args) -> int:
    cat = _catalog(args)
    results = cat.search(args.query, k=args.n)
    data = {"query": " ".join(args.query), "results": [r.to_json() for r in results]}
    try:
        data["related"] = cat.related_words(" ".join(args.query))
    except PhotolensError:
        data["related"] = []
    _emit(args, data, _print_results)
    return 0


def cmd_similar(args) -> int:
    cat = _catalog(args)
    results = cat.similar(args.image, k=args.n, focus=args.focus, detail=args.detail)
    data = {"query": printable(os.path.abspath(args.image)), "focus": args.focus,
            "results": [r.to_json() for r in results]}
    _emit(args, data, _print_results)
    return 0


def cmd_status(args) -> int:
    cat = _catalog(args)
    data = cat.status()
    if args.failures:
        data["failures"] = [dict(f, path=printable(f["path"])) for f in cat.failures()]
    for f in data["folders"]:
        f["path"] = printable(f["path"])

    def human(d):
        print(f"library   {d['library']}")
        print(f"model     {d['model']} on {d['device']} ({d['provider']})")
        print(f"photos    {d['photos']:,}: {d['indexed']:,} indexed, {d['pending']:,} pending, "
              f"{d['failed']:,} failed, {d['offline']:,} offline")
        for f in d["folders"]:
            print(f"folder    {f['path']}  {f['photos']:,} photos{'' if f['online'] else '  OFFLINE'}")
        for f in d.get("failures", []):
            print(f"failed    {f['path']}: {f['reason']}")
        if d["failed"] and not d.get("failures"):
            print("          (photolens status --failures lists them with reasons)")

    _emit(args, data, human)
    return 0


def cmd_folders(args) -> int:
    cat = _catalog(args)
    if args.remove:
        n = cat.remove_folder(args.remove)
        print(f"removed {args.remove} ({n} photos forgotten; files untouched)", file=sys.stderr)
    data = {"folders": [dict(f, path=printable(f["path"])) for f in cat.folders()]}
    _emit(args, data, lambda d: [print(f"{f['photos']:>8,}  {f['path']}{'' if f['online'] else '  OFFLINE'}")
                                 for f in d["folders"]])
    return 0


def cmd_app(args) -> int:
    try:
        from .ui.app import run_app
    except ImportError as e:
        raise PhotolensError(f"the desktop app is not available: {e}") from e
    return run_app(args.library, device=args.device)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="photolens", description="Search your own photos by what you remember.",
                                epilog=QUERY_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"photolens {__version__}")
    p.add_argument("--library", type=Path, default=None,
                   help="library folder (default: PHOTOLENS_LIBRARY or the user data folder)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default=None,
                   help="execution provider (default: the library's setting, auto)")
    p.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def command(name, func, help_text, json_flag=True):
        sp = sub.add_parser(name, help=help_text, description=help_text, epilog=QUERY_HELP if name == "search" else None,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
        sp.set_defaults(func=func)
        if json_flag:
            sp.add_argument("--json", action="store_true", help="print JSON on stdout")
        return sp

    sp = command("add", cmd_add, "register photo folders and index them")
    sp.add_argument("folders", nargs="+", help="folders to add")
    sp.add_argument("--no-index", action="store_true", help="only register the folders")
    sp.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    sp = command("index", cmd_index, "re-index all folders: find new, changed, moved and deleted photos")
    sp.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    sp = command("search", cmd_search, "find photos by words (see the query syntax below)")
    sp.add_argument("query", nargs="+", help="words, phrases, + and -")
    sp.add_argument("-n", type=int, default=20, help="number of results (default 20)")

    sp = command("similar", cmd_similar, "find photos like an image (in the library or not)")
    sp.add_argument("image", help="an image file")
    sp.add_argument("-n", type=int, default=20, help="number of results (default 20)")
    sp.add_argument("--focus", help="similar with respect to one concept, e.g. --focus cat")
    sp.add_argument("--detail", type=float, default=0.0,
                    help="0 = the same kind of scene (default) ... 1 = near-duplicates")

    sp = command("status", cmd_status, "library counts, model, device, folders")
    sp.add_argument("--failures", action="store_true", help="list the photos that failed, with reasons")

    sp = command("folders", cmd_folders, "list library folders, or remove one")
    sp.add_argument("--remove", metavar="FOLDER", help="forget a folder (the photos on disk stay untouched)")

    from .cli_more import add_commands

    add_commands(command)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    if hasattr(args, "n") and args.n <= 0:
        parser.error("-n must be positive")
    func = getattr(args, "func", cmd_app)
    if not hasattr(args, "json"):
        args.json = False
    try:
        return func(args) or 0
    except PhotolensError as e:
        print(f"photolens: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("photolens: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        return 1
