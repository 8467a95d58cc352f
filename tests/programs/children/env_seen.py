"""What a child sees of fluoro: its environment, and whether fluoro runs in it."""

import os
import subprocess
import sys

code = "import os, sys; print('FLUORO_BOOT' in os.environ, 'fluoro._native' in sys.modules)"
print("parent", "FLUORO_BOOT" in os.environ)
print("child", subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip())
