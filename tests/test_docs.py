"""The README stays a newcomer's guide: short, and every file it links or shows exists (docs/ too); docs/results.md
is what `make results` renders from the results files, never edited by hand."""

import json
import re
import shutil

from tests.helpers import ROOT

README_LINES = 300


def linked_files(markdown: str) -> list[str]:
    """The targets of a page's links and pictures that are files of the project (not pages nor anchors)."""
    targets = re.findall(r"\]\(([^)\s]+)\)", markdown)
    return [target for target in targets if not target.startswith(("http", "#"))]


def test_the_readme_is_short_and_its_links_and_pictures_exist():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= README_LINES
    for page in (ROOT / "README.md", ROOT / "docs" / "experiments.md", ROOT / "docs" / "guide.md"):
        links = linked_files(page.read_text())
        assert links, page
        missing = [link for link in links if not (page.parent / link.split("#")[0]).exists()]
        assert not missing, f"{page.name}: {missing}"


def test_docs_results_is_what_make_results_renders_from_the_results_files():
    from bench.results import render

    assert (ROOT / "docs" / "results.md").read_text() == render(), "run `make results`"


def test_a_results_file_missing_names_the_command_that_writes_it(tmp_path, monkeypatch):
    import bench.results

    shutil.copy(ROOT / "bench" / "intervals.json", tmp_path / "intervals.json")
    monkeypatch.setattr(bench.results, "ROOT", tmp_path)
    page = bench.results.render()
    assert "`make quality` writes bench/quality.json" in page
    assert "auto: intervals by binomial" in page and "`make intervals-bench` writes" not in page


def test_make_reals_trunks_measured_on_other_cpus_and_generators_each_name_their_own(tmp_path, monkeypatch):
    import bench.results

    cells = {
        f"bench/work/{name}/runs/default-10min": {
            "generator": generator,
            "cpu": cpu,
            "epochs": 70,
            "seconds_per_epoch": 7,
        }
        for name, generator, cpu in (
            ("a", "SDSS look", "AMD EPYC 9B14"),
            ("b", "Hubble sequence", "Intel(R) Xeon(R) Processor"),
        )
    }
    (tmp_path / "real.json").write_text(json.dumps({"trunks": cells, "galaxies": 100}))
    monkeypatch.setattr(bench.results, "ROOT", tmp_path)
    page = bench.results.render()
    assert (
        "Machine: each cell's, as the table names. " in page and "Generator: each trunk's, as the table names." in page
    )
    rows = [line for line in page.splitlines() if line.startswith(("a/", "b/"))]
    assert "SDSS look" in rows[0] and "AMD EPYC" in rows[0] and "Hubble sequence" in rows[1] and "Intel Xeon" in rows[1]
