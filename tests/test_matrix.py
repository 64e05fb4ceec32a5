"""Prompt matrices: {a|b} variants and {1-3} ranges expand to every combination once, times
models and sizes; every mistake names the field, the value and what is allowed."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evolink_tui.core.errors import ValidationError
from evolink_tui.core.matrix import MAX_TASKS, Matrix, expand_prompt, parse_template, read_prompt_file

# Text between groups: no braces or pipes (they are syntax), anything else goes.
literal = st.text(st.characters(blacklist_characters="{}|", blacklist_categories=("Cs",)), max_size=6)
choice = st.text(st.characters(blacklist_characters="{}|", blacklist_categories=("Cs",)), max_size=5).map(str.strip)
group = st.lists(choice, min_size=2, max_size=4, unique=True)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(literal, group), max_size=4), literal)
def test_expansion_gives_every_combination_once(pieces, tail):
    template = "".join(text + "{" + "|".join(choices) + "}" for text, choices in pieces) + tail
    parsed = parse_template(template)
    expanded = list(parsed.expand())
    # count = product of the groups' sizes
    assert parsed.count() == len(expanded) == math.prod(len(c) for _, c in pieces)
    # every combination of choices once, each giving the template with those choices filled in
    combos = [combo for combo, _ in expanded]
    assert sorted(combos) == sorted(itertools.product(*(c for _, c in pieces)))
    assert len(set(combos)) == len(combos)
    for combo, prompt in expanded:
        assert prompt == "".join(text + chosen for (text, _), chosen in zip(pieces, combo, strict=True)) + tail


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 60), st.integers(0, 60))
def test_a_range_counts_every_number_once_in_either_direction(first, last):
    numbers = expand_prompt(f"shot {{{first}-{last}}}")
    step = 1 if last >= first else -1
    assert numbers == [f"shot {k}" for k in range(first, last + step, step)]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(group, min_size=1, max_size=3),
    st.lists(st.sampled_from(["m1", "m2", "m3", "m4"]), unique=True),
    st.lists(st.sampled_from(["1:1", "16:9", "9:16"]), unique=True),
)
def test_a_matrix_is_prompts_times_models_times_sizes_each_once(groups, models, sizes):
    template = " ".join("{" + "|".join(g) + "}" for g in groups)
    matrix = Matrix((template,), models=tuple(models), sizes=tuple(sizes))
    cells = matrix.cells("default-model")
    prompts = math.prod(len(g) for g in groups)
    assert len(cells) == matrix.count() == prompts * max(1, len(models)) * max(1, len(sizes))
    keys = [(c.choices, c.model, c.size) for c in cells]
    assert len(set(keys)) == len(keys)
    assert {c.model for c in cells} == (set(models) or {"default-model"})
    assert {c.size for c in cells} == (set(sizes) or {None})


def test_the_fox_example_is_twelve_tasks_on_three_models():
    matrix = Matrix(("a {red|blue} fox in {snow|rain}",), models=("m1", "m2", "m3"))
    cells = matrix.cells("x")
    assert len(cells) == 12
    assert [c.prompt for c in cells[:3]] == ["a red fox in snow"] * 3
    assert {c.prompt for c in cells} == {
        "a red fox in snow",
        "a red fox in rain",
        "a blue fox in snow",
        "a blue fox in rain",
    }
    assert cells[0].choices == ("red", "snow") and [c.model for c in cells[:3]] == ["m1", "m2", "m3"]


def test_ranges_keep_leading_zeros_and_braces_can_be_literal():
    assert expand_prompt("frame {08-11}") == ["frame 08", "frame 09", "frame 10", "frame 11"]
    assert expand_prompt("a {{json}} {cat|dog}") == ["a {json} cat", "a {json} dog"]
    assert expand_prompt("no groups | at all") == ["no groups | at all"]
    assert expand_prompt("a {big |}fox") == ["a bigfox", "a fox"]
    assert expand_prompt("a { red | blue } fox") == ["a red fox", "a blue fox"]


@pytest.mark.parametrize(
    ("text", "value", "allowed"),
    [
        ("a {red fox", "a {red fox", "is never closed"),
        ("a red} fox", "a red} fox", "closes no group"),
        ("a {red|{big|small}} fox", "{red|{big|small}", "cannot be nested"),
        ("a {red} fox", "{red}", "two or more choices"),
        ("a {} fox", "{}", "two or more choices"),
        ("a {red|red} fox", "{red|red}", "listed twice"),
        ("shot {1-2000}", "{1-2000}", f"at most {MAX_TASKS} numbers"),
    ],
)
def test_a_bad_template_names_the_field_the_value_and_what_is_allowed(text, value, allowed):
    with pytest.raises(ValidationError) as caught:
        expand_prompt(text)
    err = caught.value
    assert err.field == "prompt" and err.value == value and allowed in err.allowed


def test_too_many_tasks_are_refused_before_anything_is_expanded():
    with pytest.raises(ValidationError) as caught:
        Matrix(("{1-999} {1-999}",), models=("a", "b"))
    assert caught.value.field == "matrix" and caught.value.value == 999 * 999 * 2
    assert f"at most {MAX_TASKS} tasks" in str(caught.value)


def test_models_and_sizes_are_each_listed_once():
    with pytest.raises(ValidationError, match="models"):
        Matrix(("x",), models=("m1", "m1"))


def test_a_prompt_file_has_one_template_a_line_and_comments(tmp_path):
    path = tmp_path / "prompts.txt"
    path.write_text(
        "# foxes first\n\na {red|blue} fox\n   # an indented comment\n\\#1 hit single\n  a lighthouse at dusk  \n",
        "utf-8",
    )
    assert read_prompt_file(path) == ["a {red|blue} fox", "#1 hit single", "a lighthouse at dusk"]
    matrix = Matrix(tuple(read_prompt_file(path)), models=("m1", "m2"))
    assert matrix.count() == (2 + 1 + 1) * 2
    assert [c.template_index for c in matrix.cells("x")] == [0, 0, 0, 0, 1, 1, 2, 2]


@pytest.mark.parametrize(
    ("content", "allowed"),
    [(b"# only comments\n\n", "at least one prompt"), (b"\xff\xfe bad", "UTF-8")],
)
def test_a_prompt_file_that_holds_no_prompt_is_refused(tmp_path, content, allowed):
    path = tmp_path / "prompts.txt"
    path.write_bytes(content)
    with pytest.raises(ValidationError) as caught:
        read_prompt_file(path)
    assert caught.value.field == "prompt_file" and caught.value.value == str(path) and allowed in caught.value.allowed
