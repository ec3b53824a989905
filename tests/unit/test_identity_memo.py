"""The memo the worker keeps per lease payload dict (worker/identity_memo.py)."""

from __future__ import annotations

from haul.worker.identity_memo import IdentityMemo


def test_found_by_the_dict_itself_and_its_key_not_by_equal_contents() -> None:
    memo: IdentityMemo[str] = IdentityMemo(8)
    site = {"id": 1}
    memo.put(site, "a", "first")
    assert memo.get(site, "a") == "first"
    assert memo.get(site, "b") is None
    assert memo.get({"id": 1}, "a") is None  # an equal dict is another payload


def test_an_entry_is_never_found_through_a_reused_id() -> None:
    memo: IdentityMemo[str] = IdentityMemo(8)
    site = {"id": 1}
    memo.put(site, None, "kept")
    other = {"id": 2}
    # Pretend `other` got `site`'s id after `site` was freed: the entry holds `site`.
    memo._entries[(id(other), None)] = memo._entries.pop((id(site), None))
    assert memo.get(other) is None


def test_emptied_at_its_bound() -> None:
    memo: IdentityMemo[int] = IdentityMemo(2)
    dicts = [{"n": n} for n in range(3)]
    for n, d in enumerate(dicts):
        memo.put(d, None, n)
    assert memo.get(dicts[2]) == 2
    assert memo.get(dicts[0]) is None
