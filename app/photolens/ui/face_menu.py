"""What the user can say about one face: "This is ▸ <a person>", "New person…", "Not this person".

Offered when a face outline is clicked in the viewer, and on the viewer's list of faces. Every
change goes through the serial writer (ui/tasks.py) and the Catalog's people methods; the
corrections are remembered by photo content (engine/people.py).
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QInputDialog, QLineEdit, QMenu, QWidget

from ..engine.records import FaceInfo

__all__ = ["FaceActions", "face_at"]

THIS_IS = "This is"
NEW_PERSON = "New person…"
NOT_THIS_PERSON = "Not this person"


def face_at(faces: list[FaceInfo], x: float, y: float) -> FaceInfo | None:
    """The face whose box holds the point (shares of the photo); of overlapping boxes, the
    smallest (a face in front of a larger one behind it)."""
    inside = [f for f in faces if f.box[0] <= x <= f.box[2] and f.box[1] <= y <= f.box[3]]
    return min(inside, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]), default=None)


class FaceActions(QObject):
    """The menu for one face, and the changes it makes.

    Signals:
        changed(): a face went to another person, a new one, or none (show the photo again).
    """

    changed = Signal()

    def __init__(self, catalog, tasks, parent: QObject | None = None):
        super().__init__(parent)
        self.catalog, self.tasks = catalog, tasks
        self.dialog: QInputDialog | None = None  # "New person…": the name being asked for

    def menu(self, face: FaceInfo, parent: QWidget) -> QMenu:
        """This face's menu: the other people with a name (hidden ones too: the user may have
        hidden someone and still know them), a new person, and "Not this person" when it has one."""
        menu = QMenu(parent)
        people = sorted((p for p in self.catalog.people(include_hidden=True) if p.name and p.id != face.person_id),
                        key=lambda p: p.name.casefold())
        whose = face.name or ("a person with no name yet" if face.person_id else "nobody yet")
        title = menu.addAction(whose)
        title.setEnabled(False)
        this_is = menu.addMenu(f"{THIS_IS} …")
        this_is.setEnabled(bool(people))
        for p in people:
            this_is.addAction(p.name, lambda pid=p.id: self.move(face, pid))
        menu.addAction(NEW_PERSON, lambda: self.ask_new_person(face, parent))
        if face.person_id is not None:
            menu.addAction(NOT_THIS_PERSON, lambda: self.move(face, None))
        return menu

    def move(self, face: FaceInfo, person_id: int | None) -> None:
        """The face is this person (None: not the person it is with)."""
        face_id = face.id
        self.tasks.write(lambda: self.catalog.move_face(face_id, person_id), lambda _: self.changed.emit())

    def new_person(self, face: FaceInfo, name: str) -> None:
        face_id, name = face.id, name.strip() or None
        self.tasks.write(lambda: self.catalog.new_person_from_face(face_id, name), lambda _: self.changed.emit())

    def ask_new_person(self, face: FaceInfo, parent: QWidget) -> QInputDialog:
        """Ask for the new person's name (window-modal, not blocking); empty: no name yet."""
        dialog = self.dialog = QInputDialog(parent)
        dialog.setWindowTitle(NEW_PERSON.rstrip("…"))
        dialog.setLabelText("Who is this? (leave empty to name them later)")
        dialog.setTextEchoMode(QLineEdit.Normal)
        dialog.textValueSelected.connect(lambda name: self.new_person(face, name))
        dialog.open()
        return dialog
