import subprocess
import sys

import pytest

from tests.helpers import ROOT, assert_usage_error
from train.cli import main

TENSORFLOW_START_UP = ("absl::InitializeLog", "oneDNN custom operations", "cuda drivers")


def test_help_lists_the_commands():
    result = subprocess.run([sys.executable, "-m", "train", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    listed = result.stdout.split("Commands:")[1]
    commands = ("fit", "evaluate", "calibrate", "submit", "score", "predict", "finetune", "suggest")
    assert all(f"\n  {command} " in listed for command in commands), result.stdout
    assert len(commands) == len(main.commands)  # every command the group has is listed
    assert "Exit status: 0 done" in result.stdout and "TF_CPP_MIN_LOG_LEVEL=0" in result.stdout


def test_help_of_every_command_never_imports_tensorflow():
    """--help is instant because only the commands that need TensorFlow import it, once they run; and no module of
    train/cli imports it (the folder's rule)."""
    code = """
import importlib, pkgutil, sys
from click.testing import CliRunner
import train.cli
from train.cli import main
for module in pkgutil.iter_modules(train.cli.__path__):
    importlib.import_module(f"train.cli.{module.name}")
for args in ([], *([name] for name in main.commands)):
    result = CliRunner().invoke(main, [*args, "--help"])
    assert result.exit_code == 0 and "Exit status" in result.output, (args, result.output)
print(len(main.commands), sorted(name for name in ("tensorflow", "keras") if name in sys.modules))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["8", "[]"]


def test_start_up_lines_are_held_back_and_warnings_pass(tmp_path):
    """A module that writes TensorFlow's start-up lines and a warning of its own to the stderr descriptor while
    it loads: only the warning comes through. Then Keras itself loads without those lines."""
    (tmp_path / "noisy.py").write_text(
        "import os\n"
        "os.write(2, b'WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\\n')\n"
        "os.write(2, b'I0000 00:00:17.9 1 port.cc:153] oneDNN custom operations are on.\\n')\n"
        "os.write(2, b'I0000 00:00:17.9 1 cudart_stub.cc:31] Could not find cuda drivers on your machine\\n')\n"
        "os.write(2, b'W0000 00:00:17.9 1 something.cc:1] a warning that matters\\n')\n"
    )
    code = "from train.backend import load_keras, quiet_import\nquiet_import('noisy')\nload_keras()\n"
    env = {"PYTHONPATH": f"{tmp_path}:{ROOT}", "PATH": ""}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env)
    assert result.returncode == 0, result.stderr
    assert "a warning that matters" in result.stderr
    assert not any(line in result.stderr for line in TENSORFLOW_START_UP), result.stderr
    env["TF_CPP_MIN_LOG_LEVEL"] = "0"  # asked for: everything comes through
    code = "from train.backend import quiet_import\nquiet_import('noisy')\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env)
    assert all(line in result.stderr for line in TENSORFLOW_START_UP), result.stderr


@pytest.mark.parametrize(
    "args, option",
    [
        (["fit", "--cache", "{data}", "--run", "{tmp}/r"], "--cache"),
        (["fit", "--cache", "{cache}", "--run", "{tmp}/r", "--epochs", "0"], "--epochs"),
        (["fit", "--cache", "{cache}", "--run", "{tmp}/r", "--batch", "0"], "--batch"),
        (["fit", "--cache", "{cache}", "--run", "{tmp}/r", "--loader-workers", "0"], "--loader-workers"),
        (["fit", "--cache", "{cache}", "--run", "{tmp}/r", "--model", "resnet"], "--model"),
        (["fit", "--cache", "{cache}", "--run", "{tmp}/r", "--dropout", "1"], "--dropout"),
        (["fit", "--cache", "{cache}", "--run", "{tmp}/r", "--weight-decay", "-0.1"], "--weight-decay"),
        (["evaluate", "--cache", "{tmp}/nowhere", "--run", "{tmp}/r"], "--cache"),
        (["evaluate", "--cache", "{cache}", "--run", "{tmp}/r"], "--run"),
        (["submit", "--cache", "{cache}", "--run", "{tmp}/r", "--out", "{tmp}/s.csv"], "--run"),
        (["submit", "--cache", "{cache}", "--out", "{tmp}/s.csv"], "--run"),
        (["submit", "--cache", "{cache}", "--baseline", "zeros", "--out", "{tmp}/s.txt"], "--out"),
        (["submit", "--cache", "{cache}", "--baseline", "zeros", "--out", "{tmp}/s.csv", "--batch", "0"], "--batch"),
        (
            ["submit", "--cache", "{cache}", "--baseline", "zeros", "--run", "{run}", "--out", "{tmp}/s.csv"],
            "--baseline",
        ),
        (["score", "{tmp}/nowhere.csv"], "SOLUTIONS"),
        (["finetune", "--from", "{tmp}/r", "--labels", "{labels}", "--run", "{tmp}/new"], "--from"),
        (["finetune", "--from", "{run}", "--labels", "{tmp}/none.csv", "--run", "{tmp}/new"], "--labels"),
        (
            ["finetune", "--from", "{run}", "--labels", "{labels}", "--run", "{tmp}/new", "--unfreeze", "x"],
            "--unfreeze",
        ),
        (["finetune", "--from", "{run}", "--labels", "{labels}", "--run", "{tmp}/new", "--valid", "0"], "--valid"),
    ],
)
def test_user_mistakes_give_one_line_and_status_2(kaggle_dir, small_cache, trained_run, tmp_path, args, option):
    labels = tmp_path / "labels.csv"
    labels.write_text("GalaxyID,bar\n100000,1\n")
    values = {"tmp": tmp_path, "data": kaggle_dir, "cache": small_cache, "run": trained_run, "labels": labels}
    assert_usage_error(main, args, option, values)
