"""Commands for tags and for concepts the user teaches."""
from __future__ import annotations

import os

from ..engine.errors import PhotolensError
from .common import emit, open_catalog, printable


def cmd_tags(args) -> int:
    with open_catalog(args) as cat:
        if args.all:
            data = {"tags": [t.to_json() for t in cat.tag_counts()]}
            emit(args, data, lambda d: [print(f"{t['count']:>7,}  {t['tag']}") for t in d["tags"]])
            return 0
        if not args.image:
            raise PhotolensError("tags needs IMAGE or --all")
        pid = cat.photo_id(args.image)
        if args.add:
            cat.add_tag(pid, args.add)
        if args.remove:
            cat.remove_tag(pid, args.remove)
        data = {"path": printable(os.path.abspath(args.image)), "tags": [t.to_json() for t in cat.tags_of(pid)]}
    emit(args, data, lambda d: [print(f"{t['score'] if t['score'] is not None else 1:.3f}  {t['tag']}  ({t['source']})")
                                for t in d["tags"]])
    return 0


def cmd_teach(args) -> int:
    if args.accept_top < 0:
        raise PhotolensError(f"--accept-top must be 0 or more, not {args.accept_top}")
    with open_catalog(args) as cat:
        positive = [cat.photo_id(p) for p in args.positive or []]
        negative = [cat.photo_id(p) for p in args.negative or []]
        name = cat.teach(args.concept, positive, negative)
        proposals = cat.propose(name, k=args.n)
        data = {"concept": name, "proposals": [r.to_json() for r in proposals]}
        emit(args, data, lambda d: [print(f"{r['score']:.3f}  {r['path']}") for r in d["proposals"]])
        if args.accept_top:
            cat.teach(name, [r.id for r in proposals[:args.accept_top]])
    return 0


def register(command) -> None:
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
