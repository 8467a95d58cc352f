"""Children that end without their atexit: one killed by SIGKILL, one through os._exit."""

import os
import signal
import time


def burn(seconds):
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


pid = os.fork()
if pid == 0:
    burn(0.4)
    os._exit(3)
_, status = os.waitpid(pid, 0)
print("exit", os.waitstatus_to_exitcode(status))
pid = os.fork()
if pid == 0:
    burn(0.4)
    os.kill(os.getpid(), signal.SIGKILL)
_, status = os.waitpid(pid, 0)
print("killed", os.waitstatus_to_exitcode(status))
burn(0.2)
