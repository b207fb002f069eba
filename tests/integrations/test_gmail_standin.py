"""The Gmail stand-in over plain HTTP: Google's JSON shapes and error format, the token endpoint, paging,
history expiry, limits and faults, mail flow (DSNs, replies, unsubscribe emails), and thread/process safety."""

import base64
import email
import email.policy
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
import requests

from backbeat.demo.standins.gmail_server import GmailServer, auto_reply_to, reply_to, unsubscribe_email_to

PROMO = "promo@label.test"
OTHER = "second@label.test"


@pytest.fixture
def server() -> Iterator[GmailServer]:
    with GmailServer([PROMO, OTHER]) as gmail:
        yield gmail


def access_token(server: GmailServer, mailbox: str = PROMO) -> str:
    answer = requests.post(
        server.token_uri,
        data={
            "grant_type": "refresh_token",
            "refresh_token": server.issue_refresh_token(mailbox),
            "client_id": server.client_id,
            "client_secret": server.client_secret,
        },
        timeout=5,
    )
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"access_token", "expires_in", "scope", "token_type"} and body["token_type"] == "Bearer"
    return str(body["access_token"])


class Api:
    """GET/POST on /gmail/v1/users/me/... with a bearer token."""

    def __init__(self, server: GmailServer, mailbox: str = PROMO) -> None:
        self.base = f"{server.url}/gmail/v1/users/"
        self.headers = {"Authorization": f"Bearer {access_token(server, mailbox)}"}

    def get(self, path: str, user: str = "me", **params: Any) -> requests.Response:
        return requests.get(self.base + user + path, params=params, headers=self.headers, timeout=5)

    def send(self, raw: bytes, thread_id: str | None = None) -> requests.Response:
        body: dict[str, str] = {"raw": base64.urlsafe_b64encode(raw).decode()}
        if thread_id:
            body["threadId"] = thread_id
        return requests.post(self.base + "me/messages/send", json=body, headers=self.headers, timeout=5)


def make_email(n: int, to: str = "dj@radio.test", sender: str = PROMO) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = f"Single {n}"
    message["Message-ID"] = f"<m{n}@outreach.label.test>"
    message["List-Unsubscribe"] = "<https://u.label.test/u/t>, <mailto:unsubscribe@label.test?subject=unsubscribe>"
    message.set_content(f"Hello number {n}")
    return message.as_bytes()


def assert_google_error(response: requests.Response, status: int, reason: str) -> None:
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == status and error["errors"][0]["reason"] == reason
    assert error["message"] and error["status"] and error["errors"][0]["domain"]


