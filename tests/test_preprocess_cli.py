import subprocess
import sys

from click.testing import CliRunner

from preprocess.cli import main


def test_help_lists_the_commands():
    result = subprocess.run([sys.executable, "-m", "preprocess", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    assert "synth" in result.stdout


def test_synth_writes_layout_and_sheet(tmp_path):
    out, sheet = tmp_path / "gz", tmp_path / "sheet.png"
    result = CliRunner().invoke(
        main, ["synth", "--out", str(out), "--train", "4", "--test", "2", "--sheet", str(sheet)]
    )
    assert result.exit_code == 0, result.output
    assert len(list((out / "images_training_rev1").glob("*.jpg"))) == 4
    assert sheet.stat().st_size > 10_000


def test_synth_rejects_bad_counts(tmp_path):
    result = CliRunner().invoke(main, ["synth", "--out", str(tmp_path), "--train", "-3"])
    assert result.exit_code == 2 and "--train" in result.output
