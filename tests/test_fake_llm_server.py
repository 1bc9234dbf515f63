"""Tests of the fake LLM server itself (tests/fakes/fake_llm_server.py).

Real SDK clients (anthropic, openai) are the judges of wire-format correctness; urllib is used
where we want to see the raw bytes. No test times anything: a hang is judged by the
client's own timeout, or by the hung client getting an error when the server stops.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.request

import anthropic
import openai
import pytest

from tests.fakes.fake_llm_server import (
    FakeLLMServer,
    Fault,
    Queue,
    Reply,
    Rule,
    Script,
    Text,
    ToolUse,
    last_user_prompt,
    turns_since_prompt,
)

TOOLU_ID = re.compile(r"^toolu_[0-9a-f]{24}$")


def _anthropic(srv: FakeLLMServer, **kw) -> anthropic.Anthropic:
    kw.setdefault("max_retries", 0)
    return anthropic.Anthropic(base_url=srv.url, api_key="x", **kw)


def _openai(srv: FakeLLMServer, **kw) -> openai.OpenAI:
    kw.setdefault("max_retries", 0)
    return openai.OpenAI(base_url=srv.url + "/v1", api_key="x", **kw)


def _post(url: str, body: dict, timeout: float = 2.0) -> tuple[int, dict, bytes]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


USER = lambda text: {"role": "user", "content": text}  # noqa: E731


# ---- happy paths with the real SDKs --------------------------------------------------------


def test_anthropic_sdk_non_streaming_text():
    with FakeLLMServer(Script(default=Text("hello there"))) as srv:
        msg = _anthropic(srv).messages.create(
            model="claude-test", max_tokens=100, messages=[USER("hi")])
    assert msg.content[0].type == "text" and msg.content[0].text == "hello there"
    assert msg.stop_reason == "end_turn"
    assert msg.model == "claude-test"
    assert msg.usage.input_tokens > 0 and msg.usage.output_tokens > 0
    [rec] = srv.requests
    assert rec.method == "POST" and rec.path == "/v1/messages"
    assert rec.body["messages"] == [USER("hi")]
    assert rec.headers["user-agent"].startswith("Anthropic/")  # header names are lower-cased


def test_anthropic_sdk_streaming_text_and_tool_use():
    long_text = "A fairly long sentence, so that it arrives in several text deltas."
    reply = Reply(Text(long_text), ToolUse("Bash", {"command": "echo hi > a.txt", "n": [1, 2]}))
    with FakeLLMServer(reply) as srv:
        client = _anthropic(srv)
        with client.messages.stream(model="m", max_tokens=100, messages=[USER("go")]) as stream:
            streamed_text = "".join(stream.text_stream)
            final = stream.get_final_message()
    assert streamed_text == long_text
    assert final.stop_reason == "tool_use"
    text, tool = final.content
    assert text.text == long_text
    assert tool.type == "tool_use" and tool.name == "Bash"
    assert tool.input == {"command": "echo hi > a.txt", "n": [1, 2]}
    assert TOOLU_ID.match(tool.id)
    assert final.usage.output_tokens > 0
    assert srv.requests[0].body["stream"] is True


def test_sse_event_sequence_and_beta_query():
    with FakeLLMServer(ToolUse("Read", {"file_path": "/x"})) as srv:
        status, headers, raw = _post(srv.url + "/v1/messages?beta=true",
                                     {"model": "m", "stream": True, "messages": [USER("x")]})
    assert status == 200 and headers["Content-Type"].startswith("text/event-stream")
    events = [e for e in re.findall(r"^event: (\w+)$", raw.decode(), re.M) if e != "ping"]
    deduped = [e for i, e in enumerate(events) if i == 0 or e != events[i - 1]]
    assert deduped == [
        "message_start", "content_block_start", "content_block_delta", "content_block_stop",
        "message_delta", "message_stop"]
    datas = [json.loads(d) for d in re.findall(r"^data: (.*)$", raw.decode(), re.M)]
    delta = next(d for d in datas if d["type"] == "message_delta")
    assert delta["delta"]["stop_reason"] == "tool_use" and delta["usage"]["output_tokens"] > 0
    assert any(d.get("delta", {}).get("type") == "input_json_delta" for d in datas)
    assert srv.requests[0].query == {"beta": ["true"]} and srv.requests[0].path == "/v1/messages"


def test_openai_sdk_completion_and_stream():
    with FakeLLMServer(Queue(["first answer", "second, streamed, answer"])) as srv:
        client = _openai(srv)
        done = client.chat.completions.create(
            model="gpt-test", messages=[{"role": "system", "content": "s"}, USER("hi")])
        chunks = list(client.chat.completions.create(
            model="gpt-test", messages=[USER("hi")], stream=True,
            stream_options={"include_usage": True}))
    assert done.choices[0].message.content == "first answer"
    assert done.choices[0].finish_reason == "stop"
    assert done.usage.total_tokens == done.usage.prompt_tokens + done.usage.completion_tokens
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert streamed == "second, streamed, answer"
    assert chunks[-1].usage is not None
    assert [r.path for r in srv.requests] == ["/v1/chat/completions"] * 2


def test_openai_tool_calls():
    with FakeLLMServer(ToolUse("lookup", {"q": "x"})) as srv:
        done = _openai(srv).chat.completions.create(model="m", messages=[USER("hi")])
    choice = done.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls[0].function.name == "lookup"
    assert json.loads(choice.message.tool_calls[0].function.arguments) == {"q": "x"}


# ---- the reply script -------------------------------------------------------------------------


def _conversation():
    """What Claude Code sends after one tool call: reminder + prompt, system, tool round trip."""
    return {"model": "m", "messages": [
        {"role": "user", "content": [
            {"type": "text", "text": "<system-reminder>\nmake hello is NOT here\n</system-reminder>\n"},
            {"type": "text", "text": "please write the file"}]},
        {"role": "system", "content": [{"type": "text", "text": "# Environment ..."}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "Bash",
                                           "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1",
                                      "content": "ok"},
                                     {"type": "text", "text": "<system-reminder>x</system-reminder>"}]},
    ]}


def test_prompt_and_turn_helpers():
    body = _conversation()
    assert last_user_prompt(body) == "please write the file"
    assert turns_since_prompt(body) == 1
    assert last_user_prompt({"messages": []}) == "" and turns_since_prompt({}) == 0


def test_script_picks_rule_and_turn():
    script = Script(
        rules=[Rule("make hello", ["wrong rule"]),
               Rule("write the file", [ToolUse("Bash", {"command": "true"}), Text("written")]),
               Rule(re.compile(r"^never"), ["never"])],
        default=Text("fallback"))
    body = _conversation()
    assert script(body) == Text("written")  # turn 1 of the second rule (reminder text ignored)
    body["messages"] = body["messages"][:2]
    assert script(body) == ToolUse("Bash", {"command": "true"})  # turn 0
    body["messages"] += [{"role": "assistant", "content": "a"}] * 5
    assert script(body) == Text("fallback")  # past the last turn
    assert script({"messages": [USER("unrelated")]}) == Text("fallback")


def test_callable_script_sees_body_and_role_system_is_accepted():
    seen = []

    def chooser(body):
        seen.append(body)
        return f"turn {turns_since_prompt(body)} of {last_user_prompt(body)!r}"

    with FakeLLMServer(chooser) as srv:
        msg = _anthropic(srv).messages.create(model="m", max_tokens=10, messages=[
            USER("q"), {"role": "system", "content": "hook text"}])
    assert msg.content[0].text == "turn 0 of 'q'"
    assert seen[0]["messages"][1]["role"] == "system"


def test_queue_pops_then_repeats_default():
    with FakeLLMServer(Queue(["one", "two"], default="rest")) as srv:
        client = _anthropic(srv)
        texts = [client.messages.create(model="m", max_tokens=5, messages=[USER("x")])
                 .content[0].text for _ in range(4)]
    assert texts == ["one", "two", "rest", "rest"]


def test_script_bug_becomes_500_and_is_recorded():
    def broken(body):
        raise RuntimeError("boom")

    with FakeLLMServer(broken) as srv:
        status, _, raw = _post(srv.url + "/v1/messages", {"messages": []})
        assert status == 500 and b"boom" in raw
        assert isinstance(srv.errors[0], RuntimeError)
        # ...and the server keeps serving.
        assert _post(srv.url + "/v1/messages/count_tokens", {"messages": []})[0] == 200


# ---- other endpoints ------------------------------------------------------------------------


def test_count_tokens_and_unknown_paths():
    with FakeLLMServer() as srv:
        n = _anthropic(srv).messages.count_tokens(model="m", messages=[USER("hello " * 40)])
        assert n.input_tokens > 10
        with urllib.request.urlopen(srv.url + "/anything", timeout=2) as resp:
            assert resp.status == 200 and json.loads(resp.read()) == {}
        status, _, raw = _post(srv.url + "/v1/unknown", {})
        assert status == 404 and json.loads(raw)["type"] == "error"
        status, _, raw = _post(srv.url + "/v1/messages", [1, 2])  # not an object
        assert status == 400
        assert srv.request_count == 4 and srv.model_request_count == 1
        assert [r.kind for r in srv.requests] == ["count_tokens", "other", "other", "anthropic"]
        assert srv.errors == []


# ---- faults ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status, exc", [
    (500, anthropic.InternalServerError),
    (429, anthropic.RateLimitError),
    (529, anthropic.APIStatusError),
])
def test_http_faults_reach_the_sdk(status, exc):
    with FakeLLMServer("fine", fault=Fault.http(status)) as srv:
        with pytest.raises(exc) as info:
            _anthropic(srv).messages.create(model="m", max_tokens=5, messages=[USER("x")])
    err = info.value
    assert err.status_code == status
    assert err.body["type"] == "error"
    assert err.body["error"]["type"] == {500: "api_error", 429: "rate_limit_error",
                                         529: "overloaded_error"}[status]
    if status == 429:
        assert err.response.headers["retry-after"] == "1"
    assert srv.fault_count == 1


def test_fail_next_two_then_sdk_retry_succeeds():
    with FakeLLMServer(Queue(["the real answer"])) as srv:
        srv.fail_next(Fault.http(500, retry_after=0.01), times=2)
        client = _anthropic(srv, max_retries=2)
        msg = client.messages.create(model="m", max_tokens=5, messages=[USER("x")])
    # The failures did not consume the queued reply.
    assert msg.content[0].text == "the real answer"
    assert srv.model_request_count == 3 and srv.fault_count == 2
    assert [r.headers.get("x-stainless-retry-count") for r in srv.requests] == ["0", "1", "2"]


def test_openai_error_shape():
    with FakeLLMServer(fault=Fault.http(429, retry_after=0)) as srv:
        with pytest.raises(openai.RateLimitError) as info:
            _openai(srv).chat.completions.create(model="m", messages=[USER("x")])
    assert info.value.status_code == 429
    assert info.value.body["type"] == "rate_limit_error"  # openai unwraps {"error": {...}}


def test_garbage_body():
    with FakeLLMServer("fine", fault=Fault.garbage()) as srv:
        status, headers, raw = _post(srv.url + "/v1/messages", {"messages": []})
        assert status == 200 and headers["Content-Type"] == "application/json"
        with pytest.raises(ValueError):
            json.loads(raw)
        with pytest.raises(Exception):  # the SDK cannot parse it either
            _anthropic(srv).messages.create(model="m", max_tokens=5, messages=[USER("x")])


def test_script_can_fault_a_single_request():
    script = Script([Rule("explode", [Fault.http(529)])], default="calm")
    with FakeLLMServer(script) as srv:
        client = _anthropic(srv)
        assert client.messages.create(model="m", max_tokens=5,
                                      messages=[USER("hi")]).content[0].text == "calm"
        with pytest.raises(anthropic.APIStatusError):
            client.messages.create(model="m", max_tokens=5, messages=[USER("explode now")])


def test_hang_forever_times_out_client_and_stop_is_prompt():
    with FakeLLMServer("late") as srv:
        srv.fail_next(Fault.hang())
        with pytest.raises(anthropic.APITimeoutError):  # the client's own timeout ended it
            _anthropic(srv, timeout=0.3).messages.create(model="m", max_tokens=5,
                                                          messages=[USER("x")])
        # A second client blocks on another endless hang while we stop the server.
        srv.fault = Fault.hang()
        outcome = []

        def hung_client():
            try:
                outcome.append(_post(srv.url + "/v1/messages", {"messages": []}, timeout=5))
            except Exception as exc:  # expected: the server closes the connection
                outcome.append(exc)

        waiter = threading.Thread(target=hung_client)
        waiter.start()
        assert srv.wait_for_requests(2, timeout=1)
    # __exit__ -> stop() has run here, with a client still hung on it
    waiter.join(timeout=2)
    assert not waiter.is_alive()  # the hung connection was closed...
    assert isinstance(outcome[0], Exception)  # ...and the client got an error, not a reply


def test_timed_hang_then_answers():
    with FakeLLMServer("after the wait", fault=Fault.hang(0.2)) as srv:
        msg = _anthropic(srv).messages.create(model="m", max_tokens=5, messages=[USER("x")])
    assert msg.content[0].text == "after the wait" and srv.fault_count == 1


def test_disconnect():
    with FakeLLMServer(fault=Fault.disconnect()) as srv:
        with pytest.raises(anthropic.APIConnectionError):
            _anthropic(srv).messages.create(model="m", max_tokens=5, messages=[USER("x")])


def test_concurrent_requests_are_all_recorded():
    with FakeLLMServer(lambda body: last_user_prompt(body).upper()) as srv:
        results = {}
        client = _anthropic(srv)  # one client (httpx pools are thread-safe); building 16 is slow

        def worker(i):
            results[i] = client.messages.create(
                model="m", max_tokens=5, messages=[USER(f"p{i}")]).content[0].text

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=5)
        assert results == {i: f"P{i}" for i in range(16)}
        assert srv.model_request_count == 16
        assert sorted(r.prompt for r in srv.requests) == sorted(f"p{i}" for i in range(16))
