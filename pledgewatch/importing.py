"""What a process pays at start for its imports: one module of a package without the package's
``__init__``, and the imported objects kept out of the garbage collector's reach.

Some packages import everything they have on ``import package``: datasketch brings SciPy and the
Redis client along with the MinHash class that the store needs (0.6 s and 60 MB in every store
process), courlan brings urllib3, babel and its network code along with the one pattern of
tracking parameters that URL canonicalisation needs (~50 ms of every command's start). Those
processes import the module alone; whatever imports the package later still gets all of it.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import importlib.util
import sys
import threading
import types

_lock = threading.Lock()


def submodule_alone(name: str) -> types.ModuleType:
    """The module ``name`` ("package.module"), imported under a stand-in for its package.

    The stand-in and every module imported under it leave ``sys.modules`` again at once: a later
    ``import package`` runs the real package from the start, consistently (its modules are then
    copies of the ones returned here; they hold classes and patterns, not state). One lock: two
    threads taking their first import at the same moment must not find the stand-in where the
    package should be. A package that is imported already, or is not a regular package, is used
    as it is.
    """
    package = name.partition(".")[0]
    with _lock:
        spec = None if package in sys.modules else importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            return importlib.import_module(name)
        stand_in = types.ModuleType(package)
        stand_in.__path__ = list(spec.submodule_search_locations)
        before = set(sys.modules)
        sys.modules[package] = stand_in
        try:
            return importlib.import_module(name)
        finally:
            for loaded in set(sys.modules) - before:
                if loaded == package or loaded.startswith(package + "."):
                    del sys.modules[loaded]


def spare_the_collector() -> None:
    """Keep the cyclic garbage collector off the objects that live as long as the process.

    The modules a command imports (Scrapy, SQLAlchemy, the publishers: about a million objects)
    are never garbage, yet every full collection walks them all, and the interpreter's exit walks
    them again: 0.4 s of the 1.5 s that an unchanged crawl, the daemon's usual run, cost (issue 15).
    They are frozen (``gc.freeze``) once imported, and again at exit, after every other exit
    handler; what is created later is collected as usual. Called by the CLI and by the daemon's
    crawl process.
    """
    gc.freeze()
    atexit.register(gc.freeze)  # registered before the command's own handlers, so it runs last
