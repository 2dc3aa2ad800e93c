"""One owner for each fact: a run folder's file names live in train/runs.py, the command line's defaults and help
values come from the configs and recipes, every choice it offers is one that something builds, and the benchmarks
share one quality set and take their settings as options."""

import importlib
import re
import tokenize
from dataclasses import dataclass, replace

import pytest
from click.testing import CliRunner

import bench.data
import bench.quality
import preprocess.cache
import preprocess.cli
import train.cli.calibrate
import train.cli.evaluate
import train.cli.finetune
import train.cli.fit
import train.cli.options
import train.cli.predict
import train.cli.submit
import train.cli.suggest
from tests.helpers import ROOT
from train import config
from train.fitting import distribute, fit
from train.model import losses, models
from train.runs import Run

# reloaded in this order: the shared options first, then the commands that use them
CLI_MODULES = (
    train.cli.options,
    train.cli.fit,
    train.cli.finetune,
    train.cli.evaluate,
    train.cli.submit,
    train.cli.predict,
    train.cli.calibrate,
    train.cli.suggest,
)


def test_a_run_folder_s_file_names_are_spelled_in_train_runs_alone(tmp_path):
    run = Run(tmp_path)
    names = {path.name for path in (*run.outputs(), run.config, run.backup, run.logs, run.rejects, run.submission)}
    names |= {run.finetune_report.name, run.reliability.name, *(path.name for path in run.report(ensemble=True))}
    spelled = re.compile("|".join(re.escape(f'"{name}"') + "|" + re.escape(f"/{name}") for name in names))
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for folder in ("train", "bench", "tests")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path != ROOT / "train" / "runs.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if spelled.search(line)
    ]
    assert not found, "\n".join(found)


@dataclass(frozen=True)
class OtherFinetune(config.FinetuneConfig):
    """FinetuneConfig with defaults no module spells."""

    epochs: int = 71
    batch: int = 19
    lr: float = 0.00037
    patience: int | None = 23
    valid: float = 0.29
    seed: int = 41


@pytest.fixture
def patched_configs(monkeypatch):
    """The recipes, FinetuneConfig and the prediction settings changed to values no module spells, and the command
    modules reloaded under them (and again, unpatched, afterwards)."""
    monkeypatch.setitem(
        config.RECIPES, "default", replace(config.RECIPES["default"], dropout=0.137, weight_decay=0.0731, zoom=1.17)
    )
    monkeypatch.setitem(config.RECIPES, "winner", replace(config.RECIPES["winner"], warmup=4321))
    monkeypatch.setattr(config, "FinetuneConfig", OtherFinetune)
    monkeypatch.setattr(config, "PREDICT_BATCH", 77)
    monkeypatch.setattr(config, "DECODE_JOBS", 5)
    for module in CLI_MODULES:
        importlib.reload(module)
    yield
    monkeypatch.undo()
    for module in CLI_MODULES:
        importlib.reload(module)


def rendered_help(module, name: str) -> str:
    command = getattr(module, f"{name}_command")
    result = CliRunner().invoke(command, ["--help"], terminal_width=400)
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def test_help_shows_the_values_of_the_configs_it_renders(patched_configs):
    fit_help = rendered_help(train.cli.fit, "fit")
    for value in ("default: 0.137", "default: 0.0731", "default: 1.17", "winner: 4321"):
        assert value in fit_help, value
    finetune_help = rendered_help(train.cli.finetune, "finetune")
    for option, value in (("epochs", 71), ("batch", 19), ("lr", 0.00037), ("patience", 23), ("valid", 0.29)):
        assert re.search(rf"--{option} .*?\[default: {value}[;\]]", finetune_help), option
    assert "[default: 41]" in finetune_help
    for module, name in (
        (train.cli.evaluate, "evaluate"),
        (train.cli.submit, "submit"),
        (train.cli.predict, "predict"),
        (train.cli.calibrate, "calibrate"),
        (train.cli.suggest, "suggest"),
    ):
        assert re.search(r"--batch .*?\[default: 77[;\]]", rendered_help(module, name)), name
    for module, name in ((train.cli.predict, "predict"), (train.cli.suggest, "suggest")):
        assert re.search(r"--jobs .*?\[default: 5[;\]]", rendered_help(module, name)), name


