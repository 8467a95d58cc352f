import atexit
import sys
import threading
import time


def late():
    time.sleep(0.05)
    print("thread finished", flush=True)


atexit.register(lambda: print("atexit 1"))
atexit.register(lambda: print("atexit 2"))
threading.Thread(target=late).start()


class Noisy:
    def __del__(self):
        print("__del__ at shutdown")


keep = Noisy()
print("main end")
sys.exit("exiting with a message")
