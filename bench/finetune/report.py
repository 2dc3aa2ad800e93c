"""The finetuning benchmark's tables and figure from bench/finetune-SEED.json (`python -m bench.finetune.report
SEED` redraws docs/finetune.png without training)."""

import json
from pathlib import Path

import click
import numpy as np

HEADLINE = {"rings": "average_precision", "bar length": "rmse", "Sersic index": "rmse"}
SECOND = {"rings": "roc_auc", "bar length": "r2", "Sersic index": "r2"}
FIGURE = Path(__file__).parents[2] / "docs" / "finetune.png"
BIG, SMALL = "61,578 galaxies", "6,000 galaxies"  # the sources: make pretrain's trunk, the default's quality set


def higher_is_better(metric: str) -> bool:
    return metric != "rmse"


def mean(runs: list[dict], method: str, metric: str) -> tuple[float, float]:
    values = [run[method][metric] for run in runs if method in run]
    return (float(np.mean(values)), float(np.std(values))) if values else (float("nan"), 0.0)


def multiplier(by_count: dict, metric: str, n: int = 300) -> str:
    """How many labels from scratch reach what the finetuned model reaches with n, over n: interpolated in log
    labels between measured counts."""
    if str(n) not in by_count:
        return "not measured"
    target = mean(by_count[str(n)], "finetuned", metric)[0]
    better = (lambda a, b: a >= b) if higher_is_better(metric) else (lambda a, b: a <= b)
    counts = sorted(int(k) for k in by_count if any("from scratch" in run for run in by_count[k]))
    means = [mean(by_count[str(k)], "from scratch", metric)[0] for k in counts]
    for (k0, m0), (k1, m1) in zip(zip(counts, means), zip(counts[1:], means[1:])):
        if better(m1, target) and not better(m0, target):
            t = (target - m0) / (m1 - m0) if m1 != m0 else 1.0
            return f"{np.exp(np.log(k0) + t * (np.log(k1) - np.log(k0))) / n:.1f}x"
    if counts and better(means[0], target):
        return f"at most {counts[0] / n:.1f}x"
    return f"more than {counts[-1] / n:.3g}x" if counts else "not measured"


def labels_table(source: str, question: str, by_count: dict) -> list[str]:
    metric, second = HEADLINE[question], SECOND[question]
    counts = sorted(by_count, key=int)
    lines = [
        f"{source}, {question}: {metric} / {second} on the test galaxies, mean +- spread over draws "
        "(epochs x seconds per epoch)"
    ]
    lines.append(f"{'labels':<14}" + "".join(f"{int(n):>38,}" for n in counts))
    for method in ("finetuned", "head only", "from scratch"):
        cells = []
        for n in counts:
            (m, s), (m2, _) = mean(by_count[n], method, metric), mean(by_count[n], method, second)
            epochs, speed = mean(by_count[n], method, "epochs")[0], mean(by_count[n], method, "seconds per epoch")[0]
            cells.append("-" if np.isnan(m) else f"{m:.3f}+-{s:.3f} / {m2:.3f} ({epochs:.0f} x {speed:.2f} s)")
        if any(not np.isnan(mean(by_count[n], method, metric)[0]) for n in counts):
            lines.append(f"{method:<14}" + "".join(f"{c:>38}" for c in cells))
    kept = [run["finetuned"]["kept"] for n in counts for run in by_count[n] if "finetuned" in run]
    lines.append(f"auto kept the unfrozen model in {kept.count('unfrozen')} of {len(kept)} runs")
    if "from scratch" in str(by_count):
        lines.append(f"labels from scratch to match the finetuned on 300, over 300: {multiplier(by_count, metric)}")
        if metric == "rmse" and "300" in by_count:
            gain = 1 - mean(by_count["300"], "finetuned", "rmse")[0] / mean(by_count["300"], "from scratch", "rmse")[0]
            lines.append(f"RMSE at 300 labels {gain:.0%} lower than from scratch")
    if second == "r2":
        worst = min(run["head only"]["r2"] for n in counts for run in by_count[n] if "head only" in run)
        lines.append(f"lowest R^2 of any head-only run: {worst:.3f}")
    return lines


