"""Atomic writes: a temporary file in the target's folder, renamed over the target when complete.

A crash or a full disk never leaves half a file; an existing file keeps its permissions and a
new one gets what an ordinary write would give. Missing folders are an error, not created:
a mistyped path should not make directories.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from convtui.errors import ConvtuiError


def file_mode(target: Path) -> int:
    """Keep an existing file's permissions; a new file gets 0666 less the umask."""
    if target.exists():
        return stat.S_IMODE(target.stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def unwritable(target: Path, error: OSError, error_type: type[ConvtuiError]) -> ConvtuiError:
    if target.parent.exists() and not target.parent.is_dir():
        return error_type(f"cannot be written: {target.parent} is a file, not a folder; choose another path", file=str(target))
    if not target.parent.exists():
        return error_type(f"the folder {target.parent} does not exist; create it first or choose another path", file=str(target))
    if target.is_dir():
        return error_type("is a folder; give a file name", file=str(target))
    return error_type(f"cannot be written ({error.strerror or error}); choose another path", file=str(target))


def check_writable_place(path: str | os.PathLike[str], option: str, kind: str = "a file") -> None:
    """Refuse, before any work, a path that names a folder or whose folder does not exist (`option` names the flag to
    change, `kind` what it should name)."""
    target = Path(path)
    if target.is_dir():
        raise ConvtuiError(f"is a folder; give the path of {kind} to write with {option}", file=str(target))
    if not target.parent.is_dir():
        raise ConvtuiError(f"the folder {target.parent} does not exist; create it first or choose another {option} path", file=str(target))


@contextmanager
def atomic_file(path: str | os.PathLike[str], error_type: type[ConvtuiError] = ConvtuiError) -> Iterator[BinaryIO]:
    """`with atomic_file(path) as file: file.write(...)`: the target appears only when the block succeeds."""
    target = Path(path)
    temporary: str | None = None
    try:
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        os.chmod(temporary, file_mode(target))
        with os.fdopen(handle, "wb") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
        temporary = None
    except OSError as error:
        raise unwritable(target, error, error_type) from None
    finally:
        if temporary is not None and os.path.exists(temporary):
            os.unlink(temporary)


def write_text_atomically(path: str | os.PathLike[str], text: str, error_type: type[ConvtuiError] = ConvtuiError) -> Path:
    with atomic_file(path, error_type) as file:
        file.write(text.encode("utf-8"))
    return Path(path)
