"""Two threads take two locks in opposite orders and wait for each other for ever; prints
"ready" once both hold their first lock."""

import threading

first, second = threading.Lock(), threading.Lock()
both_hold_one = threading.Barrier(3)


def forwards():
    with first:
        both_hold_one.wait()
        with second:  # marker: forwards waits
            pass


def backwards():
    with second:
        both_hold_one.wait()
        with first:  # marker: backwards waits
            pass


threads = [threading.Thread(target=f, daemon=True) for f in (forwards, backwards)]
for t in threads:
    t.start()
both_hold_one.wait()
print("ready", flush=True)
for t in threads:
    t.join()  # marker: join
