# This folder keeps the design card's name although the standard library has a module `platform`
# that uuid, redis, celery and daphne import at start-up. Executing the standard module's own code
# here first makes this package *be* that module (system(), uname(), ...) plus our submodules.
import importlib.machinery as _machinery
import os as _os
import sys as _sys

_root = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
_search = [p for p in _sys.path if _os.path.abspath(p or _os.curdir) != _root]
_spec = _machinery.PathFinder.find_spec("platform", _search)
if _spec is None or _spec.loader is None:  # pragma: no cover - a broken interpreter install
    raise ImportError("the standard library module 'platform' was not found")
exec(_spec.loader.get_code("platform"), globals())  # noqa: S102
del _machinery, _os, _sys, _root, _search, _spec
