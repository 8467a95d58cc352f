"""RAW allocations: blocks from PyMem_RawMalloc made and freed with the GIL, freed by a thread
without it, made without it, zlib's state, and thread states freed after their threads let
the GIL go."""

import ctypes
import threading
import zlib

with_gil = ctypes.pythonapi  # calls hold the GIL
without_gil = ctypes.CDLL(None)  # calls release it
for api in (with_gil, without_gil):
    api.PyMem_RawMalloc.restype = ctypes.c_void_p
    api.PyMem_RawMalloc.argtypes = [ctypes.c_size_t]
    api.PyMem_RawFree.argtypes = [ctypes.c_void_p]


def raw_blocks():
    return [with_gil.PyMem_RawMalloc(1_000_000) for _ in range(10)]  # raw blocks


def outside_gil():
    return [without_gil.PyMem_RawMalloc(300_000) for _ in range(3)]  # outside


kept = raw_blocks()
freed = raw_blocks()
for block in freed:
    with_gil.PyMem_RawFree(block)
orphaned = raw_blocks()
for block in orphaned:
    without_gil.PyMem_RawFree(block)
outside = outside_gil()
for _ in range(20):
    zlib.compress(b"fluoro" * 100)  # zlib state
threads = [threading.Thread(target=int) for _ in range(200)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("done")
