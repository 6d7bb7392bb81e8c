import json

from django.core.management.base import BaseCommand

import taxonomy
from config.exceptions import as_command_errors
from evaluation import scores, scoring


def percent(value):
    return "-" if value is None else f"{100 * value:.2f}"


def figure(row):
    """The value, or 'lower-upper' where some predictions are undecided, in percent."""
    if row["value"] is not None:
        return percent(row["value"])
    if row["lower"] is None:
        return "-"
    return f"{percent(row['lower'])}-{percent(row['upper'])}"


def interval(row):
    return "-" if row["ci_low"] is None else f"[{percent(row['ci_low'])}, {percent(row['ci_high'])}]"


def drop(row):
    if row["value"] is not None:
        return f"{100 * row['value']:+.2f}"
    if row["lower"] is None:
        return "-"
    return f"{100 * row['lower']:+.2f} to {100 * row['upper']:+.2f}"


def table(header, lines, text_columns):
    """Fixed-width columns: the first text_columns left-aligned, the figures after them right-aligned."""
    cells = [header, *lines]
    widths = [max(len(line[i]) for line in cells) for i in range(len(header))]
    return [
        "  ".join(
            c.ljust(w) if i < text_columns else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths, strict=True))
        )
        for line in cells
    ]


class Command(BaseCommand):
    help = (
        "Multi-label accuracy (strict and lenient), top-1 and top-5 of every model, human and ensemble, per dataset "
        "and split, per image and per class, with 95% Clopper-Pearson intervals. Accuracies are in percent; "
        "'a-b' gives the lower and upper bound where some predictions are not reviewed yet."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dataset", action="append", default=[], help="a dataset to score (repeatable; default: every dataset)"
        )
        parser.add_argument("--split", choices=taxonomy.SPLITS, help="only this split")
        parser.add_argument("--metric", choices=scoring.METRICS, help="only this metric")
        parser.add_argument(
            "--subset",
            choices=scoring.SUBSETS,
            help="only this subset of each predictor's images (humans of evaluation phases: seen / unseen before, "
            "fast / slow, at most / above their median seconds per image)",
        )
        parser.add_argument(
            "--drops",
            action="store_true",
            help="print the drop of each figure from the first --dataset to each of the others "
            "(reference minus other, in points) instead of the figures",
        )
        parser.add_argument("--json", action="store_true", help="print the rows as one JSON list")

    @as_command_errors
    def handle(self, *args, dataset, split=None, metric=None, subset=None, drops=False, **options):
        if drops:
            rows = scores.drop_rows(dataset, split=split, metric=metric, subset=subset)
        else:
            rows = scores.score_rows(dataset, split=split, metric=metric, subset=subset)
        if options["json"]:
            self.stdout.write(json.dumps(rows))
            return
        if drops:
            header = [
                "predictor",
                "kind",
                "from",
                "to",
                "split",
                "metric",
                "averaging",
                "subset",
                "drop, points",
                "n from",
                "n to",
            ]
            lines = [
                [r["predictor"], r["kind"], r["reference"], r["dataset"], r["split"], r["metric"], r["averaging"]]
                + [r["subset"], drop(r), f"{r['n_reference']:,}", f"{r['n']:,}"]
                for r in rows
            ]
        else:
            header = [
                "predictor",
                "kind",
                "dataset",
                "split",
                "metric",
                "averaging",
                "subset",
                "accuracy %",
                "95% CI",
                "n",
            ]
            lines = [
                [r["predictor"], r["kind"], r["dataset"], r["split"], r["metric"], r["averaging"], r["subset"]]
                + [figure(r), interval(r), f"{r['n']:,}"]
                for r in rows
            ]
        if not rows:
            self.stdout.write("no scores: no predictions on these datasets")
            return
        for line in table(header, lines, text_columns=len(header) - 3):
            self.stdout.write(line.rstrip())
