"""Prints what a script can see of how it was started."""

import sys

import __main__

print("argv", sys.argv)
print("path0", sys.path[0])
print("name", __name__, "file", __file__)
print("main", sys.modules["__main__"] is __main__, type(__loader__).__name__, __spec__, __package__)
print("cached", __cached__, "keys", sorted(k for k in globals() if k.startswith("__")))
print("builtins", type(__builtins__).__name__)
print("sys.path", sys.path)
import os

print("environ", sorted(k for k in os.environ if "PYTHON" in k or "FLUORO" in k))
print("PYTHONPATH", os.environ.get("PYTHONPATH"))
print("sitecustomize", "sitecustomize" in sys.modules)
print("f_back", sys._getframe().f_back)
print("orig_argv", sys.orig_argv[1:] if hasattr(sys, "orig_argv") else None)


def depth(n=0):
    try:
        return depth(n + 1)
    except RecursionError:
        return n


print("recursion depth", depth())
import builtins

print("site mark", getattr(builtins, "SITE_MARK", None))
