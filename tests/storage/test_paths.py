import os
from pathlib import Path

import pytest

from ai.backend.storage.paths import (
    UnsafePathError,
    makedirs_beneath,
    open_beneath,
    open_dir,
    openat2_supported,
    opened,
    split_relpath,
)


@pytest.mark.parametrize("raw, parts", [
    ("", ()),
    (".", ()),
    ("a", ("a",)),
    ("a/./b/", ("a", "b")),
    ("a//b", ("a", "b")),
    ("with space/ü.txt", ("with space", "ü.txt")),
    ("..hidden", ("..hidden",)),
])
def test_split_relpath_accepts(raw: str, parts: tuple[str, ...]) -> None:
    assert split_relpath(raw) == parts


@pytest.mark.parametrize("raw", ["..", "../x", "a/../../b", "a/..", "/etc/passwd", "/", "a\x00b"])
def test_split_relpath_refuses(raw: str) -> None:
    with pytest.raises(UnsafePathError):
        split_relpath(raw)


def test_split_relpath_root_can_be_refused() -> None:
    with pytest.raises(UnsafePathError, match="root"):
        split_relpath("./", allow_root=False)


def test_openat2_is_available_on_this_kernel() -> None:
    # the test machines run Linux >= 5.6; the fallback is tested separately below
    assert openat2_supported()


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """vfolder/ with a file, a subdir, an inside symlink and two escaping symlinks."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("secret")
    root = tmp_path / "vfolder"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "f.txt").write_text("hello")
    (root / "inside-link").symlink_to("sub")
    (root / "escape-rel").symlink_to("../outside")
    (root / "escape-abs").symlink_to(outside)
    (root / "sub" / "escape-file").symlink_to(outside / "secret")
    return root


@pytest.mark.parametrize("use_openat2", [True, False])
def test_open_beneath_follows_inside(tree: Path, use_openat2: bool) -> None:
    with opened(os.open(tree, os.O_PATH | os.O_DIRECTORY)) as root:
        with opened(open_beneath(root, ("sub", "f.txt"), os.O_RDONLY, use_openat2=use_openat2)) as fd:
            assert os.read(fd, 10) == b"hello"
        if use_openat2:  # symlinks that stay inside work; the fallback refuses all symlinks
            with opened(open_beneath(root, ("inside-link", "f.txt"), os.O_RDONLY)) as fd:
                assert os.read(fd, 10) == b"hello"
        else:
            with pytest.raises(UnsafePathError):
                open_beneath(root, ("inside-link", "f.txt"), os.O_RDONLY, use_openat2=False)


@pytest.mark.parametrize("use_openat2", [True, False])
@pytest.mark.parametrize("parts", [
    ("escape-rel", "secret"),
    ("escape-abs", "secret"),
    ("sub", "escape-file"),
    ("escape-rel",),
])
def test_open_beneath_refuses_escapes(tree: Path, parts: tuple[str, ...], use_openat2: bool) -> None:
    with opened(os.open(tree, os.O_PATH | os.O_DIRECTORY)) as root, pytest.raises(UnsafePathError):
        open_beneath(root, parts, os.O_RDONLY, use_openat2=use_openat2)


def test_open_dir_and_missing(tree: Path) -> None:
    with opened(os.open(tree, os.O_PATH | os.O_DIRECTORY)) as root:
        with opened(open_dir(root, ("sub",))) as fd:
            assert sorted(os.listdir(fd)) == ["escape-file", "f.txt"]
        with pytest.raises(FileNotFoundError):
            open_dir(root, ("nope",))
        with pytest.raises(NotADirectoryError):
            open_dir(root, ("sub", "f.txt"))


def test_makedirs_beneath_creates_and_refuses_escape(tree: Path) -> None:
    with opened(os.open(tree, os.O_PATH | os.O_DIRECTORY)) as root:
        os.close(makedirs_beneath(root, ("a", "b", "c")))
        assert (tree / "a" / "b" / "c").is_dir()
        os.close(makedirs_beneath(root, ("a", "b", "c")))  # idempotent
        with pytest.raises(UnsafePathError):
            makedirs_beneath(root, ("escape-abs", "new"))
    assert not (tree.parent / "outside" / "new").exists()
