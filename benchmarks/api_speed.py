"""Requests per second and latency of the HTTP API over a big workspace, on loopback.

    python benchmarks/api_speed.py                       # 1,000,000 contacts, SQLite
    python benchmarks/api_speed.py --contacts 20000 --seconds 5 --workers 1
    python benchmarks/api_speed.py --db postgresql+psycopg://postgres@127.0.0.1/rolodex_api
    python benchmarks/api_speed.py --profile benchmarks/out/api_get.svg   # needs py-spy

Fills a workspace through the real import path (`rolodex import` of a messy contacts CSV
from generate_contacts.py, encryption keys on), adds an admin and an API key, then for each
`--workers` count starts `rolodex serve` in a child process on a free loopback port and
measures, with a keep-alive http.client load generator (several processes x threads):

- GET /api/v1/contacts/{id} of random existing contacts (the 360-degree view);
- GET /api/v1/contacts/search?q={email} of random existing emails (exact email lookup);
- POST /api/v1/contacts/bulk with 10,000 new records in one call (wall time).

Before each measured run every target is requested once (`--no-warm` skips it), so the run
finds them in the page cache. Prints req/s, p50/p99 latency and errors per endpoint. The load
generator shares the machine with the server: on a small machine its own CPU use lowers the
figures, so they are a floor. A SQLite workspace is reused on the next run when it already
holds the contacts.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import random
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
API = "/api/v1"
ADMIN = "bench-admin"
PASSWORD = "bench password that nobody guesses"
BULK = 10_000


# --- the workspace --------------------------------------------------------------------------


def _keys_env(db_url: str) -> dict[str, str]:
    """The environment of every child: the same encryption keys for import and serving."""
    from rolodex.secure.crypto import Keyring

    key_file = OUT / (_slug(db_url) + ".keys")
    if not key_file.exists():
        key_file.write_text(Keyring.generate().to_env_value())
    env = dict(os.environ, ROLODEX_KEYS=key_file.read_text().strip())
    env.setdefault("ROLODEX_VAULT", str(OUT / (_slug(db_url) + ".vault")))
    env.pop("ROLODEX_KEY_FILE", None)
    return env


def _slug(db_url: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in db_url)[-80:]


def _rolodex(db_url: str, *args: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "rolodex", "--db", db_url, *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        sys.exit(f"rolodex {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def _contact_count(db_url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    text("SELECT count(*) FROM contact WHERE merged_into_id IS NULL")
                ).scalar_one()
            )
    except Exception:
        return 0
    finally:
        engine.dispose()


def fill(db_url: str, contacts: int, *, seed: int, env: dict[str, str]) -> float:
    """Import `contacts` rows of the messy CSV unless the workspace already holds that many;
    return the seconds the import took (0 when reused)."""
    have = _contact_count(db_url)
    if have >= contacts * 0.9:  # quarantined rows make a few percent fewer contacts
        print(f"reusing {db_url}: {have:,} contacts")
        return 0.0
    sys.path.insert(0, str(HERE))
    from generate_contacts import generate

    data = OUT / f"contacts_{contacts}_{seed}.csv"
    if not data.exists():
        print(f"generating {contacts:,} contact rows in {data} ...", flush=True)
        generate(data, rows=contacts, seed=seed)
    _rolodex(db_url, "init", env=env)
    print(f"importing {data.name} ...", flush=True)
    started = time.perf_counter()
    _rolodex(
        db_url,
        "import",
        str(data),
        "--source",
        "bench",
        "--kind",
        "contacts",
        "--json",
        env=env,
    )
    seconds = time.perf_counter() - started
    print(f"imported in {seconds:.1f} s: {_contact_count(db_url):,} contacts")
    return seconds


def credentials(db_url: str, *, env: dict[str, str]) -> str:
    """An admin user (made once) and a fresh API key for it."""
    os.environ["ROLODEX_KEYS"] = env["ROLODEX_KEYS"]
    os.environ["ROLODEX_VAULT"] = env["ROLODEX_VAULT"]
    from rolodex.workspace import Workspace

    with Workspace(db_url, actor="benchmark") as ws:
        if ADMIN not in {u.username for u in ws.users()}:
            ws.user_add(ADMIN, password=PASSWORD, role="admin")
        _, key = ws.apikey_create(ADMIN, name=f"bench {time.time():.0f}")
    return key


def samples(db_url: str, *, count: int, seed: int) -> tuple[list[int], list[str]]:
    """Random existing contact ids and random stored emails (exact-lookup targets), the
    emails decrypted with the workspace's keys (`credentials` puts them in the environment)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    rng = random.Random(seed)
    with engine.connect() as conn:
        top = int(conn.execute(text("SELECT max(id) FROM contact")).scalar_one())
        picks = sorted({rng.randrange(1, top + 1) for _ in range(count * 2)})
        ids = [
            int(i)
            for (i,) in conn.execute(
                text(
                    "SELECT id FROM contact WHERE merged_into_id IS NULL AND id IN ("
                    + ",".join(map(str, picks))
                    + ")"
                )
            )
        ][:count]
        emails = [
            str(v)
            for (v,) in conn.execute(
                text(
                    "SELECT value FROM contact_point WHERE kind = 'email' AND contact_id IN ("
                    + ",".join(map(str, ids))
                    + ")"
                )
            )
        ]
    engine.dispose()
    # Stored emails are encrypted: the searches ask for what a user types, the plaintext.
    from rolodex.workspace import Workspace

    # Invalid values the messy data keeps as emails ("n/a") are left out: a search for one
    # is a name search (a scan), not the exact email lookup measured here.
    with Workspace(db_url, actor="benchmark") as ws:
        emails = [str(e) for e in ws.sealer.open("email", emails) if "@" in str(e)]
    rng.shuffle(ids)
    rng.shuffle(emails)
    return ids, emails


