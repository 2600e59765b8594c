"""Commands that find photos: by words, and by likeness to an image."""
from __future__ import annotations

import os

from ..engine.errors import PhotolensError
from .common import QUERY_HELP, emit, open_catalog, printable
from .places import FILTER_HELP, add_filter_flags, filters_from


def print_results(data) -> None:
    if data.get("related"):
        print("related: " + ", ".join(data["related"]))
    results = data["results"]
    good = [r for r in results if r.get("good", True)]
    if not good:
        print("no good matches" + (f" ({len(results)} weaker ones below)" if results else ""))
    for r in results:
        marks = ("" if r.get("good", True) else "  (weak)") + ("  (offline)" if r.get("offline") else "")
        words = [m for m in r.get("matched", []) if m != "meaning"]  # found by its words: say which
        marks += f"  [{', '.join(words)}]" if words else ""
        print(f"{r['score']:.3f}  {r['path']}{marks}")


def cmd_search(args) -> int:
    text = " ".join(args.query)
    filters = filters_from(args)
    with open_catalog(args) as cat:
        understood = cat.understand(args.query, filters) if args.query else None
        results = cat.search(args.query, k=args.n, sort=args.sort, filters=filters, people=tuple(args.person or ()))
        data = {"query": text, "understood": understood.to_json() if understood else None,
                "results": [r.to_json() for r in results]}
        try:
            data["related"] = cat.related_words(text)
        except PhotolensError:
            data["related"] = []
    emit(args, data, print_results)
    return 0


def cmd_similar(args) -> int:
    with open_catalog(args) as cat:
        results = cat.similar(args.image, k=args.n, focus=args.focus, detail=args.detail,
                              region=_region(args.region), filters=filters_from(args))
    data = {"query": printable(os.path.abspath(args.image)), "focus": args.focus, "region": args.region,
            "results": [r.to_json() for r in results]}
    emit(args, data, print_results)
    return 0


def _region(text: str | None):
    if text is None:
        return None
    parts = text.split(",")
    if len(parts) != 4:
        raise PhotolensError("--region takes x,y,w,h: four shares of the photo from 0 to 1, e.g. 0.5,0,0.5,0.5")
    return tuple(parts)  # checked by the engine


def register(command) -> None:
    sp = command("search", cmd_search, "find photos by words (see the query syntax below)",
                 epilog=QUERY_HELP + "\n" + FILTER_HELP)
    sp.add_argument("query", nargs="*", help="words, phrases, + and -, and filters such as place:Paris")
    sp.add_argument("-n", type=int, default=20, help="number of results (default 20)")
    sp.add_argument("--sort", choices=["relevance", "date"], default="relevance",
                    help="best matches first (default), or newest first")
    add_filter_flags(sp)
    sp.add_argument("--person", action="append", metavar="NAME",
                    help="only photos with this person (a name given with `people --name`); repeat for several")

    sp = command("similar", cmd_similar, "find photos like an image (in the library or not)")
    sp.add_argument("image", help="an image file")
    sp.add_argument("-n", type=int, default=20, help="number of results (default 20)")
    sp.add_argument("--focus", help="similar with respect to one concept, e.g. --focus cat")
    sp.add_argument("--detail", type=float, default=0.0,
                    help="0 = the same kind of scene (default) ... 1 = near-duplicates")
    sp.add_argument("--region", metavar="X,Y,W,H",
                    help="search by a part of the photo: left, top, width, height as shares of it (0 to 1)")
    add_filter_flags(sp)
