"""A producer compresses blocks and hands them over through a condition variable; a consumer
waits for them and checksums them; the main thread waits in join(). Each thread writes the CPU
it used (time.thread_time) to the file named by FLUORO_TEST_CPU_OUT, by thread name."""

import hashlib
import json
import os
import random
import threading
import time
import zlib

cpu = {}
blocks = []
ready = threading.Condition()
DATA = random.Random(1).randbytes(1 << 20)


def compress_blocks():
    for i in range(40):
        block = zlib.compress(DATA[i:] + DATA[:i], 6)
        with ready:
            blocks.append(block)
            ready.notify()
        time.sleep(0.01)
    with ready:
        blocks.append(None)
        ready.notify()
    cpu["producer"] = time.thread_time()


def checksum_blocks():
    total = 0
    while True:
        with ready:
            while not blocks:
                ready.wait()
            block = blocks.pop(0)
        if block is None:
            break
        for _ in range(3):
            total ^= int.from_bytes(hashlib.sha256(block + DATA).digest()[:4], "little")
    cpu["consumer"] = time.thread_time()


threads = [
    threading.Thread(target=compress_blocks, name="producer"),
    threading.Thread(target=checksum_blocks, name="consumer"),
]
for t in threads:
    t.start()
for t in threads:
    t.join()
with open(os.environ["FLUORO_TEST_CPU_OUT"], "w") as out:
    json.dump(cpu, out)
print("done")
