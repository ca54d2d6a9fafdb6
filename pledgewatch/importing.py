"""One module of a third-party package, imported without the package's ``__init__``.

Some packages import everything they have on ``import package``: datasketch brings SciPy and the
Redis client along with the MinHash class that the store needs (0.6 s and 60 MB in every store
process), courlan brings urllib3, babel and its network code along with the one pattern of
tracking parameters that URL canonicalisation needs (~50 ms of every command's start). Those
processes import the module alone; whatever imports the package later still gets all of it.
"""

from __future__ import annotations

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
