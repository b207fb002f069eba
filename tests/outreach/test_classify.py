"""Inbound classification on a table of realistic messages: Gmail, Exchange/Office 365, Postfix and Exim bounces,
out-of-office replies with and without Auto-Submitted, replies with and without In-Reply-To, unsubscribe
requests, an ARF complaint, and what must stay irrelevant."""

from __future__ import annotations

from datetime import datetime
from email.parser import BytesHeaderParser

import pytest

from backbeat.outreach.classify import (
    OurSend,
    SentIndex,
    SignalKind,
    classify,
    needs_raw,
    parse_report,
)
from integrations.gmail import MessageMetadata

MAILBOX = "promo@label.example"
AT = datetime(2026, 12, 5, 9, 30)

ANNA = OurSend("bb-c1-anna-s1@label.example", "t-anna", "anna@radio-one.example", "k-anna", datetime(2026, 12, 1))
ANNA_2 = OurSend("bb-c1-anna-s2@label.example", "t-anna", "anna@radio-one.example", "k-anna-2", datetime(2026, 12, 4))
BOB = OurSend("bb-c1-bob-s1@label.example", "t-bob", "bob@nowhere.example", "k-bob", datetime(2026, 12, 1))
CARA = OurSend("bb-c1-cara-s1@label.example", "t-cara", "cara@gmail.com", "k-cara", datetime(2026, 12, 1))
DAN = OurSend("bb-c1-dan-s1@label.example", "t-dan", "dan@contoso.com", "k-dan", datetime(2026, 12, 1))
EVE = OurSend("bb-c1-eve-s1@label.example", "t-eve", "eve@indie-fm.example", "k-eve", datetime(2026, 12, 1))
FRED = OurSend("bb-c1-fred-s1@label.example", "t-fred", "fred@old-host.example", "k-fred", datetime(2026, 12, 1))
SENT = SentIndex(MAILBOX, [ANNA, ANNA_2, BOB, CARA, DAN, EVE, FRED])


def metadata(raw: str, gmail_id: str, thread_id: str, labels: tuple[str, ...] = ("INBOX",)) -> MessageMetadata:
    """What Gmail's messages.get format=metadata gives for `raw`: lower-cased header names, unfolded values."""
    parsed = BytesHeaderParser().parsebytes(raw.encode("utf-8"))
    headers = {name.lower(): " ".join(str(value).split()) for name, value in parsed.items()}
    return MessageMetadata(id=gmail_id, thread_id=thread_id, label_ids=labels, internal_date=AT, headers=headers)


def crlf(text: str) -> str:
    return text.lstrip("\n").replace("\n", "\r\n")


GMAIL_DSN_HARD = crlf("""
Delivered-To: promo@label.example
Return-Path: <>
Received: by 2002:a05:6a10:1234 with SMTP id u12csp123456pxb; Sat, 5 Dec 2026 09:30:02 -0800 (PST)
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: promo@label.example
Auto-Submitted: auto-replied
Subject: Delivery Status Notification (Failure)
References: <bb-c1-bob-s1@label.example>
In-Reply-To: <bb-c1-bob-s1@label.example>
X-Failed-Recipients: bob@nowhere.example
Message-ID: <5f3c.0a1b.1c2d@mx.google.com>
Date: Sat, 05 Dec 2026 09:30:02 -0800 (PST)
MIME-Version: 1.0
Content-Type: multipart/report; boundary="000000000000a1b2c3"; report-type=delivery-status

--000000000000a1b2c3
Content-Type: multipart/related; boundary="000000000000a1b2c4"

--000000000000a1b2c4
Content-Type: text/html; charset="UTF-8"

<html><body><h2>Address not found</h2><p>Your message wasn't delivered to <b>bob@nowhere.example</b> because
the address couldn't be found, or is unable to receive mail.</p></body></html>
--000000000000a1b2c4--

--000000000000a1b2c3
Content-Type: message/delivery-status

Reporting-MTA: dns; googlemail.com
Received-From-MTA: dns; promo@label.example
Arrival-Date: Sat, 05 Dec 2026 09:30:01 -0800 (PST)
X-Original-Message-ID: <bb-c1-bob-s1@label.example>

Final-Recipient: rfc822; bob@nowhere.example
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.nowhere.example. (192.0.2.10, the server for the domain nowhere.example.)
Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does not exist.
 550 5.1.1 https://support.google.com/mail/?p=NoSuchUser - gsmtp
Last-Attempt-Date: Sat, 05 Dec 2026 09:30:02 -0800 (PST)

--000000000000a1b2c3
Content-Type: message/rfc822

From: Promo Team <promo@label.example>
To: bob@nowhere.example
Subject: New single: Night Drive
Message-ID: <bb-c1-bob-s1@label.example>
Date: Sat, 05 Dec 2026 17:30:00 +0000

Hello Bob,
--000000000000a1b2c3--
""")

