import os
import sys

from burn import work

print("child", work(int(sys.argv[1])), "FLUORO_BOOT" in os.environ)
