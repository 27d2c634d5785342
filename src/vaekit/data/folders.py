"""Reading a folder of image files (PNG, JPEG, TIFF, BMP) into one array; one-line errors.

Images directly in the folder are unlabelled; images in first-level subfolders take the
subfolder's name as their class. Every image becomes 8-bit grayscale, 8-bit RGB or 16-bit
grayscale, and all of them must be the same kind and (unless resized) the same size.
"""

from __future__ import annotations

import hashlib
import os
import struct
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import ConfigError, DataError, DataNotFoundError, opt
from .lazy import DecodedRows

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
_UNREADABLE = (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, struct.error)
_TO_GRAY = frozenset({"1", "L", "LA", "La"})
_SIXTEEN_BIT = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})


@dataclass
class ImageFolder:
    """The images of a folder, in the order of their sorted relative paths."""

    images: np.ndarray  # (N, H, W, C) uint8, or uint16 for 16-bit grayscale; C = 1 or 3
    labels: np.ndarray | None  # (N,) int64 index into classes; None without class subfolders
    classes: tuple[str, ...]  # sorted first-level subfolder names; () without them
    files: tuple[str, ...]  # (N,) paths relative to the folder, '/'-separated
    image_shape: tuple[int, ...] | None = None  # (H, W, C) of lazy rows (scan_image_folder)


def read_image_folder(path: Path, image_size: tuple[int, int] | None = None) -> ImageFolder:
    """Every image file under ``path`` (hidden files and folders skipped) as one array.

    With ``image_size`` (H, W) each image is scaled to cover H×W, keeping its aspect ratio,
    then centre-cropped to exactly H×W; without it all images must share one size.
    """
    path, size, rel, labels, classes = _survey(path, image_size)
    decoded = _decoded(path, rel, size, map)
    first = next(decoded)  # (H, W, C)
    images = np.empty((len(rel), *first.shape), dtype=first.dtype)  # (N, H, W, C)
    images[0] = first
    for i, a in enumerate(decoded, start=1):
        images[i] = a
    return ImageFolder(images, labels, classes, tuple(r.as_posix() for r in rel))


def scan_image_folder(path: Path, image_size: tuple[int, int] | None = None,
                      workers: int | None = None) -> ImageFolder:  # fmt: skip
    """As :func:`read_image_folder`, but the images stay on disk: each is decoded once now,
    to find any unreadable, mixed-size or mixed-kind file before training starts, and then
    again whenever its row is read (``images`` is a :class:`DecodedRows` of (N, H*W*C)
    rows), by a pool of ``workers`` threads (Pillow decodes without holding the GIL); only
    the rows hold the pool, and its idle threads leave when it is collected with them."""
    path, size, rel, labels, classes = _survey(path, image_size)
    pool = ThreadPoolExecutor(workers or min(4, os.cpu_count() or 1))
    decoded = _decoded(path, rel, size, pool.map)
    first = next(decoded)  # (H, W, C)
    for _ in decoded:  # checked, then let go
        pass
    files = [path / r for r in rel]

    def decode(index: np.ndarray) -> np.ndarray:  # (n,) -> (n, H*W*C), in index order
        out = np.empty((len(index), first.size), dtype=first.dtype)
        for row, a in enumerate(pool.map(lambda i: _read(files[i], size), index)):
            out[row] = a.reshape(-1)
        return out

    images = DecodedRows((len(rel), first.size), first.dtype, decode)
    return ImageFolder(images, labels, classes, tuple(r.as_posix() for r in rel),
                       tuple(int(d) for d in first.shape))  # fmt: skip


def _survey(path: Path, image_size: tuple[int, int] | None
            ) -> tuple[Path, tuple[int, int] | None, list[Path], np.ndarray | None, tuple[str, ...]]:  # fmt: skip
    """(folder, checked size, relative image paths, labels, classes) of a folder to read."""
    path = Path(path)
    size = _check_size(image_size)
    rel = _find_images(path)
    return (path, size, rel, *_labels(path, rel))


def _decoded(path: Path, rel: list[Path], size: tuple[int, int] | None,
             mapper: Callable) -> Iterator[np.ndarray]:  # fmt: skip
    """Each image of ``rel`` as (H, W, C), in order, decoded by ``mapper`` (``map`` or a thread
    pool's), each checked to be of the first one's kind and size."""
    first = _read(path / rel[0], size)
    yield first
    for r, a in zip(rel[1:], mapper(lambda r: _read(path / r, size), rel[1:]), strict=True):
        _check_same(a, path / r, first, path / rel[0])
        yield a


def _check_size(image_size: tuple[int, int] | None) -> tuple[int, int] | None:
    if image_size is None:
        return None
    h, w = image_size
    if int(h) != h or int(w) != w or h < 1 or w < 1:
        raise ConfigError(f"{opt('image_size')} must be positive whole numbers, not {h}x{w}")
    return int(h), int(w)


def folder_digest(path: Path) -> str:
    """A digest of an image folder's content: each image's path within it (class subfolders
    are labels) and bytes, in reading order; so a moved folder is recognised as the same
    data, and an edited one as other data."""
    h = hashlib.blake2b(digest_size=16)
    for rel in _find_images(path):
        h.update(repr(rel.parts).encode())
        h.update((path / rel).read_bytes())
    return h.hexdigest()