GMAIL_DSN_DELAY = crlf("""
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: promo@label.example
Auto-Submitted: auto-replied
Subject: Delivery Status Notification (Delay)
References: <bb-c1-eve-s1@label.example>
In-Reply-To: <bb-c1-eve-s1@label.example>
X-Failed-Recipients: eve@indie-fm.example
Message-ID: <77aa.bb.cc@mx.google.com>
MIME-Version: 1.0
Content-Type: multipart/report; boundary="0000000000001111"; report-type=delivery-status

--0000000000001111
Content-Type: text/plain; charset="UTF-8"

There was a temporary problem delivering your message to eve@indie-fm.example. Gmail will retry for 46 more
hours. You'll be notified if the delivery fails permanently.

--0000000000001111
Content-Type: message/delivery-status

Reporting-MTA: dns; googlemail.com
Arrival-Date: Sat, 05 Dec 2026 08:10:11 -0800 (PST)
X-Original-Message-ID: <bb-c1-eve-s1@label.example>

Final-Recipient: rfc822; eve@indie-fm.example
Action: delayed
Status: 4.2.2
Diagnostic-Code: smtp; 452 4.2.2 The email account that you tried to reach is over quota.
Last-Attempt-Date: Sat, 05 Dec 2026 09:30:02 -0800 (PST)
Will-Retry-Until: Mon, 07 Dec 2026 08:10:11 -0800 (PST)

--0000000000001111
Content-Type: text/rfc822-headers

From: Promo Team <promo@label.example>
To: eve@indie-fm.example
Subject: New single: Night Drive
Message-ID: <bb-c1-eve-s1@label.example>

--0000000000001111--
""")

O365_NDR = crlf("""
From: Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@contoso.onmicrosoft.com>
To: <promo@label.example>
Date: Sat, 5 Dec 2026 17:30:04 +0000
Content-Type: multipart/report; report-type=delivery-status;
 boundary="6c4e1f1e-2a8b-4f1f-9f0a-2b2b7e1e9a55"
X-MS-Exchange-Message-Is-Ndr:
Content-Language: en-US
Message-ID: <3f1c9e2a-5b1d-4a7c-8f7e-0c2d3b4a5e6f@AM0PR01MB1234.eurprd01.prod.exchangelabs.com>
Subject: Undeliverable: New single: Night Drive
Auto-Submitted: auto-replied
MIME-Version: 1.0

--6c4e1f1e-2a8b-4f1f-9f0a-2b2b7e1e9a55
Content-Type: multipart/alternative; boundary="a7b8c9d0-0000-1111-2222-333344445555"

--a7b8c9d0-0000-1111-2222-333344445555
Content-Type: text/plain; charset="us-ascii"

Your message to dan@contoso.com couldn't be delivered.
dan wasn't found at contoso.com.

--a7b8c9d0-0000-1111-2222-333344445555--

--6c4e1f1e-2a8b-4f1f-9f0a-2b2b7e1e9a55
Content-Type: message/delivery-status

Reporting-MTA: dns;AM0PR01MB1234.eurprd01.prod.exchangelabs.com
Received-From-MTA: dns;mail-sor-f41.google.com
Arrival-Date: Sat, 5 Dec 2026 17:30:03 +0000

Final-Recipient: rfc822;dan@contoso.com
Action: failed
Status: 5.1.10
Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient dan@contoso.com not found by SMTP
 address lookup
X-Display-Name: dan


--6c4e1f1e-2a8b-4f1f-9f0a-2b2b7e1e9a55
Content-Type: text/rfc822-headers

Received: from mail-sor-f41.google.com (209.85.220.41) by AM0PR01MB1234.mail.protection.outlook.com
From: Promo Team <promo@label.example>
To: dan@contoso.com
Subject: New single: Night Drive
Message-ID: <bb-c1-dan-s1@label.example>
MIME-Version: 1.0

--6c4e1f1e-2a8b-4f1f-9f0a-2b2b7e1e9a55--
""")

