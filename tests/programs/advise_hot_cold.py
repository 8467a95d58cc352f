"""A hot anti-pattern (list membership in a long loop) and a cold one (a short string build)."""


def hot(n):
    allowed = list(range(500))
    hits = 0
    for i in range(n):
        if i % 1000 in allowed:
            hits += 1
    return hits


def cold(words):
    out = ""
    for w in words:
        out += w
    return out


if __name__ == "__main__":
    print(hot(60_000), cold(["a", "b", "c"]))
