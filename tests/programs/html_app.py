"""A program for the HTML report's browser tests: two CPU phases one after the other, a
worker thread, allocations kept to the end, collections, and a function whose name and file
are hostile to HTML (made with compile and code.replace, as generated code can be)."""

import gc
import sys
import threading
import time

KEPT = []

HOSTILE_NAME = "</script><img src=x onerror=\"window.__pwned=1\">"
HOSTILE_FILE = "/tmp/it's \"quoted\" <here>.py"


def spin(seconds):
    end = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


def first_phase():
    return spin(0.6)


def keep_buffers():
    for _ in range(300):
        KEPT.append(bytearray(20_000))
        spin(0.001)


def second_phase():
    keep_buffers()
    return spin(0.3)


def background():
    spin(0.4)


namespace = {"spin": spin}
exec(compile("def hostile():\n    return spin(0.3)\n", HOSTILE_FILE, "exec"), namespace)
plain = namespace["hostile"]
names = {"co_name": HOSTILE_NAME}
if sys.version_info >= (3, 11):
    names["co_qualname"] = HOSTILE_NAME
hostile = type(plain)(plain.__code__.replace(**names), namespace)

first_phase()
worker = threading.Thread(target=background, name="background-worker")
worker.start()
second_phase()
gc.collect()
hostile()
worker.join()