EXCHANGE_2010_NDR = crlf("""
From: postmaster@oldcorp.example
To: promo@label.example
Subject: Undeliverable: New single: Night Drive
Content-Type: multipart/report; report-type=delivery-status; boundary="_000_NDR_"
Thread-Topic: New single: Night Drive
Message-ID: <a1b2c3@EXCH01.oldcorp.example>
MIME-Version: 1.0

--_000_NDR_
Content-Type: text/plain; charset="us-ascii"

Delivery has failed to these recipients or groups:
fred@old-host.example
The e-mail address you entered couldn't be found.

--_000_NDR_
Content-Type: message/delivery-status

Reporting-MTA: dns;EXCH01.oldcorp.example

Final-Recipient: rfc822;fred@old-host.example
Action: failed
Status: 5.0.0
Diagnostic-Code: smtp;550 5.1.1 <fred@old-host.example>: Recipient address rejected: User unknown

--_000_NDR_--
""")

POSTFIX_DELAYED = crlf("""
From: MAILER-DAEMON@mx1.label-relay.example (Mail Delivery System)
To: promo@label.example
Subject: Delayed Mail (still being retried)
Auto-Submitted: auto-replied
Content-Type: multipart/report; report-type=delivery-status; boundary="8F2A1C0042.1733390000/mx1"
Message-ID: <20261205093000.8F2A1C0042@mx1.label-relay.example>
MIME-Version: 1.0

--8F2A1C0042.1733390000/mx1
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx1.label-relay.example.
####################################################################
# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #
####################################################################

--8F2A1C0042.1733390000/mx1
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx1.label-relay.example
X-Postfix-Queue-ID: 8F2A1C0042
Arrival-Date: Sat,  5 Dec 2026 05:30:00 +0000 (UTC)

Final-Recipient: rfc822; eve@indie-fm.example
Original-Recipient: rfc822;eve@indie-fm.example
Action: delayed
Status: 4.4.1
Diagnostic-Code: X-Postfix; connect to mx.indie-fm.example[198.51.100.7]:25: Connection timed out
Will-Retry-Until: Tue,  8 Dec 2026 05:30:00 +0000 (UTC)

--8F2A1C0042.1733390000/mx1
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

From: Promo Team <promo@label.example>
To: eve@indie-fm.example
Message-ID: <bb-c1-eve-s1@label.example>

--8F2A1C0042.1733390000/mx1--
""")

EXIM_PLAIN = crlf("""
From: Mail Delivery System <Mailer-Daemon@smtp.old-host.example>
To: promo@label.example
Subject: Mail delivery failed: returning message to sender
X-Failed-Recipients: fred@old-host.example
Auto-Submitted: auto-replied
Content-Type: text/plain; charset=us-ascii
Message-Id: <E1kXyZ-0001Ab-Cd@smtp.old-host.example>

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  fred@old-host.example
    host mx.old-host.example [203.0.113.5]
    SMTP error from remote mail server after RCPT TO:<fred@old-host.example>:
    550 No such user here

------ This is a copy of the message, including all the headers. ------

Message-ID: <bb-c1-fred-s1@label.example>
From: Promo Team <promo@label.example>
To: fred@old-host.example
Subject: New single: Night Drive
""")

GMAIL_DSN_NOT_OURS = GMAIL_DSN_HARD.replace("bb-c1-bob-s1@label.example", "CAF=personal123@mail.gmail.com").replace(
    "bob@nowhere.example", "typo@nowhere.example"
)

DELIVERED_REPORT = crlf("""
From: MAILER-DAEMON@mx1.label-relay.example (Mail Delivery System)
To: promo@label.example
Subject: Successful Mail Delivery Report
Content-Type: multipart/report; report-type=delivery-status; boundary="B0"

--B0
Content-Type: message/delivery-status

Reporting-MTA: dns; mx1.label-relay.example

Final-Recipient: rfc822; anna@radio-one.example
Action: relayed
Status: 2.0.0

--B0--
""")

GMAIL_VACATION = crlf("""
From: Anna Berg <anna@radio-one.example>
To: promo@label.example
Subject: Away until 14 December
In-Reply-To: <bb-c1-anna-s1@label.example>
References: <bb-c1-anna-s1@label.example>
Auto-Submitted: auto-replied
Message-ID: <CAGvac123@mail.gmail.com>
Content-Type: text/plain; charset="UTF-8"

I'm away until 14 December with no access to email.
""")

