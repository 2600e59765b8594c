"""Commands for words: the text in a photo, and the user's caption of a photo."""
from __future__ import annotations

import os

from ..engine.errors import QueryError
from .common import emit, open_catalog, printable


def cmd_text(args) -> int:
    """A photo's text: what the reader stored for a library photo, else read now."""
    with open_catalog(args) as cat:
        lines = cat.read_text_in(args.image)
    data = {"path": printable(os.path.abspath(args.image)), "lines": [ln.to_json() for ln in lines],
            "text": "\n".join(ln.text for ln in lines)}
    emit(args, data, lambda d: print(d["text"] if d["text"] else "(no text found)"))
    return 0


def cmd_caption(args) -> int:
    """Show, set or clear (an empty text) a library photo's caption."""
    with open_catalog(args) as cat:
        try:
            photo_id = cat.photo_id(args.image)
        except QueryError as e:
            raise QueryError(f"{e}: add its folder first (photolens add)") from e
        caption = cat.caption_of(photo_id) if args.text is None else cat.set_caption(photo_id, args.text)
    data = {"path": printable(os.path.abspath(args.image)), "caption": caption}
    emit(args, data, lambda d: print(d["caption"] if d["caption"] else "(no caption)"))
    return 0


def register(command) -> None:
    sp = command("text", cmd_text, "print the text written in a photo (signs, receipts, screenshots)")
    sp.add_argument("image", help="an image file (a library photo gives the text read when it was indexed)")

    sp = command("caption", cmd_caption, "show or set a photo's caption, your own words for it (searchable)",
                 epilog='photolens caption IMG_0042.jpg "Theo blowing out 80 candles"\n'
                        'photolens caption IMG_0042.jpg ""     removes it')
    sp.add_argument("image", help="a photo in the library")
    sp.add_argument("text", nargs="?", default=None, help="the caption (leave out to show it; \"\" removes it)")
