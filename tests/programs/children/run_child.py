"""subprocess.run of another Python program, which does the work."""

import pathlib
import subprocess
import sys

child = pathlib.Path(__file__).with_name("child.py")
done = subprocess.run([sys.executable, child, "2400"], capture_output=True, text=True)
print(done.stdout.strip(), done.returncode)