def rounds_table(rounds: dict) -> list[str]:
    complete = min(len(draws) for draws in rounds.values())  # the draws every strategy has finished
    lines = [f"labelling rounds (rings): average precision, and rings among the labels, mean over {complete} draws"]
    finals = {}
    for strategy, draws in rounds.items():
        steps = draws[:complete]
        counts = [step["labels"] for step in steps[0]]
        ap = [np.mean([d[i]["average_precision"] for d in steps]) for i in range(len(counts))]
        rings = [np.mean([d[i]["rings"] for d in steps]) for i in range(len(counts))]
        finals[strategy] = (ap[-1], rings[-1] - rings[0])
        lines.append(f"{strategy:<18}" + "".join(f"{n:>5}: {a:.3f} {r:4.1f}" for n, a, r in zip(counts, ap, rings)))
    if {"suggest", "random"} <= set(finals):
        (ap_s, found_s), (ap_r, found_r) = finals["suggest"], finals["random"]
        lines.append(
            f"suggest over random: {ap_s / ap_r:.2f}x the average precision, "
            f"{found_s / max(found_r, 1e-9):.1f}x the rings found"
        )
    if {"suggest", "ring probability"} <= set(finals):
        lines.append(f"suggest over ring probability: {finals['suggest'][0] / finals['ring probability'][0]:.2f}x")
    return lines


def ceiling_table(ceiling: dict) -> list[str]:
    lines = ["what any labels from the rounds' pool reach (rings): average precision, rings among the labels"]
    for name, runs in ceiling.items():
        cells = ", ".join(f"{run['average_precision']:.3f} ({run['epochs']} ep)" for run in runs)
        lines.append(f"{name}: {cells}; {runs[0]['rings']} rings")
    return lines


def rates_table(rates: dict) -> list[str]:
    lines = ["rates (choosing survey, one draw): average precision for rings, RMSE for the others"]
    for question, by_count in rates.items():
        for n, variants in by_count.items():
            metric = HEADLINE[question]
            cells = ", ".join(f"{name} {v[metric]:.3f} ({v['epochs']} ep)" for name, v in variants.items())
            lines.append(f"{question}, {n} labels: {cells}")
    return lines


def head_starts_table(starts: dict) -> list[str]:
    lines = ["the head alone on bar length, by how its weights start (choosing survey): R^2 of each draw"]
    for start, by_count in starts.items():
        cells = "; ".join(
            f"{n} labels " + ", ".join(f"{run['r2']:.2f}" for run in runs) for n, runs in by_count.items()
        )
        lines.append(f"{start}: {cells}")
    return lines


def machines(tree) -> set[str]:
    """Every CPU that trained a model anywhere in `tree` (each model's scores carry its machine)."""
    if isinstance(tree, dict):
        return {tree["machine"]} if "machine" in tree else set().union(*map(machines, tree.values()))
    return set().union(*map(machines, tree)) if isinstance(tree, list) else set()


def table(results: dict) -> str:
    lines = [f"survey seed {results['survey seed']}; trained on {'; '.join(sorted(machines(results)))}"]
    for source, questions in results.get("labels", {}).items():
        for question, by_count in questions.items():
            lines += ["", *labels_table(source, question, by_count)]
    if "rates" in results:
        lines += ["", *rates_table(results["rates"])]
    if "head starts" in results:
        lines += ["", *head_starts_table(results["head starts"])]
    if "rounds" in results:
        lines += ["", *rounds_table(results["rounds"])]
    if "ceiling" in results:
        lines += ["", *ceiling_table(results["ceiling"])]
    return "\n".join(lines)


def plot(results: dict, out: Path = FIGURE) -> Path:
    from train.plots import plt, save_figure

    questions = results["labels"][BIG]
    figure, axes = plt.subplots(1, len(questions), figsize=(4.2 * len(questions), 3.4))
    for axis, question in zip(np.atleast_1d(axes), questions):
        metric = HEADLINE[question]
        for source, methods in (
            (BIG, ("finetuned", "head only", "from scratch")),
            (SMALL, ("finetuned",)),
        ):
            counts = sorted(results["labels"].get(source, {}).get(question, {}), key=int)
            for method in methods:
                stats = [mean(results["labels"][source][question][n], method, metric) for n in counts]
                if all(np.isnan(m) for m, _ in stats):
                    continue
                name = method if method == "from scratch" else f"{method}, {source}"
                axis.errorbar(
                    [int(n) for n in counts],
                    [m for m, _ in stats],
                    yerr=[s for _, s in stats],
                    marker="o",
                    ms=3,
                    capsize=2,
                    label=name,
                )
        axis.set(xscale="log", xlabel="labels", ylabel=metric.replace("_", " "), title=question)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=6)
    return save_figure(figure, out)


@click.command(help=__doc__)
@click.argument("seed", default=74)
def main(seed: int) -> None:
    results = json.loads((Path(__file__).parents[1] / f"finetune-{seed}.json").read_text())
    print(table(results))
    print(f"wrote {plot(results)}")


if __name__ == "__main__":
    main()