@dataclass(frozen=True)
class OtherSettings(preprocess.cache.Settings):
    """Cache settings with defaults no module spells."""

    shard_size: int = 1234
    valid: int = 567
    calibrate: int = 89
    seed: int = 13
    max_bytes: int = 4321


def test_preprocess_run_s_defaults_are_the_cache_settings(monkeypatch):
    monkeypatch.setattr(preprocess.cache, "Settings", OtherSettings)
    try:
        importlib.reload(preprocess.cli)
        rendered = CliRunner().invoke(preprocess.cli.main, ["run", "--help"], terminal_width=400)
        assert rendered.exit_code == 0, rendered.output
        text = " ".join(rendered.output.split())
        for option, value in (
            ("shard-size", 1234),
            ("valid", 567),
            ("calibrate", 89),
            ("seed", 13),
            ("max-bytes", 4321),
        ):
            assert re.search(rf"--{option} .*?\[default: {value}[;\]]", text), option
    finally:
        monkeypatch.undo()
        importlib.reload(preprocess.cli)


def test_every_choice_the_command_line_offers_is_one_that_something_builds():
    assert set(config.MODELS) == set(models.FEATURES)
    assert set(config.HEADS) == set(models.HEAD_LAYERS)
    assert set(config.LOSSES) == set(losses.LOSS_FUNCTIONS) | set(losses.COUNT_LOSSES)
    assert set(config.PRECISIONS) == set(fit.POLICIES)
    assert set(config.STRATEGIES) == {"none", *distribute.STRATEGIES}
    assert {recipe.optimizer for recipe in config.RECIPES.values()} <= set(fit.OPTIMIZERS)


BENCH = ROOT / "bench"


def numbers_in_code(path) -> list[tuple[str, int]]:
    """The number literals of a module's code (not of its strings or comments), with their lines."""
    with path.open("rb") as source:
        tokens = tokenize.tokenize(source.readline)
        return [(t.string.replace("_", ""), t.start[0]) for t in tokens if t.type == tokenize.NUMBER]


def test_the_quality_set_is_spelled_in_bench_data_alone():
    quality = {str(bench.data.QUALITY_TRAIN), str(bench.data.QUALITY_SEED)}
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in sorted(BENCH.rglob("*.py"))
        if path != BENCH / "data.py"
        for number, line in numbers_in_code(path)
        if number in quality
    ]
    assert not found, found


def test_make_quality_s_defaults_are_the_quality_set(monkeypatch):
    monkeypatch.setattr(bench.data, "QUALITY_SEED", 13)
    monkeypatch.setattr(bench.data, "QUALITY_TRAIN", 1234)
    try:
        importlib.reload(bench.quality)
        rendered = CliRunner().invoke(bench.quality.main, ["--help"], terminal_width=400)
        assert rendered.exit_code == 0, rendered.output
        text = " ".join(rendered.output.split())
        assert re.search(r"--seed .*?\[default: 13\]", text) and re.search(r"--train .*?\[default: 1234\]", text)
    finally:
        monkeypatch.undo()
        importlib.reload(bench.quality)


def test_benchmarks_take_their_settings_as_options_not_from_the_environment():
    """Click options, as every command: the environment holds only TensorFlow's and the start-up's variables."""
    startup = ("TF_", "ONEDNN_", "MALLOC_", "GALAXY_ZOO_")
    found = []
    for path in sorted(BENCH.rglob("*.py")):
        text = path.read_text()
        names = re.findall(r"os\.environ(?:\.get\(|\[)\s*[\"']([A-Za-z0-9_]+)", text)
        found += [f"{path.relative_to(ROOT)}: {name}" for name in names if not name.startswith(startup)]
        found += [f"{path.relative_to(ROOT)}: argparse"] if "argparse" in text else []
    assert not found, found
