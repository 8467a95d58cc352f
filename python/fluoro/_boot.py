"""Boot hook of ``fluoro run``; never imported by hand.

``fluoro_boot.pth`` (installed beside the package) imports this module during ``site`` only
when ``FLUORO_BOOT`` is in the environment, that is, only in an interpreter that ``fluoro run``
execs on its target. It removes the variable, so the target and its children do not see it,
and starts fluoro's collectors before ``__main__`` runs. A stray or stale variable (not made
for this process, or by another fluoro) is ignored: no python in its environment may fail.
"""

import os


def boot() -> None:
    config = os.environ.pop("FLUORO_BOOT", None)
    if config is None or not config.isprintable():
        return  # fluoro writes one line of UTF-8 JSON: this one is not fluoro's
    try:
        from fluoro import _native

        _native._boot(config)
    except Exception as exc:  # never a traceback in every python of the environment
        import sys

        sys.stderr.write(f"fluoro: not profiling: {type(exc).__name__}: {exc}\n")
