"""Filters by when, where, which camera and which folder, from flags or written in a query.

Written in a query (any order, with or without words to search for):

    after:2019-01-01  before:2019-12-31   a range; both ends included
    date:2019-07                          a year, a month or a day: 2019, 2019-07, 2019-07-14
    place:Paris  place:"New York"         a city, region, country or country code the library has
    camera:"Pixel 7"                      any part of the camera's make and model
    folder:Trips                          a folder name anywhere in the path, or a full path

Plain words are understood too, when the query is plain words (no + - * or image:): a year
("2019"), a month and year ("July 2019"), a season and year ("summer 2019"; seasons are the
northern hemisphere's meteorological ones: spring March-May, summer June-August, autumn/fall
September-November, winter December to February of the next year), and a place name that the
library has photos in ("beach Paris 2019" -> place Paris, 2019, and "beach" searched by
meaning). A word that could be a place but is not one of the library's stays text, so "Paris
Hilton" is a search for a person when there are no photos in Paris.
"""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Callable

from .errors import QueryError
from .query import MAX_LENGTH, split_words

__all__ = ["Filters", "Understood", "understand", "date_range", "FILTER_KEYS"]

FILTER_KEYS = ("after", "before", "date", "place", "camera", "folder")
# Longest place name, in words, looked for in plain text ("Rio de Janeiro", "United States").
MAX_PLACE_WORDS = 4
_YEAR = re.compile(r"^(1[89]\d\d|20\d\d)$")
_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})
_MONTHS["sept"] = 9
_SEASONS = {"spring": (3, 5), "summer": (6, 8), "autumn": (9, 11), "fall": (9, 11), "winter": (12, 2)}
# Words left out before a place that became a filter: "beach in Paris" searches "beach".
_PLACE_LEADS = {"in", "at", "from", "near"}


@dataclass(frozen=True)
class Filters:
    """What a search is limited to; None means no limit. Dates are inclusive."""

    date_from: date | None = None
    date_to: date | None = None
    place: str | None = None
    camera: str | None = None
    folder: str | None = None
    person: str | None = None  # reserved for people (not filtered on yet)

    @property
    def empty(self) -> bool:
        return all(v is None for v in (self.date_from, self.date_to, self.place, self.camera, self.folder,
                                       self.person))

    def merged(self, other: "Filters") -> "Filters":
        """These filters, with what `other` sets taking precedence."""
        changes = {k: v for k, v in vars(other).items() if v is not None}
        return replace(self, **changes)

    def to_json(self) -> dict:
        return {"from": self.date_from.isoformat() if self.date_from else None,
                "to": self.date_to.isoformat() if self.date_to else None,
                "place": self.place, "camera": self.camera, "folder": self.folder}

    def chips(self) -> list[tuple[str, str]]:
        """(field, label) for each filter that is set, for showing and removing them one by one."""
        out = []
        if self.date_from or self.date_to:
            out.append(("date", _range_label(self.date_from, self.date_to)))
        for name in ("place", "camera", "folder", "person"):
            value = getattr(self, name)
            if value is not None:
                out.append((name, value))
        return out

    def without(self, name: str) -> "Filters":
        """These filters less one chip ('date' clears both ends)."""
        if name == "date":
            return replace(self, date_from=None, date_to=None)
        return replace(self, **{name: None})

    def to_query(self) -> str:
        """These filters written as query tokens ('date:2019-07 place:"Paris, France"'), so a
        front end can keep every filter in the search text and one parser reads them all."""
        tokens = []
        start, end = self.date_from, self.date_to
        whole = _whole_period(start, end)
        if whole:
            tokens.append(f"date:{whole}")
        else:
            if start:
                tokens.append(f"after:{start.isoformat()}")
            if end:
                tokens.append(f"before:{end.isoformat()}")
        for name in ("place", "camera", "folder"):
            value = getattr(self, name)
            if value is not None:
                tokens.append(f"{name}:{_quoted(value)}")
        return " ".join(tokens)

    @classmethod
    def from_flags(cls, date_from: str | None = None, date_to: str | None = None, place: str | None = None,
                   camera: str | None = None, folder: str | None = None) -> "Filters":
        """From the command line's --from / --to (a year, month or day each) and the rest."""
        start = date_range(date_from)[0] if date_from else None
        end = date_range(date_to)[1] if date_to else None
        return cls(start, end, place or None, camera or None, folder or None).checked()

    def checked(self) -> "Filters":
        """These filters, or a QueryError when they cannot match anything by construction."""
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise QueryError(f"the date range ends ({self.date_to}) before it starts ({self.date_from})")
        return self


