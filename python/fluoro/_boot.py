"""Boot hook of ``fluoro run``; never imported by hand.

``fluoro_boot.pth`` (installed beside the package) imports this module during ``site`` only
when ``FLUORO_BOOT`` is in the environment, that is, only in an interpreter that ``fluoro run``
execs on its target. It removes the variable, so the target and its children do not see it,
and starts fluoro's collectors before ``__main__`` runs. A stray or stale variable (not made
for this process, or by another fluoro) is ignored: no python in its environment may fail.

With ``--subprocesses`` the variable is put back into the process's environment (not into
``os.environ``, which the target reads), marked for children: a child python with fluoro
installed, started with that environment, boots the same way and appends to the same
profile; a child made by ``os.fork()`` starts its own collectors after the fork; and a
child's ``os._exit`` (how multiprocessing's workers end) completes its part of the profile
first.
"""

import os

# Whether this interpreter has booted: ``site`` can read the same ``.pth`` twice (a venv's
# ``lib64`` link to ``lib`` makes two site directories of one), and the second reading must
# not take the variable left for children for this process's own.
_booted = False


def boot() -> None:
    global _booted
    if _booted:
        return
    _booted = True
    config = os.environ.pop("FLUORO_BOOT", None)
    if config is None or not config.isprintable():
        return  # fluoro writes one line of UTF-8 JSON: this one is not fluoro's
    try:
        from fluoro import _native

        children, child = _native._boot(config)
        if children is not None:
            # Into the process's environment, not `os.environ`: children inherit it, the
            # target does not see it.
            os.putenv("FLUORO_BOOT", children)
            # Registered where an interpreter starts: its forks, and theirs, inherit it.
            os.register_at_fork(after_in_child=_forked)
            if child:
                _complete_before_exit()
    except Exception as exc:  # never a traceback in every python of the environment
        import sys

        sys.stderr.write(f"fluoro: not profiling: {type(exc).__name__}: {exc}\n")


def _forked() -> None:
    try:
        from fluoro import _native

        if _native._forked():
            _complete_before_exit()
    except Exception:  # the child runs on, unprofiled
        pass


def _complete_before_exit() -> None:
    """Makes ``os._exit`` write this child's last records before it leaves."""
    exit_now = os._exit
    if getattr(exit_now, "__fluoro_child__", False):
        return

    def _exit(status: int, /) -> None:  # type: ignore[misc]
        try:
            from fluoro import _native

            _native._child_exit()
        except BaseException:  # noqa: BLE001 - leaving is what matters
            pass
        exit_now(status)

    _exit.__fluoro_child__ = True  # type: ignore[attr-defined]
    _exit.__wrapped__ = exit_now  # type: ignore[attr-defined]
    _exit.__name__ = exit_now.__name__
    _exit.__qualname__ = exit_now.__qualname__
    _exit.__doc__ = exit_now.__doc__
    os._exit = _exit
