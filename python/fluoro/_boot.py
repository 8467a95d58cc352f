"""Boot hook of ``fluoro run``; never imported by hand.

``fluoro_boot.pth`` (installed beside the package) imports this module during ``site`` only
when ``FLUORO_BOOT`` is in the environment, that is, only in an interpreter that ``fluoro run``
execs on its target. It removes the variable, so the target and its children do not see it,
and starts fluoro's collectors before ``__main__`` runs.
"""

import os


def boot() -> None:
    config = os.environ.pop("FLUORO_BOOT", None)
    if config is None:
        return
    from fluoro import _native

    _native._boot(config)
