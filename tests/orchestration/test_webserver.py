"""`make ui`: the Dagster webserver loads workspace.yaml and serves the whole asset graph."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).parents[2]
QUERY = """{ workspaceOrError { ... on Workspace { locationEntries { name
              locationOrLoadError { __typename ... on PythonError { message } } } } }
            assetNodes { assetKey { path } groupName } }"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def graphql(port: int) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": QUERY}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["data"]


def test_webserver_serves_the_asset_graph(tmp_path):
    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "BACKBEAT_DATA_DIR": str(tmp_path / "data")}
    env.pop("BACKBEAT_WAREHOUSE_URL", None)
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "dagster-webserver"),
            "-w",
            "workspace.yaml",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5):
                    break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()[-2000:]
                assert time.monotonic() < deadline, "webserver did not answer within 120 s"
                time.sleep(1)
        data = graphql(port)
        (entry,) = data["workspaceOrError"]["locationEntries"]
        assert entry["name"] == "backbeat"
        assert entry["locationOrLoadError"]["__typename"] == "RepositoryLocation", entry
        keys = {"/".join(node["assetKey"]["path"]) for node in data["assetNodes"]}
        assert {
            "airplay/playlogs",
            "royalties/royalty_ledger",
            "analytics/fct_party_royalties_daily",
            "exports/finance_export",
        } <= keys
        assert {node["groupName"] for node in data["assetNodes"]} >= {
            "catalog",
            "airplay",
            "rights",
            "royalties",
            "curation",
            "outreach",
            "staging",
            "intermediate",
            "exports",
        }
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
