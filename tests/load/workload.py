"""People using the app at once, played in Python over real HTTP.

Each client is one person's browser (tests/actors.py over `requests`): it logs in (before the
clock starts), then loops until the deadline: seal an incident with app.crypto and create it
through the JSON API (every `attach_every`-th one through the incident form with a sealed
attachment, as incident-form.js sends it), list (the list page and the API the page script
reads), open one incident's page and open its envelope, and, for coordinators, run the
organisation's report page (every fourth time the CSV). Every request is timed.

Clients run as threads in a few processes (`processes`), so the clients' own Python does not
become the bottleneck that is measured. Loops are bounded by time and by a request count.
"""

from __future__ import annotations

import html
import json
import multiprocessing
import os
import random
import re
import statistics
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import requests

from app.crypto import b64u_decode, open_record, seal_attachment, seal_record
from app.vocab import load
from tests.actors import PASSPHRASE, Browser, page_data
from tests.load.http import HttpClient, http_browser, http_of
from tests.people import invite, link_path

MAX_REQUESTS_PER_CLIENT = 100_000

MAX_DURATION_S = 3600
UNAVAILABLE = "The service is briefly unavailable"  # app/errors.py, the 503 reason
WRITES = ("create", "create_form")
LISTS = ("list", "list_api")


# Accounts, made over HTTP as people would make them.

@dataclass(frozen=True)
class Account:
    email: str
    role: str  # "coordinator" or "outreach"
    org_id: str  # public id
    passphrase: str = PASSPHRASE


def make_accounts(base_url: str, cli_invoke: Callable[[list[str]], str], orgs: int,
                  per_org: int, parallel: int = 4) -> list[Account]:
    """`orgs` organisations of `per_org` people each: the founding coordinator (made with
    `flask org create`), then members invited by them, every third a coordinator, the rest
    outreach workers; each registers in the browser and is confirmed by the coordinator."""
    accounts: list[Account] = []
    links = [link_path(cli_invoke(["org", "create", f"Load Org {n}", "--coordinator",
                                   f"coord{n}@load.example"])) for n in range(orgs)]

    def one_org(n: int) -> list[Account]:
        coord = http_browser(base_url, f"coord{n}@load.example")
        answer = coord.register(links[n], f"Coordinator {n}")
        assert answer.status_code == 201, answer.get_data(as_text=True)
        assert coord.login().status_code == 200
        org_id = _org_id(coord)
        made = [Account(coord.email, "coordinator", org_id)]
        for m in range(1, per_org):
            role = "coordinator" if m % 3 == 0 else "outreach"
            member = http_browser(base_url, f"member{n}-{m}@load.example")
            answer = member.register(invite(coord, member.email, role), f"Member {n}-{m}")
            assert answer.status_code == 201, answer.get_data(as_text=True)
            answer = coord.confirm(member.user_id)
            assert answer.status_code == 200, answer.get_data(as_text=True)
            made.append(Account(member.email, role, org_id))
            http_of(member).close()
        http_of(coord).close()
        return made

    with ThreadPoolExecutor(max_workers=max(1, min(parallel, orgs))) as pool:
        for made in pool.map(one_org, range(orgs)):
            accounts += made
    return accounts


def _org_id(browser: Browser) -> str:
    ring = browser.client.get("/auth/keyring").json or {}
    return str(ring["org"]["id"])


# One incident, sealed as the browser seals it.

def _months(today: datetime) -> list[str]:
    out, year, month = [], today.year, today.month
    for _ in range(12):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out


