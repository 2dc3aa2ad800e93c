"""The README stays a newcomer's guide: short, and every file it links or shows exists (docs/experiments.md too)."""

import re

from tests.helpers import ROOT

README_LINES = 400


def linked_files(markdown: str) -> list[str]:
    """The targets of a page's links and pictures that are files of the project (not pages nor anchors)."""
    targets = re.findall(r"\]\(([^)\s]+)\)", markdown)
    return [target for target in targets if not target.startswith(("http", "#"))]


def test_the_readme_is_short_and_its_links_and_pictures_exist():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= README_LINES
    for page in (ROOT / "README.md", ROOT / "docs" / "experiments.md"):
        links = linked_files(page.read_text())
        assert links, page
        missing = [link for link in links if not (page.parent / link.split("#")[0]).exists()]
        assert not missing, f"{page.name}: {missing}"
