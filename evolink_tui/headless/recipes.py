"""reopen, lineage and iterate: what a result was made from, where it came from, and a new
generation that starts from it."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
from dataclasses import replace

from ..cli import EXIT_FAILURE, EXIT_OK
from ..core.errors import ValidationError
from ..core.gallery import items_of
from ..core.history import History
from ..core.lineage import Lineage, LineageNode, lineage
from ..core.recipe import Reopened, reopen
from ..core.text import excerpt
from ..core.validation import GenerationRequest, parse_n, validate
from .output import Output, settings_for, whole
from .records import _history_file

_SOURCES = {
    "png:evolink:recipe": 'the PNG text chunk "evolink:recipe"',
    "xmp:evolink:recipe": "the XMP field evolink:recipe",
    "png:parameters": 'the PNG "parameters" text (the JSON recipe was gone)',
    "exif:UserComment": "the Exif UserComment (the XMP recipe was gone)",
    "sidecar": "the .json sidecar",
}


def _open_history(args) -> History | None:
    path = _history_file(args)
    return History(path) if os.path.exists(path) else None


def _result_ref(text: str) -> tuple[int, int]:
    """``RECORD`` or ``RECORD:N`` (N from 1) as (record id, result index from 0)."""
    record, _, result = str(text).strip().lstrip("#").partition(":")
    allowed = "a record id as listed by `evolink-tui history`, optionally :N for its result N (from 1)"
    record_id = whole("record", record, allowed)
    index = whole("record", result, allowed) - 1 if result else 0
    if record_id < 1 or index < 0:
        raise ValidationError("record", text, allowed)
    return record_id, index


# -- reopen -------------------------------------------------------------------------------


def again_command(request: GenerationRequest) -> str:
    """The `generate` command line that makes this recipe again."""
    parts = ["evolink-tui", "generate", request.prompt]
    if request.model:
        parts += ["--model", request.model]
    if request.size:
        parts += ["--size", request.size]
    if request.n is not None:
        parts += ["-n", str(request.n)]
    for image in request.images:
        parts += ["--image", image]
    if request.mask:
        parts += ["--mask", request.mask]
    for name, value in request.params:
        parts += ["--param", f"{name}={json.dumps(value) if not isinstance(value, str) else value}"]
    return shlex.join(parts)


def _recipe_lines(found: Reopened, record_id: int | None) -> list[str]:
    recipe = found.recipe or {}
    lines = [f"recipe of {found.path} (from {_SOURCES.get(found.source, found.source)})"]
    lines.append(f"  prompt: {recipe.get('prompt') or ''}")
    settings = [f"model {recipe.get('model') or '?'}"]
    settings += [f"size {recipe['size']}"] if recipe.get("size") else []
    settings += [f"n {recipe['n']}"] if recipe.get("n") is not None else []
    lines.append("  " + ", ".join(settings))
    for url in recipe.get("image_urls") or []:
        lines.append(f"  reference: {url}")
    if recipe.get("mask_url"):
        lines.append(f"  mask: {recipe['mask_url']}")
    task = recipe.get("task_id") or "?"
    result = f"result {recipe['index']} of " if recipe.get("index") else ""
    lines.append(f"  {result}task {task}" + (f", record #{recipe['record_id']}" if recipe.get("record_id") else ""))
    parent = recipe.get("parent")
    if isinstance(parent, dict):
        via = f" (task {parent['task_id']})" if parent.get("task_id") else ""
        lines.append(f"  iterated on: #{parent.get('record_id')} result {parent.get('result')}{via}")
    if recipe.get("credits_reserved") is not None:
        lines.append(f"  credits: {recipe['credits_reserved']:g}")
    times = [(k, recipe.get(f"{k}_at")) for k in ("created", "finished", "downloaded")]
    if any(value for _, value in times):
        lines.append("  " + ", ".join(f"{k} {v}" for k, v in times if v))
    lines.append(
        f"  in this history: record #{record_id}"
        if record_id
        else "  in this history: no record of this task (the recipe is all there is)"
    )
    lines.append(f"again: {again_command(found.generation_request())}")
    return lines


def cmd_reopen(args, out: Output) -> int:
    found = reopen(args.file)
    history = _open_history(args)
    record = None
    if history is not None and found.found:
        try:
            record = found.record_in(history)
        finally:
            history.close()
    if not found.found:
        out.say(f"{found.path}: no evolink-tui recipe in this file or beside it (an image from another tool?)")
        if found.foreign:
            out.say("it carries another tool's generation text:")
            for line in found.foreign.splitlines()[:20]:
                out.say(f"  {excerpt(line, 200)}")
        out.emit({**found.to_json(), "record_id": None})
        return EXIT_FAILURE
    for line in _recipe_lines(found, record.id if record else None):
        out.say(line)
    out.emit({**found.to_json(), "record_id": record.id if record else None})
    return EXIT_OK


# -- lineage ------------------------------------------------------------------------------


def _node_head(node: LineageNode, focus: int) -> str:
    record = node.record
    parts = [f"#{record.id}"]
    if node.from_result is not None:
        parts.append(f"from result {node.from_result + 1}")
    parts += [record.state, record.model or "?", excerpt(record.prompt, 50) if record.prompt else "(no prompt)"]
    return "  ".join(parts) + ("   <- this one" if record.id == focus else "")


def _node_details(node: LineageNode) -> list[str]:
    lines = []
    for item in items_of(node.record):
        state = "" if item.state == "on disk" else f" ({item.state})"
        star = " *favourite*" if item.favourite else ""
        lines.append(f"result {item.index + 1}: {item.path or '-'}{state}{star}")
    return lines


def tree_lines(tree: Lineage) -> list[str]:
    """The tree as indented text: each record with its results below it."""
    lines: list[str] = []
    stack: list[tuple[LineageNode, str, str]] = [(tree.root, "", "")]
    while stack:
        node, head, body = stack.pop()
        lines.append(head + _node_head(node, tree.focus))
        for detail in _node_details(node):
            lines.append(body + ("│    " if node.children else "     ") + detail)
        for position in range(len(node.children) - 1, -1, -1):
            last = position == len(node.children) - 1
            child = node.children[position]
            stack.append((child, body + ("└─ " if last else "├─ "), body + ("   " if last else "│  ")))
    return lines


def cmd_lineage(args, out: Output) -> int:
    record_id = whole("record_id", str(args.record_id).lstrip("#"), "a record id listed by `evolink-tui history`")
    history = _open_history(args)
    if history is None:
        raise ValidationError("record_id", record_id, "a record id listed by `evolink-tui history` (no history yet)")
    try:
        tree = lineage(history, record_id)
    finally:
        history.close()
    for line in tree_lines(tree):
        out.say(line)
    if tree.truncated:
        out.note("the line is longer than shown (cut at 100 generations or 10,000 records)")
    out.emit(tree.to_json())
    return EXIT_OK


# -- iterate ------------------------------------------------------------------------------


def cmd_iterate(args, out: Output) -> int:
    from ..core.iterate import iterate

    record_id, index = _result_ref(args.result)
    history = _open_history(args)
    record = history.get(record_id) if history is not None else None
    if history is not None:
        history.close()
    if record is None:
        raise ValidationError("record", args.result, "a record id listed by `evolink-tui history`")
    iteration = iterate(record, index)
    if args.model:
        iteration = iteration.with_model(args.model)
    elif not iteration.model_kept:
        raise ValidationError(
            "model",
            record.model,
            "a model that takes reference images (--model): " + ", ".join(iteration.editing_models),
            shown=f"{record.model!r} does not take reference images",
        )
    request = iteration.request
    if args.prompt:
        request = replace(request, prompt=args.prompt)
    if args.size:
        request = replace(request, size=args.size)
    if args.n is not None:
        request = replace(request, n=parse_n(args.n))
    validate(request)
    settings = settings_for(args, out)
    how = "its URL" if iteration.reference_is_url else f"its file {iteration.reference}, uploaded first"
    out.say(f"iterating on #{record_id} result {index + 1} ({how})")
    from .tasks import _generate

    return asyncio.run(_generate(args, out, settings, request, parent=iteration.parent))
