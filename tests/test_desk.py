"""The reference agent desktop (`/desk`) in a real headless browser: Debian's
chromium driven by playwright-core (npm, tests/browser). An agent logs in on
the page and goes ready; a PJSIP customer calls the queue and the agent's
PJSIP phone answers; the page shows the call, and its buttons hold (the phone
sees the re-INVITE), retrieve and mute it. A supervisor's page lists the agent
and its queue. The agent consults a second agent from the page and completes
the transfer; the second agent releases the call."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from test_cti import PASSWORD, Desk, set_up_centre
from test_serve import start_serve

BROWSER = Path(__file__).resolve().parent / "browser"


class Page:
    """One chromium page behind tests/browser/driver.mjs."""

    def __init__(self, fake_audio: Path | None = None):
        env = dict(os.environ)
        if fake_audio is not None:
            env["DIALTONE_FAKE_AUDIO"] = str(fake_audio)
        self.proc = subprocess.Popen(
            ["node", str(BROWSER / "driver.mjs")], cwd=BROWSER, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)

    def do(self, **command) -> dict:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError(f"browser driver gone: {self.proc.stderr.read() if self.proc.stderr else ''}")
        answer = json.loads(line)
        assert answer["ok"], (command, answer)
        assert not answer["pageErrors"], answer["pageErrors"]
        return answer

    def wait_text(self, sel: str, text: str, timeout: int = 15000) -> None:
        self.do(op="waitText", sel=sel, text=text, timeout=timeout)

    def close(self) -> None:
        try:
            self.do(op="quit")
            if self.proc.stdin:
                self.proc.stdin.close()
            self.proc.wait(10)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture
def pages():
    if not shutil.which("node") or not (BROWSER / "node_modules" / "playwright-core").exists():
        pytest.fail("tests/browser needs `npm ci --prefix tests/browser` (tools/test does it)")
    opened: list[Page] = []

    def open_page(fake_audio: Path | None = None) -> Page:
        page = Page(fake_audio)
        opened.append(page)
        return page

    yield open_page
    for page in opened:
        page.close()


def log_in(page: Page, base: str, account: str, agent: str) -> None:
    page.do(op="goto", url=f"{base}/desk")
    page.do(op="fill", sel="#account", value=account)
    page.do(op="fill", sel="#agent", value=agent)
    page.do(op="fill", sel="#password", value=PASSWORD)
    page.do(op="click", sel="#login-button")
    page.wait_text("#me", agent)


def test_an_agent_works_a_queue_call_from_the_desktop_page(registry, agent, tones, tmp_path, pages):
    d = start_serve(registry, tmp_path)
    _, account = set_up_centre(d, {"ann": ["support"], "bob": ["support"]}, {"sup": ["support"]})
    base = f"http://127.0.0.1:{d.http_port}"

    desk = pages()
    # A wrong password is refused on the page.
    desk.do(op="goto", url=f"{base}/desk")
    desk.do(op="fill", sel="#account", value=account)
    desk.do(op="fill", sel="#agent", value="ann")
    desk.do(op="fill", sel="#password", value="wrong")
    desk.do(op="click", sel="#login-button")
    desk.wait_text("#error", "wrong credentials")

    log_in(desk, base, account, "ann")
    desk.wait_text("#state", "notReady")
    desk.do(op="click", sel="button[data-command=ready]")
    desk.wait_text("#state", "ready")
    desk.wait_text("#queues td", "support")

    phone = agent("answer", name="ann-phone", register="sip:ann@centre.acme.test",
                  registrar=f"sip:127.0.0.1:{d.sip_port}", password=PASSWORD,
                  play=tones.wav(1200.0, rate=16000), max_time=60,
                  mode_opts=["--answer-delay", "1"])
    assert phone.wait_event("reg_state", timeout=10)["code"] == 200, phone.describe_events()
    customer = agent("call", f"sip:support@{d.sip_uri_host}", name="customer",
                     play=tones.wav(440.0), no_telephone_event=True, duration=40.0, max_time=70)
    # The call shows on the page; the phone answers.
    desk.wait_text("#calls .call-state", "active", timeout=20000)
    desk.wait_text("#state", "talking")
    phone.wait_event("confirmed", 5)

    desk.do(op="click", sel="button[data-command=hold]")
    desk.wait_text("#state", "held")
    desk.wait_text("#calls .call-state", "held")
    phone.wait_event("media", 10, status_name="REMOTE_HOLD")
    desk.do(op="click", sel="button[data-command=retrieve]")
    desk.wait_text("#state", "talking")
    desk.do(op="click", sel="button[data-command=mute]")
    desk.wait_text("#calls .call-mute", "muted")
    desk.do(op="click", sel="button[data-command=unmute]")
    desk.wait_text("#calls .call-mute", "")
    # The scenario takes transfers of the call (the Transfer button works).
    desk.wait_text("#calls .call-transfer", "yes")

    # A supervisor's page sees the agent on the call.
    sup = pages()
    log_in(sup, base, account, "sup")
    sup.wait_text("#role", "supervisor")
    sup.do(op="click", sel="button[data-query=queryAgents]")
    sup.wait_text("#agents td", "talking")

    # A call of her own while on this one is refused, on the page.
    desk.do(op="fill", sel="#transfer-to", value="user:sup")
    desk.do(op="click", sel="#make-call")
    desk.wait_text("#error", 'invalidState: agent "ann" is talking: cannot make a call')

    # Consult bob (logged in on his own desktop, not ready), then hand over.
    bob_phone = agent("answer", name="bob-phone", register="sip:bob@centre.acme.test",
                      registrar=f"sip:127.0.0.1:{d.sip_port}", password=PASSWORD,
                      play=tones.wav(900.0, rate=16000), max_time=60,
                      mode_opts=["--answer-delay", "1"])
    assert bob_phone.wait_event("reg_state", timeout=10)["code"] == 200
    bob = Desk(d, {"command": "login", "account": account, "agent": "bob", "password": PASSWORD})
    desk.do(op="fill", sel="#transfer-to", value="agent:bob")
    desk.do(op="click", sel="#consult")
    desk.wait_text("#calls .call-state", "held")
    desk.wait_text("#consult-state", "agent:bob (active)")
    bob_phone.wait_event("confirmed", 5)
    desk.do(op="click", sel="button[data-command=consultTransfer]")
    desk.wait_text("#consult-state", "agent:bob (transferred)")
    desk.wait_text("#state", "ready")
    phone.wait_event("disconnected", 10)
    assert desk.do(op="text", sel="#calls")["text"].strip() == ""
    bob.wait_event(event="dialogState", agent="bob", state="active")
    assert bob.command({"command": "release"})["type"] == "ack"
    customer.wait_event("disconnected", 20)
    bob.close()
    d.assert_alive()
