import threading
import time


def worker(n):
    time.sleep(0.2 * (n + 1))
    print("worker", n, "done", flush=True)


for i in range(3):
    threading.Thread(target=worker, args=(i,)).start()
daemon = threading.Thread(target=time.sleep, args=(60,), daemon=True)
daemon.start()
print("main done", threading.main_thread().name, flush=True)