EXCHANGE_OOO = crlf("""
From: Dan Okafor <dan@contoso.com>
To: Promo Team <promo@label.example>
Subject: Automatic reply: New single: Night Drive
Thread-Topic: New single: Night Drive
Thread-Index: AQHbRz0kq7mZ1Xh2T0y3
Date: Sat, 5 Dec 2026 17:31:00 +0000
Message-ID: <DB9PR01MB5678OOO@DB9PR01MB5678.eurprd01.prod.outlook.com>
References: <bb-c1-dan-s1@label.example>
In-Reply-To: <bb-c1-dan-s1@label.example>
Auto-Submitted: auto-generated
X-Auto-Response-Suppress: All
X-MS-Exchange-Inbox-Rules-Loop: dan@contoso.com
Content-Type: text/plain; charset="us-ascii"

I am out of the office until Monday.
""")

OOO_NO_HEADER = crlf("""
From: Eve Stone <eve@indie-fm.example>
To: promo@label.example
Subject: Out of Office: New single: Night Drive
Message-ID: <ooo-4711@indie-fm.example>
Content-Type: text/plain

I am on leave until January.
""")

CPANEL_AUTORESPONDER = crlf("""
From: Fred <fred@old-host.example>
To: promo@label.example
Subject: Re: New single: Night Drive
X-Autorespond: Re: New single: Night Drive
X-Autoreply: yes
Precedence: auto_reply
In-Reply-To: <bb-c1-fred-s1@label.example>
Content-Type: text/plain

Thanks for your mail. We read every submission within four weeks.
""")

REPLY_THREADED = crlf("""
From: Anna Berg <anna@radio-one.example>
To: Promo Team <promo@label.example>
Subject: Re: New single: Night Drive
In-Reply-To: <bb-c1-anna-s2@label.example>
References: <bb-c1-anna-s1@label.example> <bb-c1-anna-s2@label.example>
Message-ID: <CAGreply-anna@mail.gmail.com>
Content-Type: text/plain; charset="UTF-8"

Love it, we'll add it to the Friday show.
""")

REPLY_NO_IN_REPLY_TO = crlf("""
From: "Anna Berg" <Anna@Radio-One.example>
To: promo@label.example
Subject: RE: New single: Night Drive
Message-ID: <reply-no-irt@radio-one.example>
Auto-Submitted: no
Content-Type: text/plain

Sounds good.
""")

FRESH_MAIL_FROM_PROSPECT = crlf("""
From: Cara <cara@gmail.com>
To: promo@label.example
Subject: about that track you sent
Message-ID: <CAGfresh-cara@mail.gmail.com>
Content-Type: text/plain

Can you send the WAV?
""")

COLLEAGUE_REPLY = crlf("""
From: Music Desk <music@radio-one.example>
To: promo@label.example
Subject: Re: New single: Night Drive
In-Reply-To: <bb-c1-anna-s1@label.example>
Content-Type: text/plain

Anna forwarded this to us, we're interested.
""")

STRANGER_IN_THREAD = crlf("""
From: Someone <someone.else@gmail.com>
To: promo@label.example
Subject: Re: New single: Night Drive
References: <bb-c1-cara-s1@label.example>
Content-Type: text/plain

Who is this?
""")

NEWSLETTER = crlf("""
From: Music Week <news@musicweek.example>
To: promo@label.example
Subject: This week's charts
Precedence: bulk
List-Id: <weekly.musicweek.example>
List-Unsubscribe: <https://musicweek.example/u/123>
Content-Type: text/html

<p>Charts</p>
""")

UNSUBSCRIBE_MAILTO = crlf("""
From: Bob <bob@nowhere.example>
To: unsubscribe@label.example
Subject: unsubscribe AQAAAABnZy1vcmctMQdjLTQyBmNhbXAtMUv3JfDm1zyfR8rGtq4
Content-Type: text/plain

This message was automatically generated by Gmail.
""")

UNSUBSCRIBE_PLUS = crlf("""
From: Eve Stone <eve@indie-fm.example>
To: promo+unsubscribe-Tok123@label.example
Delivered-To: promo@label.example
Subject: Unsubscribe
Content-Type: text/plain
""")

