"""Data loaders: the real files decode to the documented contents; broken copies fail loudly."""

from __future__ import annotations

import gzip
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from solver.train import data
from solver.train.data import DataError

MNIST_NAMES = list(data.MNIST_SHA256)


@pytest.fixture(scope="module")
def mnist(data_dir):
    return data.load_mnist(data_dir)


def _mnist_folder_with(tmp_path: Path, data_dir: Path, name: str, content: bytes) -> Path:
    """A data folder whose MNIST file `name` has `content`; the others link to the real ones."""
    folder = tmp_path / "data"
    (folder / "mnist").mkdir(parents=True)
    for other in MNIST_NAMES:
        target = folder / "mnist" / other
        if other == name:
            target.write_bytes(content)
        else:
            target.symlink_to(data_dir / "mnist" / other)
    return folder


# ----------------------------------------------------------------------------- MNIST


def test_mnist_shapes_types_and_label_counts(mnist):
    assert mnist.train_images.shape == (60000, 28, 28) and mnist.train_images.dtype == np.uint8
    assert mnist.test_images.shape == (10000, 28, 28) and mnist.test_images.dtype == np.uint8
    assert mnist.train_labels.dtype == np.int64 and mnist.test_labels.dtype == np.int64
    # Label counts as recorded in shared/data/PROVENANCE.md.
    assert np.bincount(mnist.train_labels).tolist() == [
        5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(mnist.test_labels).tolist() == [
        980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert mnist.train_labels[:5].tolist() == [5, 0, 4, 1, 9]


def test_mnist_splits_are_disjoint_seeded_and_complete(mnist):
    splits = data.mnist_splits(mnist)
    assert {k: v[0].shape for k, v in splits.items()} == {
        "train": (50000, 28, 28), "val": (10000, 28, 28), "test": (10000, 28, 28)}
    train_rows = {img.tobytes() for img in splits["train"][0][:2000]}
    assert not any(img.tobytes() in train_rows for img in splits["val"][0][:2000])
    again = data.mnist_splits(mnist, seed=0)
    other = data.mnist_splits(mnist, seed=1)
    assert np.array_equal(again["val"][1], splits["val"][1])
    assert not np.array_equal(other["val"][1], splits["val"][1])
    # Together train and val are a permutation of the official training set.
    labels = np.concatenate([splits["train"][1], splits["val"][1]])
    assert np.array_equal(np.bincount(labels), np.bincount(mnist.train_labels))


def test_mnist_subset_sizes(mnist):
    subset = data.mnist_subset(mnist)
    assert subset["train"][0].shape == (2000, 28, 28) and subset["train"][1].shape == (2000,)
    assert subset["test"][0].shape == (500, 28, 28) and subset["test"][1].dtype == np.int64
    assert set(subset) == {"train", "test"}


def test_mnist_splits_reject_impossible_sizes(mnist):
    with pytest.raises(DataError, match="exceeds"):
        data.mnist_splits(mnist, n_train=55_000, n_val=10_000)


def test_corrupted_mnist_file_fails_checksum_naming_the_file(tmp_path, data_dir):
    name = "t10k-labels-idx1-ubyte.gz"
    content = bytearray((data_dir / "mnist" / name).read_bytes())
    content[100] ^= 0xFF
    folder = _mnist_folder_with(tmp_path, data_dir, name, bytes(content))
    with pytest.raises(DataError, match=f"{name}.*checksum mismatch.*expected {data.MNIST_SHA256[name]}"):
        data.load_mnist(folder)


def test_truncated_mnist_file_is_an_error(tmp_path, data_dir):
    name = "train-labels-idx1-ubyte.gz"
    content = (data_dir / "mnist" / name).read_bytes()
    folder = _mnist_folder_with(tmp_path, data_dir, name, content[: len(content) // 2])
    with pytest.raises(DataError, match=name):
        data.load_mnist(folder)


def test_missing_mnist_file_in_a_named_folder_is_an_error_not_a_download(tmp_path, monkeypatch):
    (tmp_path / "empty").mkdir()
    monkeypatch.setattr(data, "_download", lambda *a: pytest.fail("must not download"))
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz: file not found"):
        data.load_mnist(tmp_path / "empty")


def _idx_bytes(shape, body_length=None, type_code=0x08) -> bytes:
    header = bytes([0, 0, type_code, len(shape)]) + b"".join(d.to_bytes(4, "big") for d in shape)
    size = int(np.prod(shape)) if body_length is None else body_length
    return gzip.compress(header + bytes(size))


def test_read_idx_checks_shape_length_and_type(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(_idx_bytes((3, 28, 28)))
    assert data.read_idx(path, (3, 28, 28)).shape == (3, 28, 28)
    with pytest.raises(DataError, match=r"x.gz: shape \(3, 28, 28\), expected \(60000, 28, 28\)"):
        data.read_idx(path, (60000, 28, 28))
    path.write_bytes(_idx_bytes((3, 28, 28), body_length=100))
    with pytest.raises(DataError, match="truncated"):
        data.read_idx(path, (3, 28, 28))
    path.write_bytes(_idx_bytes((3,), type_code=0x0D))
    with pytest.raises(DataError, match="expected 0x08"):
        data.read_idx(path, (3,))
    path.write_bytes(b"not gzip at all")
    with pytest.raises(DataError, match="gzip"):
        data.read_idx(path, (3,))


# ----------------------------------------------------------------------------- CIFAR-10


def test_cifar_subset_loads_partial_batches(cifar_dir):
    cifar = data.load_cifar10(cifar_dir=cifar_dir)
    images, labels = cifar["train"]
    assert images.shape == (5085, 3, 32, 32) and images.dtype == np.uint8
    assert labels.dtype == np.int64 and cifar["test"][0].shape == (1017, 3, 32, 32)
    # The first training image is a frog whose first red values are documented.
    assert labels[0] == 6 and cifar["classes"][6] == "frog"
    assert images[0, 0, 0, :5].tolist() == [59, 43, 50, 68, 98]
    assert np.bincount(cifar["test"][1]).tolist() == [105, 93, 100, 104, 92, 87, 114, 102, 110, 110]


def test_cifar_found_under_data_dir(tmp_path, cifar_dir):
    (tmp_path / data.CIFAR_FOLDER).symlink_to(cifar_dir)
    assert len(data.load_cifar10(tmp_path)["test"][1]) == 1017


def _cifar_copy(tmp_path, cifar_dir) -> Path:
    folder = tmp_path / "cifar"
    shutil.copytree(cifar_dir, folder)
    return folder


def test_cifar_batch_with_wrong_shape_is_an_error(tmp_path, cifar_dir):
    folder = _cifar_copy(tmp_path, cifar_dir)
    batch = {b"labels": [1, 2], b"data": np.zeros((2, 3000), dtype=np.uint8)}
    (folder / "data_batch_3").write_bytes(pickle.dumps(batch))
    with pytest.raises(DataError, match=r"data_batch_3: data of shape \(2, 3000\).*N x 3072"):
        data.load_cifar10(cifar_dir=folder)


def test_cifar_labels_outside_the_ten_classes_are_an_error(tmp_path, cifar_dir):
    folder = _cifar_copy(tmp_path, cifar_dir)
    batch = {b"labels": [1, 10], b"data": np.zeros((2, 3072), dtype=np.uint8)}
    (folder / "data_batch_2").write_bytes(pickle.dumps(batch))
    with pytest.raises(DataError, match=r"data_batch_2: labels outside 0..9"):
        data.load_cifar10(cifar_dir=folder)


def test_truncated_cifar_batch_is_an_error(tmp_path, cifar_dir):
    folder = _cifar_copy(tmp_path, cifar_dir)
    content = (folder / "test_batch").read_bytes()
    (folder / "test_batch").write_bytes(content[:100_000])
    with pytest.raises(DataError, match="test_batch"):
        data.load_cifar10(cifar_dir=folder)


def test_cifar_batch_cannot_run_code(tmp_path, cifar_dir):
    folder = _cifar_copy(tmp_path, cifar_dir)

    class Exploit:
        def __reduce__(self):
            return (print, ("this must never run",))

    (folder / "data_batch_1").write_bytes(pickle.dumps({b"data": Exploit(), b"labels": []}))
    with pytest.raises(DataError, match="refusing to load builtins.print"):
        data.load_cifar10(cifar_dir=folder)


def test_missing_cifar_batch_is_an_error(tmp_path, cifar_dir):
    folder = _cifar_copy(tmp_path, cifar_dir)
    (folder / "data_batch_5").unlink()
    with pytest.raises(DataError, match="data_batch_5: file not found"):
        data.load_cifar10(cifar_dir=folder)


# ----------------------------------------------------------------------------- Shakespeare


def test_shakespeare_text(data_dir):
    text = data.load_shakespeare(data_dir)
    assert len(text) == 1115394 and text.startswith("First Citizen:\n")


def test_corrupted_shakespeare_fails_checksum(tmp_path, data_dir):
    text = (data_dir / data.SHAKESPEARE_FILE).read_bytes()
    (tmp_path / data.SHAKESPEARE_FILE).write_bytes(text.replace(b"Citizen", b"citizen", 1))
    with pytest.raises(DataError, match="tinyshakespeare.txt: checksum mismatch"):
        data.load_shakespeare(tmp_path)


# ----------------------------------------------------------------------------- locating files


def test_resolve_data_dir_order(tmp_path, monkeypatch):
    given, from_env = tmp_path / "given", tmp_path / "env"
    given.mkdir()
    from_env.mkdir()
    assert data.resolve_data_dir(given) == given
    monkeypatch.setenv("DLSOLVE_DATA", str(from_env))
    assert data.resolve_data_dir() == from_env
    assert data.resolve_data_dir(str(given)) == given
    monkeypatch.delenv("DLSOLVE_DATA")
    assert data.resolve_data_dir() == tmp_path / "cache"  # the conftest's stand-in cache
    with pytest.raises(DataError, match="does not exist"):
        data.resolve_data_dir(tmp_path / "nowhere")


def test_without_a_folder_files_are_downloaded_into_the_cache(tmp_path, monkeypatch):
    """The download path with pooch replaced by a stub: same file name, same folder, same
    expected hash as a real download would use."""
    calls = []

    def fake_retrieve(url, known_hash, fname, path, progressbar):
        calls.append((url, known_hash, fname, Path(path)))
        target = Path(path) / fname
        target.write_text("First Citizen:\nBefore we proceed any further, hear me speak.\n")
        return str(target)

    monkeypatch.setattr("pooch.retrieve", fake_retrieve)
    text = data.load_shakespeare()
    assert text.startswith("First Citizen:")
    assert calls == [(data.SHAKESPEARE_URL, f"sha256:{data.SHAKESPEARE_SHA256}",
                      data.SHAKESPEARE_FILE, tmp_path / "cache")]


def test_download_with_a_wrong_checksum_is_a_data_error(monkeypatch):
    def fake_retrieve(url, **kwargs):
        raise ValueError(f"SHA256 hash of downloaded file (x.gz) does not match the known hash: expected {kwargs['known_hash']}")

    monkeypatch.setattr("pooch.retrieve", fake_retrieve)
    with pytest.raises(DataError, match="does not match the known hash"):
        data.load_mnist()


def test_unreachable_mirrors_give_one_clear_error(monkeypatch):
    def fake_retrieve(url, **kwargs):
        raise ConnectionError("network unreachable")

    monkeypatch.setattr("pooch.retrieve", fake_retrieve)
    with pytest.raises(DataError, match="could not download train-images-idx3-ubyte.gz") as caught:
        data.load_mnist()
    assert all(url in str(caught.value) for url in data.MNIST_URLS)
