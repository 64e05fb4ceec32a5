"""Your own keys: the ``[keymap]`` table of config.toml, checked against every binding.

Every binding of the app has an id (``generate``, ``task.retry``, ``gallery.open``...). The
user's table maps ids to keys, as Textual's keymap does (``App.set_keymap``)::

    [keymap]
    generate = "f9"                  # one key
    pick_models = ["f2", "ctrl+o"]   # or several (a comma-separated string works too)

This module reads that table (:func:`read_keymap`), lists every binding without importing
Textual (:func:`bindings`: the ``Binding(...)`` calls of the TUI's source, read as syntax,
so ``evolink-tui keys`` stays a quick headless command), and finds conflicts: a key given to
two different actions where both would be live at once (:func:`conflicts`).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import NamedTuple

TUI = Path(__file__).resolve().parent.parent / "tui"
APP_SCOPE = "EvolinkApp"  # bindings of the App work on every screen
# Keys as Textual names them: letters, digits, _ and + (ctrl+j, f9, question_mark, shift+tab).
KEY = re.compile(r"^[A-Za-z0-9_+]{1,40}$")
# The few characters Textual accepts in a keymap and names otherwise (App._normalize_keymap).
CHARACTERS = {
    "?": "question_mark",
    "/": "slash",
    "[": "left_square_bracket",
    "]": "right_square_bracket",
    " ": "space",
    ",": "comma",
}
MAX_ENTRIES = 500
# Where each widget with bindings of its own is mounted: its keys and its screen's are live
# together (the focused widget's win). A scope not listed stands alone.
PLACES = {
    "Composer": "MainScreen",
    "TaskList": "MainScreen",
    "Preview": "MainScreen",
    "RefList": "Composer",
    "Choice": "Composer",
    "ActionButton": "Composer",
    "FileTable": "FilesScreen",
    "GalleryGrid": "GalleryScreen",
    "HistoryResults": "HistorySearchScreen",
    "MaskCanvas": "MaskScreen",
    "ModelList": "ModelPicker",
    "ImageTree": "UploadScreen",
}


class BindingInfo(NamedTuple):
    id: str
    scope: str  # the class that holds the binding: bindings in one scope are live together
    keys: tuple[str, ...]  # the default keys
    action: str
    description: str
    shown: bool  # on the key bar
    priority: bool = False  # works even while typing in a text field


class Conflict(NamedTuple):
    key: str
    first: BindingInfo
    second: BindingInfo

    def message(self) -> str:
        if not self.second.id:  # a text field's own key
            return (
                f"Key {self.key} is given to {self.first.id} ({describe(self.first)}), but while the cursor is in a "
                f"text field that key does {self.second.description}. Change it in [keymap]."
            )
        return (
            f"Key {self.key} is given to two actions: {self.first.id} ({describe(self.first)}) and "
            f"{self.second.id} ({describe(self.second)}); only one of them will run. Change one in [keymap]."
        )


def describe(binding: BindingInfo) -> str:
    return binding.description or binding.action


def normalize_key(key: str) -> str:
    key = key.strip() if key.strip() else key  # " " is the space key
    return CHARACTERS.get(key, key)


# ---- the user's table


def read_keymap(table: object, where: str = "[keymap]") -> tuple[dict[str, tuple[str, ...]], list[str]]:
    """The ``[keymap]`` table as {id: keys}, and a warning for each entry that cannot be used
    (the rest are kept). Ids are checked against the bindings later (:func:`check`)."""
    if table is None:
        return {}, []
    if not isinstance(table, dict):
        return {}, [f'{where} must be a table of binding ids and keys, such as generate = "f9"; ignored.']
    keymap: dict[str, tuple[str, ...]] = {}
    warnings: list[str] = []
    for binding_id, value in list(_flat(table).items())[:MAX_ENTRIES]:
        raw = value.split(",") if isinstance(value, str) else value
        if not isinstance(raw, list) or not raw or not all(isinstance(k, str) for k in raw):
            warnings.append(f'{where}: {binding_id} must be a key such as "f9", or a list of keys; ignored.')
            continue
        keys = tuple(normalize_key(k) for k in raw)
        bad = [k for k in keys if not KEY.match(k)]
        if bad:
            warnings.append(
                f"{where}: {binding_id} = {value!r}: {bad[0]!r} is not a key name "
                "(such as f9, ctrl+e, shift+tab, question_mark); ignored."
            )
            continue
        keymap[binding_id] = tuple(dict.fromkeys(keys))
    return keymap, warnings


def _flat(table: dict, prefix: str = "") -> dict[str, object]:
    """``task.retry = "x"`` unquoted is a dotted key in TOML (a table ``task`` holding
    ``retry``): flattened back into the id ``task.retry``."""
    flat: dict[str, object] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def as_textual(keymap: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    """The table as ``App.set_keymap`` takes it: {id: "key1,key2"}."""
    return {binding_id: ",".join(keys) for binding_id, keys in keymap.items()}


# ---- every binding, read from the TUI's source


def bindings(root: Path = TUI) -> list[BindingInfo]:
    """Every ``Binding`` of the TUI with its scope (class), in source order."""
    found: list[BindingInfo] = []
    for path in sorted(root.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if "BINDINGS" in text:
            found.extend(_bindings_in(ast.parse(text, filename=str(path))))
    return found


def _bindings_in(tree: ast.Module) -> Iterator[BindingInfo]:
    helpers = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef) and len(node.args.args) == 1}
    imported = _imported_helpers(tree)
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    for node in classes:
        classes.extend(inner for inner in node.body if isinstance(inner, ast.ClassDef))
        for statement in node.body:
            if isinstance(statement, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "BINDINGS" for t in statement.targets
            ):
                if isinstance(statement.value, ast.List):
                    yield from _from_list(statement.value.elts, node.name, helpers, imported)


def _imported_helpers(tree: ast.Module) -> dict[str, ast.FunctionDef]:
    """Functions returning bindings that a module imports from another module of the TUI
    (``from ..result_actions import task_result_bindings``)."""
    found: dict[str, ast.FunctionDef] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.endswith("result_actions"):
            source = ast.parse((TUI / "result_actions.py").read_text(encoding="utf-8"))
            for item in source.body:
                if isinstance(item, ast.FunctionDef) and any(alias.name == item.name for alias in node.names):
                    found[item.name] = item
    return found


def _from_list(
    items: Iterable[ast.expr],
    scope: str,
    *tables: Mapping[str, ast.FunctionDef],
    names: Mapping[str, str] | None = None,
) -> Iterator[BindingInfo]:
    for item in items:
        if isinstance(item, ast.Call) and isinstance(item.func, ast.Name) and item.func.id == "Binding":
            info = _binding(item, scope, names or {})
            if info is not None:
                yield info
        elif (
            isinstance(item, ast.Starred)
            and isinstance(item.value, ast.Call)
            and isinstance(item.value.func, ast.Name)
            and item.value.args
            and isinstance(item.value.args[0], ast.Constant)
        ):
            helper = next((t[item.value.func.id] for t in tables if item.value.func.id in t), None)
            if helper is None:
                continue
            argument = {helper.args.args[0].arg: str(item.value.args[0].value)}
            for returned in ast.walk(helper):
                if isinstance(returned, ast.Return) and isinstance(returned.value, ast.List):
                    yield from _from_list(returned.value.elts, scope, names=argument)


def _text(node: ast.expr | None, names: Mapping[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
            elif isinstance(value, ast.FormattedValue) and isinstance(value.value, ast.Name):
                if value.value.id not in names:
                    return None
                parts.append(names[value.value.id])
            else:
                return None
        return "".join(parts)
    return None


def _binding(call: ast.Call, scope: str, names: Mapping[str, str]) -> BindingInfo | None:
    keywords = {k.arg: k.value for k in call.keywords if k.arg}
    positional = ["key", "action", "description"]
    values = {name: call.args[i] for i, name in enumerate(positional) if i < len(call.args)}
    values.update({k: v for k, v in keywords.items() if k in positional})
    key = _text(values.get("key"), names)
    action = _text(values.get("action"), names)
    if key is None or action is None:
        return None
    show = keywords.get("show")
    priority = keywords.get("priority")
    return BindingInfo(
        id=_text(keywords.get("id"), names) or "",
        scope=scope,
        keys=tuple(normalize_key(k) for k in key.split(",")),
        action=action,
        description=_text(values.get("description"), names) or "",
        shown=not (isinstance(show, ast.Constant) and show.value is False),
        priority=isinstance(priority, ast.Constant) and priority.value is True,
    )


# ---- the table in force, and what is wrong with it


def current_keys(binding: BindingInfo, keymap: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    return keymap.get(binding.id, binding.keys)


def check(
    table: list[BindingInfo], keymap: Mapping[str, tuple[str, ...]], typing: Iterable[BindingInfo] = ()
) -> tuple[list[Conflict], list[str]]:
    """The conflicts the keymap makes, and the ids it names that no binding has.

    A conflict is a key the keymap gives to a binding while another binding with another
    action has it in the same place (the same screen or panel, or the App, which is live
    everywhere). Conflicts among the defaults alone are the app's design (``t`` is both
    retry and resend, one shown at a time), so only keys the keymap sets are checked.
    ``typing``: the text fields' own keys (Textual's, known only where Textual is loaded),
    which win over any binding but a priority one while the cursor is in a field."""
    known = {b.id for b in table if b.id}
    unknown = [binding_id for binding_id in keymap if binding_id not in known]
    conflicts: list[Conflict] = []
    seen: set[tuple[str, str, str]] = set()
    for binding in table:
        if binding.id not in keymap:
            continue
        for key in current_keys(binding, keymap):
            for other in table:
                if other is binding or other.action == binding.action:
                    continue
                if not live_together(binding.scope, other.scope):
                    continue
                if key not in current_keys(other, keymap):
                    continue
                pair = tuple(sorted((binding.id, other.id)))
                if (key, *pair) in seen:
                    continue
                seen.add((key, pair[0], pair[1]))
                conflicts.append(Conflict(key, binding, other))
            if not binding.priority:
                field = next((t for t in typing if key in t.keys), None)
                if field is not None:
                    conflicts.append(Conflict(key, binding, field))
    return conflicts, unknown


def _places(scope: str) -> list[str]:
    chain = [scope]
    while chain[-1] in PLACES and len(chain) < 10:
        chain.append(PLACES[chain[-1]])
    return chain


def live_together(first: str, second: str) -> bool:
    """Whether bindings of these two scopes can both be live at once."""
    return APP_SCOPE in (first, second) or first in _places(second) or second in _places(first)


def unknown_message(unknown: list[str], where: str = "[keymap]") -> str:
    names = ", ".join(unknown[:5]) + (" ..." if len(unknown) > 5 else "")
    return f"{where}: no binding has the id {names}; `evolink-tui keys` lists them. Ignored."