UNSUBSCRIBE_SUBJECT = crlf("""
From: Cara <cara@gmail.com>
To: promo@label.example
Subject: Re: unsubscribe me please
In-Reply-To: <bb-c1-cara-s1@label.example>
Content-Type: text/plain
""")

READ_RECEIPT = crlf("""
From: Anna Berg <anna@radio-one.example>
To: promo@label.example
Subject: Read: New single: Night Drive
In-Reply-To: <bb-c1-anna-s1@label.example>
References: <bb-c1-anna-s1@label.example>
Content-Type: multipart/report; report-type=disposition-notification; boundary="mdn"

--mdn
Content-Type: text/plain

Your message was read on Saturday.
--mdn
Content-Type: message/disposition-notification

Final-Recipient: rfc822;anna@radio-one.example
Original-Message-ID: <bb-c1-anna-s1@label.example>
Disposition: manual-action/MDN-sent-manually; displayed
--mdn--
""")

OWN_SENT = crlf("""
From: Promo Team <promo@label.example>
To: anna@radio-one.example
Subject: Re: New single: Night Drive
In-Reply-To: <CAGreply-anna@mail.gmail.com>
Content-Type: text/plain

Great, thanks!
""")

ARF_COMPLAINT = crlf("""
From: staff@hotmail.com
To: promo@label.example
Subject: complaint about message from 203.0.113.9
Content-Type: multipart/report; report-type=feedback-report; boundary="part1_13d.2e68ed54_boundary"
MIME-Version: 1.0

--part1_13d.2e68ed54_boundary
Content-Type: text/plain; charset="US-ASCII"

This is an email abuse report for an email message received from IP 203.0.113.9.

--part1_13d.2e68ed54_boundary
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeGenerator/1.0
Version: 1
Original-Mail-From: <promo@label.example>
Original-Rcpt-To: <anna@radio-one.example>
Arrival-Date: Sat, 05 Dec 2026 09:00:00 +0000
Source-IP: 203.0.113.9
Reported-Domain: label.example

--part1_13d.2e68ed54_boundary
Content-Type: message/rfc822
Content-Disposition: inline

From: Promo Team <promo@label.example>
To: anna@radio-one.example
Subject: New single: Night Drive
Message-ID: <bb-c1-anna-s1@label.example>

Hello Anna,
--part1_13d.2e68ed54_boundary--
""")

