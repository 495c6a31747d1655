"""One contract suite for every index kind, and approximate search checked against exact on real embeddings."""

from __future__ import annotations

import json
import threading

import faiss
import numpy as np
import pytest

from kb_service.knowledge.index import VectorIndex
from tests.support import CLINC150

DIM = 384

# auto with a tiny exact_max: starts flat, becomes HNSW during the test, so both halves are exercised.
KINDS = [("flat", 50_000), ("hnsw", 50_000), ("auto", 150)]


def unit(rows: int, seed: int) -> np.ndarray:
    vectors = np.random.default_rng(seed).standard_normal((rows, DIM)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture(params=KINDS, ids=[k for k, _ in KINDS])
def index(request) -> VectorIndex:
    kind, exact_max = request.param
    return VectorIndex(DIM, kind, exact_max)


def top_ids(index: VectorIndex, queries: np.ndarray, k: int = 1) -> list[list[int]]:
    return index.search(queries, k)[1].tolist()


def test_search_finds_each_vector_itself(index):
    vectors = unit(300, 1)
    index.add(np.arange(1000, 1300), vectors)
    assert len(index) == 300
    assert [row[0] for row in top_ids(index, vectors)] == list(range(1000, 1300))
    scores, _ = index.search(vectors[:5], 3)
    assert np.allclose(scores[:, 0], 1.0, atol=1e-4)
    assert (np.diff(scores, axis=1) <= 1e-6).all()  # best first


def test_empty_index_returns_no_ids(index):
    _scores, ids = index.search(unit(2, 2), 4)
    assert ids.shape == (2, 4) and (ids == -1).all()


def test_remove_hides_ids_and_keeps_the_rest(index):
    vectors = unit(300, 3)
    index.add(np.arange(300), vectors)
    index.remove(range(0, 300, 2))
    assert len(index) == 150
    assert index.ids() == set(range(1, 300, 2))
    _, ids = index.search(vectors, 5)
    assert not set(ids.ravel().tolist()) & set(range(0, 300, 2))
    assert [row[0] for row in ids[1::2].tolist()] == list(range(1, 300, 2))
    index.remove([12345])  # unknown ids are ignored
    assert len(index) == 150


def test_readding_an_id_replaces_its_vector(index):
    vectors = unit(300, 4)
    index.add(np.arange(300), vectors)
    moved = unit(1, 5)
    index.add(np.array([7]), moved)
    assert len(index) == 300
    _, ids = index.search(moved, 3)
    assert ids[0, 0] == 7
    _, ids = index.search(vectors[7:8], 3)
    assert ids[0, 0] != 7  # the old vector of id 7 is gone
    assert ids[0].tolist().count(7) <= 1


def test_remove_then_readd_brings_an_id_back(index):
    vectors = unit(200, 6)
    index.add(np.arange(200), vectors)
    index.remove([5, 6])
    index.add(np.array([5]), vectors[5:6])
    assert index.ids() == set(range(200)) - {6}
    assert top_ids(index, vectors[5:7]) == [[5], [top_ids(index, vectors[6:7])[0][0]]]
    assert top_ids(index, vectors[6:7])[0][0] != 6


def test_save_and_load_keep_ids_and_results(index, tmp_path):
    vectors = unit(400, 7)
    index.add(np.arange(400), vectors)
    index.remove([3, 4])
    index.add(np.array([9]), unit(1, 8))
    path = tmp_path / "index.faiss"
    index.save(path, knowledge_version=42)
    assert json.loads(path.with_suffix(".json").read_text()) == {"knowledge_version": 42, "size": 398, "adapter": None}
    loaded = VectorIndex.load(path, DIM, index.kind, index.exact_max)
    assert loaded.approximate == index.approximate
    # Removed ids may come back from the file: the database sync drops them. Replaced ids never duplicate.
    assert loaded.ids() - {3, 4} == index.ids()
    loaded.remove([3, 4])
    assert top_ids(loaded, vectors[10:60]) == top_ids(index, vectors[10:60])
    _, ids = loaded.search(vectors[9:10], 10)
    assert 9 not in ids[0, :1].tolist() and ids[0].tolist().count(9) <= 1


def test_load_rejects_a_file_of_another_dimension(tmp_path):
    other = VectorIndex(8)
    other.add(np.arange(3), np.eye(3, 8, dtype=np.float32))
    other.save(tmp_path / "i.faiss", 1)
    with pytest.raises(ValueError, match="dimension"):
        VectorIndex.load(tmp_path / "i.faiss", DIM)


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="index kind"):
        VectorIndex(DIM, "ivf")


def test_auto_turns_approximate_past_exact_max():
    index = VectorIndex(DIM, "auto", exact_max=100)
    index.add(np.arange(100), unit(100, 9))
    assert not index.approximate
    index.add(np.array([100]), unit(1, 10))
    assert index.approximate and len(index) == 101


def test_saving_an_index_with_many_tombstones_compacts_it(tmp_path):
    index = VectorIndex(DIM, "hnsw")
    vectors = unit(400, 11)
    index.add(np.arange(400), vectors)
    index.save(tmp_path / "full.faiss", 1)
    index.remove(range(200))  # half dead: save compacts
    index.save(tmp_path / "i.faiss", 2)
    # The dead half is gone from the file, not just hidden: it holds about half the vectors.
    assert (tmp_path / "i.faiss").stat().st_size < 0.6 * (tmp_path / "full.faiss").stat().st_size
    for compacted in (index, VectorIndex.load(tmp_path / "i.faiss", DIM, "hnsw")):
        assert compacted.ids() == set(range(200, 400)) and len(compacted) == 200
        assert [r[0] for r in top_ids(compacted, vectors[200:])] == list(range(200, 400))
        assert not set(compacted.search(vectors[:200], 10)[1].ravel().tolist()) & set(range(200))


