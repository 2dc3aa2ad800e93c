"""`make results`: docs/results.md, every benchmark's table rendered from the results file it wrote (bench/*.json)
by the benchmark's own `table`, with the machine and the generator that produced it. A benchmark whose results file
is missing is named with the command that measures it. The README and docs/ cite figures from this page."""

import importlib
import json
from pathlib import Path

import click

from preprocess.atomic import replacing

ROOT = Path(__file__).parent
PAGE = ROOT.parent / "docs" / "results.md"
# title, results file, the command that writes it, the module whose `table` renders it, what the models start from
# (None: the trunks the finetuning cells record)
SOURCES = (
    ("Models at equal time", "quality.json", "make quality", "bench.quality", "trained from scratch"),
    ("Vote counts", "campaign.json", "make campaign-bench", "bench.campaign", "trained from scratch"),
    ("Learning curves", "curves.json", "make learning-curves", "bench.curves", "trained from scratch"),
    ("Calibrated intervals", "intervals.json", "make intervals-bench", "bench.intervals", "trained from scratch"),
    ("Finetuning", "finetune-74.json", "make finetune-bench", "bench.finetune.report", None),
    ("Speed", "results.json", "make bench", "bench.__main__", "trained from scratch"),
    ("TensorFlow's CPU settings", "results_cpu.json", "make bench-cpu", "bench.cpu", "trained from scratch"),
    ("At Kaggle's size", "fullsize.json", "make fullsize", "bench.fullsize", "trained from scratch"),
    ("Real and synthetic cutouts", "framing.json", "make framing", "bench.framing", "no model"),
    ("Galaxies of each kind, real and synthetic", "kinds.json", "make framing", "bench.kinds", "no model"),
    ("Real galaxies", "real.json", "make real", "bench.real", "trained only on synthetic galaxies, then finetuned"),
)


def trunks(results: dict) -> list[str]:
    """The trunks the finetuning cells record (older cells recorded none)."""
    found = set()

    def walk(node) -> None:
        if isinstance(node, dict):
            found.update([node["trunk"]] if isinstance(node.get("trunk"), str) else [])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(results)
    return sorted(found)


def section(title: str, name: str, command: str, module: str, start: str | None) -> str:
    path = ROOT / name
    if not path.exists():
        return f"## {title}\n\nNot measured on this checkout: `{command}` writes bench/{name}.\n"
    results = json.loads(path.read_text())
    if start is None:
        start = f"finetuned from {', '.join(trunks(results)) or 'the trunks each table names by their galaxies'}"
    machine = results.get("cpu") or "each cell's, as the table names"
    generator = results.get("generator") or (
        "each trunk's, as the table names"
        if results.get("trunks") and all("generator" in cell for cell in results["trunks"].values())
        else "not recorded (an earlier generator than the file's date may tell)"
    )
    provenance = f"`{command}`, bench/{name}. Machine: {machine}. Models: {start}. Generator: {generator}."
    table = importlib.import_module(module).table(results)
    return f"## {title}\n\n{provenance}\n\n```\n{table}\n```\n"


def render() -> str:
    sections = [section(*source) for source in SOURCES]
    header = "# Results\n\nWritten by `make results` from the benchmarks' results files; do not edit by hand.\n"
    return "\n".join([header, *sections])


@click.command(help=__doc__)
def main() -> None:
    with replacing(PAGE, suffix=".md") as tmp:
        tmp.write_text(render())
    print(f"wrote {PAGE}")


if __name__ == "__main__":
    main()
