"""Every file the ledger writes (export, rejects, SQL results, reports, backups) goes through here.

- The ledger's own database file, and its `-wal`, `-shm` and `-journal` companions, are never a target: the
  resolved paths are compared, and for a name that exists, the device and inode (a hard link or a second mount
  path to the ledger is caught too).
- An existing file is replaced only with `force`; something that is not a regular file (a directory, a device,
  a FIFO, a socket) never.
- The content goes to a temporary file in the target's directory, flushed and fsynced, then renamed onto the
  target: after a crash or a full disk the target is either absent, or the old file, or the whole new file. Without
  `force` the rename is `os.link` (fails if the name appeared meanwhile) then removal of the temporary name.
- A missing directory is a clear error (exit 1), not a traceback.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from ledger.domain.errors import LedgerError

COMPANIONS = ("", "-wal", "-shm", "-journal")


class OutputRefused(LedgerError):
    """The output path would destroy something: the ledger itself, an existing file (without --force) …"""


def ledger_files(db_path: str | os.PathLike[str] | None) -> list[Path]:
    """The SQLite ledger file and its companions (None for PostgreSQL: nothing on this machine to protect)."""
    if not db_path:
        return []
    base = Path(db_path).expanduser().absolute()
    return [Path(str(base) + suffix) for suffix in COMPANIONS]


def check_target(
    out: str | os.PathLike[str], *, force: bool = False, protect: Iterable[str | os.PathLike[str]] = ()
) -> Path:
    """The absolute target path, or OutputRefused / LedgerError saying why it may not be written."""
    text = os.fspath(out)
    if not text or not text.strip():
        raise OutputRefused("输出文件名为空 (empty output path)")
    if "\x00" in text:
        raise OutputRefused("输出文件名含NUL (output path contains a NUL byte)")
    target = Path(text).expanduser().absolute()
    directory = target.parent
    if not directory.is_dir():
        raise OutputRefused(f"{directory}: 目录不存在 (no such directory for {target.name})")
    resolved = target.resolve()
    for guarded in protect:
        guarded_path = Path(guarded).expanduser().absolute()
        if resolved == guarded_path.resolve() or _same_file(target, guarded_path):
            raise OutputRefused(
                f"{target}: 这是台账数据库本身,拒绝写入 (this is the ledger's own database file)"
            )
    try:
        info = os.stat(target)
    except FileNotFoundError:
        if target.is_symlink():
            raise OutputRefused(f"{target}: 是指向不存在文件的链接 (a dangling symbolic link)") from None
        return target
    except OSError as exc:
        raise OutputRefused(f"{target}: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise OutputRefused(
            f"{target}: 不是普通文件,拒绝写入 (not a regular file: directory, device or FIFO)"
        )
    if not force:
        raise OutputRefused(f"{target}: 文件已存在,不覆盖 (exists; --force to replace it)")
    return target


def _same_file(a: Path, b: Path) -> bool:
    try:
        sa, sb = os.stat(a), os.stat(b)
    except OSError:
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


@contextmanager
def output_path(
    out: str | os.PathLike[str], *, force: bool = False, protect: Iterable[str | os.PathLike[str]] = ()
) -> Iterator[Path]:
    """A temporary path beside `out` for a writer that needs a file name (openpyxl, pg_dump); on a clean exit it
    is renamed onto `out`, on an exception removed."""
    guarded = list(protect)
    target = check_target(out, force=force, protect=guarded)
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(handle)
    part = Path(name)
    try:
        yield part
        with part.open("rb+") as fh:
            os.fsync(fh.fileno())
        _commit(part, target, force=force, protect=guarded)
    finally:
        part.unlink(missing_ok=True)


@contextmanager
def open_output(
    out: str | os.PathLike[str],
    mode: str = "w",
    *,
    force: bool = False,
    protect: Iterable[str | os.PathLike[str]] = (),
    **open_args: Any,
) -> Iterator[IO[Any]]:
    """`open(out, mode)` made safe: the handle writes a temporary file that replaces `out` on a clean exit."""
    with output_path(out, force=force, protect=protect) as part, part.open(mode, **open_args) as handle:
        yield handle
        handle.flush()


def _commit(part: Path, target: Path, *, force: bool, protect: list[str | os.PathLike[str]]) -> None:
    check_target(target, force=force, protect=protect)  # again: the name may have changed meanwhile
    if force:
        os.replace(part, target)
    else:
        try:
            os.link(part, target)  # refuses to replace a file that appeared since the check
        except FileExistsError:
            raise OutputRefused(f"{target}: 文件已存在,不覆盖 (exists; --force to replace it)") from None
        except OSError:  # a file system without hard links
            os.replace(part, target)
    with contextlib.suppress(OSError):
        directory = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
