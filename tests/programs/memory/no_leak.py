"""Allocates a lot and frees all of it."""


def work():
    data = [bytearray(4096) for _ in range(10000)]
    table = {i: str(i) for i in range(100000)}
    return len(data) + len(table)


for _ in range(5):
    work()
print("ok")