# --- the server -----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A `rolodex serve` child process on a loopback port."""

    process: subprocess.Popen[bytes]
    port: int

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def worker_pids(self) -> list[int]:
        """The pids serving requests (uvicorn's children with several workers)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        found = [int(p) for p in children.read_text().split()] if children.exists() else []
        # Not multiprocessing's resource tracker: only the spawned workers serve.
        found = [p for p in found if b"spawn_main" in _cmdline(p)]
        return found or [self.process.pid]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def serve(db_url: str, *, workers: int, env: dict[str, str]) -> Server:
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rolodex",
            "--db",
            db_url,
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"rolodex serve exited with {process.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", f"{API}/openapi.json")
            if conn.getresponse().status == 200:
                conn.close()
                return Server(process, port)
        except OSError:
            time.sleep(0.2)
    process.kill()
    sys.exit("rolodex serve did not answer within 60 s")


# --- the load generator -----------------------------------------------------------------------


def _client_process(
    port: int,
    key: str,
    paths: Sequence[str],
    threads: int,
    warmup: float,
    seconds: float,
    seed: int,
    results: mp.Queue[tuple[list[float], int, int]],
) -> None:
    """Run `threads` keep-alive connections; report (latencies in s, errors, requests)."""
    start = time.monotonic() + warmup
    stop = start + seconds
    lock = threading.Lock()
    latencies: list[float] = []
    counts = [0, 0]  # errors, requests measured

    def run(n: int) -> None:
        rng = random.Random(seed * 1000 + n)
        headers = {"Authorization": f"Bearer {key}"}
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        errors = 0
        while True:
            now = time.monotonic()
            if now >= stop:
                break
            path = paths[rng.randrange(len(paths))]
            began = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                answer = conn.getresponse()
                answer.read()
                ok = answer.status == 200
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                ok = False
            spent = time.perf_counter() - began
            if now >= start:  # requests started during the warmup are not counted
                mine.append(spent)
                if not ok:
                    errors += 1
        conn.close()
        with lock:
            latencies.extend(mine)
            counts[0] += errors
            counts[1] += len(mine)

    pool = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    results.put((latencies, counts[0], counts[1]))


def warm(port: int, key: str, paths: Sequence[str], *, threads: int = 8) -> float:
    """Request every path once (several connections); return the seconds it took.

    The measured runs then find their targets in the page cache, as a server's hot
    customers are: this machine pages out file pages unused for about a minute (DAMON), so
    without it a run measures the disk more than the API.
    """
    began = time.monotonic()
    headers = {"Authorization": f"Bearer {key}"}

    def run(share: Sequence[str]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for path in share:
            conn.request("GET", path, headers=headers)
            conn.getresponse().read()
        conn.close()

    pool = [threading.Thread(target=run, args=(paths[n::threads],)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return time.monotonic() - began


@dataclass
class Load:
    """What one endpoint did under load."""

    name: str
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def line(self) -> str:
        verdict = "OK" if self.rate >= 1000 and self.p99_ms < 50 and not self.errors else "MISS"
        return (
            f"  {self.name:<28} {self.rate:>8,.0f} req/s  p50 {self.p50_ms:6.1f} ms"
            f"  p99 {self.p99_ms:6.1f} ms  errors {self.errors}  ({self.requests:,} requests)"
            f"  [target >= 1,000 req/s, p99 < 50 ms: {verdict}]"
        )


def load(
    name: str,
    *,
    port: int,
    key: str,
    paths: Sequence[str],
    concurrency: int,
    processes: int,
    seconds: float,
    warmup: float,
    seed: int,
) -> Load:
    """Drive `paths` at random with `concurrency` connections for `seconds` (after warmup)."""
    ctx = mp.get_context("spawn")
    results: mp.Queue[tuple[list[float], int, int]] = ctx.Queue()
    per = [
        concurrency // processes + (1 if i < concurrency % processes else 0)
        for i in range(processes)
    ]
    children = [
        ctx.Process(
            target=_client_process,
            args=(port, key, list(paths), n, warmup, seconds, seed + i, results),
        )
        for i, n in enumerate(per)
        if n
    ]
    for child in children:
        child.start()
    latencies: list[float] = []
    errors = requests = 0
    for _ in children:
        found, bad, done = results.get(timeout=warmup + seconds + 120)
        latencies += found
        errors += bad
        requests += done
    for child in children:
        child.join()
    latencies.sort()

    def pct(p: float) -> float:
        if not latencies:
            return float("nan")
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return Load(name, requests, errors, seconds, pct(0.50), pct(0.99))


_WRK_SCRIPT = """
local paths = {}
for line in io.lines(os.getenv("RX_PATHS")) do paths[#paths + 1] = line end
wrk.headers["Authorization"] = "Bearer " .. os.getenv("RX_KEY")
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n * 7919) % #paths + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RX %d %d %d %f %f\\n", summary.requests,
    e.connect + e.read + e.write + e.status + e.timeout, summary.duration,
    latency:percentile(50), latency:percentile(99)))
