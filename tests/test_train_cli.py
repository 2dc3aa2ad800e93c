import subprocess
import sys

import pytest

from tests.helpers import assert_usage_error
from train.cli import main


def test_help_lists_the_commands():
    result = subprocess.run([sys.executable, "-m", "train", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    assert all(command in result.stdout for command in ("fit", "evaluate", "submit", "score"))


@pytest.mark.parametrize(
    "args, option",
    [
        (["fit", "--cache", "{data}", "--run", "{tmp}/r"], "--cache"),
        (["fit", "--cache", "{cache}", "--run", "{tmp}/r", "--epochs", "0"], "--epochs"),
        (["fit", "--cache", "{cache}", "--run", "{tmp}/r", "--batch", "0"], "--batch"),
        (["fit", "--cache", "{cache}", "--run", "{tmp}/r", "--workers", "-2"], "--workers"),
        (["fit", "--cache", "{cache}", "--run", "{tmp}/r", "--model", "resnet"], "--model"),
        (["evaluate", "--cache", "{tmp}/nowhere", "--run", "{tmp}/r"], "--cache"),
        (["evaluate", "--cache", "{cache}", "--run", "{tmp}/r"], "--run"),
        (["submit", "--cache", "{cache}", "--run", "{tmp}/r", "--out", "{tmp}/s.csv"], "--run"),
        (["submit", "--cache", "{cache}", "--out", "{tmp}/s.csv"], "--run"),
        (["submit", "--cache", "{cache}", "--baseline", "zeros", "--out", "{tmp}/s.txt"], "--out"),
        (["submit", "--cache", "{cache}", "--baseline", "zeros", "--out", "{tmp}/s.csv", "--batch", "0"], "--batch"),
        (["score", "{tmp}/nowhere.csv"], "SOLUTIONS"),
    ],
)
def test_user_mistakes_give_one_line_and_status_2(kaggle_dir, small_cache, tmp_path, args, option):
    assert_usage_error(main, args, option, {"tmp": tmp_path, "data": kaggle_dir, "cache": small_cache})
