"""Draws the Photolens application icon at every usual size (PNG, plus .ico and .icns).

Run from the repository root: `python resources/make_icons.py`. The outputs are committed, so
this runs only when the design changes. Drawn with Pillow at 1024 px and scaled down, so every
size comes from one design; the smallest sizes drop the fine details that would blur.
"""
from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

HERE = Path(__file__).resolve().parent
OUT = HERE / "icons"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
BIG = 1024


def _gradient(size: int, top: tuple, bottom: tuple) -> Image.Image:
    grad = Image.new("RGB", (1, size))
    for y in range(size):
        t = y / (size - 1)
        grad.putpixel((0, y), tuple(int(a + (b - a) * t) for a, b in zip(top, bottom)))
    return grad.resize((size, size))


def draw(detail: bool = True) -> Image.Image:
    s = BIG
    icon = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    # Tile: a rounded square with a deep blue-to-teal gradient.
    mask = Image.new("L", (s, s), 0)
    ImageDraw.Draw(mask).rounded_rectangle((40, 40, s - 40, s - 40), radius=210, fill=255)
    icon.paste(_gradient(s, (32, 86, 190), (18, 160, 160)), (0, 0), mask)
    d = ImageDraw.Draw(icon)
    # The photo: a white card with a sun and two hills.
    card = (180, 230, 760, 700)
    d.rounded_rectangle(card, radius=48, fill=(250, 250, 252))
    inner = (220, 270, 720, 660)
    d.rounded_rectangle(inner, radius=24, fill=(200, 226, 250))
    if detail:
        d.ellipse((560, 310, 660, 410), fill=(255, 196, 60))
    d.polygon([(220, 660), (380, 430), (520, 660)], fill=(46, 140, 90))
    d.polygon([(400, 660), (560, 480), (720, 660)], fill=(34, 110, 74))
    # The lens: a thick ring with a glassy centre and a handle, over the photo's corner.
    cx, cy, r = 600, 575, 180
    glass = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    ImageDraw.Draw(glass).ellipse((cx - r, cy - r, cx + r, cy + r), fill=(255, 255, 255, 70))
    icon = Image.alpha_composite(icon, glass)
    d = ImageDraw.Draw(icon)
    d.ellipse((cx - r, cy - r, cx + r, cy + r), outline=(255, 255, 255), width=56)
    d.line((cx + 130, cy + 130, cx + 265, cy + 265), fill=(255, 255, 255), width=96)
    d.ellipse((cx + 217, cy + 217, cx + 313, cy + 313), fill=(255, 255, 255))
    if detail:
        d.arc((cx - r + 60, cy - r + 60, cx + r - 60, cy + r - 60), 200, 260, fill=(255, 255, 255), width=22)
    return icon


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    full, simple = draw(True), draw(False)
    images = {}
    for size in SIZES:
        src = full if size >= 48 else simple
        img = src.resize((size, size), Image.LANCZOS)
        if size <= 32:
            img = img.filter(ImageFilter.UnsharpMask(radius=0.6, percent=60, threshold=1))
        img.save(OUT / f"photolens-{size}.png", optimize=True)
        images[size] = img
    images[256].save(OUT / "photolens.ico", sizes=[(n, n) for n in (16, 24, 32, 48, 64, 128, 256)])
    full.resize((512, 512), Image.LANCZOS).save(OUT / "photolens.icns")
    print(f"wrote {len(SIZES)} PNGs, photolens.ico and photolens.icns to {OUT}")


if __name__ == "__main__":
    main()
