"""Outbound messages: Message-ID from the idempotency key, one-click unsubscribe headers, threading headers,
body hash."""

import email
import email.policy
import hashlib
from datetime import UTC, datetime

import pytest

from backbeat.outreach.ids import contact_id, domain_of, idempotency_key, message_id
from backbeat.outreach.messages import (
    body_sha256,
    build_message,
    follow_up_subject,
    unsubscribe_token,
)

SENDER = "promo@Label.example"
KEY = idempotency_key("promo@label.example", "c1", "p-1", 1)


def parse(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)


def first_step(**kwargs):
    args = {
        "sender": SENDER,
        "sender_name": "Label Promo",
        "recipient": "ann@radio.example",
        "recipient_name": "Ann Dee",
        "subject": "New single: Été",
        "body": "Hi Ann,\nhave a listen.\n",
        "message_id": message_id(KEY, domain_of(SENDER)),
        "unsubscribe_url": "https://u.label.example/u/tok_AB-1.sig",
        "date": datetime(2026, 12, 5, 9, 30),
    }
    return build_message(**{**args, **kwargs})


def test_message_id_is_derived_from_the_key_and_the_sender_domain() -> None:
    mid = message_id(KEY, "label.example")
    assert mid == message_id(KEY, "LABEL.example")  # same key → same id, in any process
    assert mid.endswith("@label.example") and mid.startswith("bb.")
    assert mid != message_id(idempotency_key("promo@label.example", "c1", "p-1", 2), "label.example")
    assert mid != message_id(KEY, "other.example")
    with pytest.raises(ValueError):
        idempotency_key("a|b", "c1", "p", 1)


def test_headers_of_a_first_step() -> None:
    out = first_step()
    msg = parse(out.raw)
    assert msg["Message-ID"] == f"<{out.message_id}>"
    assert out.message_id == message_id(KEY, "label.example")
    assert msg["From"].addresses[0].addr_spec == "promo@Label.example"
    assert msg["From"].addresses[0].display_name == "Label Promo"
    assert msg["To"].addresses[0].addr_spec == "ann@radio.example"
    assert str(msg["Subject"]) == "New single: Été"
    assert msg["Date"].datetime == datetime(2026, 12, 5, 9, 30, tzinfo=UTC)
    assert " ".join(str(msg["List-Unsubscribe"]).split()) == (
        "<https://u.label.example/u/tok_AB-1.sig>, <mailto:promo@Label.example?subject=unsubscribe%20tok_AB-1.sig>"
    )
    # The mailto reaches the sending mailbox (the inbox sync reads it); no local part passes RFC 5321's 64.
    assert all(len(a.split("@")[0]) <= 64 for a in (msg["From"].addresses[0].addr_spec,))
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg["In-Reply-To"] is None and msg["References"] is None
    assert msg.get_content().replace("\r\n", "\n") == "Hi Ann,\nhave a listen.\n"
    assert out.body_sha256 == hashlib.sha256(b"Hi Ann,\nhave a listen.\n").hexdigest()


def test_follow_up_answers_the_previous_steps() -> None:
    root = "bb.root@label.example"
    second = "bb.second@label.example"
    out = first_step(
        subject=follow_up_subject("New single: Été"),
        message_id="bb.third@label.example",
        in_reply_to=second,
        references=[root, second],
    )
    msg = parse(out.raw)
    assert msg["In-Reply-To"] == f"<{second}>"
    assert msg["References"].split() == [f"<{root}>", f"<{second}>"]
    assert str(msg["Subject"]) == "Re: New single: Été"
    assert out.references == (root, second)
    assert follow_up_subject("Re: x") == "Re: x"
    # In-Reply-To alone still lands in References
    assert parse(first_step(in_reply_to=root).raw)["References"] == f"<{root}>"


def test_body_hash_ignores_line_end_style_but_not_text() -> None:
    assert body_sha256("a\r\nb") == body_sha256("a\nb")
    assert body_sha256("a\nb") != body_sha256("a\nc")


def test_unsubscribe_token_is_the_last_path_segment() -> None:
    assert unsubscribe_token("https://h.example/u/abc.def") == "abc.def"
    assert unsubscribe_token("https://h.example/u/abc/") == "abc"
    with pytest.raises(ValueError):
        unsubscribe_token("https://h.example")


def test_contact_id_matches_the_contacts_asset() -> None:
    assert contact_id(" Ann@Radio.example ") == hashlib.sha1(b"ann@radio.example").hexdigest()[:12]
