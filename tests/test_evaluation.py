"""`anyseek eval`: retrieval metrics, judged-query files, and the evaluation of every mode and route."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from anyseek.engine import evaluation
from anyseek.engine.errors import QueryError


def test_metrics_follow_their_textbook_definitions():
    rankings = [["a", "b", "c"], ["x", "y", "z"], ["p", "q", "r"]]
    relevant = [frozenset({"a"}), frozenset({"z"}), frozenset({"none"})]
    m = evaluation.metrics(rankings, relevant)
    assert m.mrr10 == pytest.approx((1 + 1 / 3 + 0) / 3)
    assert (m.recall1, m.recall5, m.recall10) == pytest.approx((1 / 3, 2 / 3, 2 / 3))
    assert m.ndcg10 == pytest.approx((1 + 0.5 + 0) / 3)  # 1/log2(4) = 0.5 for rank 3
    assert m.queries == 3


def test_recall_with_several_relevant_items_counts_the_share_found():
    m = evaluation.metrics([["a", "x", "b"]], [frozenset({"a", "b", "c", "d"})])
    assert m.recall1 == 1.0 and m.recall5 == pytest.approx(2 / 4)


def test_judged_queries_resolve_paths_against_their_file(tmp_path):
    source = tmp_path / "q.jsonl"
    source.write_text('{"query": "red", "relevant": ["docs/a.txt"]}\n\n{"query": "b", "relevant": "/x/b.txt"}\n')
    queries = evaluation.load_queries(source)
    assert [q.query for q in queries] == ["red", "b"]
    assert queries[0].relevant == frozenset({str(tmp_path / "docs" / "a.txt")})
    assert queries[1].relevant == frozenset({"/x/b.txt"})


@pytest.mark.parametrize("content", ['{"query": "x"}\n', "not json\n", ""])
def test_a_malformed_queries_file_is_one_clear_error(tmp_path, content):
    source = tmp_path / "q.jsonl"
    source.write_text(content)
    with pytest.raises(QueryError, match="q.jsonl"):
        evaluation.load_queries(source)


def test_every_mode_and_route_is_evaluated_on_the_same_queries(docs_index, tmp_path):
    folder = Path(docs_index.store.find_item(item_id=1).display_path).parent
    lines = [
        {"query": "error code QX-7731", "relevant": [str(folder / "errors.txt")]},
        {"query": "when do tomatoes need water", "relevant": [str(folder / "garden.txt")]},
        {"query": "a night train to Vienna", "relevant": [str(folder / "travel.txt")]},
        {"query": "unknown", "relevant": [str(folder / "missing.txt")]},
    ]
    source = tmp_path / "q.jsonl"
    source.write_text("\n".join(json.dumps(line) for line in lines))
    judged, skipped = evaluation.indexed_only(docs_index, evaluation.load_queries(source))
    assert skipped == 1
    results = evaluation.evaluate(docs_index, judged)
    assert set(results) == set(evaluation.CONFIGURATIONS)
    assert results["lexical"].recall10 == 1.0 and results["text route"].mrr10 >= 0.5
    assert all(m.queries == 3 and 0 <= m.mrr10 <= 1 for m in results.values())


def test_ann_recall_of_an_exact_index_is_one(docs_index):
    report = evaluation.ann_recall(docs_index, ["bicycle", "train"])
    assert report["text"]["recall"] == 1.0 and report["text"]["kind"] == "flat"


def test_ann_recall_on_a_sample_of_stored_vectors_leaves_each_out_of_its_own_results(docs_index):
    report = evaluation.ann_recall(docs_index, sample=5)
    text = report["text"]
    assert text["kind"] == "flat" and text["queries"] == min(5, text["vectors"])
    assert text["recall"] == 1.0 and text["recorded"] == 1.0


def test_calibration_bins_compare_scores_with_actual_relevance(docs_index, tmp_path):
    folder = Path(docs_index.store.find_item(item_id=1).display_path).parent
    lines = [
        {"query": "error code QX-7731", "relevant": [str(folder / "errors.txt")]},
        {"query": "when do tomatoes need water", "relevant": [str(folder / "garden.txt")]},
        {"query": "a violin concerto in a cathedral", "relevant": []},  # nothing answers it
    ]
    source = tmp_path / "q.jsonl"
    source.write_text("\n".join(json.dumps(line) for line in lines))
    judged, skipped = evaluation.indexed_only(docs_index, evaluation.load_queries(source))
    assert skipped == 0 and len(evaluation.answered(judged)) == 2
    report = evaluation.reliability(docs_index, judged)
    assert report.queries == 3 and report.unanswered == 1
    assert sum(b.hits for b in report.bins) == report.hits > 0
    assert all(b.low <= b.mean_score <= b.high and 0 <= b.relevant <= 1 for b in report.bins)
    assert 0 <= report.error <= 1
    top = [b for b in report.bins if b.low >= 0.5]
    assert top and sum(b.relevant * b.hits for b in top) >= 2  # both answers score as clearly related


def test_eval_prints_the_calibration_table(docs_index, tmp_path):
    from tests.test_cli_e2e import anyseek

    folder = Path(docs_index.store.find_item(item_id=1).display_path).parent
    source = tmp_path / "q.jsonl"
    source.write_text(json.dumps({"query": "error code QX-7731", "relevant": [str(folder / "errors.txt")]}))
    result = anyseek("eval", str(source), index=docs_index.home)
    assert result.returncode == 0, result.stderr
    assert "calibration" in result.stdout and "expected calibration error" in result.stdout
