"""A byte-bounded LRU of case artifacts (upload, mask, overlay, rendered preview) in the API
process (backend.cases.service.read_artifact).

Why: every case view fetches three images and each came from S3 (a signed request, a round
trip, and for the preview a decode and PNG encode in a thread): over half of the API's CPU under
the load test. Caching is safe because a cache key names one content: results live under
``<case>/<model version>/`` and a re-run of the same job writes the same output; an upload is
cached under its object key plus the case row's content_sha256 (and so is its preview), because
`medsegtext deidentify-stored` rewrites stored films in place and then updates that checksum, so
every API process serves the new file at once, without a restart. Authorisation and audit still
run on every request; only the bytes are reused. Large objects (a 60 MB DICOM) are not kept.
"""

from __future__ import annotations

from collections import OrderedDict

DEFAULT_MAX_BYTES = 32 * 2**20
MAX_ITEM_FRACTION = 8  # one object may take at most 1/8 of the cache


class ArtifactCache:
    """Not thread-safe: used from the event loop only."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES):
        self.max_bytes = max_bytes
        self.size = 0
        self._items: OrderedDict[str, bytes] = OrderedDict()

    def get(self, key: str) -> bytes | None:
        data = self._items.get(key)
        if data is not None:
            self._items.move_to_end(key)
        return data

    def put(self, key: str, data: bytes) -> None:
        if len(data) > self.max_bytes // MAX_ITEM_FRACTION:
            return
        if (old := self._items.pop(key, None)) is not None:
            self.size -= len(old)
        self._items[key] = data
        self.size += len(data)
        while self.size > self.max_bytes:
            _, evicted = self._items.popitem(last=False)
            self.size -= len(evicted)
