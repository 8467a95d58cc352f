import sys

print("pkg main", __name__, __package__, __spec__.name, sys.argv[1:])
if "--fail" in sys.argv:
    raise LookupError("from -m")
