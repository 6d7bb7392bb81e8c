"""Checking, storing and resizing image files: no Django models here."""

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image as PILImage
from PIL import UnidentifiedImageError

from config.exceptions import DomainError

FORMAT_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "BMP": "bmp", "TIFF": "tif"}


class BadImage(DomainError):
    """A file that is not a complete, decodable image of an accepted size."""


class ImageTooLarge(BadImage):
    """An image with more pixels than may be decoded: a decompression bomb, or simply too big."""


@dataclass(frozen=True)
class CheckedImage:
    data: bytes
    sha256: str
    width: int
    height: int
    format: str

    @property
    def extension(self):
        return FORMAT_EXTENSIONS[self.format]

    def storage_name(self, dataset_name):
        # The checksum, never the uploaded file name, decides where the file lives on disk.
        return f"images/{dataset_name}/{self.sha256[:2]}/{self.sha256}.{self.extension}"


def check_image(data, max_pixels):
    """Decode the whole file so that truncated or corrupt images are caught before storing."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            with PILImage.open(io.BytesIO(data)) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise ImageTooLarge(
                        f"{width}x{height} = {width * height} pixels is over the limit of {max_pixels} "
                        "(possible decompression bomb)"
                    )
                if image.format not in FORMAT_EXTENSIONS:
                    raise BadImage(f"unsupported image format {image.format}")
                image.load()
                image_format = image.format
    except BadImage:
        raise
    except UnidentifiedImageError:
        formats = ", ".join(FORMAT_EXTENSIONS)
        raise BadImage(f"not an image: its content is none of the formats {formats}") from None
    except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning) as exc:
        # Pillow's own limit (PIL.Image.MAX_IMAGE_PIXELS), met when the file is opened.
        raise ImageTooLarge(f"too many pixels to decode (possible decompression bomb): {exc}") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise BadImage(f"corrupt or truncated image ({exc})") from exc
    return CheckedImage(data, hashlib.sha256(data).hexdigest(), width, height, image_format)


def resized_jpeg(data, long_side):
    """A JPEG no larger than `long_side` on its long side, for display."""
    with PILImage.open(io.BytesIO(data)) as image:
        image.draft("RGB", (long_side, long_side))
        image = image.convert("RGB")
        image.thumbnail((long_side, long_side), PILImage.Resampling.LANCZOS)
        out = io.BytesIO()
        image.save(out, "JPEG", quality=85, optimize=True)
    return out.getvalue()
