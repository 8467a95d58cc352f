"""Forks from __main__, where CPython 3.12+ shows its warning about forking a multi-threaded
process: run alone, this process has one thread, and must be seen to have one."""

import os
import sys

sys.stdout.flush()
pid = os.fork()
if pid == 0:
    print("child")
    sys.stdout.flush()
    os._exit(7)
_, status = os.waitpid(pid, 0)
print("parent saw", os.waitstatus_to_exitcode(status))
