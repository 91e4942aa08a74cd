"""Reading and writing one file safely: regular files only, a byte cap, atomic replacement.

``read_capped(path, limit)`` reads a regular file of at most ``limit`` bytes. Anything else is
refused before a byte is read, with a ``ValueError`` naming what it is: a directory, a FIFO
(opening one waits for a writer: forever), a character device (``/dev/zero`` reports size 0
and never ends), a socket, a symlink loop. The cap holds whatever ``st_size`` says, so a file
that grows while it is read, or a ``/proc`` file reporting size 0, stops at ``limit + 1``.

``write_atomically(path, text)`` writes ``text`` to a new file beside the target, flushes it to
disk, gives it the permissions (and, where allowed, the owner) of the file it replaces, and
renames it over the target. A symlink is written through, as editors do: the link stays a
link and the file it points to gets the new content. An interrupted save leaves the previous
file as it was.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from pathlib import Path

__all__ = ["read_capped", "write_atomically"]

_CHUNK = 1 << 20

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def _stat(path: str | os.PathLike[str], where: str) -> os.stat_result:
    try:
        return os.stat(path)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise ValueError(f"{where} is a symlink loop (too many levels of symbolic links)") from None
        raise


def _require_regular(st: os.stat_result, where: str) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"{where} is {_kind(st.st_mode)}, not a regular file")


def read_capped(path: str | os.PathLike[str], limit: int, where: str) -> bytes:
    """The bytes of the regular file at ``path``; ``ValueError`` if it is not one or holds more than ``limit``.

    ``FileNotFoundError`` and ``PermissionError`` pass through (they name the path).
    """
    st = _stat(path, where)
    _require_regular(st, where)
    if st.st_size > limit:
        raise ValueError(f"{where} is {st.st_size:,} bytes, more than the {limit:,} a model file may have")
    # O_NONBLOCK: if the path was swapped for a FIFO since the stat, opening it must not wait for a writer.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb", buffering=0) as f:
        _require_regular(os.fstat(fd), where)
        chunks, total = [], 0
        while total <= limit:
            chunk = f.read(min(_CHUNK, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    if total > limit:
        raise ValueError(f"{where} holds more than the {limit:,} bytes a model file may have "
                         f"(its size was reported as {st.st_size:,})")
    return b"".join(chunks)


def _target(path: Path, where: str) -> tuple[Path, os.stat_result | None]:
    """The file a save replaces (a symlink's final target) and its status (None if it does not exist yet)."""
    try:
        st: os.stat_result | None = _stat(path, where)
    except FileNotFoundError:
        st = None
    if st is not None:
        _require_regular(st, where)
    if path.is_symlink():
        path = Path(os.path.realpath(path))
    return path, st


def write_atomically(path: str | os.PathLike[str], text: str, where: str) -> None:
    """Write ``text`` to a new file beside the target, flush it to disk, then rename it over the target.

    Raises ``ValueError`` if the target exists and is not a regular file (a directory, a device,
    a symlink loop): replacing such a thing is never what a save means.
    """
    target, st = _target(Path(path), where)
    tmp = target.parent / f".{target.name}.{secrets.token_hex(6)}.tmp"
    # O_EXCL: never write through a file (or symlink) someone else put there. A new file gets
    # 0o666 less the umask, as any newly created file; a replaced one keeps its mode and owner.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            if st is not None:
                os.fchmod(f.fileno(), stat.S_IMODE(st.st_mode))
                if (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
                    try:
                        os.fchown(f.fileno(), st.st_uid, st.st_gid)
                    except PermissionError:
                        pass  # only root may give a file away; the new one then belongs to the saver
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
