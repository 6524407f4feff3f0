"""Data sets of the training tasks: MNIST, CIFAR-10 and Tiny Shakespeare.

Files are looked up in a data folder (`data_dir` argument, else the DLSOLVE_DATA environment
variable). With neither, they are downloaded once into the user cache folder and verified by
checksum. A folder the user names is never filled from the network: a missing file there is
an error, so that a typo in a path does not silently start a 170 MB download.

Every problem with a file (missing, checksum, truncated, wrong shape) raises DataError, whose
message names the file and what was expected.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import pickle
import tarfile
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ENV_VAR = "DLSOLVE_DATA"

MNIST_URLS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
MNIST_SHAPES = {
    "train-images-idx3-ubyte.gz": (60000, 28, 28),
    "train-labels-idx1-ubyte.gz": (60000,),
    "t10k-images-idx3-ubyte.gz": (10000, 28, 28),
    "t10k-labels-idx1-ubyte.gz": (10000,),
}

CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR_SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
CIFAR_FOLDER = "cifar-10-batches-py"
CIFAR_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR_TEST_BATCH = "test_batch"
CIFAR_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)

SHAKESPEARE_URL = (
    "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
)
SHAKESPEARE_FILE = "tinyshakespeare.txt"
SHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"


class DataError(ValueError):
    """A data file is missing, corrupt or not what a task expects."""


@dataclass(frozen=True)
class MnistData:
    train_images: np.ndarray  # uint8 (60000, 28, 28)
    train_labels: np.ndarray  # int64 (60000,)
    test_images: np.ndarray  # uint8 (10000, 28, 28)
    test_labels: np.ndarray  # int64 (10000,)


Split = dict[str, tuple[np.ndarray, np.ndarray]]


# ----------------------------------------------------------------------------- locating files


def cache_dir() -> Path:
    """The per-user folder that downloads go to."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("dlsolve")) / "data"


def resolve_data_dir(data_dir: str | Path | None = None) -> Path:
    """The data folder: the argument, else $DLSOLVE_DATA, else the user cache folder."""
    chosen = data_dir if data_dir is not None else os.environ.get(ENV_VAR) or None
    if chosen is None:
        folder = cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    folder = Path(chosen).expanduser()
    if not folder.is_dir():
        source = "--data-dir" if data_dir is not None else f"${ENV_VAR}"
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise DataError(f"data folder {folder} (from {source}) {what}")
    return folder


def _is_user_folder(data_dir: str | Path | None) -> bool:
    return data_dir is not None or bool(os.environ.get(ENV_VAR))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_sha256(path: Path, expected: str) -> None:
    actual = sha256_of(path)
    if actual != expected:
        raise DataError(
            f"{path}: checksum mismatch (sha256 {actual}, expected {expected}); "
            "the file is corrupt or incomplete: delete it and download it again"
        )


def _download(url_or_urls: str | tuple[str, ...], name: str, sha256: str, folder: Path) -> Path:
    """Fetch one file into `folder` unless a verified copy is already there.

    pooch writes to a temporary file and moves it into place only once the checksum matches,
    so an interrupted download never leaves a half file under the final name.
    """
    import pooch

    urls = (url_or_urls,) if isinstance(url_or_urls, str) else url_or_urls
    failures = []
    for url in urls:
        full_url = url + name if url.endswith("/") else url
        try:
            path = pooch.retrieve(
                full_url,
                known_hash=f"sha256:{sha256}",
                fname=name,
                path=folder,
                progressbar=_DownloadBar(name),
            )
            return Path(path)
        except ValueError as error:
            if "hash" in str(error):  # the server sent something else than the known file
                raise DataError(f"{full_url}: {error}") from error
            failures.append(f"{full_url}: {error}")
        except Exception as error:  # network trouble: try the next mirror
            failures.append(f"{full_url}: {error}")
    raise DataError(f"could not download {name} into {folder}:\n  " + "\n  ".join(failures))


class _DownloadBar:
    """The small progress-bar interface pooch expects (total, update, reset, close), on rich."""

    def __init__(self, name: str):
        self.name = name
        self.total = 0
        self._progress = None
        self._task = None

    def _start(self):
        from rich.progress import DownloadColumn, Progress, TransferSpeedColumn

        self._progress = Progress(
            *Progress.get_default_columns(), DownloadColumn(), TransferSpeedColumn(),
            transient=False,
        )
        self._progress.start()
        self._task = self._progress.add_task(f"download {self.name}", total=self.total or None)

    def update(self, n: int) -> None:
        if self._progress is None:
            self._start()
        self._progress.update(self._task, advance=n)

    def reset(self) -> None:
        if self._progress is not None:
            self._progress.reset(self._task, total=self.total or None)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def _data_file(data_dir, subfolder: str, name: str, url, sha256: str) -> Path:
    """Path of a verified data file, downloading it into the cache if no folder was named."""
    folder = resolve_data_dir(data_dir)
    if _is_user_folder(data_dir):
        path = folder / subfolder / name if subfolder else folder / name
        if not path.is_file():
            raise DataError(f"{path}: file not found (expected {name} under {folder / subfolder})")
        verify_sha256(path, sha256)
        return path
    target = folder / subfolder if subfolder else folder
    target.mkdir(parents=True, exist_ok=True)
    return _download(url, name, sha256, target)