def _range_label(start: date | None, end: date | None) -> str:
    if start and end:
        if start.day == 1 and end == _month_end(end.year, end.month):
            if start.month == 1 and end.month == 12 and start.year == end.year:
                return str(start.year)
            if (start.year, start.month) == (end.year, end.month):
                return f"{calendar.month_name[start.month]} {start.year}"
        return f"{start.isoformat()} to {end.isoformat()}"
    return f"from {start.isoformat()}" if start else f"until {end.isoformat()}"


def _quoted(value: str) -> str:
    """A value as one query token: in double quotes when it has spaces (a double quote inside
    cannot be written in the query language, so it is left out)."""
    value = value.replace('"', "")
    return f'"{value}"' if any(c.isspace() for c in value) or not value else value


def _whole_period(start: date | None, end: date | None) -> str | None:
    """'2019', '2019-07' or '2019-07-14' when start..end is exactly that, else None."""
    if not start or not end:
        return None
    if start == end:
        return start.isoformat()
    if start.day == 1 and end == _month_end(end.year, end.month):
        if start.year == end.year and start.month == 1 and end.month == 12:
            return str(start.year)
        if (start.year, start.month) == (end.year, end.month):
            return f"{start.year}-{start.month:02d}"
    return None


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def date_range(text: str) -> tuple[date, date]:
    """'2019' -> the year, '2019-07' -> the month, '2019-07-14' -> the day (first, last)."""
    m = re.fullmatch(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?", text.strip())
    try:
        if not m:
            raise ValueError(text)
        year = int(m.group(1))
        if m.group(3):
            day = date(year, int(m.group(2)), int(m.group(3)))
            return day, day
        if m.group(2):
            month = int(m.group(2))
            return date(year, month, 1), _month_end(year, month)
        return date(year, 1, 1), date(year, 12, 31)
    except ValueError:
        raise QueryError(f"{text!r} is not a date: write 2019, 2019-07 or 2019-07-14") from None


def _season(name: str, year: int) -> tuple[date, date]:
    first, last = _SEASONS[name]
    end_year = year + 1 if last < first else year
    return date(year, first, 1), _month_end(end_year, last)


@dataclass(frozen=True)
class Understood:
    """A query taken apart: the words to search by meaning (None: filters only), the filters,
    and which filters came from plain words."""

    text: str | list[str] | None
    filters: Filters
    from_words: tuple[str, ...] = field(default=())

    def to_json(self) -> dict:
        return {"text": self.words, **self.filters.to_json()}

    @property
    def words(self) -> str | None:
        """The text searched by meaning, as one string."""
        if self.text is None or isinstance(self.text, str):
            return self.text
        return " ".join(self.text) if isinstance(self.text, list) else getattr(self.text, "source", None)

    def query_without(self, name: str) -> str:
        """The query as it would be written without one filter (a chip's name: 'date', 'place',
        'camera', 'folder'): its words, then the other filters as tokens. Removing a chip in the
        app searches this."""
        rest = self.filters.without(name).to_query()
        return " ".join(part for part in (self.words or "", rest) if part)


def _split(source: str | list[str]) -> list[str]:
    """Tokens as the query language reads them (query.split_words: double quotes group words,
    apostrophes are letters). Shell arguments are taken as given, except that one holding a
    filter may hold several tokens ('camera:"Pixel 7" place:Paris')."""
    if isinstance(source, list):
        return [t for arg in source for t in (split_words(arg) if ":" in arg else [arg])]
    if len(source) > MAX_LENGTH:
        raise QueryError(f"query is {len(source)} characters long; the limit is {MAX_LENGTH}")
    return split_words(source)


def _filter_token(token: str) -> tuple[str, str] | None:
    key, sep, value = token.partition(":")
    if not sep or key.lower() not in FILTER_KEYS:
        return None
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1].strip()  # a CLI argument keeps its quotes: camera:"Pixel 7"
    if not value:
        raise QueryError(f"{key}: needs a value, as in {key}:{_EXAMPLES[key.lower()]}")
    return key.lower(), value


