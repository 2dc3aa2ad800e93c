"""The finetuning benchmark's label-efficiency multiplier, on hand-made scores."""

from bench.finetune.report import machines, multiplier


def cell(finetuned: float | None, scratch: float, metric: str) -> list[dict]:
    run = {"from scratch": {metric: scratch, "machine": "cpu b"}}
    if finetuned is not None:
        run["finetuned"] = {metric: finetuned, "machine": "cpu a"}
    return [run, run]


def test_the_multiplier_interpolates_in_log_labels_between_measured_counts():
    by_count = {"300": cell(0.5, 0.2, "ap"), "1000": cell(None, 0.4, "ap"), "3000": cell(None, 0.6, "ap")}
    assert multiplier(by_count, "ap") == "5.8x"  # halfway from 1,000 to 3,000 in log labels: 1,732
    assert multiplier({**by_count, "3000": cell(None, 0.45, "ap")}, "ap") == "more than 10x"
    assert machines(by_count) == {"cpu a", "cpu b"}


def test_a_lower_rmse_is_the_better_one():
    by_count = {"300": cell(2.0, 4.0, "rmse"), "1000": cell(None, 3.0, "rmse"), "3000": cell(None, 1.0, "rmse")}
    assert multiplier(by_count, "rmse") == "5.8x"