# (case, raw, gmail thread, labels, kind, matched send, how matched, addresses, status)
TABLE = [
    (
        "gmail dsn 5.1.1",
        GMAIL_DSN_HARD,
        "t-bob",
        ("INBOX",),
        "bounce_hard",
        BOB,
        "message_id",
        ("bob@nowhere.example",),
        "5.1.1",
    ),
    (
        "gmail dsn delay 4.2.2",
        GMAIL_DSN_DELAY,
        "t-eve",
        ("INBOX",),
        "bounce_soft",
        EVE,
        "message_id",
        ("eve@indie-fm.example",),
        "4.2.2",
    ),
    (
        "office 365 ndr 5.1.10, returned headers only",
        O365_NDR,
        "t-new-1",
        ("INBOX",),
        "bounce_hard",
        DAN,
        "message_id",
        ("dan@contoso.com",),
        "5.1.10",
    ),
    (
        "exchange 2010 ndr: generic 5.0.0, diagnostic 5.1.1",
        EXCHANGE_2010_NDR,
        "t-new-2",
        ("INBOX",),
        "bounce_hard",
        FRED,
        "address",
        ("fred@old-host.example",),
        "5.1.1",
    ),
    (
        "postfix delayed 4.4.1",
        POSTFIX_DELAYED,
        "t-new-3",
        ("INBOX",),
        "bounce_soft",
        EVE,
        "message_id",
        ("eve@indie-fm.example",),
        "4.4.1",
    ),
    (
        "exim plain-text bounce",
        EXIM_PLAIN,
        "t-new-4",
        ("INBOX",),
        "bounce_hard",
        FRED,
        "message_id",
        ("fred@old-host.example",),
        "5.0.0",
    ),
    (
        "dsn of a personal mail",
        GMAIL_DSN_NOT_OURS,
        "t-personal",
        ("INBOX",),
        "bounce_hard",
        None,
        None,
        ("typo@nowhere.example",),
        "5.1.1",
    ),
    ("success report", DELIVERED_REPORT, "t-new-5", ("INBOX",), "irrelevant", None, None, (), None),
    ("gmail vacation responder", GMAIL_VACATION, "t-anna", ("INBOX",), "auto_reply", ANNA, "message_id", (), None),
    ("exchange automatic reply", EXCHANGE_OOO, "t-dan", ("INBOX",), "auto_reply", DAN, "message_id", (), None),
    (
        "ooo subject without auto-submitted, new thread",
        OOO_NO_HEADER,
        "t-new-6",
        ("INBOX",),
        "auto_reply",
        EVE,
        "address",
        (),
        None,
    ),
    ("cpanel autoresponder", CPANEL_AUTORESPONDER, "t-fred", ("INBOX",), "auto_reply", FRED, "message_id", (), None),
    ("reply with in-reply-to", REPLY_THREADED, "t-anna", ("INBOX", "UNREAD"), "reply", ANNA_2, "message_id", (), None),
    (
        "reply without in-reply-to, in our thread",
        REPLY_NO_IN_REPLY_TO,
        "t-anna",
        ("INBOX",),
        "reply",
        ANNA_2,
        "thread",
        (),
        None,
    ),
    ("fresh mail from a prospect", FRESH_MAIL_FROM_PROSPECT, "t-new-7", ("INBOX",), "reply", CARA, "address", (), None),
    (
        "colleague at the prospect's domain",
        COLLEAGUE_REPLY,
        "t-anna",
        ("INBOX",),
        "reply",
        ANNA,
        "message_id",
        (),
        None,
    ),
    (
        "stranger on a freemail domain in our thread",
        STRANGER_IN_THREAD,
        "t-cara",
        ("INBOX",),
        "irrelevant",
        CARA,
        "message_id",
        (),
        None,
    ),
    ("newsletter", NEWSLETTER, "t-news", ("INBOX", "CATEGORY_UPDATES"), "irrelevant", None, None, (), None),
    (
        "unsubscribe mailto with token",
        UNSUBSCRIBE_MAILTO,
        "t-new-8",
        ("INBOX",),
        "unsubscribe",
        BOB,
        "address",
        ("bob@nowhere.example",),
        None,
    ),
    (
        "unsubscribe plus address",
        UNSUBSCRIBE_PLUS,
        "t-new-9",
        ("INBOX",),
        "unsubscribe",
        EVE,
        "address",
        ("eve@indie-fm.example",),
        None,
    ),
    (
        "unsubscribe subject in our thread",
        UNSUBSCRIBE_SUBJECT,
        "t-cara",
        ("INBOX",),
        "unsubscribe",
        CARA,
        "message_id",
        ("cara@gmail.com",),
        None,
    ),
    ("read receipt", READ_RECEIPT, "t-anna", ("INBOX",), "irrelevant", None, None, (), None),
    ("our own message", OWN_SENT, "t-anna", ("SENT",), "irrelevant", None, None, (), None),
    (
        "arf complaint",
        ARF_COMPLAINT,
        "t-new-10",
        ("INBOX",),
        "complaint",
        ANNA,
        "message_id",
        ("anna@radio-one.example",),
        None,
    ),
]


@pytest.mark.parametrize(
    ("raw", "thread", "labels", "kind", "send", "matched_by", "addresses", "status"),
    [case[1:] for case in TABLE],
    ids=[case[0] for case in TABLE],
)
def test_classify_table(raw, thread, labels, kind, send, matched_by, addresses, status) -> None:
    meta = metadata(raw, "g-1", thread, labels)
    signal = classify(meta, SENT, raw.encode("utf-8") if needs_raw(meta) else None)
    assert (signal.kind, signal.send, signal.matched_by) == (kind, send, matched_by), signal.note
    assert signal.addresses == addresses
    assert signal.status == status
    assert (signal.gmail_id, signal.thread_id, signal.at) == ("g-1", thread, AT)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (GMAIL_DSN_HARD, True),
        (O365_NDR, True),
        (EXIM_PLAIN, True),
        (ARF_COMPLAINT, True),
        (GMAIL_VACATION, False),
        (EXCHANGE_OOO, False),
        (REPLY_THREADED, False),
        (UNSUBSCRIBE_MAILTO, False),
        (NEWSLETTER, False),
    ],
)
def test_only_reports_need_the_raw_message(raw: str, expected: bool) -> None:
    assert needs_raw(metadata(raw, "g-1", "t")) is expected