def test_approximate_search_agrees_with_exact_on_real_embeddings(embedder):
    data = json.loads(CLINC150.read_text())
    splits = ("train", "val", "oos_train", "oos_val")
    phrasings = list(dict.fromkeys(text for split in splits for text, _ in data[split]))  # 2,600
    queries = [text for text, _ in data["test"]] + [text for text, _ in data["oos_test"]][::5]  # 800, none indexed
    vectors, query_vectors = embedder.embed(phrasings), embedder.embed(queries)
    exact, approximate = VectorIndex(DIM, "flat"), VectorIndex(DIM, "hnsw")
    for index in (exact, approximate):
        index.add(np.arange(len(phrasings)), vectors)
        index.remove(range(0, len(phrasings), 10))  # tombstones too
    exact_scores, exact_ids = exact.search(query_vectors, 5)
    approx_scores, approx_ids = approximate.search(query_vectors, 5)
    recall_at_1 = float(np.mean(exact_ids[:, 0] == approx_ids[:, 0]))
    assert recall_at_1 >= 0.99
    same = exact_ids[:, 0] == approx_ids[:, 0]
    assert np.allclose(exact_scores[same, 0], approx_scores[same, 0], atol=1e-5)
    assert not set(approx_ids.ravel().tolist()) & set(range(0, len(phrasings), 10))


def test_load_keeps_the_files_kind_unless_told_otherwise(tmp_path):
    vectors = unit(120, 12)
    hnsw = VectorIndex(DIM, "hnsw")
    hnsw.add(np.arange(120), vectors)
    hnsw.save(tmp_path / "h.faiss", 1)
    assert VectorIndex.load(tmp_path / "h.faiss", DIM).approximate  # e.g. `frontdesk stats`
    as_flat = VectorIndex.load(tmp_path / "h.faiss", DIM, "flat")
    assert not as_flat.approximate and as_flat.ids() == set(range(120))
    assert [r[0] for r in top_ids(as_flat, vectors)] == list(range(120))


def test_a_search_from_a_new_thread_runs_faiss_on_one_thread():
    """OpenMP's thread count is per thread: a search from a fresh thread must not start a pool that spins."""
    index = VectorIndex(4, "flat")
    index.add(np.arange(3), np.eye(4, dtype=np.float32)[:3])
    seen = []

    def search() -> None:
        index.search(np.eye(4, dtype=np.float32)[:1], 2)
        seen.append(faiss.omp_get_max_threads())

    thread = threading.Thread(target=search)
    thread.start()
    thread.join()
    assert seen == [1]


def test_exact_search_agrees_with_faiss_flat_search_across_blocks_and_removals():
    """The flat kind scores by numpy blocks and FAISS heaps; FAISS's own IndexFlatIP is the reference."""
    dim, n = 16, 70_000  # more than two blocks of stored vectors
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = rng.permutation(10 * n)[:n].astype(np.int64)  # ids unrelated to the slots
    index = VectorIndex(dim, "flat")
    index.add(ids, vectors)
    assert index.search(vectors[:1], 1)[1][0, 0] == ids[0]  # a search before the removal, as in service
    gone = set(ids[rng.choice(n, 5_000, replace=False)].tolist())
    index.remove(gone)
    keep = np.array([i not in gone for i in ids.tolist()])
    reference = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
    reference.add_with_ids(vectors[keep], ids[keep])

    for queries in (vectors[:1], vectors[100:164], rng.standard_normal((7, dim)).astype(np.float32)):
        scores, found = index.search(queries, 10)
        expected_scores, expected = reference.search(queries, 10)
        assert np.allclose(scores, expected_scores, atol=1e-5)
        assert (found == expected).mean() > 0.99  # only exact ties may come in another order
    assert not set(index.search(vectors[:200], 50)[1].ravel().tolist()) & gone

    few = VectorIndex(dim, "flat")
    few.add(ids[:3], vectors[:3])
    scores, found = few.search(vectors[:2], 5)  # more places than vectors: the rest are empty
    assert found[:, 3:].tolist() == [[-1, -1], [-1, -1]] and sorted(found[0, :3].tolist()) == sorted(ids[:3].tolist())
    assert found[0, 0] == ids[0] and np.all(scores[:, 3:] < -1e30)


def test_searches_from_several_threads_at_once_all_get_faiss_answers():
    """The service searches from its ask workers and the console at once: each gets what a search alone gets."""
    dim, n = 32, 20_000
    rng = np.random.default_rng(5)
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = rng.permutation(5 * n)[:n].astype(np.int64)
    index = VectorIndex(dim, "flat")
    index.add(ids, vectors)
    queries = [vectors[[i]] for i in (0, n // 2, n - 1)] + [vectors[[3, n - 3]], vectors[:64]]
    expected = [index.search(q, 8)[1] for q in queries]  # one at a time
    for query, found in zip(queries, expected):
        assert (found[:, 0] == ids[[int(np.argmax(vectors @ row)) for row in query]]).all()  # each finds itself
    start = threading.Barrier(4)
    results: dict[tuple[int, int], tuple[int, np.ndarray]] = {}

    def search(worker: int) -> None:
        start.wait(timeout=30)
        for round_ in range(30):
            which = (worker + round_) % len(queries)
            results[(worker, round_)] = (which, index.search(queries[which], 8)[1])

    threads = [threading.Thread(target=search, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4 * 30
    for which, found in results.values():
        assert (found == expected[which]).all()
