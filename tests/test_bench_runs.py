import json
from dataclasses import asdict
from types import SimpleNamespace

from bench.runs import finished_with
from train.config import configure
from train.runs import Run


def test_a_run_made_before_a_setting_existed_counts_it_at_its_default(tmp_path):
    config = configure("default", minutes=10.0)
    cache = SimpleNamespace(sha256="abc")
    older = {name: value for name, value in asdict(config).items() if name != "look"}
    Run(tmp_path).write_record({"finished": True, "config": older, "manifest_sha256": "abc"})
    assert finished_with(tmp_path, config, cache)
    assert not finished_with(tmp_path, configure("default", minutes=10.0, look=True), cache)
    assert not finished_with(tmp_path, config, SimpleNamespace(sha256="another cache"))


def test_quality_keeps_earlier_candidates_only_when_measured_on_the_same_generator(tmp_path, monkeypatch):
    from bench import quality
    from bench.measure import cpu_model

    settings = {"minutes": 20.0, "train": 6000, "test": 1000, "seed": 71}
    monkeypatch.setattr(quality, "RESULTS", tmp_path / "quality.json")
    for generator, kept in ((quality.GENERATOR, {"winner": {"rmse": 0.08}}), ("an older generator", {})):
        earlier = {"cpu": cpu_model(), "generator": generator, **settings, "scores": {"winner": {"rmse": 0.08}}}
        quality.RESULTS.write_text(json.dumps(earlier))
        assert quality.earlier_scores(settings) == kept