end
"""


def load_wrk(
    name: str,
    *,
    port: int,
    key: str,
    paths: Sequence[str],
    concurrency: int,
    seconds: float,
    warmup: float,
    wrk: str,
) -> Load:
    """`load` with wrk (C, epoll): it takes a fraction of the CPU a Python client does, so
    on a small machine the server gets the cores it would have on its own."""
    OUT.mkdir(exist_ok=True)
    script, listing = OUT / "wrk_paths.lua", OUT / "wrk_paths.txt"
    script.write_text(_WRK_SCRIPT)
    listing.write_text("\n".join(paths) + "\n")
    env = dict(os.environ, RX_PATHS=str(listing), RX_KEY=key)
    url = f"http://127.0.0.1:{port}"
    threads = str(max(1, min(2, concurrency)))

    def run(duration: float) -> str:
        length = f"{max(1, round(duration))}s"
        command = [wrk, "-t", threads, "-c", str(concurrency), "-d", length, "--timeout", "10s"]
        command += ["-s", str(script), url]
        return subprocess.run(
            command,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    if warmup > 0:
        run(warmup)
    found = next(line for line in run(seconds).splitlines() if line.startswith("RX "))
    requests, errors, micros, p50, p99 = found.split()[1:]
    return Load(
        name,
        int(requests),
        int(errors),
        int(micros) / 1e6,
        float(p50) / 1000,
        float(p99) / 1000,
    )


def bulk_create(port: int, key: str, *, tag: str) -> tuple[float, dict[str, int], int]:
    """POST 10,000 new records in one call; return (seconds, counts by status, HTTP status)."""
    rng = random.Random(tag)
    firsts = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Zoë", "Linus", "Margaret"]
    lasts = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Thompson", "Müller"]
    records = [
        {
            "first_name": rng.choice(firsts),
            "last_name": rng.choice(lasts),
            "email": f"bulk.{tag}.{i}@bench-{i % 97}.example.org",
            "phone": f"+49 30 {rng.randrange(1_000_000, 9_999_999)}",
            "company_name": f"Bench {i % 500} GmbH",
            "country": "DE",
            "city": "Berlin",
        }
        for i in range(BULK)
    ]
    body = json.dumps({"records": records}).encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    began = time.perf_counter()
    conn.request(
        "POST",
        f"{API}/contacts/bulk",
        body=body,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    answer = conn.getresponse()
    payload = answer.read()
    seconds = time.perf_counter() - began
    conn.close()
    counts = json.loads(payload).get("counts", {}) if answer.status == 200 else {}
    return seconds, counts, answer.status


def profile(pid: int, out: Path, seconds: float) -> subprocess.Popen[bytes] | None:
    """Start py-spy on a server worker for `seconds` (None when py-spy is not installed)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        print("py-spy not found: no profile")
        return None
    return subprocess.Popen(
        [
            spy,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(int(seconds)),
            "--rate",
            "200",
            "--nonblocking",  # pausing the server at each sample would slow it down many-fold
            "--format",
            {".json": "speedscope", ".txt": "raw"}.get(out.suffix, "flamegraph"),
            "-o",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


# --- main -------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=15.0, help="measured time per endpoint")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--concurrency", type=int, default=16, help="open connections")
    parser.add_argument(
        "--clients", type=int, default=2, help="load generator processes (connections split)"
    )
    parser.add_argument(
        "--workers", default="1,2", help="server worker counts to measure, comma-separated"
    )
    parser.add_argument(
        "--db", default=None, help="sqlite path or a database URL (default benchmarks/out/)"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-bulk", action="store_true", help="skip the bulk create")
    parser.add_argument(
        "--no-warm", action="store_true", help="skip requesting every target once before a run"
    )
    parser.add_argument(
        "--client",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="load generator: wrk when installed (auto), else processes of http.client",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="py-spy output of the GET run (.svg flamegraph, .json speedscope, .txt collapsed)",
    )
    opts = parser.parse_args(argv)

    OUT.mkdir(exist_ok=True)
    if opts.db is None:
        db_url = f"sqlite:///{OUT / f'api_{opts.contacts}.db'}"
    elif "://" in opts.db:
        db_url = opts.db
    else:
        db_url = f"sqlite:///{Path(opts.db).resolve()}"
    env = _keys_env(db_url)
    fill(db_url, opts.contacts, seed=opts.seed, env=env)
    key = credentials(db_url, env=env)
    ids, emails = samples(db_url, count=5000, seed=opts.seed)
    print(f"targets: {len(ids):,} random contact ids, {len(emails):,} of their emails")
    gets = [f"{API}/contacts/{i}" for i in ids]
    searches = [f"{API}/contacts/search?q={quote(e)}" for e in emails]
    common = {
        "concurrency": opts.concurrency,
        "processes": max(1, min(opts.clients, opts.concurrency)),
        "seconds": opts.seconds,
        "warmup": opts.warmup,
        "seed": opts.seed,
    }
    wrk = shutil.which("wrk") if opts.client in ("auto", "wrk") else None
    if opts.client == "wrk" and wrk is None:
        sys.exit("wrk is not installed (apt-get install wrk), or use --client python")
    if wrk is not None:
        client = "wrk (2 threads)"
    else:
        client = f"{common['processes']} http.client process(es)"

    def drive(name: str, *, port: int, key: str, paths: Sequence[str]) -> Load:
        if not opts.no_warm:
            took = warm(port, key, paths)
            print(f"  (warmed: each of the {len(paths):,} targets requested once, {took:.1f} s)")
        if wrk is None:
            return load(name, port=port, key=key, paths=paths, **common)
        return load_wrk(
            name,
            port=port,
            key=key,
            paths=paths,
            concurrency=opts.concurrency,
            seconds=opts.seconds,
            warmup=opts.warmup,
            wrk=wrk,
        )

    for workers in [int(w) for w in str(opts.workers).split(",") if w.strip()]:
        server = serve(db_url, workers=workers, env=env)
        try:
            time.sleep(1.0 if workers > 1 else 0.0)  # let every worker start
            spy = None
            if opts.profile is not None:
                target = server.worker_pids()[0]
                spy = profile(target, opts.profile, opts.warmup + opts.seconds)
            get = drive("GET /contacts/{id}", port=server.port, key=key, paths=gets)
            if spy is not None:
                spy.wait()
                print(f"profile of worker {target} written to {opts.profile}")
                opts.profile = None  # profile the first configuration only
            search = drive(
                "GET /contacts/search?q=email", port=server.port, key=key, paths=searches
            )
            print(
                f"\n{_contact_count(db_url):,} contacts, {workers} worker(s),"
                f" {opts.concurrency} connections from {client}, {opts.seconds:g} s each:"
            )
            print(get.line())
            print(search.line())
            if not opts.no_bulk:
                seconds, counts, status = bulk_create(
                    server.port, key, tag=f"w{workers}t{int(time.time())}"
                )
                verdict = "OK" if seconds < 5 and status == 200 else "MISS"
                print(
                    f"  POST /contacts/bulk ({BULK:,} new records): {seconds:.2f} s,"
                    f" HTTP {status}, {counts}  [target < 5 s: {verdict}]"
                )
        finally:
            server.stop()
    print(f"\nmachine: {os.cpu_count()} CPU(s); database {db_url}")


if __name__ == "__main__":
    main()
