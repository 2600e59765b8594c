"""Commands that look after the library: folders, indexing, status, settings, watching."""
from __future__ import annotations

import logging
import signal
import sys
import threading
from dataclasses import asdict

from ..engine.errors import PhotolensError
from ..engine.watcher import Watcher
from .common import ProgressBar, emit, open_catalog, printable

log = logging.getLogger("photolens.watch")


def cmd_add(args) -> int:
    with open_catalog(args) as cat:
        for folder in args.folders:
            cat.add_folder(folder)
            print(f"added {folder}", file=sys.stderr)
        if not args.no_index:
            _index(cat, args)
    return 0


def cmd_index(args) -> int:
    with open_catalog(args) as cat:
        _index(cat, args)
    return 0


def _index(cat, args) -> None:
    summary = cat.index_all(progress=None if args.quiet else ProgressBar("indexing"))
    emit(args, summary, lambda s: print(
        f"{s['added']} added, {s['updated']} updated, {s['moved']} moved, {s['removed']} removed, "
        + (f"{s['revived']} back with their tags, " if s.get("revived") else "")
        + f"{s['embedded']} embedded, {s['failed']} failed"
        + (f", tag details added to {s['tag_details_added']}" if s.get("tag_details_added") else "")
        + (f", tags updated on {s['retagged']}" if s.get("retagged") else "")
        + (f", dates read again on {s['metadata_read']}" if s.get("metadata_read") else "")
        + (f", places named for {s['places_named']}" if s.get("places_named") else "")
        + (f", text read in {s['text_read']}" if s.get("text_read") else "")
        + (f", {s['faces_found']} faces found" if s.get("faces_found") else "") + f" in {s['seconds']:.1f}s"
        + (f"; places not named: {s['places_error']}" if s.get("places_error") else "")
        + "".join(f"; offline: {printable(f)}, {why} (its photos are kept)"
                  for f, why in s.get("offline_reasons", {}).items())
        + "".join(f"; not readable: {printable(d)}, {why} (its photos are kept)"
                  for d, why in s.get("unreadable", {}).items())
        + "".join(f"; {len(ids)} new in the album {name}" for name, ids in s.get("smart_albums", {}).items())))


def cmd_status(args) -> int:
    with open_catalog(args) as cat:
        data = cat.status(with_failures=args.failures).to_json()

    def human(d):
        print(f"library   {d['library']}")
        print(f"model     {d['model']} on {d['device']} ({d['provider']})")
        print(f"photos    {d['photos']:,}: {d['indexed']:,} indexed, {d['pending']:,} pending, "
              f"{d['failed']:,} failed, {d['offline']:,} offline")
        for f in d["folders"]:
            offline = f"  OFFLINE: {f['offline_reason'] or 'not there'}" if not f["online"] else ""
            print(f"folder    {f['path']}  {f['photos']:,} photos{offline}")
            for sub, why in f.get("unreachable") or []:
                print(f"          not readable: {sub}: {why} (its photos are kept)")
        if d.get("kept_with_user_data"):
            print(f"kept      {d['kept_with_user_data']:,} removed photos' tags, back if they are added again")
        for f in d.get("failures") or []:
            print(f"failed    {f['path']}: {f['reason']}")
        if d["failed"] and not d.get("failures"):
            print("          (photolens status --failures lists them with reasons)")
        for w in d.get("warnings") or []:
            print(f"warning   {w}")

    emit(args, data, human)
    return 0


def cmd_folders(args) -> int:
    with open_catalog(args) as cat:
        if args.remove:
            n = cat.remove_folder(args.remove)
            print(f"removed {args.remove} ({n} photos forgotten; files untouched; their tags come back if "
                  "the folder is added again)", file=sys.stderr)
        data = {"folders": [f.to_json() for f in cat.folders()]}
    emit(args, data, lambda d: [print(f"{f['photos']:>8,}  {f['path']}{'' if f['online'] else '  OFFLINE'}")
                                for f in d["folders"]])
    return 0


def cmd_settings(args) -> int:
    with open_catalog(args) as cat:
        if args.thorough_tags is not None:
            cat.set_thorough_tags(args.thorough_tags == "on")
        if args.face_recognition is not None:
            cat.set_face_recognition(args.face_recognition == "on")
        if args.set_device is not None:
            cat.set_device(args.set_device)
            cat.embedder  # noqa: B018 (load it now, so a device that falls back says so on stderr)
        data = dict(asdict(cat.settings), library=str(cat.dir))
    emit(args, data, lambda d: [print(f"{k:<16}{v}") for k, v in d.items()])
    return 0


def cmd_watch(args) -> int:
    """Catch up with what changed while Photolens was not running, then follow the disk until
    Ctrl-C or SIGTERM; the closer look (tag views, detail pass) follows in the background.
    Signals and logging are the command's business, not the engine's."""
    logging.getLogger("photolens").setLevel(logging.INFO)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with open_catalog(args) as cat:
        summary = cat.index_all(tag_details=False)
        log.info("catching up: %s added, %s moved, %s removed, %s embedded", summary["added"], summary["moved"],
                 summary["removed"], summary["embedded"])
        cat.warm_up()
        watcher = Watcher(cat)
        watcher.start()
        log.info("watching %d folders (Ctrl-C to stop)", len(cat.folders()))
        stop.wait()
        log.info("stopping")
        watcher.stop()
    return 0


def cmd_app(args) -> int:
    try:
        from ..ui.app import run_app
    except ImportError as e:
        raise PhotolensError(f"the desktop app is not available: {e}") from e
    return run_app(args.library, device=args.device)


def register(command) -> None:
    sp = command("add", cmd_add, "register photo folders and index them")
    sp.add_argument("folders", nargs="+", help="folders to add")
    sp.add_argument("--no-index", action="store_true", help="only register the folders")
    sp.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    sp = command("index", cmd_index, "re-index all folders: find new, changed, moved and deleted photos")
    sp.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    sp = command("status", cmd_status, "library counts, model, device, folders")
    sp.add_argument("--failures", action="store_true", help="list the photos that failed, with reasons")

    sp = command("folders", cmd_folders, "list library folders, or remove one")
    sp.add_argument("--remove", metavar="FOLDER", help="forget a folder (the photos on disk stay untouched)")

    sp = command("settings", cmd_settings, "show the library's settings, or change one")
    sp.add_argument("--thorough-tags", choices=["on", "off"],
                    help="look at every part of each photo for small things when indexing (default on; "
                         "off: about 3x faster indexing on a CPU, fewer tags for small things)")
    sp.add_argument("--face-recognition", choices=["on", "off"],
                    help="find faces and group them into people (default on); off deletes all face data")
    sp.add_argument("--device", dest="set_device", choices=["auto", "cpu", "cuda"],
                    help="where the model runs from now on (auto: a GPU when there is one; a device that is "
                         "not available falls back to the CPU with a warning)")

    command("watch", cmd_watch, "watch the library folders and keep the index in step (Ctrl-C stops)",
            json_flag=False)
