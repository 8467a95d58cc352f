import sys

sys.path.insert(0, sys.path[0] + "/pkg")
import broken  # noqa: F401  (a module with a syntax error: the target's own exception)
