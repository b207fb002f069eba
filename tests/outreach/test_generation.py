"""The text-generation hook against a local Gemini-style server: off by default, drafts stored with prompt, model
and template version, the same checks as templates, a person's approval before anything can be sent, and the
provider's errors (Google's error JSON, 429 with RetryInfo, 5xx) through the shared resilience layer."""

import json
import random
from collections.abc import Iterator

import pytest
import requests

from backbeat.demo.standins.clock import ManualClock
from backbeat.demo.standins.textgen_server import GENERATE, FakeTextGen, frame_of
from backbeat.outreach.compose import MissingVariable, TemplateVersion
from backbeat.outreach.generation import (
    ENABLED_ENV,
    DraftError,
    DraftNotApprovable,
    DraftNotApproved,
    DraftRequest,
    GenerationDisabled,
    GenerationSettings,
    approve_draft,
    approved_body_for,
    generate_draft,
    list_drafts,
    load_draft,
    mark_draft_sent,
    reject_draft,
)
from backbeat.outreach.prospecting_tables import DRAFTS
from integrations.resilience import CircuitBreaker, MalformedPayload, RetryPolicy, TokenBucket
from integrations.retry import Backoff
from integrations.textgen import (
    GenerationBlocked,
    InvalidApiKey,
    ModelNotFound,
    RateLimited,
    TextGenClient,
    Unavailable,
)
from integrations.warehouse import Warehouse

KEY = "test-key"
URL = "https://u.label.example/u/tok_AB-1.sig"
TEMPLATE = TemplateVersion(
    "intro",
    2,
    "{{ track }} for {{ company }}",
    "Hi {{ first_name }},\n\n{{ track }} is out Friday.\n\n{{ sender_name }}\nUnsubscribe: {{ unsubscribe_url }}\n",
    forbidden_phrases=("exclusive premiere",),
)
CONTEXT = {"first_name": "Ann", "company": "Radio Été", "track": "Blue Hour", "sender_name": "Bo"}
REQUEST = DraftRequest("org", "c1", 1, "ann@radio.example", CONTEXT, prospect_id="p-1")


@pytest.fixture
def server() -> Iterator[FakeTextGen]:
    with FakeTextGen(api_keys=(KEY,)) as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
def warehouse(tmp_path) -> Warehouse:
    wh = Warehouse(f"duckdb:///{tmp_path}/w.duckdb")
    wh.ensure(DRAFTS)  # as the send engine does at start; `approved_body_for` does not
    return wh


def settings_for(server: FakeTextGen, **changes) -> GenerationSettings:
    return GenerationSettings(**{"enabled": True, "api_key": KEY, "base_url": server.url, **changes})


def client_for(server: FakeTextGen, clock: ManualClock, key: str = KEY, max_attempts: int = 3) -> TextGenClient:
    return TextGenClient(
        key,
        base_url=server.url,
        policy=RetryPolicy(
            max_attempts=max_attempts, backoff=Backoff(base=0.5), sleep=clock.sleep, rng=random.Random(1)
        ),
        breaker=CircuitBreaker("textgen-test", failure_threshold=50, cooldown=1, clock=clock.now),
        bucket=TokenBucket(1000, 10, clock=clock.now, sleep=clock.sleep),
    )


def generate(warehouse, server, request=REQUEST, **changes):
    return generate_draft(
        warehouse, settings_for(server, **changes), TEMPLATE, request, client=client_for(server, ManualClock())
    )


def send_body(warehouse: Warehouse, prospect_id: str = "p-1"):
    with warehouse.connect() as conn:
        return approved_body_for(conn, campaign_id="c1", step_no=1, prospect_id=prospect_id, unsubscribe_url=URL)


def test_generation_is_off_by_default(server: FakeTextGen, warehouse: Warehouse) -> None:
    assert GenerationSettings().enabled is False
    assert GenerationSettings.from_env({}).enabled is False
    assert GenerationSettings.from_env({ENABLED_ENV: "0", "BACKBEAT_TEXTGEN_API_KEY": KEY}).enabled is False
    off = GenerationSettings(api_key=KEY, base_url=server.url)
    with pytest.raises(GenerationDisabled, match=ENABLED_ENV):
        generate_draft(warehouse, off, TEMPLATE, REQUEST, client=client_for(server, ManualClock()))
    with pytest.raises(GenerationDisabled):
        off.client()
    assert server.count() == 0
    on = GenerationSettings.from_env({ENABLED_ENV: "1", "BACKBEAT_TEXTGEN_API_KEY": KEY, "BACKBEAT_TEXTGEN_URL": "x"})
    assert on.enabled and on.base_url == "x" and KEY not in repr(on)


