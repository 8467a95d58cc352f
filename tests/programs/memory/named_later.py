"""Threads that live long enough for fluoro to name them, taking the GIL from its own thread,
while they allocate nothing outside the GIL."""

import threading
import time

threads = [threading.Thread(target=time.sleep, args=(0.8,), name=f"sleeper-{i}") for i in range(3)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("done")
