import os
import sys

print("buffered line is lost by os._exit unless flushed", flush=True)
sys.stderr.write("err\n")
os._exit(7)
