"""The worker's per-thread storages, found by the lease's site dict (haul.worker.site_storage).

Every file of a claim comes with the same site dict, so the thread's storage
for it is remembered by that dict; what makes two sites different (their
access, their credential) still keeps their storages apart, and a dropped
thread reconnects.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from haul.worker import site_storage
from haul.worker.operations import Executor
from haul.worker.site_storage import StorageCache


def _site(credential: dict[str, Any] | None = None, trusted: bool = True) -> dict[str, Any]:
    return {
        "site_id": 1,
        "site_name": "s",
        "def_path": "/",
        "endpoints": ["dummy://cache/", "root://127.0.0.1:1//data"],
        "credential": credential,
        "trusted": trusted,
    }


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = site_storage.open_storage

    def counting(url: str, credential: Any, access: Any) -> Any:
        calls.append(url)
        return real(url, credential, access)

    monkeypatch.setattr(site_storage, "open_storage", counting)
    return calls


def test_one_site_dict_opens_one_storage_per_thread(opened: list[str]) -> None:
    cache = StorageCache()
    site = _site()
    first = cache.for_site("dummy://cache/", site, ())
    assert all(cache.for_site("dummy://cache/", site, ()) is first for _ in range(5))
    assert opened == ["dummy://cache/"]
    assert cache.for_site("dummy://cache/", _site(), ()) is first  # an equal dict: same key
    other: list[Any] = []
    worker = threading.Thread(
        target=lambda: other.append(cache.for_site("dummy://cache/", site, ()))
    )
    worker.start()
    worker.join()
    assert other[0] is not first and len(opened) == 2  # a thread of its own


def test_sites_that_differ_keep_their_storages_apart(opened: list[str]) -> None:
    cache = StorageCache()
    plain = cache.for_site("dummy://cache/", _site(), ())
    assert cache.for_site("dummy://cache/", _site({"password": "x"}), ()) is not plain
    assert cache.for_site("dummy://cache/", _site(trusted=False), ()) is not plain
    assert len(opened) == 3


def test_a_dropped_thread_opens_its_storages_again(opened: list[str]) -> None:
    cache = StorageCache()
    site = _site()
    first = cache.for_site("dummy://cache/", site, ())
    cache.drop_thread()
    assert cache.for_site("dummy://cache/", site, ()) is not first
    assert len(opened) == 2


def test_the_endpoint_is_chosen_per_site_dict_and_protocol() -> None:
    executor = Executor()
    site = _site()
    assert executor._endpoint(site, None) == ("dummy://cache/", "dummy", "/")
    assert executor._endpoint(site, "XROOTD") == ("root://127.0.0.1:1//data", "root", "//data")
    assert executor._endpoint(site, None) == ("dummy://cache/", "dummy", "/")
    moved = dict(site, endpoints=["dummy://elsewhere/x"])  # another lease's dict
    assert executor._endpoint(moved, None) == ("dummy://elsewhere/x", "dummy", "/x")
