"""The built-in catalogue is models.toml; models.json beside it only saves parsing it (issue 17:
`evolink-tui models` starts without loading tomllib). It must never say anything else."""

from __future__ import annotations

import json
import tomllib

from evolink_tui.core.catalogue import BUILTIN_JSON, BUILTIN_TOML, builtin_catalogue, builtin_tables, write_builtin_json


def test_the_shipped_json_is_the_shipped_toml():
    """Fails after an edit to models.toml until `python -m evolink_tui.core.catalogue` is run."""
    text = BUILTIN_TOML.read_text("utf-8")
    shipped = json.loads(BUILTIN_JSON.read_text("utf-8"))
    again = "models.json is not models.toml: run `python -m evolink_tui.core.catalogue`"
    assert shipped["toml"] == text, again  # else it is never used
    assert shipped["tables"] == tomllib.loads(text), again
    assert [m.id for m in builtin_catalogue()] == [entry["id"] for entry in tomllib.loads(text)["model"]]


def test_the_json_is_used_only_for_the_text_it_was_written_from(tmp_path):
    toml, parsed = tmp_path / "models.toml", tmp_path / "models.json"
    toml.write_text(BUILTIN_TOML.read_text("utf-8"), "utf-8")
    write_builtin_json(toml, parsed)
    assert builtin_tables(toml, parsed) == tomllib.loads(toml.read_text("utf-8"))

    # An edit to the TOML without writing the JSON again: the edit is what counts.
    edited = toml.read_text("utf-8").replace("n_max = 4", "n_max = 3", 1)
    toml.write_text(edited, "utf-8")
    tables = builtin_tables(toml, parsed)
    assert tables == tomllib.loads(edited) and tables["defaults"]["n_max"] == 3

    # A JSON written from this text is read instead of parsing it (what makes it quick).
    write_builtin_json(toml, parsed)
    stored = json.loads(parsed.read_text("utf-8"))
    stored["tables"]["defaults"]["speed"] = "from the json"
    parsed.write_text(json.dumps(stored), "utf-8")
    assert builtin_tables(toml, parsed)["defaults"]["speed"] == "from the json"


def test_a_missing_or_broken_json_falls_back_to_the_toml(tmp_path):
    toml = tmp_path / "models.toml"
    toml.write_text(BUILTIN_TOML.read_text("utf-8"), "utf-8")
    expected = tomllib.loads(toml.read_text("utf-8"))
    assert builtin_tables(toml, tmp_path / "absent.json") == expected
    for broken in ("", "{not json", "[]", '{"toml": "x"}', '{"tables": {}}'):
        (tmp_path / "broken.json").write_text(broken, "utf-8")
        assert builtin_tables(toml, tmp_path / "broken.json") == expected, broken
