"""When and where on the command line: filter flags for search and similar, `places`, `timeline`."""
from __future__ import annotations

from ..engine.filters import Filters
from .common import emit, open_catalog

FILTER_HELP = """filters (flags, or written in the query):
  --from 2019 --to 2019-08        after:2019-01-01 before:2019-12-31 date:2019-07
  --place Paris                   place:Paris  place:"New York"  (city, region, country, code)
  --camera "Pixel 7"              camera:"Pixel 7"  (any part of make and model)
  --folder Trips                  folder:Trips  (a folder name, or a full path)
  plain words too: "beach Paris 2019", "July 2019", "summer 2019" (see the README)
"""


def add_filter_flags(sp) -> None:
    group = sp.add_argument_group("filters")
    group.add_argument("--from", dest="date_from", metavar="DATE",
                       help="taken on or after: 2019, 2019-07 or 2019-07-14")
    group.add_argument("--to", dest="date_to", metavar="DATE", help="taken on or before (the whole year, month or day)")
    group.add_argument("--place", help="a city, region, country or country code the library has photos in")
    group.add_argument("--camera", help="any part of the camera's make and model")
    group.add_argument("--folder", help="a folder name anywhere in the path, or a full path")


def filters_from(args) -> Filters | None:
    f = Filters.from_flags(args.date_from, args.date_to, args.place, args.camera, args.folder)
    return None if f.empty else f


def cmd_places(args) -> int:
    with open_catalog(args) as cat:
        countries = cat.places()

    def human(data) -> None:
        if not data["countries"]:
            print("no photos with a place (places come from GPS in the photos)")
        for c in data["countries"]:
            print(f"{c['country'] or c['country_code'] or '?'}  {c['count']}")
            for city in c["cities"]:
                name = city["city"] or city["region"] or "?"
                region = f" ({city['region']})" if city["region"] and city["region"] != name else ""
                print(f"  {name}{region}  {city['count']}")

    emit(args, {"countries": [c.to_json() for c in countries]}, human)
    return 0


def cmd_timeline(args) -> int:
    with open_catalog(args) as cat:
        timeline = cat.timeline()

    def human(data) -> None:
        for m in data["months"]:
            print(f"{m['month']}  {m['count']}")
        if data["undated"]:
            print(f"no date  {data['undated']}")

    emit(args, timeline.to_json(), human)
    return 0


def register(command) -> None:
    command("places", cmd_places, "where the photos were taken: countries, then cities, with counts")
    command("timeline", cmd_timeline, "how many photos were taken each month")

