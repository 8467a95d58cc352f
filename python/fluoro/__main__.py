"""The ``fluoro`` command (also ``python -m fluoro``): argument parsing and every subcommand
live in Rust; this only hands over ``sys.argv`` and exits with the code it gets back."""

import sys


def main() -> int:
    from fluoro import _native

    try:
        return _native.main(["fluoro", *sys.argv[1:]])
    except KeyboardInterrupt:
        # A ^C that reached fluoro itself, outside the target (which gets its own).
        sys.stderr.write("fluoro: interrupted\n")
        return 130
    except SystemExit:
        raise
    except BaseException as exc:  # a bug in fluoro: one line, never a traceback
        sys.stderr.write(f"fluoro: internal error: {type(exc).__name__}: {exc}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
