"""The face pass: photos already searchable are looked at for faces, in the background.

It runs after indexing (a deferred pass, like the tag details): resumable, because each photo's
faces are committed with the record that it was looked at, and a photo whose bytes changed is
looked at again. Progress is reported as "finding faces".
"""
from __future__ import annotations

import logging
import time
from typing import Callable

from .errors import ImageError
from .faces import FaceFinder
from .facestore import FaceStore
from .jobs import Control, Progress
from .people import FaceIndex, People

__all__ = ["STAGE", "find_faces"]

STAGE = "finding faces"
log = logging.getLogger("photolens.faces")


def find_faces(faces: FaceStore, finder: FaceFinder, people: People, progress: Callable[[Progress], None] | None,
               control: Control | None, limit: int | None) -> dict:
    """Look at up to `limit` photos not yet looked at; returns counts, how many are left, and
    the ids of the photos looked at ("looked_at")."""
    left = faces.count_to_scan()
    batch = faces.photos_to_scan(limit) if left else []
    done = failed = found = 0
    started = time.monotonic()
    if not batch:
        return {"photos": 0, "faces": 0, "failed": 0, "remaining": 0, "looked_at": []}
    index = FaceIndex.load(faces)
    for photo_id, path in batch:
        if control is not None:
            control.wait_if_paused()
            if control.cancelled.is_set():
                break
        try:
            result = finder.find(path)
        except ImageError as e:
            # The photo was searchable a moment ago; it went or changed. The next index run
            # deals with it; the pass records nothing so it looks again after that.
            log.info("no faces looked for in %s: %s", path, e)
            failed += 1
        else:
            people.add_photo(photo_id, result.content_hash, result.faces, index)
            found += len(result.faces)
        done += 1
        if progress is not None:
            progress(Progress(done, left, failed, started, STAGE))
    with faces.transaction():
        faces.drop_empty_people()  # unnamed people whose photos left the library
    return {"photos": done - failed, "faces": found, "failed": failed, "remaining": left - done,
            "looked_at": [photo_id for photo_id, _ in batch]}
