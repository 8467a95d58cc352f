def inner(n):
    return 1 / n


def outer():
    try:
        inner(0)
    except ZeroDivisionError as exc:
        raise ValueError("wrapped") from exc


print("start", flush=True)
outer()
