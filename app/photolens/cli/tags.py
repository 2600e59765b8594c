"""Commands for tags (one photo's, many photos', the library's) and concepts the user teaches."""
from __future__ import annotations

import os

from ..engine.errors import PhotolensError
from .common import emit, open_catalog, printable


def cmd_tags(args) -> int:
    with open_catalog(args) as cat:
        change = _library_change(cat, args)
        if change is not None:
            emit(args, change.to_json(), lambda d: print(_said(d)))
            return 0
        if args.rules:
            data = {"rules": [r.to_json() for r in cat.tag_rules()]}
            emit(args, data, lambda d: [print(f"{r['tag']}: " + ("never suggested" if r["rule"] == "never"
                                                                  else f"suggested as {r['target']}"))
                                        for r in d["rules"]])
            return 0
        if args.all:
            data = {"tags": [t.to_json() for t in cat.tag_counts()]}
            emit(args, data, lambda d: [print(f"{t['count']:>7,}  {t['tag']}") for t in d["tags"]])
            return 0
        if not args.image:
            raise PhotolensError("tags needs IMAGE, --all, --rules, or one of --rename/--delete/--never/--allow")
        ids = [cat.photo_id(p) for p in args.image]
        if args.add:
            cat.add_tag(ids, args.add)
        if args.remove:
            cat.remove_tag(ids, args.remove)
        data = {"photos": [{"path": printable(os.path.abspath(p)), "tags": [t.to_json() for t in cat.tags_of(pid)]}
                           for p, pid in zip(args.image, ids)]}
        if len(ids) == 1:  # one photo: the form scripts already read
            data = data["photos"][0]

    def human(d):
        for photo in d.get("photos", [d]):
            if len(ids) > 1:
                print(photo["path"])
            for t in photo["tags"]:
                print(f"{t['score'] if t['score'] is not None else 1:.3f}  {t['tag']}  ({t['source']})")
    emit(args, data, human)
    return 0


def _library_change(cat, args):
    """The library-wide operation asked for, done (None when none was)."""
    if args.rename:
        return cat.rename_tag(*args.rename)
    if args.delete:
        return cat.delete_tag(args.delete)
    if args.never:
        return cat.never_suggest(args.never)
    if args.allow:
        return cat.allow_suggest(args.allow)
    return None


def _said(d: dict) -> str:
    n = f"{d['photos']:,} photo{'s' if d['photos'] != 1 else ''}"
    return {"rename": f"renamed {d['tag']!r} to {d['target']!r} on {n}",
            "merge": f"merged {d['tag']!r} into {d['target']!r} on {n}",
            "delete": f"removed {d['tag']!r} from {n}",
            "never": f"{d['tag']!r} will not be suggested again (removed from {n})",
            "allow": f"{d['tag']!r} may be suggested again (at the next retag)"}[d["action"]]


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
    sp = command("tags", cmd_tags, "photos' tags, every tag with its photo count, or a change to a tag "
                                   "across the library")
    sp.add_argument("image", nargs="*", help="photos in the library")
    sp.add_argument("--all", action="store_true", help="every tag with its photo count")
    sp.add_argument("--add", metavar="TAG", help="add a user tag to every IMAGE")
    sp.add_argument("--remove", metavar="TAG", help="remove a tag from every IMAGE (it will not come back)")
    sp.add_argument("--rename", nargs=2, metavar=("OLD", "NEW"),
                    help="rename a tag on every photo (merged where NEW exists); suggested as NEW from now on")
    sp.add_argument("--delete", metavar="TAG", help="remove a tag from every photo")
    sp.add_argument("--never", metavar="TAG", help="never suggest TAG again (survives re-indexing and retagging)")
    sp.add_argument("--allow", metavar="TAG", help="undo --never")
    sp.add_argument("--rules", action="store_true", help="list the tags never suggested or renamed")

    sp = command("teach", cmd_teach, "teach a new concept from example photos and list proposals")
    sp.add_argument("concept", help="the new tag, e.g. your cat's name")
    sp.add_argument("--positive", "-p", nargs="+", metavar="IMAGE", help="photos that show it")
    sp.add_argument("--negative", "-x", nargs="+", metavar="IMAGE", help="photos that do not")
    sp.add_argument("-n", type=int, default=20, help="number of proposals")
    sp.add_argument("--accept-top", type=int, default=0, metavar="K", help="tag the top K proposals")
