"""Commands that tidy a library: duplicates (and moving copies to the trash) and albums."""
from __future__ import annotations

import sys
from datetime import datetime

from ..engine.albums import describe_rule
from ..engine.errors import PhotolensError, QueryError
from .common import emit, open_catalog, printable
from .places import FILTER_HELP, add_filter_flags, filters_from


def cmd_duplicates(args) -> int:
    with open_catalog(args) as cat:
        groups = cat.duplicates(with_similar=args.similar)
        if args.trash_others:
            return _trash_others(cat, args, groups)
    data = {"groups": [g.to_json() for g in groups]}

    def human(d):
        if not groups:
            print("no duplicates")
        for n, g in enumerate(groups, 1):
            print(f"{n}. {g.kind}, {len(g.photos)} photos")
            for p in g.photos:
                mark = "keep" if p.id == g.keep.id else "    "
                size = f"{p.width}x{p.height}" if p.width else "?"
                date = datetime.fromtimestamp(p.date).strftime("%Y-%m-%d") if p.date else "?"
                print(f"   {mark}  {printable(p.path)}  {size}, {p.size / 1e6:.2f} MB, {date}")
    emit(args, data, human)
    return 0


def _trash_others(cat, args, groups) -> int:
    """Each GROUP: a group's number as listed (its best copy stays) or a photo of a group (it
    stays). Without --yes, only says what would go."""
    chosen = []
    for spec in args.trash_others:
        if spec.isdigit():
            n = int(spec)
            if not 1 <= n <= len(groups):
                raise QueryError(f"no group {n}: there are {len(groups)}")
            chosen.append(groups[n - 1])
        else:
            chosen.append(cat.tidy.group_of(spec, with_similar=args.similar))
    plan = [(g.keep.path, [p.path for p in g.others]) for g in chosen]
    if not args.yes:
        data = {"would_move_to_trash": [printable(p) for _, others in plan for p in others],
                "kept": [printable(k) for k, _ in plan], "moved": []}
        emit(args, data, lambda d: [print(f"would move to the trash: {p}") for p in d["would_move_to_trash"]])
        print("photolens: nothing was moved: add --yes to move these files to the trash", file=sys.stderr)
        return 1
    moved, failed = [], []
    for keep, others in plan:
        done = cat.trash(others, keep=keep)
        moved += done.to_json()["moved"]
        failed += done.to_json()["failed"]
    data = {"moved": moved, "failed": failed, "kept": [printable(k) for k, _ in plan]}
    emit(args, data, lambda d: ([print(f"moved to the trash: {p}") for p in d["moved"]],
                                [print(f"left in place: {f['path']}: {f['reason']}") for f in d["failed"]]))
    return 1 if failed else 0


def cmd_album(args) -> int:
    with open_catalog(args) as cat:
        albums = cat.albums
        filters, people = filters_from(args), tuple(args.person or ())
        rule_given = args.query is not None or filters is not None or bool(people)
        if args.list or not args.name:
            if any((args.add, args.remove, args.pin, args.exclude, rule_given, args.delete, args.rename)):
                raise PhotolensError("name the album: photolens album NAME ...")
            data = {"albums": [a.to_json() for a in albums.list()]}
            emit(args, data, lambda d: [print(f"{a['count']:>7,}  {a['name']}"
                                              + (f"  (smart: {describe_rule(a['query'], a.get('filters'))})"
                                                 if a["query"] is not None or a.get("filters") else ""))
                                        for a in d["albums"]])
            return 0
        name = args.name
        if args.delete:
            albums.delete(name)
            emit(args, {"deleted": name}, lambda d: print(f"deleted the album {name} (its photos stay)"))
            return 0
        exists = any(a.name == " ".join(name.split()) for a in albums.list())
        if not exists and (args.add or rule_given):  # made with its rule at once: a bad rule makes no album
            albums.create(name, args.query, filters, people)
        if args.rename:
            name = albums.rename(name, args.rename).name
        if rule_given and exists:  # the rule is what is given now: a query, filters, people, or any of them
            albums.set_query(name, args.query, filters, people)
        def ids(paths):
            return [cat.photo_id(p) for p in paths]

        if args.add:
            albums.add(name, ids(args.add))
        if args.remove:
            albums.remove(name, ids(args.remove))
        if args.pin:
            albums.pin(name, ids(args.pin))
        if args.exclude:
            albums.exclude(name, ids(args.exclude))
        data = albums.get(name).to_json()

    def human(d):
        rule = describe_rule(d["query"], d["filters"])
        print(f"{d['name']}" + (f"  (smart: {rule})" if rule else "") + f"  {len(d['photos'])} photos")
        for p in d["photos"]:
            print(f"  {p['path']}" + (f"  ({p['state']})" if p["state"] != "member" else ""))
    emit(args, data, human)
    return 0


def register(command) -> None:
    sp = command("duplicates", cmd_duplicates, "copies of the same photo across the library, and the copy to keep")
    sp.add_argument("--similar", action="store_true", help="also list similar shots (bursts) of one scene")
    sp.add_argument("--trash-others", nargs="+", metavar="GROUP",
                    help="move the other copies of these groups to the system trash: a group's number as "
                         "listed (its best copy stays) or a photo of a group (that photo stays)")
    sp.add_argument("--yes", action="store_true",
                    help="confirm --trash-others (without it, only the files that would go are listed)")

    sp = command("album", cmd_album, "albums: list them, show one, add or remove photos, make one smart",
                 epilog="a smart album's rule: --query and the filters, as `photolens search` reads them\n"
                        + FILTER_HELP + "  --person Anna                   person:Anna  (a named person; repeat for several)\n")
    sp.add_argument("name", nargs="?", help="the album")
    sp.add_argument("--list", action="store_true", help="every album with its photo count")
    sp.add_argument("--add", nargs="+", metavar="PHOTO", help="put photos in the album (made if new)")
    sp.add_argument("--remove", nargs="+", metavar="PHOTO", help="take photos out (a smart album excludes them)")
    sp.add_argument("--query", metavar="QUERY",
                    help='make it a smart album of this search\'s good matches, filters written in it included '
                         '("beach place:Paris", "beach Paris 2019"); with the filter flags below, the rule is '
                         'all of what is given ("" and no filters makes it plain again)')
    sp.add_argument("--pin", nargs="+", metavar="PHOTO", help="keep photos in, whatever the query says")
    sp.add_argument("--exclude", nargs="+", metavar="PHOTO", help="keep photos out, whatever the query says")
    sp.add_argument("--rename", metavar="NEW_NAME", help="rename the album")
    sp.add_argument("--delete", action="store_true", help="delete the album (its photos stay)")
    add_filter_flags(sp)
    sp.add_argument("--person", action="append", metavar="NAME",
                    help="a smart album of photos with this person (a name given with `people --name`); repeat")
