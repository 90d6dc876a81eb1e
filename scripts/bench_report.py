#!/usr/bin/env python3
"""Turns one scripts/bench.sh run (build/bench/run-*/) into docs/BENCHMARKS.md and a PNG plot.

Inputs in the run dir: machine.txt (key=value), results.txt (one "row=.. target=.. key=value"
line per row, as loadgen prints them), commands.txt (the exact commands).
"""
import argparse
import os
import subprocess
import sys

TARGETS = ["pusher", "node", "floor"]


def read_kv_lines(path):
    rows = []
    if not os.path.exists(path):
        return rows
    with open(path) as f:
        for line in f:
            kv = {}
            for tok in line.split():
                if "=" in tok:
                    k, v = tok.split("=", 1)
                    kv[k] = v
            if kv:
                rows.append(kv)
    return rows


def num(kv, key, default=None):
    try:
        return float(kv[key])
    except (KeyError, ValueError):
        return default


def fmt(v, digits=0):
    if v is None:
        return "-"
    if digits == 0:
        return f"{v:,.0f}"
    return f"{v:,.{digits}f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.2f}x"


def cpu_us_per_delivery(kv):
    d = num(kv, "deliveries_per_cpu_s")
    return 1e6 / d if d else None


def client_us_per_delivery(kv):
    c, d = num(kv, "client_cpu_s"), num(kv, "delivered")
    return 1e6 * c / d if c is not None and d else None


def ms(kv, key):
    v = num(kv, key)
    return v / 1000.0 if v is not None else None


def cost_key(kv):
    """What 'median' means for a row: cost for pushes, memory for idle, rate for wrk."""
    for key in ("deliveries_per_cpu_s", "rss_per_conn_b", "requests_per_s"):
        v = num(kv, key)
        if v is not None:
            return v
    return 0.0


