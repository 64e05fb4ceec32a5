"""Iterate on a result and follow the line: the new task's body carries the result as its
reference (its URL while it lasts, else the file, uploaded), the parent is recorded, and
three generations show as one tree (core, `iterate`, `lineage`, `history --json`)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from evolink_tui.core import runner as r
from evolink_tui.core.catalogue import load_catalogue
from evolink_tui.core.errors import ValidationError
from evolink_tui.core.iterate import URL_MARGIN, editing_models, iterate
from evolink_tui.core.lineage import lineage
from evolink_tui.core.recipe import reopen
from evolink_tui.core.validation import GenerationRequest


@pytest.fixture
def runner(client, history, tmp_path):
    return r.Runner(client, history, tmp_path / "downloads")


def submitted(sim, record) -> dict:
    """What the simulator received for a record's task."""
    task = sim.tasks[record.task_id]
    return {"image_urls": task.image_urls, "prompt": task.prompt, "model": task.model}


async def test_three_generations_by_url_then_by_uploaded_file(runner, history, sim, fake_clock):
    first = await runner.run(runner.prepare(GenerationRequest("a lighthouse at dusk", size="3:2", n=2)))
    assert first.state == "completed" and len(first.files) == 2

    step = iterate(first, 1, now=fake_clock.now())
    assert step.reference == first.results[1] and step.reference_is_url and step.model_kept
    assert step.request == GenerationRequest(
        "a lighthouse at dusk", "gpt-image-1.5", "3:2", 2, images=(first.results[1],)
    )
    child = await runner.run(runner.prepare(replace(step.request, prompt="make it night"), parent=step.parent))
    assert child.state == "completed" and child.parent == (first.id, 1)
    assert submitted(sim, child) == {
        "image_urls": [first.results[1]],
        "prompt": "make it night",
        "model": "gpt-image-1.5",
    }

    # The child's URLs are about to lapse: its local file is the reference, uploaded first.
    late = child.url_expires_at - URL_MARGIN + 1
    step = iterate(child, 0, now=late)
    assert step.reference == child.files[0] and not step.reference_is_url
    uploads = sim.count("upload")
    grandchild = await runner.run(runner.prepare(replace(step.request, prompt="add a red boat"), parent=step.parent))
    assert grandchild.state == "completed" and grandchild.parent == (child.id, 0)
    assert sim.count("upload") == uploads + 1
    sent = submitted(sim, grandchild)["image_urls"]
    assert len(sent) == 1 and sent[0].startswith("http") and sent[0] == grandchild.request["image_urls"][0]
    assert sent[0] != child.results[0]  # the uploaded copy, not the lapsed URL

    # The line, from any of its members.
    tree = lineage(history, grandchild.id)
    assert tree.root.record.id == first.id and [a.id for a in tree.ancestors()] == [first.id, child.id]
    shape = [(depth, node.record.id, node.from_result) for depth, node in tree.root.walk()]
    assert shape == [(0, first.id, None), (1, child.id, 1), (2, grandchild.id, 0)]
    nested = tree.to_json()["tree"]
    assert nested["record_id"] == first.id and nested["children"][0]["record_id"] == child.id
    assert nested["children"][0]["parent"] == {"record_id": first.id, "result": 2}
    assert nested["children"][0]["children"][0]["record_id"] == grandchild.id
    assert [c.id for c in history.children(first.id)] == [child.id]

    # Each file knows where it came from, even without the history.
    recipe = reopen(Path(grandchild.files[0])).recipe
    assert recipe["parent"] == {"record_id": child.id, "result": 1, "task_id": child.task_id}
    assert recipe["record_id"] == grandchild.id and recipe["image_urls"] == sent
    sidecar = json.loads(Path(child.files[0]).with_suffix(".json").read_text())
    assert sidecar["parent"] == {"record_id": first.id, "result": 2, "task_id": first.task_id}


async def test_a_model_without_references_offers_the_editing_models(runner, history, sim, fake_clock):
    record = await runner.run(runner.prepare(GenerationRequest("a red fox", model="z-image-turbo", size="21:9", n=3)))
    step = iterate(record, 0, now=fake_clock.now())
    catalogue = load_catalogue()
    offered = [m.id for m in catalogue if "image-editing" in m.capabilities]
    assert not step.model_kept and list(step.editing_models) == offered == list(editing_models())
    assert "z-image-turbo" not in offered and step.request.model == offered[0]
    chosen = step.with_model("doubao-seededit-4.0-i2i")
    assert chosen.request.model == "doubao-seededit-4.0-i2i" and chosen.request.images == (record.results[0],)
    assert chosen.request.size == "21:9" and chosen.request.n == 3
    with pytest.raises(ValidationError, match="takes reference images"):
        step.with_model("z-image-turbo")
    pixels = step.with_model("gpt-4o-image")
    pixels = replace(pixels, request=replace(pixels.request, size="1024x1536"))  # only gpt-4o-image takes these
    assert pixels.with_model("qwen-image-edit").request.size is None


async def test_a_result_neither_at_its_url_nor_on_disk_is_refused_by_name(runner, history, sim, fake_clock):
    record = await runner.run(runner.prepare(GenerationRequest("gone", model="z-image-turbo")))
    Path(record.files[0]).unlink()
    with pytest.raises(ValidationError) as caught:
        iterate(record, 0, now=record.url_expires_at + 1)
    assert f"#{record.id} result 1" in str(caught.value) and "not on disk" in str(caught.value)
    with pytest.raises(ValidationError, match="has 1"):
        iterate(record, 3, now=fake_clock.now())
    failed = history.get(history.record_submission({"prompt": "x", "model": "z-image-turbo"}, "run_k"))
    with pytest.raises(ValidationError, match="completed"):
        iterate(failed, 0, now=fake_clock.now())


