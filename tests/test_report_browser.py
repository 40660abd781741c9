"""The HTML report opened in headless Chromium (Debian's `chromium`), driven over the DevTools protocol.

The protocol runs over ``--remote-debugging-pipe`` (NUL-separated JSON on file descriptors 3 and 4),
so no extra Python package and no TCP port are needed. The test opens the report of the bundled
samples plus real corpus captures, waits for every chart, and asserts: each section drew its charts
with data, no "section failed" note, no console error or exception, no network request other than
the file itself. A full-page screenshot goes to test-artifacts/report.png.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import CORPUS, ROOT, SAMPLES

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "test-artifacts"


def find_chromium() -> str | None:
    # prefer the binary itself (the Debian wrapper /usr/bin/chromium works too, via exec, but adds noise)
    for p in ("/usr/lib/chromium/chromium", "/usr/lib/chromium-browser/chromium-browser"):
        if os.access(p, os.X_OK):
            return p
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        p = shutil.which(name)
        if p:
            return p
    return None


class Chromium:
    """A headless Chromium with a DevTools-protocol session over pipes (stdlib only)."""

    def __init__(self, binary: str, width: int = 1400, height: int = 900):
        self.profile = tempfile.mkdtemp(prefix="dissect-chromium-")
        to_child_r, self._to_child_w = os.pipe()
        self._from_child_r, from_child_w = os.pipe()

        def child_fds():  # runs in the child: put the pipe ends on fds 3 (commands) and 4 (replies)
            a, b = os.dup(to_child_r), os.dup(from_child_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        args = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-default-apps", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
                f"--window-size={width},{height}", f"--user-data-dir={self.profile}",
                "--remote-debugging-pipe", "about:blank"]
        self.proc = subprocess.Popen(args, preexec_fn=child_fds, close_fds=False, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_child_r)
        os.close(from_child_w)
        self._buf = b""
        self._id = 0
        self.events: list[dict] = []
        self.session: str | None = None

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5, session=False)
        except Exception:  # noqa: BLE001 - closing anyway
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_child_w, self._from_child_r):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no message from chromium")
            r, _, _ = select.select([self._from_child_r], [], [], left)
            if r:
                chunk = os.read(self._from_child_r, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed the DevTools pipe")
                self._buf += chunk
        msg, _, self._buf = self._buf.partition(b"\0")
        return json.loads(msg)

    def send(self, method: str, params: dict | None = None, timeout: float = 30, session: bool = True) -> dict:
        self._id += 1
        mid = self._id
        msg = {"id": mid, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        data = json.dumps(msg).encode() + b"\0"
        while data:
            n = os.write(self._to_child_w, data)
            data = data[n:]
        deadline = time.monotonic() + timeout
        while True:
            m = self._read_message(deadline)
            if m.get("id") == mid:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            if "method" in m:
                self.events.append(m)

    def pump(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        try:
            while True:
                m = self._read_message(deadline)
                if "method" in m:
                    self.events.append(m)
        except TimeoutError:
            pass

    def open_page(self) -> None:
        tid = self.send("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": tid, "flatten": True},
                                 session=False)["sessionId"]
        for m in ("Page.enable", "Runtime.enable", "Log.enable", "Network.enable"):
            self.send(m)

    def evaluate(self, expr: str, timeout: float = 30):
        r = self.send("Runtime.evaluate", {"expression": expr, "returnByValue": True, "awaitPromise": True},
                      timeout=timeout)
        if "exceptionDetails" in r:
            raise RuntimeError(f"evaluate failed: {r['exceptionDetails']}")
        return r["result"].get("value")


# Per section: the plotly graphs, and how many of them have at least one trace with data points.
CHART_PROBE = r"""
(() => {
  const out = {};
  document.querySelectorAll('section.section').forEach(sec => {
    const plots = Array.from(sec.querySelectorAll('.js-plotly-plot'));
    const withData = plots.filter(gd => (gd.data || []).some(t => {
      const n = a => (a && typeof a.length === 'number') ? a.length : 0;
      return n(t.x) > 0 || n(t.y) > 0 || n(t.z) > 0 || n(t.values) > 0;
    }));
    out[sec.dataset.section] = {
      placeholders: sec.querySelectorAll('.plot').length,
      plots: plots.length, with_data: withData.length,
      tables: sec.querySelectorAll('table.dtable').length,
      failed: Array.from(sec.querySelectorAll('.section-failed')).map(e => e.textContent),
      svg_points: sec.querySelectorAll('.js-plotly-plot .point, .js-plotly-plot .hm, .js-plotly-plot image').length,
    };
  });
  return out;
})()
"""


def report_inputs() -> list[Path]:
    """The bundled samples plus corpus captures covering every section (mail, HTTP, SNMP, weirds)."""
    paths = sorted(p for p in SAMPLES.rglob("*") if p.is_file() and p.name.endswith((".pcap", ".pcapng", ".pcap.gz")))
    for rel in ("captures/zeek/smtp.pcap", "captures/zeek/http/get.pcap", "captures/zeek/http/methods.pcap",
                "captures/zeek/http/pipelined-requests.pcap", "captures/zeek/snmp/snmpv1_get.pcap",
                "captures/zeek/snmp/snmpv2_get_bulk.pcap", "captures/zeek/snmp/snmpv3_get_next.pcap",
                "captures/zeek/smtp-mail-transactions-invalid.pcap"):
        p = CORPUS / rel
        if p.exists():
            paths.append(p)
    return paths


@pytest.fixture(scope="module")
def report_file(tmp_path_factory):
    import dissect
    from dissect.reports.builder import render_report

    paths = report_inputs()
    if not paths:
        pytest.skip("no samples and no shared corpus: nothing to report on")
    keys = SAMPLES / "snmp" / "keys.toml"
    opts = {"snmp_keys": keys} if keys.exists() else {}
    a = dissect.analyze([str(p) for p in paths], **opts)
    rep = render_report(a, title="pcap-dissect browser test <script>window.__xss=1</script>")
    assert rep.failures == [], rep.failures
    out = tmp_path_factory.mktemp("report") / "report.html"
    out.write_text(rep.html, encoding="utf-8")
    return out, rep


def test_report_in_headless_chromium(report_file):
    binary = find_chromium()
    if binary is None:
        pytest.skip("chromium is not installed (Debian: apt-get install chromium; `make test` installs it)")
    path, rep = report_file
    url = path.resolve().as_uri()
    br = Chromium(binary)
    try:
        br.open_page()
        br.send("Emulation.setDeviceMetricsOverride",
                {"width": 1400, "height": 900, "deviceScaleFactor": 1, "mobile": False})
        br.send("Page.navigate", {"url": url})
        deadline = time.monotonic() + 90
        while not br.evaluate("window.__reportReady === true"):
            assert time.monotonic() < deadline, "charts never finished drawing"
            br.pump(0.2)
        br.pump(0.5)
        js_errors = br.evaluate("window.__reportErrors")
        probe = br.evaluate(CHART_PROBE)
        xss = br.evaluate("window.__xss === undefined")
        # exercise the table script: sort a column and filter a table, in the page
        sorted_ok = br.evaluate(r"""
          (() => { const th = document.querySelector('table.dtable thead th'); th.click();
                   const inp = document.querySelector('.tblock input.tfilter');
                   inp.value = 'zzzz-no-such-row'; inp.dispatchEvent(new Event('input'));
                   const rows = Array.from(inp.closest('.tblock').querySelectorAll('tbody tr'));
                   const hidden = rows.every(r => r.style.display === 'none');
                   inp.value = ''; inp.dispatchEvent(new Event('input'));
                   return th.classList.contains('asc') && hidden && rows.every(r => r.style.display === ''); })()""")
        # full-page screenshot
        h = int(br.evaluate("Math.ceil(document.documentElement.scrollHeight)"))
        br.send("Emulation.setDeviceMetricsOverride",
                {"width": 1400, "height": min(h, 16000), "deviceScaleFactor": 1, "mobile": False})
        br.pump(1.0)
        shot = br.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, timeout=60)
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "report.png").write_bytes(base64.b64decode(shot["data"]))
    finally:
        br.close()

    events = br.events
    console_errors = [e["params"] for e in events if e["method"] == "Runtime.consoleAPICalled"
                      and e["params"].get("type") in ("error", "assert")]
    exceptions = [e["params"]["exceptionDetails"] for e in events if e["method"] == "Runtime.exceptionThrown"]
    log_errors = [e["params"]["entry"] for e in events if e["method"] == "Log.entryAdded"
                  and e["params"]["entry"].get("level") == "error"]
    requests = [e["params"]["request"]["url"] for e in events if e["method"] == "Network.requestWillBeSent"]

    assert js_errors == []
    assert console_errors == [] and exceptions == [] and log_errors == [], (console_errors, exceptions, log_errors)
    others = [u for u in requests if u != url and not u.startswith(("data:", "blob:"))]
    assert url in requests, requests
    assert others == [], f"the report fetched something: {others}"
    assert xss, "a <script> in the title ran"
    assert sorted_ok

    # every section of the report is there, drew every chart it announced, each with data
    assert set(probe) == set(rep.sections)
    for key in ("overview", "mail", "http", "snmp", "anomalies"):
        assert key in probe, f"section {key} missing: {sorted(probe)}"
    total = 0
    for key, s in probe.items():
        assert s["failed"] == [], (key, s["failed"])
        assert s["plots"] == s["placeholders"], (key, s)
        assert s["with_data"] == s["plots"], (key, s)
        assert s["plots"] >= 1 or key == "anomalies" and s["tables"] >= 1, (key, s)
        total += s["plots"]
    assert total == rep.charts
    assert probe["overview"]["plots"] >= 5        # bytes, packets, mix, talkers, conversations (+ matrix)
    assert probe["mail"]["plots"] >= 2 and probe["http"]["plots"] >= 3 and probe["snmp"]["plots"] >= 2


def _load(br: Chromium, url: str) -> None:
    br.open_page()
    br.send("Emulation.setDeviceMetricsOverride", {"width": 1400, "height": 900, "deviceScaleFactor": 1,
                                                   "mobile": False})
    br.send("Page.navigate", {"url": url})
    deadline = time.monotonic() + 90
    while not br.evaluate("window.__reportReady === true"):
        assert time.monotonic() < deadline, "charts never finished drawing"
        br.pump(0.2)
    br.pump(0.5)


def test_hostile_capture_report_runs_nothing(tmp_path):
    """Markup from a capture (URI, Host, subject, filename, community...) shows as text and runs nothing."""
    import dissect
    from dissect.reports.builder import render_report
    from test_report import XSS, write_hostile_capture

    binary = find_chromium()
    if binary is None:
        pytest.skip("chromium is not installed (Debian: apt-get install chromium; `make test` installs it)")
    cap = write_hostile_capture(tmp_path / "hostile.pcap")
    rep = render_report(dissect.analyze([str(cap)], show_secrets=True), show_secrets=True)
    assert rep.failures == []
    page = tmp_path / "hostile.html"
    page.write_text(rep.html, encoding="utf-8")
    url = page.resolve().as_uri()
    br = Chromium(binary)
    try:
        _load(br, url)
        ran = br.evaluate("window.__xss")
        cells = br.evaluate("Array.from(document.querySelectorAll('td')).map(td => td.textContent)")
        svg_text = br.evaluate("Array.from(document.querySelectorAll('.js-plotly-plot text'))"
                               ".map(t => t.textContent)")
        injected = br.evaluate("document.querySelectorAll('main script:not(.figdata), main img, main b, main [onerror]').length")
        probe = br.evaluate(CHART_PROBE)
    finally:
        br.close()
    assert ran is None, f"capture markup executed (window.__xss = {ran})"
    assert injected == 0
    assert XSS in cells                                  # e.g. the subject, shown as text
    assert any(c.startswith("/" + XSS) for c in cells)   # the URI
    assert any("<b>evil<script>" in t for t in svg_text)  # a chart label (Host), as text in the SVG
    errors = [e for e in br.events if e["method"] in ("Runtime.exceptionThrown",)
              or (e["method"] == "Runtime.consoleAPICalled" and e["params"].get("type") == "error")]
    assert errors == []
    requests = [e["params"]["request"]["url"] for e in br.events if e["method"] == "Network.requestWillBeSent"]
    assert [u for u in requests if u != url and not u.startswith(("data:", "blob:"))] == []
    assert all(s["with_data"] == s["plots"] for s in probe.values())
