"""``loanscore points``: the points scale (P(default) as a score in points), shown or written as a file to edit."""

from __future__ import annotations

import click

from .errors import reports_errors
from .options import master_scale_option, points_scale_option

_HELP = """Show the points scale: how `score --points` turns P(default) into a
score in points, higher for safer, the points each rating grade covers and
the model's threshold in points.

\b
  score = points + pdo / ln 2 x ln(good:bad odds / odds),  good:bad odds = (1 - P) / P
rounded to a whole point and kept within lowest .. highest. Without
--points-scale (or $LOANSCORE_POINTS_SCALE), the built-in scale: 600 points
at good:bad odds 50:1, 20 points to double the odds, 300 to 900. -o writes
the scale as a file to edit, checked when read:

\b
  loanscore points -o our_points.toml
  loanscore score applicants.csv --points --points-scale our_points.toml
  loanscore points --points-scale our_points.toml          # check it, show it
  loanscore points --format json -o points.json            # for other languages
"""


@click.command(help=_HELP, short_help="The points scale: P(default) as a score in points.")
@points_scale_option
@master_scale_option
@click.option("--model", "model_dir", type=click.Path(file_okay=False),
              help="Model whose threshold to show in points. Default: the shipped model.")
@click.option("-o", "--output", default="-", show_default=True,
              help="Write the scale as a file to this path ('-' is stdout), instead of showing it as a table.")
@click.option("--format", "out_format", type=click.Choice(["toml", "json"]), default=None,
              help="With -o: toml (commented, to edit; the default) or json.")
@reports_errors
def points(points_scale: str | None, master_scale: str | None, model_dir: str | None, output: str,
           out_format: str | None) -> None:
    import json

    from loanscore.runtime.grades import MasterScale, describe
    from loanscore.runtime.model import Model
    from loanscore.runtime.points import PointsScale
    from loanscore.runtime.writers import open_output

    scale = PointsScale.load(points_scale)
    if output != "-" or out_format is not None:
        with open_output(output) as stream:
            stream.write(json.dumps(scale.to_dict(), indent=2) + "\n" if out_format == "json" else scale.to_toml())
        return
    grades = MasterScale.load(master_scale)
    threshold = Model.load(model_dir).threshold
    rows = [("grade", "P(default)", "points")]
    for (name, span, _), (_, lo, hi) in zip(describe(grades), grades.ranges(), strict=True):
        rows.append((name, span, _span(scale, lo, hi)))
    widths = [max(len(r[j]) for r in rows) for j in range(3)]
    at = float(scale.exact([threshold])[0])
    click.echo(f"Points: {scale.described}.")
    click.echo(f"Grades: {grades.described}.")
    click.echo("\n".join(f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]}".rstrip() for r in rows))
    click.echo(f"The model's threshold, P(default) {threshold:.4f}, is {at:.1f} points"
               + _threshold_words(scale, threshold, at))


def _span(scale, lo: float, hi: float) -> str:  # type: ignore[no-untyped-def]
    """A grade's points, unrounded at the bounds (a grade is set by P(default), so a whole point on a bound can
    fall either side)."""
    top, bottom = (float(x) for x in scale.exact([lo, hi]))
    top_text = f"{top:.1f}" if top < scale.highest else f"{scale.highest:g}"
    bottom_text = f"{bottom:.1f}" if bottom > scale.lowest else f"{scale.lowest:g}"
    return f"{bottom_text} - {top_text}"


def _threshold_words(scale, threshold: float, at: float) -> str:  # type: ignore[no-untyped-def]
    if not scale.lowest < at < scale.highest:
        return ", outside the scale's range."
    whole = float(scale.score([threshold])[0])
    return (f":\n{whole + 1:g} and up are approved, {whole - 1:g} and below declined, {whole:g} either way (by its exact "
            "P(default)).\nTo decide by points exactly: loanscore score FILE --approve-from-points N "
            "[--decline-below-points M]")
