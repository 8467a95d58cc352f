import asyncio


async def tick(name, n):
    for i in range(n):
        await asyncio.sleep(0.001)
    return f"{name}:{n}"


async def main():
    print(await asyncio.gather(tick("a", 3), tick("b", 5)))
    loop = asyncio.get_running_loop()
    print(await loop.run_in_executor(None, sum, [1, 2, 3]))


asyncio.run(main())