# ----------------------------------------------------------------------------- MNIST

_IDX_DTYPES = {0x08: np.uint8}


def read_idx(path: Path, expected_shape: tuple[int, ...]) -> np.ndarray:
    """Decode a gzip-compressed IDX file (the MNIST format) and check its shape."""
    path = Path(path)
    expected_bytes = 4 + 4 * len(expected_shape) + int(np.prod(expected_shape))
    try:
        with gzip.open(path, "rb") as handle:
            raw = handle.read(expected_bytes + 1)  # never more: a small file may unpack to gigabytes
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(f"{path}: not a complete gzip file ({error})") from error
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataError(f"{path}: not an IDX file (expected magic bytes 00 00 08 NDIM)")
    type_code, ndim = raw[2], raw[3]
    if type_code not in _IDX_DTYPES:
        raise DataError(f"{path}: IDX element type 0x{type_code:02x}, expected 0x08 (uint8)")
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise DataError(f"{path}: truncated IDX header")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    if shape != tuple(expected_shape):
        raise DataError(f"{path}: shape {shape}, expected {tuple(expected_shape)}")
    if len(raw) != expected_bytes:
        raise DataError(
            f"{path}: {len(raw)} bytes after decompression, expected {expected_bytes} "
            "(truncated or padded file)"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(shape)


def _check_labels(path: Path, labels: np.ndarray, n_classes: int = 10) -> np.ndarray:
    if labels.dtype.kind not in "iu":
        raise DataError(f"{path}: labels of type {labels.dtype}, expected integers")
    labels = np.asarray(labels, dtype=np.int64)
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise DataError(f"{path}: labels outside 0..{n_classes - 1}")
    return labels


def load_mnist(data_dir: str | Path | None = None) -> MnistData:
    """The full MNIST set: 60,000 training and 10,000 test images of 28x28 uint8."""
    arrays = {}
    for name, shape in MNIST_SHAPES.items():
        path = _data_file(data_dir, "mnist", name, MNIST_URLS, MNIST_SHA256[name])
        array = read_idx(path, shape)
        arrays[name] = _check_labels(path, array) if "labels" in name else array
    return MnistData(
        train_images=arrays["train-images-idx3-ubyte.gz"],
        train_labels=arrays["train-labels-idx1-ubyte.gz"],
        test_images=arrays["t10k-images-idx3-ubyte.gz"],
        test_labels=arrays["t10k-labels-idx1-ubyte.gz"],
    )


def mnist_splits(data: MnistData, n_train: int = 50_000, n_val: int = 10_000, seed: int = 0) -> Split:
    """The course's 50k / 10k / 10k split: train and validation drawn from the training set
    by a seeded permutation, test the official test set."""
    total = len(data.train_labels)
    if n_train + n_val > total:
        raise DataError(f"n_train + n_val = {n_train + n_val} exceeds the {total} training images")
    order = np.random.default_rng(seed).permutation(total)
    train, val = order[:n_train], order[n_train:n_train + n_val]
    return {
        "train": (data.train_images[train], data.train_labels[train]),
        "val": (data.train_images[val], data.train_labels[val]),
        "test": (data.test_images, data.test_labels),
    }


def mnist_subset(data: MnistData, n_train: int = 2000, n_test: int = 500, seed: int = 0) -> Split:
    """The LeNet exercise's small set: a seeded sample of training and of test images."""
    rng = np.random.default_rng(seed)
    train = rng.choice(len(data.train_labels), size=n_train, replace=False)
    test = rng.choice(len(data.test_labels), size=n_test, replace=False)
    return {
        "train": (data.train_images[train], data.train_labels[train]),
        "test": (data.test_images[test], data.test_labels[test]),
    }


# ----------------------------------------------------------------------------- CIFAR-10


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickler that rebuilds numpy arrays and nothing else.

    The official CIFAR-10 batches are pickles; refusing every other class keeps a tampered
    file from running code when it is loaded.
    """

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("_codecs", "encode"),
    }

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


MAX_BATCH_BYTES = 200_000_000  # an official batch is 31 MB


def _load_pickle(path: Path) -> object:
    """A CIFAR-10 pickle, read whole (bounded) first, so that a length the file declares is
    checked against the bytes that are really there before anything is allocated."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_BATCH_BYTES + 1)
    except OSError as error:
        raise DataError(f"{path}: cannot read it ({error.strerror or error})") from None
    if len(raw) > MAX_BATCH_BYTES:
        raise DataError(f"{path}: larger than {MAX_BATCH_BYTES // 1_000_000} MB; not a CIFAR-10 batch")
    try:
        return _ArrayUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError,
            KeyError, MemoryError, OverflowError, RecursionError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: not a readable CIFAR-10 python batch ({type(error).__name__}: "
                        f"{str(error)[:120]})") from None


def read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One python batch as (uint8 N x 3 x 32 x 32, int64 N); any N is accepted."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found (expected a CIFAR-10 python batch)")
    batch = _load_pickle(path)
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise DataError(f"{path}: expected a dict with keys b'data' and b'labels'")
    data, labels = batch[b"data"], batch[b"labels"]
    # Types first, sizes second, conversion last: a list may share one object a billion times
    # (a few bytes of pickle), and converting it would walk every one of them.
    if not isinstance(data, np.ndarray):
        raise DataError(f"{path}: b'data' is a {type(data).__name__}, expected a uint8 array")
    if not isinstance(labels, (list, np.ndarray)) or len(labels) != len(data):
        raise DataError(f"{path}: b'labels' must be a list of {len(data)} class numbers")
    if isinstance(labels, list) and not all(type(label) is int for label in labels):
        raise DataError(f"{path}: b'labels' holds something other than class numbers")
    labels = np.asarray(labels)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise DataError(f"{path}: data of shape {data.shape} and type {data.dtype}, "
                        "expected uint8 N x 3072")
    if labels.shape != (data.shape[0],):
        raise DataError(f"{path}: {labels.size} labels for {data.shape[0]} images")
    return data.reshape(-1, 3, 32, 32), _check_labels(path, labels)


