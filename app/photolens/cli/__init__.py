"""The command line: a thin layer over the engine's `Catalog`.

Every command prints human-readable output, or one JSON document with --json. Errors are one
line on stderr and a non-zero exit status. Commands live by concept: library.py (folders,
indexing, status, settings, watch), search.py, places.py (filters, places, timeline), tags.py,
tidy.py (duplicates, albums), models.py (models and eval),
words.py (text in photos, captions).
"""
from __future__ import annotations

import argparse
import errno
import logging
import signal
import sys
import traceback
from pathlib import Path

from .. import __version__
from ..engine.errors import PhotolensError
from . import export, health, library, models, people, places, search, tags, tidy, words
from .common import QUERY_HELP

__all__ = ["build_parser", "main"]

COMMAND_GROUPS = (library, search, places, tags, export, tidy, models, health, words, people)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="photolens", description="Search your own photos by what you remember.",
                                epilog=QUERY_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"photolens {__version__}")
    p.add_argument("--library", type=Path, default=None,
                   help="library folder (default: PHOTOLENS_LIBRARY or the user data folder)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default=None,
                   help="execution provider (default: the library's setting, auto)")
    p.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def command(name, func, help_text, json_flag=True, epilog=None):
        sp = sub.add_parser(name, help=help_text, description=help_text, epilog=epilog,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
        sp.set_defaults(func=func)
        if json_flag:
            sp.add_argument("--json", action="store_true", help="print JSON on stdout")
        return sp

    for group in COMMAND_GROUPS:
        group.register(command)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    if hasattr(args, "n") and args.n <= 0:
        parser.error("-n must be positive")
    func = getattr(args, "func", library.cmd_app)
    if not hasattr(args, "json"):
        args.json = False
    try:
        return func(args) or 0
    except PhotolensError as e:
        return _fail(args, str(e))
    except OSError as e:  # a full disk, a read-only or vanished file: the system's words, one line
        if isinstance(e, BrokenPipeError):
            signal.signal(signal.SIGPIPE, signal.SIG_DFL)
            return 1
        return _fail(args, os_message(e))
    except MemoryError:
        return _fail(args, "out of memory")
    except KeyboardInterrupt:
        print("photolens: interrupted", file=sys.stderr)
        return 130


def _fail(args, message: str) -> int:
    """One line on stderr and exit status 1; --verbose adds the traceback for bug reports."""
    if args.verbose:
        traceback.print_exc()
    print(f"photolens: error: {message}", file=sys.stderr)
    return 1


def os_message(e: OSError) -> str:
    where = f" ({e.filename})" if e.filename else ""
    if e.errno == errno.ENOSPC:
        return f"the disk is full{where}: free some space and run the command again"
    if e.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return f"cannot write{where}: the file system is read-only or the file is not yours ({e.strerror})"
    return f"{e.strerror or e}{where}"
