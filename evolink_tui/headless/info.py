"""models, locate and simulator."""

from __future__ import annotations

from ..cli import EXIT_OK
from ..core.catalogue import load_catalogue
from ..core.config import load_settings
from .output import Output


def cmd_models(args, out: Output) -> int:
    catalogue = load_catalogue()
    if out.as_json:
        out.emit({"default": catalogue.default.id, "models": [m.to_json() for m in catalogue]})
        return EXIT_OK
    width = max(len(m.id) for m in catalogue)
    for model in catalogue:
        default = " (default)" if model.default else ""
        out.say(f"{model.id:<{width}}  {model.tag:<6}  {model.description}{default}")
        sizes = ", ".join(model.all_sizes)
        extras = f"n {model.n_min}-{model.n_max}, up to {model.max_images} reference images" + (
            ", mask" if model.mask else ""
        )
        out.say(f"{'':<{width}}  {'':<6}  {', '.join(model.capabilities)}; sizes {sizes}; {extras}")
    return EXIT_OK


def cmd_locate(args, out: Output) -> int:
    settings = load_settings(demo=getattr(args, "demo", False), download_dir=getattr(args, "download_dir", None))
    info = settings.describe()
    for warning in settings.warnings:
        out.note(f"warning: {warning}")
    out.say(f"config:    {info['config']}")
    out.say(f"data:      {info['data']}")
    out.say(f"downloads: {info['downloads']}")
    out.say(f"api key:   {info['api_key']} (from {info['key_source']})")
    out.say(f"hosts:     {info['base_url']}  {info['files_base_url']}")
    out.emit(info)
    return EXIT_OK


def cmd_simulator(args, out: Output) -> int:
    from ..simulator.server import main as serve

    argv = ["--port", str(args.port)]
    if args.faults is not None:
        argv += ["--faults", args.faults]
    if args.speed is not None:
        argv += ["--speed", args.speed]
    return serve(argv)
