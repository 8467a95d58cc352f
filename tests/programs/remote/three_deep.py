"""Sleeps three calls deep in the main thread while a thread named "spinner" spins, until
killed; prints "ready" once both are in place."""

import threading
import time


def innermost():
    time.sleep(600)  # marker: sleep


def middle():
    innermost()  # marker: middle


def outer():
    middle()  # marker: outer


def spin():
    x = 0
    while True:  # marker: loop
        x += 1  # marker: spin


threading.Thread(target=spin, name="spinner", daemon=True).start()
print("ready", flush=True)
outer()  # marker: module
