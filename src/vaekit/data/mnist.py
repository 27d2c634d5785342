"""Statically binarized MNIST (Larochelle & Murray 2011): find it, read it, or download it.

Looked for, in order, in ``data_dir``, ``$VAEKIT_DATA_DIR`` and the user cache directory, as
``binarized_mnist.npz`` (keys train/valid/test) or the three original
``binarized_mnist_{train,valid,test}.amat`` text files.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..errors import DataError, DataNotFoundError, opt
from .files import read_npz

SPLITS = ("train", "valid", "test")
SHAPES = {"train": (50000, 784), "valid": (10000, 784), "test": (10000, 784)}
NPZ_NAME = "binarized_mnist.npz"
AMAT_NAME = "binarized_mnist_{split}.amat"
URL = "http://www.cs.toronto.edu/~larocheh/public/datasets/binarized_mnist/"
# sha256 of each split's (N, 784) uint8 array in C order: checks the content, not the text layout.
CONTENT_SHA256 = {
    "train": "43490d4d6ac9002727af4426d8748609fdb7e4094fa65ad8d681ea60082a7a5a",
    "valid": "069b4f0beb389b776478c3e872b4df71c95ac4be64d7cbe6d32e24ebac8e6d5e",
    "test": "ca0294c3b8d984c7a1dc891015a8eea6f37bae59a34e35ea0fc8c47110a8dd86",
}


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "vaekit"


def search_dirs(data_dir: str | os.PathLike | None = None) -> list[Path]:
    dirs = [Path(d) for d in (data_dir, os.environ.get("VAEKIT_DATA_DIR")) if d]
    return dirs + [cache_dir()]


def content_sha256(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a, dtype=np.uint8).tobytes()).hexdigest()


def read_amat(path: str | os.PathLike, width: int = 784) -> np.ndarray:
    """Parse an .amat file of 0/1 values, one row a line, into (N, width) uint8.

    Vectorised over the raw bytes (50k rows parse in about a second, where ``np.loadtxt``
    takes a minute); anything but 0, 1 and white space is an error.
    """
    p = Path(path)
    try:
        raw = np.frombuffer(p.read_bytes(), dtype=np.uint8)
    except OSError as e:
        raise DataError(f"cannot read {p}: {e.strerror or e}") from None
    is_digit = (raw == ord("0")) | (raw == ord("1"))
    is_space = (raw == ord(" ")) | (raw == ord("\n")) | (raw == ord("\r")) | (raw == ord("\t"))
    if not (is_digit | is_space).all():
        raise DataError(f"{p} holds values other than 0 and 1: not a binarized-MNIST .amat file")
    # Adjacent digits would be one token like "10": reject rather than misread.
    if (is_digit[1:] & is_digit[:-1]).any():
        raise DataError(f"{p} has values that are not single 0/1 digits")
    values = raw[is_digit] - ord("0")
    if values.size == 0 or values.size % width:
        raise DataError(
            f"{p} is truncated or malformed: {values.size} values is not a whole number of "
            f"{width}-pixel rows"
        )
    return values.reshape(-1, width)


def _check_split(split: str, a: np.ndarray, origin: str) -> np.ndarray:
    if a.shape != SHAPES[split]:
        raise DataError(f"{origin}: split '{split}' has shape {a.shape}, expected {SHAPES[split]}")
    return a


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    arrays = read_npz(path)
    missing = [s for s in SPLITS if s not in arrays]
    if missing:
        raise DataError(f"{path} lacks the split(s) {', '.join(missing)}: not binarized MNIST")
    return {s: _check_split(s, arrays[s], str(path)) for s in SPLITS}


def find(data_dir: str | os.PathLike | None = None) -> tuple[str, Path] | None:
    """("npz", file) or ("amat", directory) for the first place holding the data, else None."""
    for d in search_dirs(data_dir):
        if (d / NPZ_NAME).is_file():
            return "npz", d / NPZ_NAME
        if all((d / AMAT_NAME.format(split=s)).is_file() for s in SPLITS):
            return "amat", d
    return None


def load(data_dir: str | os.PathLike | None = None, download: bool = True) -> dict[str, np.ndarray]:
    """The three splits as uint8 arrays, downloading to the cache directory if allowed."""
    found = find(data_dir)
    failure = None
    if found is None and download:
        failure = download_amat(cache_dir())
        found = find(data_dir)
    if found is None:
        raise DataNotFoundError(_not_found_message(data_dir, failure))
    kind, where = found
    if kind == "npz":
        return _load_npz(where)
    out = {}
    for s in SPLITS:
        path = where / AMAT_NAME.format(split=s)
        out[s] = _check_split(s, read_amat(path), str(path))
    return out


def _not_found_message(data_dir: str | os.PathLike | None, failure: str | None) -> str:
    places = ", ".join(str(d) for d in search_dirs(data_dir))
    tried = f"; the download failed: {failure}" if failure else ""
    return (
        f"binarized MNIST not found (looked in: {places}{tried}); put {NPZ_NAME} or the three "
        f"binarized_mnist_{{train,valid,test}}.amat files in one of these, or pass "
        f"{opt('data_dir', 'DIR')}"
    )


def download_amat(
    dest: Path,
    url: str | None = None,
    checksums: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> str | None:
    """Fetch the three .amat files into ``dest``; verify each split's content checksum.

    Returns None when all three are there, else why not (the caller reports the data as not
    found, with this reason). A download that arrives but fails its checksum is an error,
    and leaves nothing behind.
    """
    url = url or os.environ.get("VAEKIT_MNIST_URL", URL)
    checksums = CONTENT_SHA256 if checksums is None else checksums
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        return f"cannot create {dest}: {e.strerror or e}"
    for split in SPLITS:
        name = AMAT_NAME.format(split=split)
        final = dest / name
        if final.is_file():
            continue
        with tempfile.NamedTemporaryFile(dir=dest, prefix=name, suffix=".part", delete=False) as f:
            tmp = Path(f.name)
            try:
                with urllib.request.urlopen(url.rstrip("/") + "/" + name, timeout=timeout) as r:
                    total = int(r.headers.get("Content-Length") or 0) or None
                    with tqdm(
                        total=total, unit="B", unit_scale=True, desc=name, leave=False
                    ) as bar:
                        while chunk := r.read(1 << 20):
                            f.write(chunk)
                            bar.update(len(chunk))
            except (urllib.error.URLError, OSError, ValueError) as e:
                tmp.unlink(missing_ok=True)
                reason = getattr(e, "reason", None) or getattr(e, "strerror", None) or e
                return f"{url.rstrip('/')}/{name}: {reason}"
        try:
            digest = content_sha256(read_amat(tmp))
        except DataError:
            digest = "unreadable"
        if digest != checksums[split]:
            tmp.unlink(missing_ok=True)
            raise DataError(f"downloaded {name} failed its checksum check (got {digest[:12]}…)")
        shutil.move(tmp, final)
    return None
