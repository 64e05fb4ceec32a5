"""models: the catalogue in use, each entry marked with where it comes from (built-in, the
user's models.toml, or a built-in the user changed), and what is wrong with the user's file."""

from __future__ import annotations

from ..cli import EXIT_OK
from ..core.catalogue import OVERRIDDEN, USER, Catalogue, load_catalogue, user_catalogue_path
from .output import Output


def catalogue_for(out: Output) -> Catalogue:
    """The catalogue in use; every mistake in the user's models.toml is noted on stderr."""
    catalogue = load_catalogue()
    for problem in catalogue.problems:
        out.note(f"warning: the model catalogue {problem}")
    return catalogue


def _mark(source: str, overridden: tuple[str, ...]) -> str:
    if source == USER:
        return " [user]"
    if source == OVERRIDDEN:
        return f" [overridden: {', '.join(overridden)}]"
    return ""


def cmd_models(args, out: Output) -> int:
    catalogue = catalogue_for(out)
    path = user_catalogue_path()
    if out.as_json:
        out.emit(
            {
                "default": catalogue.default.id,
                "models": [m.to_json() for m in catalogue],
                "user_catalogue": str(path),
                "problems": [p.to_json() for p in catalogue.problems],
            }
        )
        return EXIT_OK
    width = max(len(m.id) for m in catalogue)
    for model in catalogue:
        default = " (default)" if model.default else ""
        out.say(
            f"{model.id:<{width}}  {model.tag:<6}  {model.description}{default}{_mark(model.source, model.overridden)}"
        )
        counts = f"n {model.n_min}" + (f"-{model.n_max}" if model.n_max != model.n_min else "")
        low, high = model.reference_range
        references = (
            "no reference images"
            if high == 0
            else f"{low}-{high} reference images (needs one)"
            if low
            else f"up to {high} reference images"
        )
        limits = f"{counts}, {references}" + (", mask" if model.mask else "")
        parts = [", ".join(model.capabilities), f"sizes {', '.join(model.all_sizes)}", limits]
        out.say(f"{'':<{width}}  {'':<6}  {'; '.join(p for p in parts if p)}")
        for spec in model.params:
            default = f" (default {spec.default})" if spec.default is not None else ""
            about = f"; {spec.description}" if spec.description else ""
            out.say(f"{'':<{width}}  {'':<6}  --param {spec.name}: {spec.allowed()}{default}{about}")
    added = sum(1 for m in catalogue if m.source == USER)
    changed = sum(1 for m in catalogue if m.source == OVERRIDDEN)
    built_in = sum(1 for m in catalogue if m.source != USER)
    if added or changed or catalogue.problems:
        out.say(f"\n{built_in} built-in models ({changed} changed) and {added} added by {path}")
    else:
        out.say(f"\n{built_in} built-in models; add or change models in {path}")
    return EXIT_OK
