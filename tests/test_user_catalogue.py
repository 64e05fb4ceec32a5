"""The user's models.toml: models added and built-ins changed without a release, extra
parameters (declared, validated, sent, recorded), and a broken file reported by its line
while the built-in catalogue keeps working."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from evolink_tui.core.catalogue import builtin_catalogue, load_catalogue
from evolink_tui.core.errors import ValidationError
from evolink_tui.core.params import SpecError, parse_spec
from evolink_tui.core.validation import GenerationRequest, parse_param_args, problems

from .conftest import TEST_KEY

USER_MODELS = """\
# models Evolink added since this release
[[model]]
id = "gpt-image-2"
description = "OpenAI GPT Image 2"
tier = "beta"
speed = "fast"
[model.params]
quality = ["low", "medium", "high"]
seed = "int 0..2147483647"

[[model]]
id = "gpt-image-1.5"
n_max = 1
"""


@pytest.fixture
def user_models(isolated_env):
    """Writes the user's models.toml beside this test's config.toml."""
    path = isolated_env["config"].parent / "models.toml"
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(text: str) -> Path:
        path.write_text(text, "utf-8")
        return path

    return write


@pytest.fixture
def sim_knows_user_models(sim, user_models, monkeypatch):
    """USER_MODELS written, and the loopback simulator knowing them, as it does under --demo."""
    user_models(USER_MODELS)
    monkeypatch.setattr(sim, "catalogue", load_catalogue())
    return sim


def test_models_offers_an_added_model_with_its_parameters_and_marks_each_source(run, user_models):
    user_models(USER_MODELS)
    code, out, err = run("models", "--json")
    assert code == 0, err
    body = json.loads(out)
    models = {m["id"]: m for m in body["models"]}
    assert len(models) == 21
    added = models["gpt-image-2"]
    assert added["source"] == "user" and added["tier"] == "beta" and added["speed"] == "fast"
    assert added["sizes"] == models["gpt-image-1"]["sizes"]  # unset fields come from the built-in defaults
    quality, seed = added["params"]
    assert quality["name"] == "quality" and quality["type"] == "choice"
    assert quality["values"] == ["low", "medium", "high"]
    assert (seed["type"], seed["min"], seed["max"]) == ("int", 0, 2147483647)
    assert models["gpt-image-1.5"]["source"] == "overridden" and models["gpt-image-1.5"]["overridden"] == ["n_max"]
    assert models["gpt-image-1.5"]["n"] == [1, 1]
    assert models["gpt-image-1"]["source"] == "built-in" and models["gpt-image-1"]["params"] == []
    assert body["problems"] == []

    code, out, _ = run("models")
    assert "OpenAI GPT Image 2 [user]" in out
    assert "(default) [overridden: n_max]" in out
    assert "--param quality: one of low, medium, high" in out
    assert "20 built-in models (1 changed) and 1 added by" in out


@pytest.mark.parametrize(
    ("args", "field", "value", "allowed"),
    [
        (["-m", "gpt-image-2", "--param", "quality=ultra"], "quality", "'ultra'", "one of low, medium, high"),
        (["-m", "gpt-image-2", "--param", "seed=-1"], "seed", "'-1'", "a whole number from 0 to 2147483647"),
        (["-m", "gpt-image-2", "--param", "seed=lucky"], "seed", "'lucky'", "a whole number from 0 to 2147483647"),
        (["-m", "gpt-image-1", "--param", "quality=high"], "quality", "'high'", "gpt-image-1 takes no quality"),
        (["-m", "gpt-image-2", "--param", "quality"], "--param", "'quality'", "NAME=VALUE"),
        (["-n", "2"], "n", "2", "a whole number from 1 to 1 for gpt-image-1.5"),  # the override applies
    ],
)
def test_a_bad_extra_parameter_is_refused_naming_it_before_anything_is_sent(
    run, user_models, sim, args, field, value, allowed
):
    user_models(USER_MODELS)
    code, out, err = run("generate", "a lighthouse", *args)
    assert code == 2
    assert f"Invalid {field}: {value}. Allowed: {allowed}" in err
    assert sim.count() == 0


def test_an_extra_parameter_is_sent_to_the_model_and_recorded(run, sim_knows_user_models):
    sim = sim_knows_user_models
    code, out, err = run(
        "generate", "a lighthouse", "-m", "gpt-image-2", "--param", "quality=high", "-p", "seed=42", "--json"
    )
    assert code == 0, err
    task = json.loads(out)
    assert sim.tasks[task["id"]].params == {"quality": "high", "seed": 42}  # what the server received, typed
    sidecar = json.loads(Path(task["downloads"][0]).with_suffix(".json").read_text())
    assert sidecar["params"] == {"quality": "high", "seed": 42}
    code, out, _ = run("history", "--json")
    (record,) = json.loads(out)["records"]
    assert record["request"]["quality"] == "high" and record["request"]["seed"] == 42
    assert record["request"]["model"] == "gpt-image-2"


def test_the_demo_accepts_a_model_the_user_added(user_models, isolated_env):
    user_models(USER_MODELS)
    result = subprocess.run(
        [sys.executable, "-m", "evolink_tui", "generate", "a lighthouse", "--demo", "-m", "gpt-image-2"]
        + ["-p", "quality=low", "--json"],
        capture_output=True,
        text=True,
        env=dict(os.environ, EVOLINK_SIM_SPEED="8"),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    task = json.loads(result.stdout)
    assert task["status"] == "completed" and task["model"] == "gpt-image-2"
    assert json.loads(Path(task["downloads"][0]).with_suffix(".json").read_text())["params"] == {"quality": "low"}


async def test_the_simulator_checks_declared_parameters_and_ignores_other_fields(sim_server, sim_knows_user_models):
    sim = sim_knows_user_models
    headers = {"Authorization": f"Bearer {TEST_KEY}"}
    async with httpx.AsyncClient(base_url=sim_server.url, headers=headers) as http:
        bad = await http.post("/v1/images/generations", json={"prompt": "x", "model": "gpt-image-2", "seed": "7"})
        assert bad.status_code == 400
        assert bad.json()["error"]["param"] == "seed" and "0 to 2147483647" in bad.json()["error"]["message"]
        ok = await http.post("/v1/images/generations", json={"prompt": "x", "model": "gpt-image-1", "quality": "high"})
        assert ok.status_code == 200  # a field the model does not declare: ignored, as the API's reference is silent
    assert sim.tasks[ok.json()["id"]].params == {}


def test_user_models_toml_overrides_are_seen_without_restarting(user_models, isolated_env):
    assert load_catalogue().get("gpt-image-2") is None
    user_models(USER_MODELS)
    assert load_catalogue().get("gpt-image-2") is not None
    user_models(USER_MODELS.replace("gpt-image-2", "gpt-image-3"))
    catalogue = load_catalogue()
    assert catalogue.get("gpt-image-2") is None and catalogue.get("gpt-image-3") is not None


@pytest.mark.parametrize(
    ("text", "line", "field", "words"),
    [
        ('[[model]]\nid = "x"\nn_max = 4\n[oops\n', 4, "", "not valid TOML"),
        ('[[model]]\nid = "new-one"\n\nn_max = "four"\n', 4, "model 'new-one', n_max", "a whole number from 1 to 10"),
        ('[[model]]\nid = "gpt-image-1"\nn_maxx = 2\n', 3, "model 'gpt-image-1', n_maxx", "unknown field"),
        (
            '[[model]]\nid = "a"\n\n[[model]]\nid = "b"\n[model.params]\nstyle = "int 9..1"\n',
            7,
            "model 'b', params.style",
            "the range is empty",
        ),
        (
            '[[model]]\nid = "c"\n[model.params]\nstyle = { values = ["a", "b"], default = "z" }\n',
            4,
            "model 'c', params.style.default",
            "default 'z' is not one of a, b",
        ),
        ('[[model]]\nid = "d"\nparams.size = ["big"]\n', 3, "model 'd', params.size", "a field every model has"),
        ('[[model]]\ndescription = "no id"\n', 1, "[[model]] number 1", "needs an id"),
        ('models = 3\n[[model]]\nid = "e"\n', 1, "models", "the file holds [[model]] entries"),
    ],
)
def test_a_broken_user_catalogue_is_reported_with_its_line_and_the_built_in_one_keeps_working(
    run, user_models, sim, text, line, field, words
):
    path = user_models(text)
    code, out, err = run("models", "--json")
    assert code == 0
    body = json.loads(out)
    (problem,) = body["problems"]
    assert problem["file"] == str(path) and problem["line"] == line and problem["field"] == field
    assert words in problem["message"]
    assert f"warning: the model catalogue {path}, line {line}: " in err
    assert [m["id"] for m in body["models"]][:20] == builtin_catalogue().ids()
    assert body["default"] == "gpt-image-1.5"
    code, out, err = run("generate", "a lighthouse", "-m", "gpt-image-1", "--json")
    assert code == 0, err  # the built-in catalogue works all the same
    assert f"{path}, line {line}" in err


def test_a_bad_entry_is_left_out_and_the_good_ones_still_apply(user_models, isolated_env):
    user_models(USER_MODELS + '\n[[model]]\nid = "gpt-image-1"\nmask = "yes"\n')
    catalogue = load_catalogue()
    (problem,) = catalogue.problems
    assert problem.line == 17 and problem.field == "model 'gpt-image-1', mask"
    assert catalogue.get("gpt-image-2") is not None and catalogue.get("gpt-image-1.5").n_max == 1
    assert catalogue.get("gpt-image-1").mask is False and catalogue.get("gpt-image-1").source == "built-in"


def test_a_user_model_can_be_the_default(user_models, isolated_env):
    user_models(USER_MODELS.replace('tier = "beta"', 'tier = "beta"\ndefault = true'))
    catalogue = load_catalogue()
    assert catalogue.default.id == "gpt-image-2"
    assert [m.id for m in catalogue if m.default] == ["gpt-image-2"]


# ---- the core API the composer will use for parameter fields
def test_param_specs_parse_what_a_user_types_and_check_json_values():
    quality = parse_spec("quality", ["low", "medium", "high"])
    assert quality.parse(" high ") == "high" and quality.check("medium") is None
    assert quality.check("HIGH") is not None and quality.check(1) is not None
    seed = parse_spec("seed", "int 0..2147483647")
    assert seed.parse("42") == 42 and seed.check(True) is not None and seed.check(2**31) is not None
    strength = parse_spec("strength", {"type": "float", "min": 0, "max": 1, "default": 0.5, "description": "how much"})
    assert strength.parse("0.25") == 0.25 and strength.default == 0.5 and strength.allowed() == "a number from 0 to 1"
    assert strength.check(float("nan")) is not None
    flag = parse_spec("watermark", "bool")
    assert flag.parse("no") is False and flag.parse("on") is True
    with pytest.raises(ValidationError, match="Invalid watermark: 'maybe'. Allowed: true or false"):
        flag.parse("maybe")
    steps = parse_spec("steps", [10, 20, 50])
    assert steps.parse("20") == 20 and steps.parse("20.0") == 20
    with pytest.raises(SpecError):
        parse_spec("seed", "int 10..1")
    with pytest.raises(SpecError):
        parse_spec("bad name", "int")


def test_a_request_keeps_only_the_parameters_each_model_declares(user_models, isolated_env):
    user_models(USER_MODELS)
    catalogue = load_catalogue()
    request = GenerationRequest(prompt="a lighthouse", params=(("quality", "high"), ("seed", 3)))
    for_new = request.for_model(catalogue.get("gpt-image-2"))
    for_old = request.for_model(catalogue.get("gpt-image-1"))
    assert for_new.to_body()["quality"] == "high" and for_new.to_body()["seed"] == 3
    assert "quality" not in for_old.to_body() and problems(for_old) == []
    assert GenerationRequest.from_body(for_new.to_body()) == for_new  # a recorded body gives the request back
    assert [e.field for e in problems(request.for_model(catalogue.get("gpt-image-2")))] == []
    assert [e.field for e in problems(GenerationRequest(prompt="x", model="gpt-image-1", params=(("seed", 3),)))] == [
        "seed"
    ]
    assert parse_param_args(["seed=7", "quality=low"], "gpt-image-2") == (("seed", 7), ("quality", "low"))
