"""`photolens library check` and `library repair`: for a library that is damaged or suspect."""
from __future__ import annotations

from ..engine.catalog import Catalog
from .common import emit


def cmd_library(args) -> int:
    if args.action == "check":
        report = Catalog.check_at(args.library)

        def human(r):
            print(f"library   {r['library']}")
            print(f"database  {r['database']}")
            for name, state in r["graphs"].items():
                print(f"index     {name}: {state}")
            backup = r["backup"]
            print(f"backup    {backup['path']} ({backup['age_hours']} hours old)" if backup else
                  "backup    none yet (made daily once the library is in use)")
            if not r["ok"]:
                print("run `photolens library repair` to rebuild what can be derived; your tags are kept")

        emit(args, report, human)
        return 0 if report["ok"] else 1
    done = Catalog.repair_at(args.library)

    def human(d):
        if d["database"] == "rebuilt":
            print(f"the damaged database was moved to {d['moved_aside']}; a new one holds your folders and "
                  f"{d['facts_restored']} of your tags and decisions (from the {d['facts_from']}): run "
                  "`photolens index` to find your photos again")
            if d.get("people_restored"):
                print(f"{d['people_restored']} people you named, hid or corrected come back as their faces are found")
        for name in d["graphs_removed"]:
            print(f"removed the damaged vector index {name}: it is rebuilt at the next search")
        if d["database"] != "rebuilt" and not d["graphs_removed"]:
            print("nothing to repair")

    emit(args, done, human)
    return 0


def register(command) -> None:
    sp = command("library", cmd_library, "check a library for damage, or repair it keeping your tags")
    sp.add_argument("action", choices=["check", "repair"])
