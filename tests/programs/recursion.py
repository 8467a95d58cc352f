import sys


def down(n):
    return down(n + 1)


sys.setrecursionlimit(200)
down(0)