def test_iterate_and_lineage_from_the_command_line(run, sim, isolated_env):
    code, out, err = run("generate", "a lighthouse at dusk", "-n", "2", "--json")
    assert code == 0, err
    first = json.loads(out)
    code, out, err = run("iterate", f"{first['record_id']}:2", "make it night", "--json")
    assert code == 0, err
    child = json.loads(out)
    assert sim.tasks[child["id"]].image_urls == [first["results"][1]]
    code, out, err = run("iterate", str(child["record_id"]), "add a red boat", "--model", "qwen-image-edit")
    assert code == 0, err
    assert f"iterating on #{child['record_id']} result 1 (its URL)" in out
    grandchild_id = child["record_id"] + 1

    code, out, _ = run("history", "--json")
    parents = {rec["record_id"]: rec["parent"] for rec in json.loads(out)["records"]}
    assert parents == {
        first["record_id"]: None,
        child["record_id"]: {"record_id": first["record_id"], "result": 2},
        grandchild_id: {"record_id": child["record_id"], "result": 1},
    }
    code, out, _ = run("history")
    assert f"iterated on: #{first['record_id']} result 2" in out

    code, out, _ = run("lineage", str(grandchild_id))
    lines = out.splitlines()
    assert lines[0].startswith(f"#{first['record_id']}  completed  gpt-image-1.5  a lighthouse at dusk")
    child_line = next(i for i, line in enumerate(lines) if line.startswith(f"└─ #{child['record_id']}"))
    assert "from result 2" in lines[child_line] and "make it night" in lines[child_line]
    grand_line = next(i for i, line in enumerate(lines) if f"#{grandchild_id}" in line and "─" in line)
    assert lines[grand_line].startswith(f"   └─ #{grandchild_id}  from result 1  completed  qwen-image-edit")
    assert lines[grand_line].endswith("<- this one") and grand_line > child_line
    assert any(line.strip().startswith("result 2: ") and line.strip().endswith(".webp") for line in lines)
    code, out, _ = run("lineage", str(first["record_id"]), "--json")
    tree = json.loads(out)
    assert (
        code == 0
        and tree["ancestors"] == []
        and tree["tree"]["children"][0]["children"][0]["model"] == ("qwen-image-edit")
    )


def test_iterate_refuses_a_model_without_references_and_sends_nothing(run, sim):
    code, out, _ = run("generate", "a red fox", "--model", "z-image-turbo", "--json")
    record_id = json.loads(out)["record_id"]
    submits = sim.count("submit")
    code, out, err = run("iterate", str(record_id), "make it blue")
    assert code == 2 and "does not take reference images" in err and "qwen-image-edit" in err
    code, out, err = run("iterate", f"{record_id}:7")
    assert code == 2 and "result" in err
    code, out, err = run("iterate", "999")
    assert code == 2 and "record" in err
    assert sim.count("submit") == submits


def test_a_history_that_loops_still_draws_a_finite_tree(history):
    ids = [history.record_submission({"prompt": f"p{i}", "model": "gpt-image-1.5"}, f"k{i}") for i in range(3)]
    history.close()
    conn = sqlite3.connect(history.path)
    with conn:  # damaged: 1 -> 2 -> 3 -> 1
        for child, parent in ((ids[1], ids[0]), (ids[2], ids[1]), (ids[0], ids[2])):
            conn.execute("UPDATE tasks SET parent_id = ?, parent_index = 0 WHERE id = ?", (parent, child))
    conn.close()
    tree = lineage(history, ids[1])
    seen = [node.record.id for _, node in tree.root.walk()]
    assert sorted(seen) == sorted(ids) and len(seen) == 3


EDITING_WITH_PARAMS = """\
[[model]]
id = "edit-pro"
description = "an editing model with parameters"
tier = "beta"
capabilities = ["text-to-image", "image-editing"]
[model.params]
quality = ["low", "high"]
seed = "int 0..1000"
"""


def test_extra_parameters_travel_with_the_recipe_and_the_iteration(run, sim, isolated_env, monkeypatch):
    models = isolated_env["config"].parent / "models.toml"
    models.parent.mkdir(parents=True, exist_ok=True)
    models.write_text(EDITING_WITH_PARAMS)
    monkeypatch.setattr(sim, "catalogue", load_catalogue())
    code, out, err = run(
        "generate", "a harbour", "--model", "edit-pro", "--param", "quality=high", "--param", "seed=7", "--json"
    )
    assert code == 0, err
    first = json.loads(out)
    found = reopen(Path(first["downloads"][0]))
    assert found.recipe["params"] == {"quality": "high", "seed": 7}
    assert found.generation_request().params == (("quality", "high"), ("seed", 7))
    code, out, _ = run("reopen", first["downloads"][0])
    assert "--param quality=high --param seed=7" in out
    code, out, err = run("iterate", str(first["record_id"]), "at night", "--json")
    assert code == 0, err
    child = json.loads(out)
    body = json.loads(run("history", "--json")[1])["records"][0]["request"]
    assert body["quality"] == "high" and body["seed"] == 7 and body["image_urls"] == [first["results"][0]]
    assert reopen(Path(child["downloads"][0])).recipe["params"] == {"quality": "high", "seed": 7}
