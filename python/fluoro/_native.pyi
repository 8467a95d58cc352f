"""Type stubs for fluoro's Rust extension."""

__version__: str

def main(argv: list[str]) -> int:
    """Run the ``fluoro`` command line; returns the exit code."""

def sizeof(obj: object, deep: bool = False, include_cached: bool = False) -> int:
    """``sys.getsizeof(obj)``; with ``deep=True`` the bytes of everything ``obj`` owns."""

def inspect(obj: object, include_cached: bool = False) -> dict:
    """The object report of ``fluoro inspect``."""

def env() -> dict:
    """The interpreter's state (``fluoro env --json``)."""
