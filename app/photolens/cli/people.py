"""Commands about people: list them, name them, merge them, hide them, correct a face.
(Face recognition is turned off, deleting all face data, with `settings --face-recognition off`.)"""
from __future__ import annotations

import os

from ..engine.errors import QueryError
from .common import emit, open_catalog, printable


def cmd_people(args) -> int:
    with open_catalog(args) as cat:
        if args.name:
            if not args.name[0].isdigit():
                raise QueryError(f"--name takes a person's id first (photolens people lists them), not {args.name[0]!r}")
            cat.name_person(int(args.name[0]), args.name[1])
        if args.merge:
            cat.merge_people(*args.merge)
        if args.hide is not None:
            cat.hide_person(args.hide, True)
        if args.show is not None:
            cat.hide_person(args.show, False)
        if args.not_person is not None:
            cat.move_face(args.not_person, None)
        if args.move_face:
            cat.move_face(*args.move_face)
        data = [{"id": p.id, "name": p.name, "faces": p.faces, "hidden": p.hidden,
                 "photos": [printable(os.path.abspath(r.path)) for r in cat.person_photos(p.id)]}
                for p in cat.people(include_hidden=args.all)]
        for d in data:
            if not d["hidden"]:
                del d["hidden"]

    def human(people):
        if not people:
            print("no people yet (faces are grouped once two photos show the same person)")
        for p in people:
            hidden = "  (hidden)" if p.get("hidden") else ""
            print(f"{p['id']:>5}  {p['name'] or '(no name)'}  {p['faces']} faces in {len(p['photos'])} photos{hidden}")

    emit(args, data, human)
    return 0


def cmd_faces(args) -> int:
    with open_catalog(args) as cat:
        data = [{"id": f.id, "box": [round(v, 4) for v in f.box], "person": f.person_id, "name": f.name}
                for f in cat.faces_in_photo(cat.photo_id(args.photo))]

    def human(faces):
        if not faces:
            print("no faces found in this photo (or the face pass has not reached it)")
        for f in faces:
            who = f"person {f['person']} ({f['name'] or 'no name'})" if f["person"] is not None else "not grouped"
            print(f"face {f['id']:>6}  at {f['box']}  {who}")

    emit(args, data, human)
    return 0


def register(command) -> None:
    sp = command("faces", cmd_faces, "the faces found in one photo, with their ids (for --move-face, --not-person)")
    sp.add_argument("photo", help="a photo of the library")

    sp = command("people", cmd_people, "people found in the photos: list, name, merge, hide, correct")
    sp.add_argument("--name", nargs=2, metavar=("ID", "NAME"), help="give person ID a name")
    sp.add_argument("--merge", nargs=2, type=int, metavar=("ID", "OTHER"), help="OTHER's faces join person ID")
    sp.add_argument("--hide", type=int, metavar="ID", help="hide a person from the list")
    sp.add_argument("--show", type=int, metavar="ID", help="show a hidden person again")
    sp.add_argument("--not-person", type=int, metavar="FACE", help="this face is not the person it is with")
    sp.add_argument("--move-face", nargs=2, type=int, metavar=("FACE", "ID"), help="this face is person ID")
    sp.add_argument("--all", action="store_true", help="list hidden people too")
