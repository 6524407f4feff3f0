"""A time and memory budget for each problem (SPEC §6): a problem that runs too long or asks
for too much memory becomes an error entry, and the rest of the batch is still solved.

The guarantee must hold for code that does not exist yet (a new kind, a slow corner of sympy,
a C routine that never checks for signals), so the work runs in a forked worker process, not
under a timer in this one:

- the worker gets an address-space limit (what it has when forked plus the memory budget),
  so an allocation past the budget fails inside the worker — as a MemoryError the problem
  reports, or by ending the worker;
- this process waits for each answer at most the time budget; past it, it kills the worker,
  records the problem as over the limit, and forks a fresh worker for the problems after it.

Answers come back pickled. Worker and parent run the same program, so functions that cannot
be pickled by name (a figure's drawing closure, a formula function a kind defined while
solving) travel as their compiled code. Registries the work may add to (the formula
functions) are named by the caller, and what a worker adds to them is carried back. Without
`fork` (Windows), or when the budget is off, the work runs here, unguarded.
"""

from __future__ import annotations

import builtins
import faulthandler
import gc
import importlib
import io
import marshal
import os
import pickle
import select
import signal
import struct
import sys
import time
import types
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_TIME_LIMIT = 20.0  # seconds per problem; the slowest honest exercise takes well under 2 s
DEFAULT_MEMORY_LIMIT_MB = 2048  # beyond what the worker already holds when it starts


@dataclass(frozen=True)
class Limits:
    """The budget of one problem: wall-clock seconds and megabytes of new memory."""

    seconds: float = DEFAULT_TIME_LIMIT
    memory_mb: int = DEFAULT_MEMORY_LIMIT_MB


@dataclass(frozen=True)
class OverBudget:
    """Stands in for the result of an item that broke its budget."""

    reason: str  # "time", "memory", or "error" (the work raised: a bug, not the input's fault)
    message: str


_HEADER = struct.Struct("!Q")
# Modules earlier workers imported (sympy, NumPy, a kind's modules): imported here before the
# next fork, so that each worker does not import them again (a second or more for sympy).
_TO_IMPORT: set[str] = set()


def _import_what_workers_imported() -> None:
    for name in sorted(_TO_IMPORT - set(sys.modules), key=lambda name: name.count(".")):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - an optional speed-up: the worker imports it itself
            pass
    _TO_IMPORT.clear()


_UNSENDABLE = object()  # the worker's answer could not be pickled


def run_within(limits: Limits | None, items: Sequence[T], work: Callable[[T], R],
               registries: Sequence[dict] = ()) -> Iterator[R | OverBudget]:
    """`work(item)` for each item, in order, each within `limits`; an item over its budget
    yields an OverBudget instead of a result. Entries a worker adds to one of `registries`
    (module-level dicts that results refer to by key) are added here too."""
    if limits is None or not hasattr(os, "fork") or not items:
        for item in items:
            yield work(item)
        return
    start = 0
    while start < len(items):
        worker = _Worker(items, start, work, limits, registries)
        try:
            for index in range(start, len(items)):
                outcome = worker.next_result(limits.seconds)
                if outcome is _UNSENDABLE:  # finished within its budget, so safe to redo here
                    outcome = work(items[index])
                if isinstance(outcome, OverBudget):
                    start = index + 1
                    yield outcome
                    break
                yield outcome
            else:
                start = len(items)
        finally:
            worker.stop()


