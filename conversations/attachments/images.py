"""An uploaded image made safe to keep and to send: type read from the content, a decompression
bomb refused before decoding, EXIF orientation applied, metadata dropped, downscaled and
re-encoded (PNG stays PNG, the rest becomes JPEG)."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from conversations.attachments.refusal import AttachmentRefused

FORMATS = ("PNG", "JPEG", "WEBP", "GIF")
# Decoding costs about 4 bytes a pixel: 50 megapixels (a large phone photo) is 200 MB for a
# moment; more than that is refused from the header alone, before anything is decoded.
MAX_SOURCE_PIXELS = 50_000_000
NOT_AN_IMAGE = "{name} is not a PNG, JPEG, WebP or GIF image."


@dataclass(frozen=True)
class PreparedImage:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


def looks_like_image(data: bytes) -> bool:
    """Whether Pillow recognises one of our formats from the first bytes (no decoding)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=FORMATS):
                return True
    except UnidentifiedImageError:
        return False
    except Exception:  # a bomb, or a damaged body: both an image, refused in prepare_image
        return True


def prepare_image(name: str, data: bytes, max_side: int) -> PreparedImage:
    """The image as we keep and send it, or AttachmentRefused with a sentence for the user."""
    with warnings.catch_warnings():
        # Pillow warns (and only past twice its limit refuses) about large images: refuse here.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            source = Image.open(io.BytesIO(data), formats=FORMATS)
        except (UnidentifiedImageError, OSError, SyntaxError):
            raise AttachmentRefused(NOT_AN_IMAGE.format(name=name)) from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise AttachmentRefused(_too_many_pixels(name)) from None
        with source:
            width, height = source.size
            if width * height > MAX_SOURCE_PIXELS:
                raise AttachmentRefused(_too_many_pixels(name, width, height))
            lossless = source.format in ("PNG", "GIF")
            try:
                if source.format == "JPEG":
                    # Decode a large JPEG at a reduced scale directly: less memory, same result.
                    source.draft("RGB", (max_side, max_side))
                source.seek(0)  # a GIF's (or animated PNG's) first frame
                image = ImageOps.exif_transpose(source)
                image = _plain_colours(image)
                image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
            except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
                raise AttachmentRefused(
                    f"{name} could not be read as an image; it may be damaged."
                ) from None
    # A fresh image carries no EXIF, ICC profile, text chunks or comments of the original.
    image.info = {}
    out = io.BytesIO()
    if lossless or image.mode == "RGBA":
        image.save(out, "PNG", optimize=True)
        content_type, extension = "image/png", "png"
    else:
        image.save(out, "JPEG", quality=90)
        content_type, extension = "image/jpeg", "jpg"
    return PreparedImage(out.getvalue(), content_type, extension, image.width, image.height)


def _plain_colours(image: Image.Image) -> Image.Image:
    """RGB, or RGBA when the image has transparency: what every vision model reads."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB")


def _too_many_pixels(name: str, width: int = 0, height: int = 0) -> str:
    size = f" ({width:,} × {height:,} pixels)" if width else ""
    return (
        f"{name} is too large an image{size}; the limit is {MAX_SOURCE_PIXELS // 1_000_000} "
        "megapixels. Scale it down and attach it again."
    )
