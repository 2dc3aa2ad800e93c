"""`python -m bench.finetune`: one part of the finetuning benchmark (see bench.finetune), resumable."""

import shutil
from pathlib import Path

import click

from bench import finetune
from bench.finetune.cells import LABELS, PRETRAINED, WORK, finished, load_results, the_survey
from bench.finetune.labels import label_counts
from bench.finetune.rates import head_starts, rates
from bench.finetune.report import table
from bench.finetune.rounds import ceiling, rounds
from bench.finetune.survey import QUESTIONS

PARTS = {"labels": None, "rounds": rounds, "ceiling": ceiling, "rates": rates, "head starts": head_starts}


@click.command(help=finetune.__doc__)
@click.option("--part", type=click.Choice(list(PARTS)), default="labels", show_default=True, help="What to train.")
@click.option("--seed", default=74, show_default=True, help="The survey's seed: 74 reports, 73 chooses settings.")
@click.option("--train", "n_train", default=24_000, show_default=True, help="The survey's training galaxies.")
@click.option(
    "--source",
    type=click.Path(file_okay=False, path_type=Path),
    default=PRETRAINED,
    show_default=True,
    help="The big trunk: a finished run (`make pretrain`'s).",
)
@click.option("--counts", default=",".join(map(str, LABELS)), show_default=True, help="Label counts, part labels.")
@click.option("--questions", default=",".join(QUESTIONS), show_default=True, help="Questions, part labels.")
def main(part: str, seed: int, n_train: int, source: Path, counts: str, questions: str) -> None:
    if not finished(source):
        raise click.UsageError(f"{source} holds no finished run: run `make pretrain` first (or pass --source)")
    asked = questions.split(",")
    unknown = set(asked) - set(QUESTIONS)
    if unknown:
        raise click.BadParameter(f"no such question {sorted(unknown)}; the questions are {list(QUESTIONS)}")
    results = load_results(seed)
    place = the_survey(n_train, seed)
    if part == "labels":
        label_counts(results, place, source, [int(n) for n in counts.split(",")], asked)
    else:
        PARTS[part](results, place, source)
    shutil.rmtree(WORK / "runs" / "current", ignore_errors=True)
    print(table(results))


if __name__ == "__main__":
    main()
