"""The API's artifact cache stays within its byte budget and evicts the least recently used."""

from __future__ import annotations

from backend.platform.artifact_cache import ArtifactCache


def test_evicts_least_recently_used_within_the_byte_budget() -> None:
    cache = ArtifactCache(max_bytes=800)  # one object may take at most 100 bytes
    for key in ("a", "b", "c", "d"):
        cache.put(key, key.encode() * 100)
    assert cache.size == 400
    assert cache.get("a") == b"a" * 100  # now the most recently used
    for key in ("e", "f", "g", "h", "i"):
        cache.put(key, key.encode() * 100)
    assert cache.size == 800  # "i" pushed out "b", the least recently used
    assert [k for k in "abcdefghi" if cache.get(k) is None] == ["b"]


def test_large_objects_are_not_kept_and_replacing_keeps_the_count() -> None:
    cache = ArtifactCache(max_bytes=800)
    cache.put("big", b"x" * 101)
    assert cache.get("big") is None and cache.size == 0
    cache.put("k", b"1" * 60)
    cache.put("k", b"2" * 40)
    assert cache.get("k") == b"2" * 40 and cache.size == 40