def median_runs(rows):
    """--repeat K leaves K lines per (row, target): keep the one with the median cost, in the
    order rows first appeared. Errors count only when every run of that row failed."""
    groups, order = {}, []
    for r in rows:
        key = (r.get("row"), r.get("target"))
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(r)
    out = []
    for key in order:
        ok = [r for r in groups[key] if "error" not in r]
        if not ok:
            out.append(groups[key][0])
            continue
        ok.sort(key=cost_key)
        pick = dict(ok[len(ok) // 2])
        pick["runs"] = str(len(groups[key]))
        out.append(pick)
    return out


def machine_section(m):
    out = ["## Machine", "", "| | |", "|---|---|"]
    for k in ["nproc", "cpu", "kernel", "date", "commit", "node", "ws", "wrk", "nofile",
              "pusher_ws_workers", "args"]:
        out.append(f"| {k} | {m.get(k, '-')} |")
    return out + [""]


def target_table(target, rows):
    out = [f"### {target}", "",
           "| row | mode | N | payload B | msgs | deliveries/s | deliveries per server CPU-s | "
           "server CPU µs/delivery | client CPU µs/delivery | other CPU s | load1 | p50 ms | p99 ms | "
           "p99.9 ms | lost | dup | misdelivered | connect/s | server RSS (PSS) B/conn |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r.get("target") != target or r.get("row") == "wrk" or "requests_per_s" in r:
            continue
        if "error" in r:
            out.append(f"| {r['row']} | error: {r['error']} |" + " |" * 17)
            continue
        if r.get("mode") == "idle":
            out.append(f"| {r['row']} | idle | {r.get('connected')}/{r.get('n')} | - | - | - | - | - | - | - "
                       f"| {r.get('load1', '-')} | - | - | - | - | - | - | {fmt(num(r, 'connect_rate'))} "
                       f"| {fmt(num(r, 'rss_per_conn_b'))} ({fmt(num(r, 'pss_per_conn_b'))}) |")
            continue
        out.append(
            f"| {r['row']} | {r.get('mode')} | {r.get('connected')} | {r.get('payload')} | {r.get('published')} "
            f"| {fmt(num(r, 'deliveries_per_s'))} | {fmt(num(r, 'deliveries_per_cpu_s'))} "
            f"| {fmt(cpu_us_per_delivery(r), 2)} | {fmt(client_us_per_delivery(r), 2)} "
            f"| {r.get('other_cpu_s', '-')} | {r.get('load1', '-')} "
            f"| {fmt(ms(r, 'p50_us'), 2)} | {fmt(ms(r, 'p99_us'), 2)} "
            f"| {fmt(ms(r, 'p999_us'), 2)} | {r.get('lost')} | {r.get('dup')} | {r.get('misdelivered')} "
            f"| {fmt(num(r, 'connect_rate'))} | - |")
    return out + [""]


def side_by_side(rows):
    by = {(r.get("row"), r.get("target")): r for r in rows if "error" not in r}
    names = []
    for r in rows:
        if r.get("row") not in names and r.get("row") != "wrk" and "requests_per_s" not in r:
            names.append(r.get("row"))
    out = ["## Side by side", "",
           "Cost = deliveries per server CPU-second (higher is better); the floor is "
           "tests/bench/kernel_floor.cpp, one write() per delivery from a bare epoll loop.", "",
           "| row | pusher | node | floor | pusher/node | pusher/floor | node/floor "
           "| p99 ms pusher | p99 ms node | p99 ms floor |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for name in names:
        p, n, f = (by.get((name, t)) for t in TARGETS)
        present = [x for x in (p, n, f) if x is not None]
        if present and all(x.get("mode") == "idle" for x in present):
            rp = num(p, "rss_per_conn_b") if p else None
            rn = num(n, "rss_per_conn_b") if n else None
            out.append(f"| {name} (RSS B/conn) | {fmt(rp)} | {fmt(rn)} | - | {ratio(rp, rn)} | - | - | - | - | - |")
            continue
        c = [num(x, "deliveries_per_cpu_s") if x else None for x in (p, n, f)]
        l = [ms(x, "p99_us") if x else None for x in (p, n, f)]
        out.append(f"| {name} | {fmt(c[0])} | {fmt(c[1])} | {fmt(c[2])} | {ratio(c[0], c[1])} "
                   f"| {ratio(c[0], c[2])} | {ratio(c[1], c[2])} | {fmt(l[0], 2)} | {fmt(l[1], 2)} | {fmt(l[2], 2)} |")
    return out + [""]


def wrk_section(rows):
    w = [r for r in rows if r.get("row") == "wrk"]
    if not w:
        return []
    out = ["## HTTP publish throughput (wrk, 50 keep-alive connections, no WebSocket clients)", "",
           "| target | requests/s | p99 | server CPU s | requests per server CPU-s | errors |",
           "|---|---|---|---|---|---|"]
    for r in w:
        if "error" in r:
            out.append(f"| {r['target']} | error: {r['error']} | | | | |")
            continue
        rps, cpu, secs = num(r, "requests_per_s"), num(r, "server_cpu_s"), num(r, "secs")
        per_cpu = rps * secs / cpu if rps and cpu else None
        out.append(f"| {r['target']} | {fmt(rps)} | {r.get('p99')} | {r.get('server_cpu_s')} | {fmt(per_cpu)} "
                   f"| {r.get('errors')} |")
    p = next((num(r, "requests_per_s") for r in w if r.get("target") == "pusher"), None)
    n = next((num(r, "requests_per_s") for r in w if r.get("target") == "node"), None)
    f = next((num(r, "requests_per_s") for r in w if r.get("target") == "floor"), None)
    if p and n:
        out += ["", f"pusher/node requests/s: {ratio(p, n)}"]
    if p and f:
        out += ["", f"pusher/floor requests/s: {ratio(p, f)} (the floor answers each request with one "
                "read() and one write() and publishes nowhere)"]
    return out + [""]


def plot(rows, png, run_dir):
    """p99 latency and server CPU per delivery against N, broadcast 64 B rows, per target."""
    series = {}
    for r in rows:
        if "error" in r or r.get("mode") not in ("broadcast", "latency") or r.get("payload") != "64":
            continue
        if r.get("row", "").endswith("-w1"):  # the strict variant would share N=1k with the window rows
            continue
        key = (r["target"], r["mode"])
        series.setdefault(key, []).append((int(r["connected"]), ms(r, "p99_us"), cpu_us_per_delivery(r)))
    if not series:
        return False
    plots_lat, plots_cpu = [], []
    for (target, mode), pts in sorted(series.items()):
        path = os.path.join(run_dir, f"plot.{target}.{mode}.dat")
        with open(path, "w") as f:
            for n, lat, cpu in sorted(pts):
                f.write(f"{n} {lat if lat is not None else 'NaN'} {cpu if cpu is not None else 'NaN'}\n")
        title = f"{target} {mode}"
        plots_lat.append(f"'{path}' using 1:2 with linespoints title '{title}'")
        plots_cpu.append(f"'{path}' using 1:3 with linespoints title '{title}'")
    script = "\n".join([
        "set terminal pngcairo size 1200,500 font ',10'",
        f"set output '{png}'",
        "set multiplot layout 1,2 title 'broadcast, 64 B payload (closed loop with the window of the matrix; latency row: open loop 5 msg/s)'",
        "set logscale x", "set logscale y", "set grid", "set xlabel 'connected clients N'",
        "set key top left",
        "set ylabel 'p99 delivery latency (ms)'",
        "plot " + ", ".join(plots_lat),
        "set ylabel 'server CPU µs per delivery'",
        "plot " + ", ".join(plots_cpu),
        "unset multiplot",
    ])
    gp = os.path.join(run_dir, "plot.gp")
    with open(gp, "w") as f:
        f.write(script + "\n")
    return subprocess.run(["gnuplot", gp]).returncode == 0


BEGIN, END = "<!-- bench.sh:begin -->", "<!-- bench.sh:end -->"


def demote_headings(lines):
    """The section lives under the file's own '# Benchmarks': '## X' becomes '### X', except
    the section title itself (the first line)."""
    for i in range(1, len(lines)):
        if lines[i].startswith("## ") or lines[i].startswith("### "):
            lines[i] = "#" + lines[i]
    return lines


def write_section(path, lines):
    """Replaces the bench.sh section of the file (between the markers), or appends it; the
    rest of the file (e.g. the channel bus figures) is kept as it is."""
    section = BEGIN + "\n" + "\n".join(lines).rstrip() + "\n" + END + "\n"
    text = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + section + rest.split(END, 1)[1].lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    with open(path, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--plot", required=True)
    a = ap.parse_args()
    machine = {}
    for kv in read_kv_lines(os.path.join(a.run, "machine.txt")):
        machine.update(kv)
    with open(os.path.join(a.run, "machine.txt")) as f:  # values with spaces (cpu, date)
        for line in f:
            k, _, v = line.rstrip("\n").partition("=")
            machine[k] = v
    rows = median_runs(read_kv_lines(os.path.join(a.run, "results.txt")))
    commands = list(dict.fromkeys(open(os.path.join(a.run, "commands.txt")).read().rstrip().splitlines()))
    plotted = plot(rows, os.path.abspath(a.plot), a.run)

    out = ["## Push delivery: pusher vs Node `ws` vs the kernel floor", "",
           "Generated by `scripts/bench.sh` (" + machine.get("args", "") + ") from "
           f"`{os.path.relpath(a.run)}`; everything between the bench.sh markers is rewritten by it. "
           "Re-run: `make bench` or `scripts/bench.sh [--quick] [--big] [--repeat 3]`.", ""]
    out += machine_section(machine)
    out += ["## How to run", "", "```sh",
            "make bench-tools            # build/release/bench/{loadgen,kernel_floor} (-O2 -Wall -Wextra -Werror)",
            "make bench-selftest         # injected faults must show up as exact lost/dup/misdelivered counts",
            "scripts/bench.sh            # the matrix below for pusher, node and floor (about 10 min)",
            "scripts/bench.sh --quick    # N=1k rows only",
            "scripts/bench.sh --big      # + 100k idle connections on pusher with 8 ws workers",
            "scripts/bench.sh --targets 'node floor' --rows 'bcast-.*'   # a subset",
            "# pusher is started by pluggable snippets (see the header of scripts/bench.sh):",
            "PUSHER_START_CMD='...' PUSHER_STOP_CMD='...' PUSHER_MASTER_CMD='...' scripts/bench.sh",
            "# one row by hand, against any server on 4236/4237:",
            "build/release/bench/loadgen --mode broadcast --n 1000 --payload 64 --msgs 2000 --server-pidfile pusher.pid",
            "```", "",
            "Installs (idempotent, `scripts/bench_deps.sh`): Debian `wrk gnuplot-nox python3 nodejs npm`, "
            "and `ws` (pinned in tests/bench/package.json) under tests/bench/node_modules.", ""]
    out += ["## Method", "",
            "- `build/release/bench/loadgen` (tests/bench/loadgen.cpp) forks client processes (≤15k connections "
            "each, source addresses 127.0.0.2, .3, …), speaks RFC 6455 itself and publishes over HTTP "
            "keep-alive. Each message carries a sequence number and a CLOCK_MONOTONIC send time; lost, "
            "duplicated and misdelivered messages are counted per connection and must be 0.",
            "- **broadcast**: closed loop with a window: at most W messages in flight (W keep-alive "
            "publishers, `--window`, W in `args` above), the next publish once every client has an earlier "
            "one. With W > 1 several events can reach a worker in one loop turn, which a server may "
            "batch into one write per connection; the floor never batches. `bcast-1k-64-w1` is the "
            "strict closed loop (W = 1: one message at a time, nothing to batch). "
            "**latency**: open loop at a fixed rate, timestamps are the intended send times (no coordinated "
            "omission). **targeted**: 4 keep-alive publishers, each message to one client by the "
            "`workerID/connectionID` of its welcome frame. **idle**: connect N, hold, (RSS after − RSS before)/N.",
            "- Server CPU = utime+stime from /proc/<pid>/stat of every server process (pusher: the master "
            "and all descendants) over the publish phase only. Loopback TCP receive work runs in the sender's "
            "context, so it is part of every server's cost, the floor's included.",
            "- The machine has 2 cores shared by the server and the load generator, so deliveries/s is bounded "
            "by both; deliveries per server CPU-second is the comparable figure.",
            "- floor = tests/bench/kernel_floor.cpp: encode once, one write() per client, no batching. "
            "It also answers the targeted and wrk rows (one read() and one write() per request, one "
            "write() per targeted delivery), as the single-process reference for those rows.",
            "- Latency is per delivery, from the publisher's send time (latency mode: the intended send "
            "time) to the moment a client process parsed the frame. One client process reads up to 15k "
            "sockets in turn, so at N=10k the load generator's own fan-in (one read() per delivery, a few "
            "µs each here) is part of every server's figure alike.",
            "- With `--repeat K` each row ran K times and the table shows the run with the median cost. "
            "`load1` and `other CPU s` (machine busy time minus server and client) show how much other "
            "work shared the machine during the row; wall-clock figures (deliveries/s, latency) suffer "
            "from it first.", ""]
    out += side_by_side(rows)
    out += ["## Per target", ""]
    for t in TARGETS:
        if any(r.get("target") == t for r in rows):
            out += target_table(t, rows)
    out += wrk_section(rows)
    if plotted:
        out += ["## Plot", "", f"![latency and cost against N]({os.path.basename(a.plot)})", ""]
    out += ["## Exact commands", "", "```"] + commands + ["```", ""]
    write_section(a.out, demote_headings(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
