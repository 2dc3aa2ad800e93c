import subprocess
import sys

import pytest
from click.testing import CliRunner

from preprocess.kaggle import TRAIN_IMAGES
from synth.cli import main
from synth.dataset import write_dataset
from tests.helpers import assert_usage_error


def test_synth_writes_layout_and_sheet(tmp_path):
    out, sheet = tmp_path / "gz", tmp_path / "sheet.png"
    result = CliRunner().invoke(main, ["--out", str(out), "--train", "4", "--test", "2", "--sheet", str(sheet)])
    assert result.exit_code == 0, result.output
    assert len(list((out / TRAIN_IMAGES).glob("*.jpg"))) == 4
    assert sheet.stat().st_size > 10_000


def test_synth_rejects_bad_counts(tmp_path):
    result = CliRunner().invoke(main, ["--out", str(tmp_path), "--train", "-3"])
    assert result.exit_code == 2 and "--train" in result.output


@pytest.mark.parametrize(
    "args, option",
    [
        (["--out", "{tmp}/s", "--jobs", "0"], "--jobs"),
        (["--out", "{tmp}/s", "--train", "0", "--test", "0"], "--train/--test"),
        (["--train", "3"], "--out"),
    ],
)
def test_user_mistakes_give_one_line_and_status_2(tmp_path, args, option):
    assert_usage_error(main, args, option, {"tmp": tmp_path})


def test_python_m_synth_writes_what_write_dataset_writes(tmp_path):
    command = [sys.executable, "-m", "synth", "--out", str(tmp_path / "cli"), "--train", "5", "--test", "3"]
    subprocess.run([*command, "--seed", "4", "--jobs", "1"], check=True, capture_output=True)
    write_dataset(tmp_path / "direct", 5, 3, seed=4, jobs=2)
    for path in sorted((tmp_path / "direct").rglob("*.*")):
        assert path.read_bytes() == (tmp_path / "cli" / path.relative_to(tmp_path / "direct")).read_bytes(), path
