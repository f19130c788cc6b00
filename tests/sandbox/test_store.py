"""The sandbox's document store: copies for callers that change what they read, the
stored documents themselves for callers that only look, prefix listings in insertion order
whatever was replaced or deleted, and persistence across processes."""

from __future__ import annotations

from pathlib import Path

from converge_sandbox.store import SandboxStore


def filled() -> SandboxStore:
    store = SandboxStore(None)
    for key in ("p1/a", "p2/a", "p1/b", "p1|prod|/|X", "p1|prod|/x|Y", "single", "p10/a"):
        store.put("v", "k", key, {"key": key, "tags": ["t"]})
    return store


def test_get_list_and_find_hand_out_copies_the_store_never_sees_changed() -> None:
    store = filled()
    got = store.get("v", "k", "p1/a")
    listed = store.list("v", "k", "p1/")
    found = store.find("v", "k", lambda d: d["key"] == "p1/b")
    assert got is not None
    got["tags"].append("changed")
    listed[0]["key"] = "changed"
    found[0]["tags"].clear()

    assert store.get("v", "k", "p1/a") == {"key": "p1/a", "tags": ["t"]}
    assert store.get("v", "k", "p1/b") == {"key": "p1/b", "tags": ["t"]}


def test_a_stored_document_is_not_the_object_the_caller_put() -> None:
    store = SandboxStore(None)
    doc = {"key": "a", "tags": ["t"]}
    store.put("v", "k", "a", doc)
    doc["tags"].append("later")
    assert store.view("v", "k", "a") == {"key": "a", "tags": ["t"]}


def test_prefix_listings_stay_in_insertion_order_through_replace_and_delete() -> None:
    store = filled()
    store.put("v", "k", "p1/a", {"key": "p1/a", "tags": ["replaced"]})
    store.delete("v", "k", "p1/b")
    store.put("v", "k", "p1/c", {"key": "p1/c", "tags": []})

    assert [d["key"] for d in store.list("v", "k", "p1/")] == ["p1/a", "p1/c"]
    assert [d["key"] for d in store.views("v", "k", "p1|prod|")] == ["p1|prod|/|X",
                                                                      "p1|prod|/x|Y"]
    assert [d["key"] for d in store.views("v", "k", "p1|prod|/|")] == ["p1|prod|/|X"]
    assert [d["key"] for d in store.list("v", "k", "p1")] == [
        "p1/a", "p1|prod|/|X", "p1|prod|/x|Y", "p10/a", "p1/c"]
    assert [d["key"] for d in store.list("v", "k")][-1] == "p1/c"
    assert list(store.keys("v", "k", "sin")) == ["single"]
    assert store.list("v", "other", "p1/") == [] and store.first("v", "other", bool) is None


def test_first_copies_only_what_it_returns() -> None:
    store = filled()
    seen: list[str] = []

    def where(doc: object) -> bool:
        assert isinstance(doc, dict)
        seen.append(doc["key"])
        return bool(doc["key"] == "p1/b")

    found = store.first("v", "k", where)

    assert found == {"key": "p1/b", "tags": ["t"]}
    assert seen == ["p1/a", "p2/a", "p1/b"]


def test_another_process_opening_the_file_sees_the_same_documents(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    first = SandboxStore(path)
    first.put("v", "k", "p1/a", {"n": 1})
    first.put("v", "k", "p1/b", {"n": 2})
    first.delete("v", "k", "p1/a")
    first.close()

    second = SandboxStore(path)
    assert second.list("v", "k", "p1/") == [{"n": 2}]
    assert second.views("v", "k") == [{"n": 2}]
    second.close()