def _find_images(path: Path) -> list[Path]:
    """Relative paths of the image files under ``path``, sorted folder by folder."""
    if not path.exists():
        raise DataNotFoundError(f"image folder {path} does not exist")
    if not path.is_dir():
        raise DataError(f"{path} is not a folder")
    found = []
    for root, dirs, names in os.walk(path):
        dirs[:] = [d for d in dirs if not d.startswith(".")]  # prune: never walk into .git
        for name in names:
            if not name.startswith(".") and name.lower().endswith(IMAGE_SUFFIXES):
                found.append(Path(root, name).relative_to(path))
    if not found:
        looked = ", ".join(IMAGE_SUFFIXES)
        raise DataError(f"{path} holds no image files (looked for {looked}, in any case)")
    return sorted(found, key=lambda p: p.parts)


def _labels(path: Path, rel: list[Path]) -> tuple[np.ndarray | None, tuple[str, ...]]:
    """(N,) class indices from the first-level subfolders, or None if there are none."""
    top = [r for r in rel if len(r.parts) == 1]
    if len(top) == len(rel):
        return None, ()
    if top:
        inner = next(r for r in rel if len(r.parts) > 1)
        raise DataError(
            f"{path} holds images both directly ({top[0]}) and in subfolders ({inner}); "
            f"put every image in a class subfolder, or all of them directly in {path}"
        )
    classes = tuple(sorted({r.parts[0] for r in rel}))
    index = {c: i for i, c in enumerate(classes)}
    return np.array([index[r.parts[0]] for r in rel], dtype=np.int64), classes


def _read(file: Path, size: tuple[int, int] | None) -> np.ndarray:
    """One image as (H, W, C): uint8 for 'L' / 'RGB', uint16 for 16-bit grayscale."""
    im = _open(file)  # mode 'L', 'RGB' or 'I' (16-bit values)
    if size is not None:
        im = _cover_and_crop(im, size)
    a = np.asarray(im)  # (H, W) or (H, W, 3)
    if im.mode == "I":  # resampling may overshoot 0..65535
        a = np.clip(a, 0, 65535).astype(np.uint16)
    return a[:, :, None] if a.ndim == 2 else a


def _open(file: Path) -> Image.Image:
    """The decoded image, upright, in mode 'L', 'RGB' or 'I'; any failure is a DataError."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(file) as im:
                im.load()
                return _normalise(ImageOps.exif_transpose(im), file)
    except DataError:
        raise  # our own message from _normalise (DataError is a ValueError)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise DataError(f"{file} is too large to read safely ({_reason(e)})") from None
    except _UNREADABLE as e:
        raise DataError(f"{file} is not a readable image ({_reason(e)})") from None


def _normalise(im: Image.Image, file: Path) -> Image.Image:
    if im.mode in _TO_GRAY:
        return im.convert("L")  # '1' becomes 0/255; an alpha channel is dropped
    if im.mode in _SIXTEEN_BIT:
        return im.convert("I")
    if im.mode == "I":
        low, high = im.getextrema()
        if low < 0 or high > 65535:
            raise DataError(
                f"{file} holds 32-bit values ({low}..{high}) outside 0..65535; "
                "save it as 8-bit or 16-bit"
            )
        return im
    if im.mode == "F" or im.mode.startswith("I;"):
        raise DataError(f"{file} has pixel mode {im.mode}; save it as 8-bit or 16-bit")
    if im.mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")  # Pillow's route for palette transparency
    return im if im.mode == "RGB" else im.convert("RGB")


def _cover_and_crop(im: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Scaled to cover (H, W), aspect ratio kept, then the centre H×W cut out."""
    (h, w), (width, height) = size, im.size
    scale = max(h / height, w / width)
    new = (max(w, round(width * scale)), max(h, round(height * scale)))  # (W', H') ≥ (W, H)
    if new != im.size:
        down = scale < 1
        im = im.resize(new, Image.Resampling.LANCZOS if down else Image.Resampling.BICUBIC)
    left, top = (new[0] - w) // 2, (new[1] - h) // 2
    return im.crop((left, top, left + w, top + h))


def _kind(a: np.ndarray) -> str:
    if a.dtype == np.uint16:
        return "16-bit grayscale (1 channel)"
    return "grayscale (1 channel)" if a.shape[2] == 1 else "RGB (3 channels)"


def _check_same(a: np.ndarray, file: Path, first: np.ndarray, first_file: Path) -> None:
    if _kind(a) != _kind(first):
        raise DataError(
            f"{file} is {_kind(a)} but {first_file} is {_kind(first)}; convert them to one kind"
        )
    if a.shape != first.shape:
        (h, w), (fh, fw) = a.shape[:2], first.shape[:2]
        raise DataError(
            f"{file} is {h}x{w} (HxW) but {first_file} is {fh}x{fw}; "
            f"pass {opt('image_size', 'H[,W]')} to resize and centre-crop"
        )


def _reason(e: BaseException) -> str:
    if isinstance(e, UnidentifiedImageError):
        return "unknown or corrupt format"  # Pillow's own text repeats the path
    text = str(e).strip()
    return text.splitlines()[0][:200] if text else type(e).__name__
