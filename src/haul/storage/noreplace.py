"""A local rename that never replaces an existing file, in one atomic step.

``os.replace`` overwrites; checking first leaves a window in which another
writer's file can appear and be overwritten. Linux's ``renameat2`` with
``RENAME_NOREPLACE`` refuses an existing target inside the kernel (one system
call); Python's ``os`` has no binding, so it is called through ctypes. Where
the C library or the file system lacks it, ``link`` then ``unlink`` gives the
same guarantee (``link`` fails with EEXIST atomically) at the cost of a second
call; only a file system without hard links falls back to check-then-rename.
"""

from __future__ import annotations

import ctypes
import errno
import os

_AT_FDCWD = -100
_RENAME_NOREPLACE = 1
# errnos meaning "this way is not available here", not "the rename is wrong"
_UNSUPPORTED = {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP}


def _renameat2() -> object | None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    fn = getattr(libc, "renameat2", None)
    if fn is None:
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


_RENAMEAT2 = _renameat2()


def rename_noreplace(src: str, dst: str) -> None:
    """Renames `src` to `dst`; raises FileExistsError, leaving both alone, if `dst` exists."""
    if _RENAMEAT2 is not None:
        if (
            _RENAMEAT2(_AT_FDCWD, os.fsencode(src), _AT_FDCWD, os.fsencode(dst), _RENAME_NOREPLACE)
            == 0
        ):  # type: ignore[operator]
            return
        err = ctypes.get_errno()
        if err not in _UNSUPPORTED:
            raise OSError(err, os.strerror(err), src, None, dst)
    try:
        os.link(src, dst, follow_symlinks=False)
    except OSError as exc:
        if exc.errno not in (*_UNSUPPORTED, errno.EPERM):
            raise
        if os.path.lexists(dst):  # no hard links here: the check-then-rename fallback
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), dst) from exc
        os.rename(src, dst)
        return
    os.unlink(src)