def test_draft_is_stored_with_prompt_model_and_template_version(server: FakeTextGen, warehouse: Warehouse) -> None:
    draft = generate(warehouse, server)
    assert draft.status == "pending_approval" and draft.failures == ()
    assert (draft.model, draft.template_id, draft.template_version) == ("gemini-2.5-flash", "intro", 2)
    assert draft.subject == "Blue Hour for Radio Été"
    assert "Hi Ann," in draft.body and draft.body.rstrip().endswith("{{ unsubscribe_url }}")
    (prompt,) = server.prompts
    assert draft.prompt is not None and draft.prompt in prompt
    assert "Unsubscribe" not in frame_of(prompt)  # the model never sees the footer or the link
    assert "- exclusive premiere" in prompt and "- guaranteed airplay" in prompt
    row = warehouse.query("SELECT source, email, prospect_id, checks FROM outreach.drafts").row(0, named=True)
    assert (row["source"], row["email"], row["prospect_id"]) == ("generated", "ann@radio.example", "p-1")
    assert json.loads(row["checks"])["failures"] == []
    # the same answer to the same prompt is the same draft, not a second one
    assert generate(warehouse, server).draft_id == draft.draft_id
    assert list_drafts(warehouse, "org")["draft_id"].to_list() == [draft.draft_id]


def test_draft_needs_approval_before_it_can_be_sent(server: FakeTextGen, warehouse: Warehouse) -> None:
    assert send_body(warehouse) is None  # no draft: the template is used
    draft = generate(warehouse, server)
    with pytest.raises(DraftNotApproved, match="pending_approval"):
        send_body(warehouse)
    with pytest.raises(DraftError, match="approver"):
        approve_draft(warehouse, draft.draft_id, " ")
    approved = approve_draft(warehouse, draft.draft_id, "maria")
    assert (approved.status, approved.approver) == ("approved", "maria")
    ready = send_body(warehouse)
    assert ready is not None and ready.draft_id == draft.draft_id
    assert ready.body.endswith(f"Unsubscribe with one click: {URL}\n") and "{{" not in ready.body
    assert ready.subject == draft.subject
    activity = warehouse.query("SELECT actor, action, subject_id FROM outreach.activity").rows()
    assert activity == [("maria", "approve", draft.draft_id)]
    with warehouse.connect() as conn:
        mark_draft_sent(conn, draft.draft_id)
    assert load_draft(warehouse, draft.draft_id).status == "sent"
    assert send_body(warehouse) is not None  # a retried send still finds the text it sent
    with pytest.raises(DraftNotApprovable):
        reject_draft(warehouse, draft.draft_id, "maria")


def test_text_edited_after_approval_cannot_be_sent(server: FakeTextGen, warehouse: Warehouse) -> None:
    draft = generate(warehouse, server)
    approve_draft(warehouse, draft.draft_id, "maria")
    with warehouse.connect() as conn:
        conn.execute(
            "UPDATE outreach.drafts SET body = body || 'Guaranteed airplay!' WHERE draft_id = ?", [draft.draft_id]
        )
    with pytest.raises(DraftNotApproved, match="changed after it was approved"):
        send_body(warehouse)


def test_failing_draft_cannot_be_approved(warehouse: Warehouse) -> None:
    def salesy(prompt: str) -> str:
        return frame_of(prompt) + "\nWe GUARANTEED-airplay on 40 stations and an exclusive premiere."

    with FakeTextGen(api_keys=(KEY,), reply=salesy) as server:
        draft = generate(warehouse, server)
    assert draft.status == "failed_checks"
    assert {f.check for f in draft.failures} == {"forbidden_claim"}
    with pytest.raises(DraftNotApprovable) as caught:
        approve_draft(warehouse, draft.draft_id, "maria")
    assert "guaranteed airplay" in str(caught.value) and "exclusive premiere" in str(caught.value)
    stored = load_draft(warehouse, draft.draft_id)
    assert (stored.status, stored.approver) == ("failed_checks", None)
    with pytest.raises(DraftNotApproved, match="failed_checks"):
        send_body(warehouse)
    # rejected, it no longer blocks the step: the template is sent instead
    assert reject_draft(warehouse, draft.draft_id, "maria").status == "rejected"
    assert send_body(warehouse) is None
    with pytest.raises(DraftNotApprovable, match="rejected"):
        approve_draft(warehouse, draft.draft_id, "maria")


