// Programs offered in the page's Examples menu: each shows one thing the
// playground does.
export const EXAMPLES = [
  {
    name: "Hello",
    code: `# Edit this program and press Run (Ctrl+Enter).
import sys

name = "world"
print(f"Hello, {name}!")
major, minor, micro = sys.implementation.version[:3]
print(f"MicroPython {major}.{minor}.{micro} on {sys.platform}")
`,
  },
  {
    name: "Functions and loops",
    code: `def fib(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


for n in range(0, 101, 10):
    print(f"fib({n:3}) = {fib(n)}")
`,
  },
  {
    name: "Words in a text",
    code: `text = """The quick brown fox jumps over the lazy dog.
The dog sleeps; the fox runs on."""

counts = {}
for word in text.lower().replace(".", " ").replace(";", " ").split():
    counts[word] = counts.get(word, 0) + 1

for word, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:5]:
    print(f"{word:>6} {'#' * n}")
`,
  },
  {
    name: "Ask for input",
    code: `# input() waits for a line typed into the output pane.
name = input("What is your name? ")
age = int(input("How old are you? "))
print(f"Hello {name}, in ten years you will be {age + 10}.")
`,
  },
  {
    name: "Countdown (time.sleep)",
    code: `import time

# Output appears as it is printed, not only at the end.
for n in range(5, 0, -1):
    print(n, "...")
    time.sleep(0.5)
print("Lift-off!")
`,
  },
  {
    name: "asyncio tasks",
    code: `import asyncio


async def worker(name, delay, steps):
    for step in range(1, steps + 1):
        await asyncio.sleep(delay)
        print(f"{name}: step {step}")
    return name


async def main():
    done = await asyncio.gather(worker("fast", 0.1, 4), worker("slow", 0.25, 2))
    print("finished:", done)


asyncio.run(main())
`,
  },
  {
    name: "A traceback",
    code: `def average(values):
    return sum(values) / len(values)


print(average([3, 4, 5]))
print(average([]))  # the failing line is marked in the editor
`,
  },
  {
    name: "Runaway loop (press Stop)",
    code: `# This never ends: press Stop, or wait for the time limit.
n = 0
while True:
    n += 1
`,
  },
];