def test_outcome_names_match_the_outcomes_table() -> None:
    kinds = {
        "reply": "replied",
        "bounce_hard": "bounced_hard",
        "bounce_soft": "bounced_soft",
        "auto_reply": "auto_reply",
        "unsubscribe": "unsubscribed",
        "complaint": "complained",
        "irrelevant": None,
    }
    raws = {
        "reply": REPLY_THREADED,
        "bounce_hard": GMAIL_DSN_HARD,
        "bounce_soft": GMAIL_DSN_DELAY,
        "auto_reply": EXCHANGE_OOO,
        "unsubscribe": UNSUBSCRIBE_PLUS,
        "complaint": ARF_COMPLAINT,
        "irrelevant": NEWSLETTER,
    }
    for kind, raw in raws.items():
        signal = classify(metadata(raw, "g", "t-x"), SENT, raw.encode())
        assert signal.kind == SignalKind(kind)
        assert signal.outcome == kinds[kind]


def test_tokens_are_handed_on_unverified() -> None:
    mailto = classify(metadata(UNSUBSCRIBE_MAILTO, "g", "t"), SENT)
    plus = classify(metadata(UNSUBSCRIBE_PLUS, "g", "t"), SENT)
    assert mailto.token == "AQAAAABnZy1vcmctMQdjLTQyBmNhbXAtMUv3JfDm1zyfR8rGtq4"
    assert plus.token == "Tok123"


def test_dsn_without_raw_is_soft_until_its_status_is_read() -> None:
    meta = metadata(GMAIL_DSN_HARD, "g", "t-bob")
    signal = classify(meta, SENT, None)
    assert (signal.kind, signal.addresses, signal.status) == (SignalKind.BOUNCE_SOFT, ("bob@nowhere.example",), None)
    assert signal.send == BOB


def test_a_report_for_several_recipients_keeps_each_failure() -> None:
    raw = DELIVERED_REPORT.replace(
        "Status: 2.0.0\r\n",
        "Status: 2.0.0\r\n\r\nFinal-Recipient: rfc822; bob@nowhere.example\r\nAction: failed\r\nStatus: 5.2.1\r\n"
        "\r\nFinal-Recipient: rfc822; eve@indie-fm.example\r\nAction: delayed\r\nStatus: 4.2.2\r\n"
        "\r\nFinal-Recipient: rfc822; full@radio-one.example\r\nAction: failed\r\nStatus: 5.2.2\r\n",
    )
    report = parse_report(raw.encode())
    assert [(f.recipient, f.action, f.status, f.hard) for f in report.recipients] == [
        ("anna@radio-one.example", "relayed", "2.0.0", False),
        ("bob@nowhere.example", "failed", "5.2.1", True),
        ("eve@indie-fm.example", "delayed", "4.2.2", False),
        ("full@radio-one.example", "failed", "5.2.2", False),
    ]
    signal = classify(metadata(raw, "g", "t-x"), SENT, raw.encode())
    assert (signal.kind, signal.send, signal.addresses) == (SignalKind.BOUNCE_HARD, BOB, ("bob@nowhere.example",))
    assert len(signal.failures) == 3


def test_report_parsing_reads_the_original_and_the_diagnostic() -> None:
    gmail = parse_report(GMAIL_DSN_HARD.encode())
    assert gmail.kind == "delivery-status"
    assert gmail.original_message_id == "bb-c1-bob-s1@label.example"
    assert gmail.recipients[0].diagnostic.startswith("smtp; 550-5.1.1 The email account")
    assert parse_report(O365_NDR.encode()).original_message_id == "bb-c1-dan-s1@label.example"
    arf = parse_report(ARF_COMPLAINT.encode())
    assert (arf.kind, arf.feedback_type, arf.original_recipient, arf.original_message_id) == (
        "feedback-report",
        "abuse",
        "anna@radio-one.example",
        "bb-c1-anna-s1@label.example",
    )
    assert parse_report(REPLY_THREADED.encode()).kind == ""


def test_an_auto_reply_to_a_stranger_is_not_about_us() -> None:
    raw = GMAIL_VACATION.replace("anna@radio-one.example", "nobody@elsewhere.example").replace(
        "bb-c1-anna-s1@label.example", "someone@else.example"
    )
    assert classify(metadata(raw, "g", "t-other"), SENT).kind == SignalKind.IRRELEVANT