def test_too_long_or_truncated_answers_fail_their_checks(warehouse: Warehouse) -> None:
    with FakeTextGen(api_keys=(KEY,), reply=lambda p: "Subject: " + "x" * 130 + "\n\n" + frame_of(p)) as server:
        long_subject = generate(warehouse, server)
    assert {(f.check, f.part) for f in long_subject.failures} == {("too_long", "subject")}
    with FakeTextGen(api_keys=(KEY,), finish_reason="MAX_TOKENS") as server:
        cut = generate(warehouse, server, request=DraftRequest("org", "c1", 1, "b@x.example", CONTEXT, "p-2"))
    assert cut.status == "failed_checks" and [f.check for f in cut.failures] == ["truncated"]
    with pytest.raises(DraftNotApprovable, match="truncated"):
        approve_draft(warehouse, cut.draft_id, "maria")


def test_missing_variable_fails_before_any_request(server: FakeTextGen, warehouse: Warehouse) -> None:
    request = DraftRequest("org", "c1", 1, "a@x.example", {**CONTEXT, "company": None}, prospect_id="p-1")
    with pytest.raises(MissingVariable, match="template intro v2: subject uses variable 'company'"):
        generate(warehouse, server, request=request)
    assert server.count() == 0


def test_standin_errors_through_the_resilience_layer(server: FakeTextGen) -> None:
    clock = ManualClock()
    client = client_for(server, clock)
    # 429 RESOURCE_EXHAUSTED with RetryInfo (no Retry-After header): waits the retryDelay, then answers
    server.plan.fail_next(GENERATE, 1, 429, retry_after=7)
    assert client.generate("gemini-2.5-flash", "Subject: a\n\nhello").text
    assert 7.0 in clock.sleeps
    # 503 twice then fine: backoff, three attempts
    server.plan.fail_next(GENERATE, 2, 503)
    before = server.count(GENERATE)
    assert client.generate("gemini-2.5-flash", "hello").model == "gemini-2.5-flash"
    assert server.count(GENERATE) - before == 3
    # 500 for ever: Unavailable after max_attempts, with Google's status
    server.plan.fail_next(GENERATE, 10, 500)
    with pytest.raises(Unavailable) as unavailable:
        client.generate("gemini-2.5-flash", "hello")
    assert unavailable.value.attempts == 3 and unavailable.value.google_status == "INTERNAL"
    server.plan.clear()
    # 429 beyond what the policy waits for surfaces as RateLimited
    patient = TextGenClient(
        KEY,
        base_url=server.url,
        policy=RetryPolicy(max_rate_limited=1, sleep=clock.sleep),
        bucket=TokenBucket(1000, 10, clock=clock.now, sleep=clock.sleep),
    )
    server.plan.fail_next(GENERATE, 2, 429, retry_after=3)
    with pytest.raises(RateLimited) as limited:
        patient.generate("gemini-2.5-flash", "hello")
    assert limited.value.google_status == "RESOURCE_EXHAUSTED" and limited.value.retry_after == 3


def test_standin_refusals_fail_at_once(server: FakeTextGen) -> None:
    clock = ManualClock()
    before = server.count()
    with pytest.raises(InvalidApiKey) as bad_key:
        client_for(server, clock, key="wrong").generate("gemini-2.5-flash", "hello")
    assert bad_key.value.reason == "API_KEY_INVALID" and "wrong" not in str(bad_key.value)
    with pytest.raises(ModelNotFound, match="models/gemini-0 is not found"):
        client_for(server, clock).generate("gemini-0", "hello")
    assert server.count() - before == 2  # no retries
    raw = requests.post(f"{server.url}/v1beta/models/gemini-2.5-flash:generateContent", json={}, timeout=5)
    assert raw.status_code == 403 and raw.json()["error"]["status"] == "PERMISSION_DENIED"
    with pytest.raises(InvalidApiKey):
        TextGenClient(" ")
    server.blocked_words = ("forbidden",)
    with pytest.raises(GenerationBlocked) as blocked:
        client_for(server, clock).generate("gemini-2.5-flash", "something forbidden")
    assert blocked.value.reason == "SAFETY"
    server.plan.fail_next(GENERATE, 1, 200, body='{"candidates": [{"content": {"parts": [{}]}}]}')
    with pytest.raises(MalformedPayload, match=r"candidates\[0\]"):
        client_for(server, clock).generate("gemini-2.5-flash", "hello")


def test_provider_error_stores_nothing(server: FakeTextGen, warehouse: Warehouse) -> None:
    server.plan.fail_next(
        GENERATE, 1, 400, body='{"error": {"code": 400, "message": "bad", "status": "INVALID_ARGUMENT"}}'
    )
    with pytest.raises(Exception, match="INVALID_ARGUMENT"):
        generate(warehouse, server)
    assert list_drafts(warehouse, "org").height == 0