_EXAMPLES = {"after": "2019-01-01", "before": "2019-12-31", "date": "2019-07", "place": "Paris",
             "camera": '"Pixel 7"', "folder": "Trips"}


def _apply(filters: Filters, key: str, value: str) -> Filters:
    if key == "after":
        return replace(filters, date_from=date_range(value)[0])
    if key == "before":
        return replace(filters, date_to=date_range(value)[1])
    if key == "date":
        start, end = date_range(value)
        return replace(filters, date_from=start, date_to=end)
    return replace(filters, **{key: value})


def understand(source: str | list[str], known_place: Callable[[str], bool] | None = None) -> Understood:
    """Take the filters out of a query: `key:value` tokens always, plain words (dates, and
    places for which `known_place` says the library has photos) when the rest is plain words."""
    tokens = _split(source)
    filters = Filters()
    rest: list[str] = []
    for token in tokens:
        found = _filter_token(token.strip())
        if found:
            filters = _apply(filters, *found)
        elif token.strip():
            rest.append(token)
    words: tuple[str, ...] = ()
    if rest and _plain(rest):
        rest, found_filters, words = _plain_words(" ".join(rest).split(), filters, known_place)
        filters = found_filters
    filters.checked()
    if not rest:
        return Understood(None, filters, words)
    text: str | list[str] = rest if isinstance(source, list) else " ".join(_quoted(t) for t in rest)
    return Understood(text, filters, words)


def _plain(tokens: list[str]) -> bool:
    """Plain words only: no operators, weights or image terms (those are left as written)."""
    return not any(t in ("+", "-") or "*" in t or t.lower().startswith("image:") for t in tokens)


def _plain_words(words: list[str], filters: Filters, known_place) -> tuple[list[str], Filters, tuple[str, ...]]:
    keep: list[str] = []
    used: list[str] = []
    dated = filters.date_from is not None or filters.date_to is not None
    placed = filters.place is not None
    i = 0
    while i < len(words):
        word = words[i].strip(",.;")
        low = word.lower()
        nxt = words[i + 1].strip(",.;") if i + 1 < len(words) else ""
        if not dated and (low in _MONTHS or low in _SEASONS) and _YEAR.match(nxt):
            start, end = (_season(low, int(nxt)) if low in _SEASONS
                          else (date(int(nxt), _MONTHS[low], 1), _month_end(int(nxt), _MONTHS[low])))
            filters, dated = replace(filters, date_from=start, date_to=end), True
            used.append(f"{word} {nxt}")
            i += 2
            continue
        if not dated and _YEAR.match(low):
            start, end = date_range(low)
            filters, dated = replace(filters, date_from=start, date_to=end), True
            used.append(word)
            i += 1
            continue
        if not placed and known_place is not None:
            span = _place_at(words, i, known_place)
            if span:
                name = " ".join(w.strip(",.;") for w in words[i:i + span])
                filters, placed = replace(filters, place=name), True
                used.append(name)
                if keep and keep[-1].lower() in _PLACE_LEADS:
                    keep.pop()
                i += span
                continue
        keep.append(words[i])
        i += 1
    return keep, filters, tuple(used)


def _place_at(words: list[str], i: int, known_place) -> int:
    """How many words from i name a place the library knows (longest first), or 0."""
    for span in range(min(MAX_PLACE_WORDS, len(words) - i), 0, -1):
        name = " ".join(w.strip(",.;") for w in words[i:i + span])
        if name and not _YEAR.match(name) and known_place(name):
            return span
    return 0


def next_day(day: date) -> date:
    return day + timedelta(days=1)
