import gzip

import numpy as np
import pytest

from preprocess.labels import LabelError, read_solutions, write_solutions
from preprocess.schema import COLUMNS, HEADER

GOOD_ROW = ["100008"] + ["0.5", "0.5", "0"] + ["0"] * 34


def write_csv(path, header=HEADER, rows=(GOOD_ROW,)):
    lines = [",".join(header)] + [",".join(row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def with_value(column: str, text: str, galaxy_id: str = "100123") -> list[str]:
    row = [galaxy_id] + GOOD_ROW[1:]
    row[1 + COLUMNS.index(column)] = text
    return row


def test_round_trip_sorted_six_decimals(tmp_path):
    ids = np.array([300000, 100000, 200000])
    values = np.random.default_rng(0).random((3, 37))
    path = write_solutions(tmp_path / "sub.csv", ids, values)
    lines = path.read_text().splitlines()
    assert lines[0] == ",".join(HEADER)
    assert [line.split(",")[0] for line in lines[1:]] == ["100000", "200000", "300000"]
    assert all(len(field.split(".")[1]) == 6 for field in lines[1].split(",")[1:])
    read_ids, read_values = read_solutions(path)
    assert read_ids.dtype == np.int64 and read_values.dtype == np.float32
    np.testing.assert_allclose(read_values, values[[1, 2, 0]], atol=5e-7)
    assert not [p for p in tmp_path.iterdir() if p.name != "sub.csv"], "temporary file left behind"


def test_gzip_submission(tmp_path):
    path = write_solutions(tmp_path / "sub.csv.gz", np.array([100001]), np.zeros((1, 37)))
    with gzip.open(path, "rt") as f:
        assert f.readline().strip() == ",".join(HEADER)
    assert read_solutions(path)[0].tolist() == [100001]


def test_missing_file(tmp_path):
    with pytest.raises(LabelError, match="nope.csv: file not found"):
        read_solutions(tmp_path / "nope.csv")


def test_empty_file(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(LabelError, match="empty.csv: file is empty"):
        read_solutions(tmp_path / "empty.csv")


def test_header_only(tmp_path):
    with pytest.raises(LabelError, match="no data rows"):
        read_solutions(write_csv(tmp_path / "s.csv", rows=()))


@pytest.mark.parametrize(
    "header, message",
    [
        (["GalaxyID", *COLUMNS[:10], *COLUMNS[11:]], "missing column 'Class5.2'"),
        (["GalaxyID", COLUMNS[1], COLUMNS[0], *COLUMNS[2:]], "column 2 should be 'Class1.1' but is 'Class1.2'"),
        (["ID", *COLUMNS], "missing column 'GalaxyID'"),
        ([*HEADER, "Extra"], "unexpected header column"),
    ],
)
def test_bad_header_names_the_column(tmp_path, header, message):
    with pytest.raises(LabelError, match="line 1: .*" + message.replace("(", r"\(")):
        read_solutions(write_csv(tmp_path / "s.csv", header=header))


@pytest.mark.parametrize(
    "text, problem",
    [
        ("abc", "'abc' is not a number"),
        ("nan", "is not a finite number"),
        ("inf", "is not a finite number"),
        ("1.5", "outside \\[0, 1\\]"),
        ("-0.1", "outside \\[0, 1\\]"),
        ("", "'' is not a number"),
    ],
)
def test_bad_value_names_line_id_and_column(tmp_path, text, problem):
    path = write_csv(tmp_path / "s.csv", rows=[GOOD_ROW, with_value("Class7.2", text)])
    with pytest.raises(LabelError, match=f"s.csv: line 3 \\(GalaxyID 100123\\), column Class7.2: .*{problem}"):
        read_solutions(path)


def test_duplicate_id_names_both_lines(tmp_path):
    path = write_csv(tmp_path / "s.csv", rows=[GOOD_ROW, GOOD_ROW])
    with pytest.raises(LabelError, match="line 3: GalaxyID 100008 appears again \\(first on line 2\\)"):
        read_solutions(path)


def test_wrong_field_count(tmp_path):
    path = write_csv(tmp_path / "s.csv", rows=[GOOD_ROW, GOOD_ROW[:-2]])
    with pytest.raises(LabelError, match="line 3: expected 38 fields, found 36"):
        read_solutions(path)


def test_non_integer_id(tmp_path):
    path = write_csv(tmp_path / "s.csv", rows=[["x12"] + GOOD_ROW[1:]])
    with pytest.raises(LabelError, match="line 2: GalaxyID 'x12' is not an integer"):
        read_solutions(path)