@dataclass
class Incidents:
    """Random coded fields from the vocabulary, and sealed fields, for one client."""

    rng: random.Random
    vocab: Any = field(default_factory=load)
    months: list[str] = field(default_factory=lambda: _months(datetime.now(UTC)))

    def coded(self) -> dict[str, Any]:
        rng, codes = self.rng, self.vocab.codes
        amount = rng.random() < 0.4
        return {
            "kinds": rng.sample(codes("kinds"), rng.randint(1, 2)),
            "four_p": rng.sample(codes("four_p"), 1),
            "actors": rng.sample(codes("actors"), rng.randint(1, 2)),
            "groups": rng.sample(codes("groups"), rng.randint(0, 2)),
            "instrument": rng.choice(codes("instruments")),
            "country": rng.choice(["PT", "ES", "FR", "DE", "GB", "TH", "US", "BR"]),
            "region": None, "month": rng.choice(self.months),
            "work_setting": rng.choice(codes("work_settings")),
            "people_affected": rng.randint(1, 5),
            "amount_confiscated": f"{rng.randint(0, 5000)}.00" if amount else None,
            "currency": "EUR" if amount else None,
            "days_detained": rng.choice([None, 0, 1, 3]),
            "source": rng.choice(codes("sources")),
            "consent": rng.choice(codes("consent")),
            "case_study": rng.random() < 0.2,
            "status": "complete" if rng.random() < 0.9 else "draft"}

    def sealed_fields(self, n: int) -> dict[str, Any]:
        words = " ".join(self.rng.choice(["raid", "flat", "cash", "police", "phone", "taken",
                                          "warned", "night", "landlord", "passport"])
                         for _ in range(self.rng.randint(20, 200)))
        return {"narrative": f"Incident {n}: {words}.", "exact_date": None,
                "place": f"Street {self.rng.randint(1, 400)}", "officers": "Unit 7",
                "people": [{"alias": "A.", "role": "affected", "contact": None}]}


def _form_fields(coded: dict[str, Any]) -> list[tuple[str, str]]:
    """The coded fields as incident-form.js posts them (repeated names for lists)."""
    out: list[tuple[str, str]] = []
    for key, value in coded.items():
        if isinstance(value, list):
            out += [(key, str(v)) for v in value]
        elif isinstance(value, bool):
            if value:
                out.append((key, "y"))
        elif value is not None:
            out.append((key, str(value)))
    return out


# Measurements.

@dataclass(frozen=True)
class Sample:
    op: str
    at: float  # wall-clock time the request was sent (time.time())
    seconds: float
    status: int  # 0: no HTTP answer (connection refused or reset, timeout)
    ok: bool
    note: str = ""  # what was wrong, short; for a 503, whether the reason was shown


@dataclass
class Ack:
    """An incident the server said it stored, and exactly what was sent."""

    id: str
    org_id: str
    kv: int
    envelope: dict[str, Any]
    fields: dict[str, Any]
    coded: dict[str, Any]
    at: float
    via: str  # "201", or "409" when a retry found the first try had been stored
    attachment: dict[str, Any] | None = None  # {"id", "kv", "iv", "ciphertext": bytes}


@dataclass(frozen=True)
class LoadSpec:
    base_url: str
    duration: float
    think: float = 0.0  # mean seconds between one person's requests (uniform 0..2×)
    attach_every: int = 10  # every n-th incident goes through the form with an attachment
    report_every: int = 2  # coordinators run a report every n-th round
    seed_per_client: int = 0  # incidents each client makes before the clock starts
    record_acks: bool = False
    max_requests: int = MAX_REQUESTS_PER_CLIENT
    timeout: float = 60.0