class _Worker:
    """A forked copy of this process that works through items[start:] and sends each result
    back as one length-prefixed pickle."""

    def __init__(self, items: Sequence, start: int, work: Callable, limits: Limits,
                 registries: Sequence[dict]) -> None:
        read_end, write_end = os.pipe()
        _import_what_workers_imported()
        sys.stdout.flush()
        sys.stderr.flush()
        # The objects that exist now are left out of the worker's garbage collections: a
        # collection writes to every object it visits, and each write copies a memory page
        # the worker shares with this process.
        gc.freeze()
        pid = os.fork()
        if pid == 0:  # the worker: never returns
            os.close(read_end)
            _serve(items, start, work, limits, registries, write_end)
        gc.unfreeze()
        os.close(write_end)
        self.pid = pid
        self.registries = registries
        self.descriptor = read_end
        self.buffer = bytearray()
        self.ended = False

    def next_result(self, seconds: float):
        deadline = time.monotonic() + seconds
        header = self._read(_HEADER.size, deadline)
        if header is None:
            return self._failure(seconds)
        (length,) = _HEADER.unpack(header)
        payload = self._read(length, deadline + seconds)  # a large answer may take a moment to arrive
        if payload is None:
            return self._failure(seconds)
        names = self._read(_HEADER.size, deadline + seconds)
        names = names and self._read(_HEADER.unpack(names)[0], deadline + seconds)
        if names is None:
            return self._failure(seconds)
        _TO_IMPORT.update(_loads(names))
        kind, value, added = _loads(payload)
        for registry, entries in zip(self.registries, added):
            for key, entry in entries.items():
                registry.setdefault(key, entry)
        if kind in ("memory", "error"):
            return OverBudget(kind, value)
        if kind == "unsendable":
            return _UNSENDABLE
        return value

    def _read(self, size: int, deadline: float) -> bytes | None:
        """`size` bytes, or None when the worker ended or the deadline passed."""
        while len(self.buffer) < size:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.descriptor], [], [], left)
            if not ready:
                return None
            chunk = os.read(self.descriptor, max(1 << 16, size - len(self.buffer)))
            if not chunk:  # the worker ended (killed for memory, or crashed)
                self.ended = True
                return None
            self.buffer += chunk
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    def _failure(self, seconds: float) -> OverBudget:
        if not self.ended:
            self._kill()
            return OverBudget("time", f"the problem took longer than its time limit of {seconds:g} s "
                                      "(--time-limit)")
        status = self._reap()
        if status is not None and os.WIFSIGNALED(status):
            return OverBudget("memory", "the worker solving the problem ended with signal "
                                        f"{os.WTERMSIG(status)}, most likely out of its memory budget")
        return OverBudget("memory", "the problem exceeded its memory budget")

    def _reap(self) -> int | None:
        """Wait for the worker to end; its exit status."""
        pid, self.pid = self.pid, None
        try:
            return os.waitpid(pid, 0)[1]
        except ChildProcessError:
            return None

    def _kill(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self._reap()

    def stop(self) -> None:
        os.close(self.descriptor)
        if self.pid is not None:
            self._kill()


def _serve(items: Sequence, start: int, work: Callable, limits: Limits, registries: Sequence[dict],
           descriptor: int) -> None:
    """The worker's life: limits on, each item worked and sent, then a hard exit (no clean-up
    of the parent's state, which is the parent's to do)."""
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C reaches the parent, which ends us
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        faulthandler.disable()  # a crash here is reported by the parent, as one message
        _limit_memory(limits.memory_mb)
        known = [set(registry) for registry in registries]
        imported = set(sys.modules)
        with os.fdopen(descriptor, "wb", buffering=0) as pipe:
            for item in items[start:]:
                try:
                    value = work(item)
                    # Registries only grow: unchanged sizes mean nothing new (the common case).
                    added = [{key: registry[key] for key in registry if key not in seen}
                             if len(registry) != len(seen) else {}
                             for registry, seen in zip(registries, known)]
                    try:
                        payload = _dumps(("result", value, added))
                    except (RecursionError, pickle.PicklingError, TypeError, AttributeError) as exc:
                        # It was done within budget but cannot travel: the parent redoes it.
                        payload = _dumps(("unsendable", f"{type(exc).__name__}: {exc}", []))
                    for registry, seen in zip(registries, known):
                        seen.update(registry)
                except MemoryError:
                    payload = _dumps(("memory", "the problem exceeded its memory budget of "
                                                f"{limits.memory_mb} MB (--memory-limit)", []))
                except Exception as exc:  # noqa: BLE001 - a bug: reported for this item, the rest go on
                    payload = _dumps(("error", f"{type(exc).__name__}: {exc}", []))
                news = [name for name in sys.modules if name not in imported] \
                    if len(sys.modules) != len(imported) else []
                imported.update(news)
                names = _dumps(news)
                pipe.write(_HEADER.pack(len(payload)) + payload + _HEADER.pack(len(names)) + names)
    except BrokenPipeError:  # the parent stopped listening
        code = 0
    except BaseException:  # noqa: BLE001 - nothing may escape a forked child into the parent's code
        code = 70
    finally:
        os._exit(code)


# Worked answers can nest deeply (a total summed over a hundred layers is a formula tree that
# deep), and pickling recurses once per level: both ends allow this many levels.
PICKLE_DEPTH = 20_000


def _dumps(value) -> bytes:
    buffer = io.BytesIO()
    with _recursion_limit(PICKLE_DEPTH):
        _CodePickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return buffer.getvalue()


def _loads(payload: bytes):
    with _recursion_limit(PICKLE_DEPTH):
        return pickle.loads(payload)


@contextmanager
def _recursion_limit(depth: int):
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous, depth))
    try:
        yield
    finally:
        sys.setrecursionlimit(previous)


