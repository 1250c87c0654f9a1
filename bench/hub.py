"""Benchmark the hub against the single-user service, in one run, on this machine:

- start to login page: `jupyter-service run` with `[hub]` (JupyterHub + proxy) against the
  single-user service (alternating runs, medians, ratio);
- a user's server: spawn to first kernel reply (login, spawn through the hub's API, the OAuth
  hand-off, a kernel started and asked `1+1`) against the single-user service's kernel start
  to first reply;
- memory: RSS of one idle user server (its process, kernel shut down) against the
  single-user server's, and the hub's and the proxy's own;
- how many idle users this machine holds before spawn times double: users are spawned one
  after another and left idle, up to --users; doubled when the median of the last three
  spawns is over twice the median of the first three (one spawn alone is too noisy on a
  shared machine).

Usage (root: it makes system accounts `jsbench0`..., removed after):
    .venv/bin/python bench/hub.py [--users N] [--runs R]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import time
from pathlib import Path

import psutil
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import contextlib

from tests.helpers import BASE_URL as SINGLE_BASE_URL
from tests.helpers import PASSWORD, Service, free_port, hash_password, login
from tests.hub_helpers import (
    BASE_URL,
    Hub,
    hub_login,
    make_accounts,
    remove_accounts,
    run_in_user_kernel,
    start_server,
    world_readable_tmp,
)
from tests.hub_helpers import USERS as TEST_USERS


def single_user_config(root: Path, port: int) -> Path:
    config = root / "single.toml"
    config.write_text(
        f"enable = true\nport = {port}\nbaseUrl = {json.dumps(SINGLE_BASE_URL)}\n"
        f"notebookDir = {json.dumps(str(root / 'notebooks'))}\n"
        f"password = {json.dumps(hash_password(PASSWORD))}\n"
    )
    return config


def hub_config(root: Path, port: int, users: list[str]) -> Path:
    digest = hash_password(PASSWORD)
    config = root / "hub.toml"
    config.write_text(
        f"enable = true\nport = {port}\nbaseUrl = {json.dumps(BASE_URL)}\n"
        'notebookDir = "~/notebooks"\n[hub]\nenable = true\nidleTimeout = 0\n[hub.users]\n'
        + "".join(f"{name} = {json.dumps(digest)}\n" for name in users)
    )
    return config


def time_until(url: str, ok: tuple[int, ...], started: float, proc: Service) -> float:
    while True:
        if proc.proc.poll() is not None:
            raise SystemExit(f"exited:\n{proc.output()[-3000:]}")
        try:
            if requests.get(url, timeout=2).status_code in ok:
                return time.perf_counter() - started
        except requests.ConnectionError:
            pass
        time.sleep(0.05)


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += psutil.Process(pid).memory_info().rss
    return total / 2**20


def user_server_pids(name: str) -> list[int]:
    return [p.pid for p in psutil.process_iter(["username"]) if p.info["username"] == name]


def single_user_round(root: Path) -> tuple[float, float, float]:
    """Start to login page, kernel start to first reply, idle server RSS (MB)."""
    from tests.helpers import run_in_kernel

    port = free_port()
    root.mkdir(parents=True)
    config = single_user_config(root, port)
    started = time.perf_counter()
    service = Service(root, config, port)
    start = time_until(service.url("login"), (200,), started, service)
    session = login(service)
    t0 = time.perf_counter()
    assert run_in_kernel(service, session, "print(1+1)").strip() == "2"
    reply = time.perf_counter() - t0
    time.sleep(2)
    rss = rss_mb([service.proc.pid])
    service.stop()
    return start, reply, rss


def hub_start_round(root: Path, users: list[str]) -> tuple[Hub, float]:
    port = free_port()
    config = hub_config(root, port, users)
    started = time.perf_counter()
    hub = Hub(root, config, port)
    return hub, time_until(hub.url("hub/login"), (200,), started, hub)


def spawn_to_reply(hub: Hub, name: str) -> float:
    TEST_USERS[name] = PASSWORD
    started = time.perf_counter()
    session = hub_login(hub, name)
    start_server(hub, session, name)
    out = run_in_user_kernel(hub, session, name, "print(1+1)", kernel_name="python3")
    assert out.strip() == "2", out
    return time.perf_counter() - started


def doubled(spawns: list[float]) -> bool:
    """The last three spawns' median is over twice the first three's (six spawns at least)."""
    if len(spawns) < 6:
        return False
    return statistics.median(spawns[-3:]) > 2 * statistics.median(spawns[:3])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    names = [f"jsbench{i}" for i in range(args.users)]
    root = world_readable_tmp("jupyter-service-bench-hub-")
    make_accounts(names)
    try:
        single_starts, hub_starts, replies, single_rss = [], [], [], []
        for run in range(args.runs):
            start, reply, rss = single_user_round(root / f"single{run}")
            single_starts.append(start)
            replies.append(reply)
            single_rss.append(rss)
            hub_root = root / f"hub{run}"
            hub_root.mkdir()
            hub, start = hub_start_round(hub_root, names)
            hub_starts.append(start)
            if run < args.runs - 1:
                hub.stop()
        print(
            f"machine: {psutil.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.1f} GiB"
        )
        s, h = statistics.median(single_starts), statistics.median(hub_starts)
        print(
            f"start to login page: hub {h:.2f} s, single-user {s:.2f} s (x{h / s:.2f}); "
            f"runs {[round(x, 2) for x in hub_starts]} / {[round(x, 2) for x in single_starts]}"
        )
        hub_rss = rss_mb([hub.proc.pid])
        proxy = [
            p.pid
            for p in psutil.process_iter(["cmdline"])
            if any("configurable-http-proxy" in c for c in (p.info["cmdline"] or []))
            and f"--port {hub.port}" in " ".join(p.info["cmdline"] or [])
        ]
        proxy_rss = rss_mb(proxy)
        spawns: list[float] = []
        server_rss: list[float] = []
        try:
            for name in names:
                spawns.append(spawn_to_reply(hub, name))
                time.sleep(2)
                server_rss.append(rss_mb(user_server_pids(name)))
                print(
                    f"  user {len(spawns)}: spawn to first reply {spawns[-1]:.2f} s, "
                    f"idle server {server_rss[-1]:.0f} MB, available "
                    f"{psutil.virtual_memory().available / 2**30:.1f} GiB"
                )
                if doubled(spawns):
                    break
        finally:
            hub.stop()
        r = statistics.median(replies)
        print(
            f"spawn to first kernel reply (first user): {spawns[0]:.2f} s; single-user kernel "
            f"start to first reply {r:.2f} s (x{spawns[0] / r:.2f})"
        )
        idle = statistics.median(server_rss)
        print(
            f"RSS: idle user server {idle:.0f} MB (median of {len(server_rss)}), single-user "
            f"server {statistics.median(single_rss):.0f} MB, hub {hub_rss:.0f} MB, proxy "
            f"{proxy_rss:.0f} MB"
        )
        first, last = statistics.median(spawns[:3]), statistics.median(spawns[-3:])
        print(
            f"idle users: {len(spawns)} spawned; spawn time median {first:.2f} s of the first "
            f"three, {last:.2f} s of the last three (x{last / first:.2f}); "
            + (
                f"doubled at user {len(spawns)}"
                if doubled(spawns)
                else f"not doubled by {len(spawns)}"
            )
            + f"; memory alone: ~{int(24 * 1024 / idle)} idle servers in 24 GiB (estimate)"
        )
    finally:
        remove_accounts(names)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
