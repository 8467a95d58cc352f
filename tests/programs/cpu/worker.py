"""A worker thread burns CPU while the main thread waits in join()."""

import threading
import time


def burn():
    end = time.perf_counter() + 1.5
    n = 0
    while time.perf_counter() < end:
        n += 1


worker = threading.Thread(target=burn, name="burner")
worker.start()
worker.join()
print("done")
