"""moto whose ListObjectVersions answers a folder prefix from an index, as real S3 does.

Load and sweep benchmarks run S3 on moto. Stock moto (5.x) deep-copies every version of every key in the
bucket on each ListObjectVersions, so one purge's listing costs O(bucket) and a benchmark that stores
while it purges measures moto's growth, not the service's (measured on the load mix: a fulfilment's
purge took 224 ms with 300 orders in the bucket and 851 ms with 1,800 on stock moto; 84 and 67 ms with
this patch). Real S3 lists a prefix by index.

    patch_moto()                                                   # in a process that hosts moto
    python benchmarks/moto_indexed.py -H 127.0.0.1 -p PORT          # moto_server, patched
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["patch_moto"]


def patch_moto() -> None:
    """Stock moto (5.x) deep-copies every version of every key in the bucket on each ListObjectVersions,
    so each call costs O(bucket) and a sweep over N orders costs O(N^2) inside moto — it would measure
    moto, not the sweep (real S3 lists a prefix by index). The patch keeps, per bucket key store, the
    keys under each folder ("a/", "a/b/", ...) and hands moto only those; the answer is the same.
    """
    import threading

    from moto.s3 import models, utils

    store = utils._VersionedKeyStore
    local = threading.local()
    lock = threading.Lock()

    def folders(key: str) -> Any:
        parts = key.split("/")
        return ("/".join(parts[:i]) + "/" for i in range(1, len(parts)))

    def index(self: Any) -> dict[str, set[str]]:
        idx = self.__dict__.get("_folder_index")
        if idx is None:
            idx = self.__dict__["_folder_index"] = {}
            for key in dict.keys(self):
                for f in folders(key):
                    idx.setdefault(f, set()).add(key)
        return idx  # type: ignore[no-any-return]

    def indexing(original: Any, *, add: bool) -> Any:
        """Wrap a key-store mutator so the folder index follows it (add on set, discard on removal)."""

        def wrapper(self: Any, key: str, *args: Any) -> Any:
            result = original(self, key, *args)
            with lock:
                for f in folders(key):
                    keys = index(self).setdefault(f, set())
                    keys.add(key) if add else keys.discard(key)
            return result

        return wrapper

    store.__setitem__ = indexing(store.__setitem__, add=True)  # type: ignore[method-assign]
    store.setlist = indexing(store.setlist, add=True)  # type: ignore[method-assign]
    store.pop = indexing(store.pop, add=False)  # type: ignore[method-assign]
    store.__delitem__ = indexing(store.__delitem__, add=False)  # type: ignore[method-assign]

    def iterlists(self: Any) -> Any:
        prefix = getattr(local, "prefix", None)
        if prefix and prefix.endswith("/"):
            with lock:
                keys = sorted(index(self).get(prefix, ()))
        else:
            keys = [k for k in list(dict.keys(self)) if prefix is None or k.startswith(prefix)]
        for key in keys:
            versions = self.getlist(key)
            if versions is not None:
                yield key, versions

    original = models.S3Backend.list_object_versions

    def list_object_versions(self: Any, bucket_name: str, *args: Any, **kwargs: Any) -> Any:
        local.prefix = kwargs.get("prefix") or None
        try:
            return original(self, bucket_name, *args, **kwargs)
        finally:
            local.prefix = None

    store.iterlists = store.lists = iterlists  # type: ignore[method-assign]
    models.S3Backend.list_object_versions = list_object_versions  # type: ignore[method-assign]


def main(argv: list[str]) -> None:
    """moto_server with the patch applied, for benchmarks that start it as a process of its own."""
    patch_moto()
    from moto.server import main as moto_main

    moto_main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
