"""locate and simulator."""

from __future__ import annotations

from ..cli import EXIT_OK
from ..core.config import cache_dir, config_path, fix_config_mode, load_settings, user_catalogue_path
from ..core.log import log_path
from ..runtime import demo_server_path
from .output import Output, whole


def cmd_locate(args, out: Output) -> int:
    if getattr(args, "fix_permissions", False):
        path = config_path()
        if path.exists():
            fix_config_mode(path)
            out.say(f"{path} is now readable and writable by you only (0600)")
    settings = load_settings(
        demo=getattr(args, "demo", False), download_dir=getattr(args, "download_dir", None), strict_key=False
    )
    info = {**settings.describe(), "log": str(log_path())}
    for warning in settings.warnings:
        out.note(f"warning: {warning}")
    out.say(f"config:    {info['config']}")
    out.say(f"data:      {info['data']}")
    out.say(f"downloads: {info['downloads']}")
    out.say(f"log:       {info['log']}")
    info["models"] = str(user_catalogue_path())
    out.say(f"models:    {info['models']} (your own models; optional)")
    info["cache"] = str(cache_dir())
    out.say(f"cache:     {info['cache']}")
    if settings.demo:
        info["demo_server"] = str(demo_server_path(settings))
        out.say(f"demo server state: {info['demo_server']}")
    else:
        demo = load_settings(demo=True, download_dir=getattr(args, "download_dir", None))
        info["demo_downloads"] = str(demo.download_dir)
        out.say(f"demo results: {info['demo_downloads']} (where --demo runs save)")
    out.say(f"api key:   {info['api_key']} (from {info['key_source']})")
    out.say(f"hosts:     {info['base_url']}  {info['files_base_url']}")
    out.emit(info)
    return EXIT_OK


def cmd_simulator(args, out: Output) -> int:
    from ..simulator.server import main as serve

    port = whole("port", args.port, "a port number from 0 (any free port) to 65535", low=0, high=65535)
    argv = ["--port", str(port)]
    if args.faults is not None:
        argv += ["--faults", args.faults]
    if args.speed is not None:
        argv += ["--speed", args.speed]
    if getattr(args, "state", None) is not None:
        argv += ["--state", args.state]
    return serve(argv)
