"""What every command shares: opening the library, printing results, progress on stderr."""
from __future__ import annotations

import json
import sys
import textwrap
import time
from contextlib import contextmanager
from typing import Iterator

from ..engine.catalog import Catalog
from ..engine.fsutil import printable

__all__ = ["ProgressBar", "QUERY_HELP", "emit", "open_catalog", "printable"]

QUERY_HELP = """query syntax:
  dog on beach                    words and sentences
  "dog" + "beach" - "people"      add phrases, subtract ones to leave out
  2*sunset + "red car"            WEIGHT*term weighs a term
  image:photo.jpg + "at night"    a photo plus words
  zorblax                         words in photos, file and folder names, tags and captions
                                  are found as words too (any case or accent, prefixes,
                                  a misread letter); results say why they matched
  '"open 24 hours"'               the exact phrase
"""

# Redraw the progress line at most this often: faster is flicker, slower feels stuck.
REDRAW_S = 0.1
# Without a terminal (a log file), one line this often instead of redrawing.
LOG_EVERY_S = 5.0


class ProgressBar:
    """Count, rate and ETA on stderr, redrawn in place on a terminal."""

    def __init__(self, label: str, stream=sys.stderr):
        self.label = label
        self.stream = stream
        self.last = 0.0
        self.printed = 0.0
        self.tty = stream.isatty()

    def __call__(self, p) -> None:
        now = time.monotonic()
        if now - self.last < REDRAW_S and p.done < p.total:
            return
        self.last = now
        eta = f"{p.eta:,.0f}s" if p.eta is not None else "?"
        label = getattr(p, "stage", None) or self.label
        line = f"{label}: {p.done:,}/{p.total:,} photos, {p.rate:,.1f}/s, ETA {eta}, {p.failed} failed"
        if self.tty:
            self.stream.write("\r" + line.ljust(79))
            if p.done >= p.total:
                self.stream.write("\n")
        elif p.done >= p.total or now - self.printed > LOG_EVERY_S:
            self.printed = now
            self.stream.write(line + "\n")
        self.stream.flush()


@contextmanager
def open_catalog(args) -> Iterator[Catalog]:
    """The library named by --library (or the default), closed however the command ends."""
    cat = Catalog(args.library, device=args.device)
    try:
        yield cat
    finally:
        for warning in cat.warnings:  # a device or model it fell back from, said once, wrapped
            print(textwrap.fill(f"photolens: warning: {warning}", width=79, subsequent_indent="  "),
                  file=sys.stderr)
        cat.close()


def emit(args, data, human) -> None:
    """One JSON document on stdout with --json, else the command's readable form."""
    if args.json:
        print(json.dumps(data, ensure_ascii=False))
    else:
        human(data)
