"""A subagent's report keeps more of itself when its payload is cleaned (privacy.REPORT_FACTOR):
its findings come after the draft it quotes, and the cut (head + short tail) lost them.
Real payload: spotter-beads' Task call (tests/fixtures/real-world, see its README)."""
from __future__ import annotations

import json
from pathlib import Path

from claude_mem import config, privacy

REAL = Path(__file__).parent / "fixtures" / "real-world"


def _payload(session: str, index: int) -> dict:
    return json.loads((REAL / f"session-{session}.jsonl").read_text().splitlines()[index])["stdin"]


def _secret(parts):
    return "".join(parts)  # no scanner-triggering literal in this file


def test_a_subagents_report_keeps_its_findings_from_the_middle():
    payload = _payload("spotter-beads", 11)
    report = payload["tool_response"]["content"][0]["text"]
    assert 6000 < len(report) < 4 * 6000
    # A secret in the report: the payload needs cleaning, and the secret still goes.
    key = _secret(["sk-", "proj-", "Ab12Cd34Ef56Gh78Ij90Kl12Mn34"])
    payload["tool_response"]["content"][0]["text"] = report.replace("Bead Content:", f"OPENAI_API_KEY={key}\nBead Content:", 1)
    cleaned = json.loads(privacy.clean_payload(json.dumps(payload), config.load()))
    kept = cleaned["tool_response"]["content"][0]["text"]
    assert "Generates Credo config with `mix credo gen.config`" in kept  # past the old 6,000 cut
    assert key not in kept and "OPENAI_API_KEY=[REDACTED]" in kept
    # The prompt the subagent was given is tool input: the usual limit.
    long_prompt = "Draft the beads. " * 600
    payload["tool_input"]["prompt"] = long_prompt
    cleaned = json.loads(privacy.clean_payload(json.dumps(payload), config.load()))
    assert len(cleaned["tool_input"]["prompt"]) <= 6000
    assert len(cleaned["tool_response"]["content"][0]["text"]) > 6000


def test_other_tools_and_very_long_reports_are_still_cut():
    key = _secret(["sk-", "proj-", "Ab12Cd34Ef56Gh78Ij90Kl12Mn34"])
    text = f"token={key}\n" + "line of output\n" * 4000
    for tool, limit in (("Bash", 6000), ("Task", 4 * 6000)):
        payload = {"session_id": "s", "tool_name": tool, "tool_input": {}, "tool_response": {"stdout": text}}
        cleaned = json.loads(privacy.clean_payload(json.dumps(payload), config.load()))
        assert len(cleaned["tool_response"]["stdout"]) <= limit
        assert len(cleaned["tool_response"]["stdout"]) > limit - 200
        assert key not in cleaned["tool_response"]["stdout"]


def test_a_reports_lead_in_line_is_no_finding():
    # spotter-beads' report: "The bead content above follows ... `.beads/issues.jsonl`. It
    # consists of:" scored (a path in backticks) and took a fact's place before the list.
    from claude_mem.compress import extract

    report = _payload("spotter-beads", 11)["tool_response"]["content"][0]["text"]
    found = extract.report_lines(report, limit=3)
    assert not any(line.endswith(":") for line in found)
    assert "Generates Credo config with `mix credo gen.config`" in found
    assert extract.report_lines("Key results:\n- `make test`: 12 passed\n") == ["`make test`: 12 passed"]


def test_a_subagents_observation_keeps_ten_more_lines_after_its_best_ten():
    from claude_mem.compress import SessionContext
    from claude_mem.compress.heuristic import HeuristicCompressor
    from claude_mem.events import parse_event

    payload = _payload("spotter-dov", 6)  # a 15,484-character exploration report
    cleaned = privacy.clean_payload(json.dumps(payload), config.load())
    ctx = SessionContext(session_id=1, claude_session_id="s", project="spotter", cwd="/home/dev/spotter",
                         prompt_number=1, request="Work on bead spotter-dov")
    obs = HeuristicCompressor(config.load()).observe(ctx, [parse_event("PostToolUse", cleaned)]).observations[0]
    from claude_mem.compress.extract import report_lines as best
    report = payload["tool_response"]["content"][0]["text"]
    assert len(obs.facts[:10]) == len(best(report, limit=10))  # the best ten first, as before
    assert obs.facts[0] == best(report, limit=10)[0]
    # The report's names, then its figures (round 13): last.
    lines = [fact for fact in obs.facts if not fact.startswith(("Names: ", "Figures: "))]
    assert 10 < len(lines) <= 20 and obs.facts[-2].startswith("Names: ") and obs.facts[-1].startswith("Figures: ")
    assert any("`load_messages/1` filtering by `subagent_id`" in fact for fact in lines[10:])


def test_two_top_level_keys_cleaned_to_the_same_text_keep_both_values():
    key = _secret(["sk-", "proj-", "Ab12Cd34Ef56Gh78Ij90Kl12Mn34"])
    other = _secret(["sk-", "proj-", "Zy98Xw76Vu54Ts32Rq10Po98Nm76"])
    payload = {"tool_name": "Task", key: "first", other: "second", "tool_response": "report"}
    cleaned = json.loads(privacy.clean_json_text(json.dumps(payload), 6000))
    assert sorted(v for v in cleaned.values() if v in ("first", "second")) == ["first", "second"]
    assert key not in json.dumps(cleaned) and other not in json.dumps(cleaned)
