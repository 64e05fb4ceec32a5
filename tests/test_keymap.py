"""Your own keys (core/keymap.py, `evolink-tui keys`): the [keymap] table read, every binding
of the TUI found with its id, conflicts named with the key and both actions."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

from evolink_tui.core import keymap
from evolink_tui.core.config import load_settings, update_config_file


def live_bindings() -> set[tuple[str, str, tuple[str, ...], str]]:
    """Every Binding the TUI's classes declare, from the classes themselves (Textual loaded)."""
    from textual.binding import Binding

    import evolink_tui.tui as tui

    found = set()
    for info in pkgutil.walk_packages(tui.__path__, tui.__name__ + "."):
        module = importlib.import_module(info.name)
        for _name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__ or "BINDINGS" not in vars(cls):
                continue
            for binding in vars(cls)["BINDINGS"]:
                assert isinstance(binding, Binding), f"{cls.__name__}: {binding!r} is not a Binding"
                assert binding.id, f"{cls.__name__}: the binding {binding.key} -> {binding.action} has no id"
                keys = tuple(keymap.normalize_key(k) for k in binding.key.split(","))
                found.add((cls.__name__, binding.id, keys, binding.action))
    return found


def test_every_binding_has_an_id_and_the_table_read_from_the_source_is_the_real_one():
    """`evolink-tui keys` reads the bindings without Textual; they must be exactly those the
    app's classes have (a binding written in a form the reader misses fails here)."""
    from_source = {(b.scope, b.id, b.keys, b.action) for b in keymap.bindings()}
    assert from_source == live_bindings()
    ids = [(b.scope, b.id) for b in keymap.bindings()]
    assert len(ids) == len(set(ids)), "an id is used twice in one place"
    some = {"generate", "pick_models", "composer.editor", "task.retry", "gallery.open"}
    assert some <= {b.id for b in keymap.bindings()}


def test_the_keymap_table_in_its_forms_with_a_warning_for_what_cannot_be_used():
    table = {
        "generate": "f9",
        "pick_models": ["f2", "ctrl+o"],
        "show_help": "f1,?",
        "task": {"retry": "ctrl+r"},  # task.retry = "ctrl+r" unquoted: a dotted key in TOML
        "quit": 3,
        "open_files": "ctrl+ page",
    }
    found, warnings = keymap.read_keymap(table, "[keymap] in c.toml")
    assert found == {
        "generate": ("f9",),
        "pick_models": ("f2", "ctrl+o"),
        "show_help": ("f1", "question_mark"),
        "task.retry": ("ctrl+r",),
    }
    assert len(warnings) == 2
    assert "[keymap] in c.toml: quit must be a key" in warnings[0]
    assert "open_files" in warnings[1] and "'ctrl+ page' is not a key name" in warnings[1]


def test_a_conflict_names_the_key_and_both_actions():
    table = keymap.bindings()
    assert keymap.check(table, {"generate": ("f9",)}) == ([], [])
    conflicts, unknown = keymap.check(table, {"generate": ("f2",), "generat": ("f3",)})
    assert unknown == ["generat"]
    assert [(c.key, c.first.id, c.second.id) for c in conflicts] == [("f2", "generate", "pick_models")]
    assert conflicts[0].message().startswith("Key f2 is given to two actions: generate (Generate) and pick_models")
    # the app-wide quit is live on every screen; a widget's key is live with its screen's
    assert keymap.check(table, {"gallery.open": ("ctrl+q",)})[0][0].second.id == "quit"
    assert keymap.check(table, {"composer.editor": ("f4",)})[0][0].second.id == "open_gallery"
    # both moved: no conflict left
    assert keymap.check(table, {"generate": ("f2",), "pick_models": ("f6",)})[0] == []


def test_saving_the_theme_keeps_the_keymap(isolated_env):
    config = isolated_env["config"]
    config.parent.mkdir(parents=True)
    config.write_text('theme = "nord"\n\n[keymap]\ngenerate = "f9"\ntask.retry = ["t", "ctrl+r"]\n')
    update_config_file({"theme": "ansi-dark"})
    settings = load_settings()
    assert settings.theme == "ansi-dark"
    assert settings.keymap == {"generate": ("f9",), "task.retry": ("t", "ctrl+r")}


def test_keys_prints_ids_defaults_and_current_keys_and_the_conflicts(isolated_env):
    config: Path = isolated_env["config"]
    config.parent.mkdir(parents=True)
    config.write_text('[keymap]\ngenerate = "f9"\n"gallery.open" = "c"\n')
    proc = subprocess.run(
        [sys.executable, "-m", "evolink_tui", "keys"], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["id", "where", "action", "default", "keys", "now"]
    generate = next(line.split() for line in lines if line.startswith("generate "))
    assert generate[:5] == ["generate", "MainScreen", "Generate", "ctrl+j,ctrl+enter", "f9"]
    assert "(your keymap)" in " ".join(generate)
    retry = next(line.split() for line in lines if line.startswith("task.retry "))
    assert retry == ["task.retry", "TaskList", "Retry", "t", "t"]
    conflict = "conflict: Key c is given to two actions: gallery.open (Open) and gallery.copy_path (Copy path)"
    assert conflict in proc.stderr
    as_json = subprocess.run(
        [sys.executable, "-m", "evolink_tui", "keys", "--json"], capture_output=True, text=True, timeout=60, check=False
    )
    data = json.loads(as_json.stdout)
    entry = next(b for b in data["bindings"] if b["id"] == "generate")
    assert entry["default"] == ["ctrl+j", "ctrl+enter"] and entry["keys"] == ["f9"]
    assert data["conflicts"][0]["key"] == "c"