def test_token_endpoint_answers_like_google(server: GmailServer) -> None:
    form = {"grant_type": "refresh_token", "client_id": server.client_id, "client_secret": server.client_secret}
    revoked = requests.post(server.token_uri, data={**form, "refresh_token": "1//unknown"}, timeout=5)
    assert revoked.status_code == 400
    assert revoked.json() == {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
    wrong_client = requests.post(
        server.token_uri, data={**form, "client_secret": "nope", "refresh_token": "1//x"}, timeout=5
    )
    assert wrong_client.status_code == 401 and wrong_client.json()["error"] == "invalid_client"
    api = Api(server)
    assert api.get("/profile").status_code == 200
    server.revoke(PROMO)
    assert_google_error(api.get("/profile"), 401, "authError")


def test_errors_use_googles_json_everywhere(server: GmailServer) -> None:
    assert_google_error(requests.get(f"{server.url}/gmail/v1/users/me/profile", timeout=5), 401, "authError")
    api = Api(server)
    assert_google_error(api.get("/messages/0000000000000000"), 404, "notFound")
    assert_google_error(api.get("/profile", user=OTHER), 403, "forbidden")
    assert api.get("/profile", user=PROMO).status_code == 200
    assert_google_error(api.get("/history"), 400, "invalidArgument")
    assert_google_error(api.send(b"Subject: no recipient\r\n\r\nhi"), 400, "invalidArgument")
    assert_google_error(api.send(make_email(1), thread_id="0000000000000000"), 404, "notFound")


def test_send_list_get_and_profile_shapes(server: GmailServer) -> None:
    api = Api(server)
    sent = api.send(make_email(1)).json()
    assert set(sent) == {"id", "threadId", "labelIds"} and sent["labelIds"] == ["SENT"]
    listed = api.get("/messages", q="rfc822msgid:m1@outreach.label.test", includeSpamTrash="true").json()
    assert listed == {"messages": [{"id": sent["id"], "threadId": sent["threadId"]}], "resultSizeEstimate": 1}
    assert api.get("/messages", q="rfc822msgid:<m2@outreach.label.test>").json() == {"resultSizeEstimate": 0}
    meta = api.get(f"/messages/{sent['id']}", format="metadata").json()
    assert {"id", "threadId", "labelIds", "snippet", "historyId", "internalDate", "payload"} <= set(meta)
    assert meta["internalDate"].isdigit() and meta["snippet"] == "Hello number 1"
    assert meta["payload"]["mimeType"] == "text/plain" and "parts" not in meta["payload"]
    headers = {h["name"]: h["value"] for h in meta["payload"]["headers"]}
    assert headers["Message-ID"] == "<m1@outreach.label.test>" and headers["To"] == "dj@radio.test"
    only = api.get(f"/messages/{sent['id']}", format="metadata", metadataHeaders=["subject"]).json()
    assert only["payload"]["headers"] == [{"name": "Subject", "value": "Single 1"}]
    assert "payload" not in api.get(f"/messages/{sent['id']}", format="minimal").json()
    raw = api.get(f"/messages/{sent['id']}", format="raw").json()["raw"]
    assert base64.urlsafe_b64decode(raw) == make_email(1)
    profile = api.get("/profile").json()
    assert profile == {
        "emailAddress": PROMO,
        "messagesTotal": 1,
        "threadsTotal": 1,
        "historyId": server.history_id(PROMO),
    }


def test_pages_honour_max_results_and_default_to_100(server: GmailServer) -> None:
    for n in range(105):
        server.deliver(PROMO, make_email(n, to=PROMO, sender="dj@radio.test"))
    api = Api(server)
    first = api.get("/messages").json()
    assert len(first["messages"]) == 100 and first["resultSizeEstimate"] == 105 and first["nextPageToken"]
    seen: list[str] = []
    token: str | None = None
    while True:
        page = api.get("/messages", maxResults=40, **({"pageToken": token} if token else {})).json()
        assert len(page["messages"]) <= 40
        seen += [m["id"] for m in page["messages"]]
        token = page.get("nextPageToken")
        if token is None:
            break
    assert len(seen) == len(set(seen)) == 105
    assert seen == sorted(seen, reverse=True)  # newest first


def test_history_records_paging_and_expiry(server: GmailServer) -> None:
    api = Api(server)
    start = api.get("/profile").json()["historyId"]
    ids = [server.deliver(PROMO, make_email(n, to=PROMO)) for n in range(5)]
    page = api.get("/history", startHistoryId=start, historyTypes="messageAdded", maxResults=2).json()
    assert set(page) == {"history", "historyId", "nextPageToken"} and len(page["history"]) == 2
    record = page["history"][0]
    assert record["messagesAdded"] == [{"message": {"id": ids[0], "threadId": ids[0], "labelIds": ["INBOX"]}}]
    assert int(record["id"]) > int(start) and page["historyId"] == server.history_id(PROMO)
    rest = api.get("/history", startHistoryId=start, pageToken=page["nextPageToken"], maxResults=10).json()
    assert [r["messagesAdded"][0]["message"]["id"] for r in rest["history"]] == ids[2:]
    assert "nextPageToken" not in rest
    assert api.get("/history", startHistoryId=page["historyId"]).json() == {"historyId": page["historyId"]}
    server.expire_history(PROMO)
    assert_google_error(api.get("/history", startHistoryId=start), 404, "notFound")


def test_faults_limits_and_the_500_after_store(server: GmailServer) -> None:
    api = Api(server)
    server.fail_next("send", 1, 429, retry_after=3)
    limited = api.send(make_email(1))
    assert_google_error(limited, 429, "rateLimitExceeded")
    assert limited.headers["Retry-After"] == "3" and server.sent(PROMO) == []
    server.fail_next("send_after_store", 1, 500)
    assert_google_error(api.send(make_email(2)), 500, "backendError")
    assert server.sent_count_by_message_id() == {"<m2@outreach.label.test>": 1}
    server.daily_send_limit = 2
    assert api.send(make_email(3)).status_code == 200
    assert_google_error(api.send(make_email(4)), 403, "dailyLimitExceeded")
    server.quota_per_minute = server.units_spent(PROMO) + 5
    assert api.get("/messages").status_code == 200
    over = api.get("/messages")
    assert_google_error(over, 429, "rateLimitExceeded")
    assert 1 <= int(over.headers["Retry-After"]) <= 60


def test_bounces_replies_and_unsubscribe_emails(server: GmailServer) -> None:
    server.bounce_addresses.add("gone@radio.test")
    server.soft_bounce_addresses.add("full@radio.test")
    api = Api(server)
    hard = api.send(make_email(1, to="gone@radio.test")).json()
    api.send(make_email(2, to="full@radio.test"))
    dsns = [m for m in server.messages(PROMO) if "INBOX" in m.label_ids]
    assert len(dsns) == 2 and dsns[0].thread_id == hard["threadId"]
    report = dsns[0].message
    assert report.get_content_type() == "multipart/report" and report.get_param("report-type") == "delivery-status"
    assert report["X-Failed-Recipients"] == "gone@radio.test" and "mailer-daemon@googlemail.com" in report["From"]
    status_part = [p for p in report.walk() if p.get_content_type() == "message/delivery-status"]
    assert len(status_part) == 1
    assert b"Status: 5.1.1" in dsns[0].raw and b"Final-Recipient: rfc822; gone@radio.test" in dsns[0].raw
    assert b"Status: 4.2.2" in dsns[1].raw
    full = api.get(f"/messages/{dsns[0].id}", format="full").json()["payload"]
    assert [p["mimeType"] for p in full["parts"]] == ["text/plain", "message/delivery-status", "text/rfc822-headers"]
    assert b"Action: failed" in base64.urlsafe_b64decode(full["parts"][1]["body"]["data"])

    sent = server.sent(PROMO)[0]
    reply_id = server.deliver(PROMO, reply_to(sent, "dj@radio.test", "Sounds good"))
    auto_id = server.deliver(PROMO, auto_reply_to(sent, "dj@radio.test"))
    assert server.message(PROMO, reply_id).thread_id == hard["threadId"]
    auto = server.message(PROMO, auto_id).message
    assert auto["Auto-Submitted"] == "auto-replied" and auto["In-Reply-To"] == sent["Message-ID"]
    unsubscribe = email.message_from_bytes(unsubscribe_email_to(sent, "dj@radio.test"), policy=email.policy.default)
    assert unsubscribe["To"] == "unsubscribe@label.test" and unsubscribe["Subject"] == "unsubscribe"

    internal = api.send(make_email(3, to=OTHER)).json()  # mail between served mailboxes arrives
    [arrived] = server.messages(OTHER)
    assert arrived.label_ids == ["INBOX", "UNREAD"] and arrived.id != internal["id"]


SUBPROCESS_SENDER = """
import base64, json, sys, requests
url, token, start = sys.argv[1], sys.argv[2], int(sys.argv[3])
for n in range(start, start + 10):
    raw = f"From: {sys.argv[4]}\\r\\nTo: dj@radio.test\\r\\nSubject: s{n}\\r\\nMessage-ID: <m{n}@x>\\r\\n\\r\\nhi\\r\\n"
    body = {"raw": base64.urlsafe_b64encode(raw.encode()).decode()}
    r = requests.post(url + "/gmail/v1/users/me/messages/send", json=body, headers={"Authorization": "Bearer " + token})
    assert r.status_code == 200, r.text
"""


def test_concurrent_threads_and_a_subprocess_each_message_stored_once(server: GmailServer) -> None:
    token = access_token(server)
    child = subprocess.Popen([sys.executable, "-c", SUBPROCESS_SENDER, server.url, token, "1000", PROMO])
    api = Api(server)
    errors: list[BaseException] = []

    def worker(base: int) -> None:
        try:
            for n in range(base, base + 10):
                assert api.send(make_email(n)).status_code == 200
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k * 100,)) for k in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert child.wait(timeout=60) == 0 and errors == []
    counts = server.sent_count_by_message_id()
    assert len(counts) == 70 and set(counts.values()) == {1}
    stored = server.messages(PROMO)
    assert len({m.id for m in stored}) == 70
    history_ids = [m.history_id for m in stored]
    assert history_ids == sorted(history_ids) and len(set(history_ids)) == 70
    assert json.loads(json.dumps(api.get("/profile").json()))["messagesTotal"] == 70
