# asyncio driven by a JavaScript event loop, for the npm package's
# runPythonAsync. A snippet compiled with top-level await becomes the main
# task (start, called from runtime.c); the host then calls step() from its
# event loop for as long as tasks are left. Each step runs the tasks that are
# due and returns instead of blocking, saying when it wants to run again, so
# JavaScript keeps running while Python sleeps or waits for a Promise.
from asyncio import core
import host
import time

# A step runs at most this long before letting the event loop in, even if
# tasks are still ready (asyncio.sleep(0) in a loop).
SLICE_MS = 20

_main = None
_waiting = {}  # promise id -> the task parked on it
_settled = {}  # promise id -> (ok, value), until awaited
_dropped = set()  # ids whose waiting task was cancelled


class _Idle(Exception):
    pass


def start(coroutine):
    global _main
    _main = core.create_task(coroutine)


class _Parked:
    # A task's `data` while it waits for a Promise: Task.cancel() calls
    # remove() to take the task off it.
    def __init__(self, id):
        self.id = id

    def remove(self, task):
        del _waiting[self.id]
        _dropped.add(self.id)


def promise(id):
    # What a host function that returned a JavaScript Promise gives Python
    # (modhost.c): a generator, so it can be awaited and also become a task
    # (asyncio.gather, wait_for). Awaiting it parks the task until the host
    # reports the Promise settled.
    if id not in _settled:
        _waiting[id] = core.cur_task
        core.cur_task.data = _Parked(id)
        yield
    ok, value = _settled.pop(id)
    if not ok:
        raise host.HostError(value)
    return value


def step():
    # Returns [main_done, wait]: main_done once the main task has finished
    # (or there was none; if it raised, step raises that instead), and the
    # milliseconds until a task is due, -1 to wait for a Promise, or None
    # when no task is left. Tasks the main task left behind run on in later
    # steps, as they would in a running event loop.
    global _main
    for id, ok, value in host.call("__mpwasm_settled__"):
        if id in _dropped:
            _dropped.remove(id)
            continue
        _settled[id] = (ok, value)
        task = _waiting.pop(id, None)
        if task:
            task.data = None
            core._task_queue.push(task)
    main, _main = _main, None
    began = time.ticks_ms()

    # Stands in for the poller, which would block the thread for `dt` ms.
    def idle(dt):
        t = core._task_queue.peek()
        if not t:
            raise _Idle(-1)
        if dt > 0 or time.ticks_diff(time.ticks_ms(), began) > SLICE_MS:
            raise _Idle(max(dt, 0))

    queue = core._io_queue
    queue.wait_io_event = idle
    try:
        core.run_until_complete(main)
    except _Idle as e:
        _main = main
        return [main is None, e.args[0]]
    finally:
        del queue.wait_io_event
    return [True, 0 if core._task_queue.peek() else -1 if _waiting else None]