# Types pickled the usual way, answered at once: this hook runs for every object of an answer.
_PLAIN_TYPES = frozenset({tuple, list, dict, set, frozenset, str, bytes, int, float, bool, type(None)})


class _CodePickler(pickle.Pickler):
    """Pickles a function that has no importable name (a closure, a lambda) as its code, module
    and closure values; the parent, being the same program, rebuilds it."""

    def reducer_override(self, obj):
        if type(obj) in _PLAIN_TYPES:  # most of an answer: containers and the formula tree
            return NotImplemented
        if isinstance(obj, types.ModuleType):
            return importlib.import_module, (obj.__name__,)
        sympy = sys.modules.get("sympy")
        if sympy is not None and isinstance(obj, sympy.Basic) and obj.args and not obj.is_Atom:
            # sympy's own pickling rebuilds with evaluation on, which would reorder or expand
            # the unevaluated forms the worked steps are written in.
            return _rebuild_unevaluated, (obj.func, obj.args)
        if type(obj) is not types.FunctionType or _importable(obj):
            return NotImplemented
        cells = []
        for cell in obj.__closure__ or ():
            try:
                cells.append((True, cell.cell_contents))
            except ValueError:  # a cell not filled yet
                cells.append((False, None))
        module = sys.modules.get(obj.__module__) if obj.__module__ else None
        if module is not None and obj.__globals__ is module.__dict__:
            namespace = obj.__module__
        else:  # generated code (sympy's lambdify) has a namespace of its own: send what it uses
            names = _global_names(obj.__code__)
            namespace = {name: obj.__globals__[name] for name in names if name in obj.__globals__
                         and name != "__builtins__"}
        return _rebuild_function, (marshal.dumps(obj.__code__), namespace, obj.__name__,
                                   obj.__qualname__, obj.__defaults__, obj.__kwdefaults__, tuple(cells))


def _global_names(code) -> set[str]:
    names = set(code.co_names)
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            names |= _global_names(constant)
    return names


def _importable(function) -> bool:
    target = sys.modules.get(function.__module__)
    for part in function.__qualname__.split("."):
        target = getattr(target, part, None)
    return target is function


def _rebuild_unevaluated(func, args):
    from sympy.core.parameters import evaluate

    with evaluate(False):
        return func(*args)


def _rebuild_function(code, namespace, name, qualname, defaults, kwdefaults, cells):
    if isinstance(namespace, str):
        namespace = importlib.import_module(namespace).__dict__
    else:
        namespace = {"__builtins__": builtins, **namespace}
    closure = tuple(types.CellType(value) if filled else types.CellType() for filled, value in cells)
    function = types.FunctionType(marshal.loads(code), namespace, name, defaults, closure or None)
    function.__kwdefaults__ = kwdefaults
    function.__qualname__ = qualname
    return function


def _limit_memory(megabytes: int) -> None:
    """Cap the worker's address space at what it holds now plus the budget (Linux: RLIMIT_AS)."""
    try:
        import resource
    except ImportError:  # not on this platform
        return
    current = _address_space_bytes()
    if current is None:
        return
    limit = current + megabytes * 1024 * 1024
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ValueError, OSError):
        pass


def _address_space_bytes() -> int | None:
    try:
        with open("/proc/self/statm") as handle:
            pages = int(handle.read().split()[0])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def describe(limits: Limits) -> str:
    return f"{limits.seconds:g} s and {limits.memory_mb} MB per problem"


def is_over_budget(value: Any) -> bool:
    return isinstance(value, OverBudget)