class Client:
    """One person's browser in the loop."""

    def __init__(self, account: Account, spec: LoadSpec, rng: random.Random) -> None:
        self.account = account
        self.spec = spec
        self.rng = rng
        self.browser = http_browser(spec.base_url, account.email, account.passphrase)
        self.http: HttpClient = http_of(self.browser)
        self.http.timeout = spec.timeout
        # One connection per request, as gunicorn sees it behind nginx (whose proxy_pass does
        # not keep upstream connections alive unless told to). A kept-alive connection would
        # also race gunicorn closing it after 2 s idle, just as the client sends on it.
        self.http.session.headers["Connection"] = "close"
        self.incidents = Incidents(rng)
        self.samples: list[Sample] = []
        self.acks: list[Ack] = []
        self.known: list[str] = []  # incident ids seen in lists
        self.pending: tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None] | None = None
        self.pending_tries = 0
        self.made = 0
        self.round = 0
        # Which of every `attach_every` incidents goes through the form differs per client,
        # so that even a short or slow run has some.
        self.attach_offset = rng.randrange(max(1, spec.attach_every))

    @property
    def kv(self) -> int:
        return max(self.browser.org_keys)

    @property
    def org_key(self) -> bytes:
        return self.browser.org_keys[self.kv]

    def login(self) -> None:
        answer = self.browser.login()
        assert answer.status_code == 200, answer.get_data(as_text=True)
        assert self.browser.org_keys, f"{self.account.email} holds no organisation key"

    def _timed(self, op: str, send: Callable[[], requests.Response],
               check: Callable[[requests.Response], str]) -> requests.Response | None:
        at, started = time.time(), time.perf_counter()
        try:
            response = send()
        except requests.RequestException as exc:
            self.samples.append(Sample(op, at, time.perf_counter() - started, 0, False,
                                       _exception_note(exc)))
            time.sleep(0.2)  # the server is away: do not spin
            return None
        seconds = time.perf_counter() - started
        try:
            note = check(response) if response.ok or response.status_code == 409 \
                else _failure_note(response)
        except Exception as exc:  # an answer the check cannot read is a failure, not a crash
            note = f"status {response.status_code}, unreadable: {exc.__class__.__name__}"
        self.samples.append(Sample(op, at, seconds, response.status_code, not note, note))
        return response

    def _headers(self) -> dict[str, str]:
        return {"X-CSRFToken": self.browser.csrf, "Accept": "application/json"}

    # The operations.

    def _new_incident(self, with_attachment: bool) -> tuple[
            dict[str, Any], dict[str, Any], dict[str, Any] | None]:
        self.made += 1
        record_id = str(uuid.uuid4())
        fields = self.incidents.sealed_fields(self.made)
        attachment = None
        if with_attachment:
            att_id = str(uuid.uuid4())
            data = os.urandom(self.rng.randint(1000, 12000))
            sealed_att = seal_attachment(self.org_key, self.account.org_id, record_id, att_id,
                                         self.kv, data)
            attachment = {"id": att_id, "kv": self.kv, "iv": sealed_att["iv"],
                          "ciphertext": b64u_decode(sealed_att["ct"])}
            fields["attachments"] = [{"id": att_id, "name": "photo.jpg",
                                      "type": "image/jpeg", "size": len(data), "caption": None}]
        body = {"id": record_id, "coded": self.incidents.coded(),
                "sealed": seal_record(self.org_key, self.account.org_id, record_id, self.kv,
                                      fields)}
        return body, fields, attachment

    def create(self) -> None:
        if self.pending is None:
            with_attachment = self.spec.attach_every > 0 and \
                (self.made + self.attach_offset) % self.spec.attach_every == 0
            self.pending, self.pending_tries = self._new_incident(with_attachment), 0
        body, fields, attachment = self.pending
        self.pending_tries += 1
        retry = self.pending_tries > 1

        def created(response: requests.Response) -> str:
            # A retry's 409 "already saved": the first try was stored, its answer was lost.
            if response.status_code == 201 or (retry and response.status_code == 409):
                return ""
            return f"status {response.status_code}"

        if attachment is None:
            op = "create"
            response = self._timed(op, lambda: self.http.session.post(
                self.http.base_url + "/api/v1/incidents", json=body, headers=self._headers(),
                timeout=self.spec.timeout), created)
        else:
            op = "create_form"
            data = [*_form_fields(body["coded"]), ("sealed", json.dumps(body["sealed"])),
                    ("record_id", body["id"]), ("version", "0"),
                    ("attachments_meta", json.dumps([{k: attachment[k]
                                                      for k in ("id", "kv", "iv")}])),
                    ("remove_attachments", "[]")]
            files = {f"attachment-{attachment['id']}": (
                attachment["id"], attachment["ciphertext"], "application/octet-stream")}
            response = self._timed(op, lambda: self.http.session.post(
                self.http.base_url + "/incidents/new", data=data, files=files,
                headers=self._headers(), timeout=self.spec.timeout), created)
        if response is None or response.status_code not in (201, 409):
            if self.pending_tries >= 3:
                self.pending = None  # given up, as a person would after three tries
            return
        if response.status_code == 409 and not retry:
            self.pending = None  # a 409 at the first try is a refusal; counted as an error
            return
        if self.spec.record_acks:
            self.acks.append(Ack(body["id"], self.account.org_id, self.kv, body["sealed"],
                                 fields, body["coded"], time.time(),
                                 str(response.status_code), attachment))
        self.known.append(body["id"])
        self.pending = None

    def list_page(self) -> None:
        def listed(response: requests.Response) -> str:
            return "" if 'id="page-data"' in response.text else "no list on the page"
        self._timed("list", lambda: self.http.session.get(
            self.http.base_url + "/incidents", timeout=self.spec.timeout), listed)

    def list_api(self) -> None:
        found: list[str] = []

        def listed(response: requests.Response) -> str:
            items = response.json().get("items", [])
            found.extend(str(i["id"]) for i in items)
            return "" if all("sealed" in i for i in items) else "envelopes missing"
        self._timed("list_api", lambda: self.http.session.get(
            self.http.base_url + "/api/v1/incidents?per_page=50",
            timeout=self.spec.timeout), listed)
        if found:
            self.known = (self.known + found)[-200:]

    def open(self) -> None:
        if not self.known:
            return
        record_id = self.rng.choice(self.known)

        def opened(response: requests.Response) -> str:
            data = page_data(response.text)
            try:
                envelope = json.loads(data["sealed"])
                open_record(self.browser.org_keys[envelope["kv"]], self.account.org_id,
                            record_id, envelope)
            except Exception as exc:  # any failure to open is what this check is for
                return f"sealed part did not open: {exc.__class__.__name__}"
            return ""
        self._timed("open", lambda: self.http.session.get(
            f"{self.http.base_url}/incidents/{record_id}", timeout=self.spec.timeout), opened)

    def report(self) -> None:
        csv = self.round % (4 * self.spec.report_every) == 0

        def reported(response: requests.Response) -> str:
            if csv:
                return "" if response.headers.get("Content-Type", "").startswith("text/csv") \
                    else "not a CSV"
            return "" if "<table" in response.text else "no table in the report"
        path = "/reports/download/csv?scope=org" if csv else "/reports/view?scope=org"
        self._timed("report_csv" if csv else "report", lambda: self.http.session.get(
            self.http.base_url + path, timeout=self.spec.timeout), reported)

    def seed(self, count: int) -> None:
        for _ in range(count):
            self.create()
        self.samples.clear()

    def run(self, deadline: float, stop: Any) -> None:
        ops: list[Callable[[], None]] = [self.create, self.list_page, self.list_api, self.open]
        while time.time() < deadline and len(self.samples) < self.spec.max_requests \
                and not stop.is_set():
            self.round += 1
            steps = list(ops)
            if self.account.role == "coordinator" and self.round % self.spec.report_every == 0:
                steps.append(self.report)
            for step in steps:
                if time.time() >= deadline:
                    break
                step()
                if self.spec.think > 0:
                    time.sleep(self.rng.uniform(0, 2 * self.spec.think))
        self.http.close()


