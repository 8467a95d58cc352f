import warnings

warnings.warn("module-level warning")


def f():
    warnings.warn("in a function", DeprecationWarning, stacklevel=1)


warnings.simplefilter("always")
f()
