"""Contact sheets: a grid of galaxy thumbnails with a caption each, saved as PNG."""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

TILE = 160


def contact_sheet(images: list[np.ndarray], captions: list[str], path: str | Path, columns: int = 8) -> Path:
    """Save `images` (each h x w x 3 uint8) as a grid of TILE-pixel thumbnails captioned in yellow."""
    path = Path(path)
    rows = max(1, -(-len(images) // columns))
    sheet = Image.new("RGB", (columns * TILE, rows * TILE))
    for i, (image, caption) in enumerate(zip(images, captions)):
        tile = Image.fromarray(image).resize((TILE, TILE), Image.Resampling.LANCZOS)
        ImageDraw.Draw(tile).text((4, 3), caption, fill=(255, 230, 0))
        sheet.paste(tile, ((i % columns) * TILE, (i // columns) * TILE))
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
    return path