def _exception_note(exc: Exception) -> str:
    """The exception's class and the innermost reason (e.g. RemoteDisconnected)."""
    reason: BaseException | None = exc
    while reason is not None and (reason.__cause__ or reason.__context__ or
                                  (reason.args[0] if reason.args and
                                   isinstance(reason.args[0], BaseException) else None)):
        nxt = reason.__cause__ or reason.__context__ or reason.args[0]
        reason = nxt if isinstance(nxt, BaseException) else None
    inner = re.sub(r"\s+", " ", f"{reason.__class__.__name__}: {reason}")[:120] if reason \
        else ""
    return f"{exc.__class__.__name__} ({inner})"


def _failure_note(response: requests.Response) -> str:
    if response.status_code == 503:
        shown = UNAVAILABLE in html.unescape(response.text)
        return "503 with the reason" if shown else "503 without the reason"
    text = re.sub(r"\s+", " ", response.text)[:160]
    return f"status {response.status_code}: {text}"


# Processes of clients.

def _process(spec: LoadSpec, accounts: list[Account], seed: int, ready: Any, go: Any,
             stop: Any, results: Any) -> None:
    try:
        rng = random.Random(seed)
        clients = [Client(a, spec, random.Random(rng.random())) for a in accounts]
        with ThreadPoolExecutor(max_workers=len(clients)) as pool:
            list(pool.map(lambda c: c.login(), clients))
            if spec.seed_per_client:
                list(pool.map(lambda c: c.seed(spec.seed_per_client), clients))
        ready.put(("ready", os.getpid(), ""))
    except Exception as exc:
        ready.put(("failed", os.getpid(), f"{exc.__class__.__name__}: {exc}"))
        return
    if not go.wait(timeout=900):
        return
    deadline = time.time() + min(spec.duration, MAX_DURATION_S)
    threads = [threading.Thread(target=c.run, args=(deadline, stop)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put(([s for c in clients for s in c.samples], [a for c in clients for a in c.acks]))


@dataclass
class LoadRun:
    started: float  # wall clock
    ended: float
    prepare_s: float  # logins (and seeding) before the clock started
    samples: list[Sample]
    acks: list[Ack]

    @property
    def seconds(self) -> float:
        return self.ended - self.started


def run_load(spec: LoadSpec, accounts: list[Account], processes: int = 2,
             during: Callable[[float], None] | None = None, linger: float | None = None,
             seed: int = 1) -> LoadRun:
    """Log every account in, start the clock, run the clients for spec.duration, and call
    `during(start wall time)` in this process meanwhile (to inject faults). With `linger`,
    the load stops that many seconds after `during` returned (spec.duration still bounds
    it)."""
    context = multiprocessing.get_context("spawn")
    ready, results = context.Queue(), context.Queue()
    go, stop = context.Event(), context.Event()
    processes = max(1, min(processes, len(accounts)))
    shares = [accounts[n::processes] for n in range(processes)]
    started_prepare = time.perf_counter()
    procs = [context.Process(target=_process, args=(spec, share, seed * 1000 + n, ready, go,
                                                     stop, results), daemon=True)
             for n, share in enumerate(shares)]
    for proc in procs:
        proc.start()
    try:
        for _ in procs:
            status, pid, detail = ready.get(timeout=900)
            if status != "ready":
                raise RuntimeError(f"a client process ({pid}) could not log in: {detail}")
        prepare_s = time.perf_counter() - started_prepare
        started = time.time()
        go.set()
        if during is not None:
            during(started)
        if linger is not None:
            time.sleep(max(0.0, min(linger, started + spec.duration - time.time())))
            stop.set()
        samples: list[Sample] = []
        acks: list[Ack] = []
        for _ in procs:
            got_samples, got_acks = results.get(timeout=spec.duration + 300)
            samples += got_samples
            acks += got_acks
        ended = max([min(time.time(), started + spec.duration),
                     *(s.at + s.seconds for s in samples)])
        for proc in procs:
            proc.join(timeout=60)
        return LoadRun(started, ended, prepare_s, samples, acks)
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=10)


# Figures.

def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=1000, method="inclusive")[int(p * 10) - 1]


def summary(run: LoadRun) -> dict[str, dict[str, float]]:
    """Per operation, and for writes, lists and all: count, errors, p50/p95/p99/max (ms),
    requests per second over the run."""
    groups: dict[str, list[Sample]] = defaultdict(list)
    for s in run.samples:
        groups[s.op].append(s)
        if s.op in WRITES:
            groups["writes"].append(s)
        if s.op in LISTS:
            groups["lists"].append(s)
        groups["all"].append(s)
    out = {}
    for name, samples in groups.items():
        ms = [s.seconds * 1000 for s in samples]
        out[name] = {"count": len(samples), "errors": sum(not s.ok for s in samples),
                     "p50": percentile(ms, 50), "p95": percentile(ms, 95),
                     "p99": percentile(ms, 99), "max": max(ms),
                     "per_s": len(samples) / run.seconds}
    return out


def errors(run: LoadRun, limit: int = 10) -> list[str]:
    """The distinct failures, most frequent first."""
    counts: dict[str, int] = defaultdict(int)
    for s in run.samples:
        if not s.ok:
            counts[f"{s.op}: {s.status} {s.note}"] += 1
    return [f"{n}× {what}" for what, n in sorted(counts.items(), key=lambda kv: -kv[1])][:limit]
