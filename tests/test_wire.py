"""Tolerant parsing: unknown fields and statuses, missing optionals, odd types never crash."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evolink_tui.core.errors import EvolinkError, lookup
from evolink_tui.core.wire import FileInfo, FilePage, Quota, Task, parse_files_envelope, parse_http_error

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
task_like = st.fixed_dictionaries(
    {"id": st.text(min_size=1, max_size=20)},
    optional={
        "status": json_values,
        "progress": json_values,
        "results": json_values,
        "result_data": json_values,
        "task_info": json_values,
        "usage": json_values,
        "error": json_values,
        "model": json_values,
        "created": json_values,
        "surprise": json_values,
    },
)


@settings(max_examples=300, deadline=None)
@given(task_like)
def test_any_task_shaped_object_parses(data):
    task = Task.parse(data)
    assert task.id
    assert 0 <= task.progress <= 100
    assert all(isinstance(url, str) for url in task.results)
    assert isinstance(task.is_terminal, bool)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_anything_else_is_a_malformed_error_or_a_task(data):
    try:
        Task.parse(data)
    except EvolinkError as err:
        assert err.code == "malformed"


@settings(max_examples=200, deadline=None)
@given(json_values, st.integers(min_value=100, max_value=599))
def test_files_envelopes_never_crash(body, status):
    try:
        data = parse_files_envelope(body, status)
    except EvolinkError as err:
        assert err.kind in ("file", "local")
        assert err.explain()
        return
    if isinstance(data, dict) and "file_id" in data:
        try:
            FileInfo.parse(data)
        except EvolinkError as err:
            assert err.code == "malformed"
    FilePage.parse(data, 1, 20)


@settings(max_examples=200, deadline=None)
@given(json_values, st.text(max_size=50), st.integers(min_value=400, max_value=599))
def test_http_errors_never_crash(body, text, status):
    err = parse_http_error(body, text, status, None)
    assert err.code == status and err.explain()


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from(["user_group", "used_files", "max_files", "remain_files", "x"]), json_values))
def test_quota_parses(data):
    quota = Quota.parse(data)
    assert isinstance(quota.used_files, int) and isinstance(quota.remain_files, int)


def test_result_data_as_a_single_object_and_results_as_strings():
    task = Task.parse({"id": "t", "status": "completed", "result_data": {"image_url": "https://r/1.png"}})
    assert task.results == ["https://r/1.png"]
    both = Task.parse(
        {
            "id": "t",
            "status": "completed",
            "results": ["https://r/1.png"],
            "result_data": [{"image_url": "https://r/1.png"}, {"image_url": "https://r/2.png"}],
        }
    )
    assert both.results == ["https://r/1.png", "https://r/2.png"]


def test_unknown_status_is_kept_and_keeps_being_polled():
    task = Task.parse({"id": "t", "status": "queued_upstream", "brand_new_field": {"x": 1}})
    assert task.status == "queued_upstream" and task.is_active and task.raw["brand_new_field"] == {"x": 1}
    assert Task.parse({"id": "t", "status": "cancelled"}).is_terminal


@pytest.mark.parametrize("code", ["content_policy_violation", 1001, "1001"])
def test_error_code_string_or_number(code):
    task = Task.parse({"id": "t", "status": "failed", "error": {"code": code, "message": "m"}})
    assert task.error.code == str(code)
    assert task.error.as_exception("t").explain()


def test_http_error_body_shapes():
    err = parse_http_error(
        {
            "error": {
                "code": 400,
                "message": "bad size",
                "type": "invalid_request_error",
                "param": "size",
                "fallback_suggestion": "use 1:1",
            }
        },
        "",
        400,
        None,
    )
    assert err.param == "size" and "use 1:1" in err.message and err.resolution == "Check required fields; revise prompt"
    err = parse_http_error({"error": {"code": "rate_limit", "message": "slow"}}, "", 429, 30.0)
    assert err.retryable and err.retry_after == 30.0 and err.server_code == "rate_limit"
    err = parse_http_error(None, "<html>Bad Gateway</html>", 502, None)
    assert "Bad Gateway" in err.message and err.retryable


def test_files_envelope_false_inside_200():
    with pytest.raises(EvolinkError) as info:
        parse_files_envelope({"success": False, "code": 40003, "msg": "quota exceeded", "data": None}, 200)
    assert info.value.code == 40003 and "delete" in info.value.resolution.lower()


def test_every_reference_code_is_in_the_tables():
    for status in (400, 401, 402, 403, 404, 413, 429, 500, 502, 503):
        assert lookup("http", status).resolution
    assert [s for s in (429, 500, 502, 503) if lookup("http", s).retryable] == [429, 500, 502, 503]
    task_codes = {
        "content_policy_violation": False,
        "invalid_parameters": False,
        "image_dimension_mismatch": False,
        "image_processing_error": False,
        "model_unavailable": False,
        "generation_timeout": True,
        "quota_exceeded": True,
        "resource_exhausted": True,
        "service_error": True,
        "generation_failed_no_content": True,
        "upstream_error": True,
        "rate_limited": True,
        "unknown_error": True,
    }
    for code, retryable in task_codes.items():
        assert lookup("task", code).retryable is retryable
    for code in (400, 401, 403, 404, 40001, 40002, 40003, 40004, 500, 50001):
        assert lookup("file", code).resolution


def test_unknown_codes_get_sensible_defaults():
    assert lookup("task", "brand_new_failure").retryable is True
    assert lookup("http", 504).retryable is True
    assert lookup("http", 418).retryable is False
    assert lookup("file", 40099).meaning == "Bad request"
    assert lookup("file", 50009).retryable is True