def _cifar_folder(data_dir, cifar_dir) -> Path:
    if cifar_dir is not None:
        folder = Path(cifar_dir).expanduser()
        if not folder.is_dir():
            raise DataError(f"CIFAR-10 folder {folder} (from --cifar-dir) does not exist")
        return folder
    base = resolve_data_dir(data_dir)
    folder = base / CIFAR_FOLDER
    if _is_user_folder(data_dir):
        if not folder.is_dir():
            raise DataError(f"{folder}: folder not found (expected the official python batches)")
        return folder
    if not (folder / CIFAR_TEST_BATCH).is_file():
        archive = _download(CIFAR_URL, "cifar-10-python.tar.gz", CIFAR_SHA256, base)
        _extract_into(archive, base, CIFAR_FOLDER)
    return folder


def _extract_into(archive: Path, base: Path, member_folder: str) -> None:
    """Unpack one folder of a tar archive; it appears under its final name only when complete."""
    with tempfile.TemporaryDirectory(dir=base) as scratch:
        with tarfile.open(archive) as tar:
            tar.extractall(scratch, filter="data")
        os.replace(Path(scratch) / member_folder, base / member_folder)


def load_cifar10(data_dir: str | Path | None = None, cifar_dir: str | Path | None = None) -> dict:
    """CIFAR-10 as {'train': (images, labels), 'test': (images, labels), 'classes': names}.

    Images are uint8 N x 3 x 32 x 32 (channels first), labels int64. Batches holding fewer
    than 10,000 images are accepted.
    """
    folder = _cifar_folder(data_dir, cifar_dir)
    parts = [read_cifar_batch(folder / name) for name in CIFAR_TRAIN_BATCHES]
    train = (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
    test = read_cifar_batch(folder / CIFAR_TEST_BATCH)
    return {"train": train, "test": test, "classes": _cifar_classes(folder)}


def _cifar_classes(folder: Path) -> list[str]:
    meta_path = folder / "batches.meta"
    if not meta_path.is_file():
        return list(CIFAR_CLASSES)
    meta = _load_pickle(meta_path)
    names = meta.get(b"label_names") if isinstance(meta, dict) else None
    if not isinstance(names, list) or len(names) != 10 or not all(isinstance(n, (bytes, str)) for n in names):
        raise DataError(f"{meta_path}: expected 10 label names under b'label_names'")
    return [n.decode() if isinstance(n, bytes) else str(n) for n in names]


# ----------------------------------------------------------------------------- Shakespeare


def load_shakespeare(data_dir: str | Path | None = None) -> str:
    """The Tiny Shakespeare corpus (1,115,394 characters) as one string."""
    path = _data_file(data_dir, "", SHAKESPEARE_FILE, SHAKESPEARE_URL, SHAKESPEARE_SHA256)
    return path.read_text(encoding="utf-8")
