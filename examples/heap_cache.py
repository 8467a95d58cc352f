"""A cache that only grows: try `fluoro run --heap-at-exit examples/heap_cache.py`, then
`fluoro heap summary`, `fluoro heap path FILE --type Session` and `fluoro heap dominators`."""


class Session:
    def __init__(self, user, payload):
        self.user = user
        self.payload = payload
        self.history = []


class Cache:
    def __init__(self):
        self.sessions = {}

    def get(self, user):
        if user not in self.sessions:
            self.sessions[user] = Session(user, "x" * 200)
        return self.sessions[user]


CACHE = Cache()

for i in range(20_000):
    CACHE.get(f"user-{i}").history.append(i)
