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
# Preferred order of every target a run may hold (issue #12 and #13 targets after the three);
# targets not listed follow in the order they first appear.
ORDER = TARGETS + ["pusher-redis", "pusher-redis2", "pusher-redis3",
                   "pusher-wss", "node-wss", "floor-wss", "pusher-deflate", "node-deflate", "floor-deflate",
                   "pusher-wss-deflate", "node-wss-deflate"]


def targets_in(rows):
    seen = []
    for r in rows:
        t = r.get("target")
        if t and t not in seen:
            seen.append(t)
    return sorted(seen, key=lambda t: (ORDER.index(t) if t in ORDER else len(ORDER), seen.index(t)))


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


def wire_b(kv):
    return num(kv, "rx_b_per_delivery")


def ms(kv, key):
    v = num(kv, key)
    return v / 1000.0 if v is not None else None


def cost_key(kv):
    """What 'median' means for a row: cost for pushes and API churn, memory for idle (with a
    user and groups when the row binds them), rate for wrk."""
    for key in ("deliveries_per_cpu_s", "cpu_ms_per_1k_ops", "rss_ident_per_conn_b",
                "rss_per_conn_b", "requests_per_s"):
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
    for k in ["nproc", "cpu", "kernel", "date", "commit", "node", "ws", "wrk", "openssl", "zlib",
              "tls_key", "nofile", "pusher_ws_workers", "args"]:
        out.append(f"| {k} | {m.get(k, '-')} |")
    return out + [""]


def target_table(target, rows):
    out = [f"### {target}", "",
           "| row | mode | N | payload B | msgs | deliveries/s | deliveries per server CPU-s | "
           "server CPU µs/delivery | client CPU µs/delivery | other CPU s | load1 | p50 ms | p99 ms | "
           "p99.9 ms | lost | dup | misdelivered | connect/s | server RSS (PSS) B/conn | wire B/delivery |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if (r.get("target") != target or r.get("row") == "wrk" or "requests_per_s" in r
                or r.get("mode") == "churn"):
            continue
        if "error" in r:
            out.append(f"| {r['row']} | error: {r['error']} |" + " |" * 18)
            continue
        if r.get("mode") == "idle":
            out.append(f"| {r['row']} | idle | {r.get('connected')}/{r.get('n')} | - | - | - | - | - | - | - "
                       f"| {r.get('load1', '-')} | - | - | - | - | - | - | {fmt(num(r, 'connect_rate'))} "
                       f"| {fmt(num(r, 'rss_per_conn_b'))} ({fmt(num(r, 'pss_per_conn_b'))}) | - |")
            continue
        out.append(
            f"| {r['row']} | {r.get('mode')} | {r.get('connected')} | {r.get('payload')} | {r.get('published')} "
            f"| {fmt(num(r, 'deliveries_per_s'))} | {fmt(num(r, 'deliveries_per_cpu_s'))} "
            f"| {fmt(cpu_us_per_delivery(r), 2)} | {fmt(client_us_per_delivery(r), 2)} "
            f"| {r.get('other_cpu_s', '-')} | {r.get('load1', '-')} "
            f"| {fmt(ms(r, 'p50_us'), 2)} | {fmt(ms(r, 'p99_us'), 2)} "
            f"| {fmt(ms(r, 'p999_us'), 2)} | {r.get('lost')} | {r.get('dup')} | {r.get('misdelivered')} "
            f"| {fmt(num(r, 'connect_rate'))} | - | {fmt(wire_b(r), 1)} |")
    return out + [""]


def issue13_sections(rows):
    """wss and permessage-deflate (issue #13): the rows of the -wss / -deflate targets next to
    their plain counterparts of the same run."""
    by = {(r.get("row"), r.get("target")): r for r in rows if "error" not in r}
    present = targets_in(rows)
    out = []
    wss = [t for t in ["pusher", "pusher-wss", "node", "node-wss", "floor", "floor-wss"] if t in present]
    if any(t.endswith("-wss") for t in wss):
        names = [n for n in dict.fromkeys(r.get("row") for r in rows)
                 if any((n, t) in by and by[(n, t)].get("mode") in ("broadcast", "latency")
                        for t in wss if t.endswith("-wss"))]
        out += ["## Issue #13: wss:// against ws://", "",
                "Same rows, same run; the -wss targets speak TLS to loadgen (`--tls 1`: OpenSSL "
                "client, certificate not verified), the HTTP publish side is plain for all.", "",
                "| row | target | TLS | deliveries/s | per server CPU-s | server µs/delivery | p50 ms | "
                "p99 ms | p99.9 ms | wire B/delivery | lost | dup |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for n in names:
            for t in wss:
                r = by.get((n, t))
                if r is None:
                    continue
                out.append(f"| {n} | {t} | {r.get('tls_proto', '-') if r.get('tls') == '1' else '-'} "
                           f"| {fmt(num(r, 'deliveries_per_s'))} | {fmt(num(r, 'deliveries_per_cpu_s'))} "
                           f"| {fmt(cpu_us_per_delivery(r), 2)} | {fmt(ms(r, 'p50_us'), 2)} "
                           f"| {fmt(ms(r, 'p99_us'), 2)} | {fmt(ms(r, 'p999_us'), 2)} | {fmt(wire_b(r), 1)} "
                           f"| {r.get('lost')} | {r.get('dup')} |")
        out += ["", "Ratios of deliveries per server CPU-second (higher is better for the first):", "",
                "| row | pusher-wss / pusher (TLS cost) | node-wss / node | floor-wss / floor | pusher-wss / node-wss "
                "| pusher-wss / floor-wss |",
                "|---|---|---|---|---|---|"]
        for n in names:
            c = {t: num(by[(n, t)], "deliveries_per_cpu_s") if (n, t) in by else None for t in wss}
            out.append(f"| {n} | {ratio(c.get('pusher-wss'), c.get('pusher'))} "
                       f"| {ratio(c.get('node-wss'), c.get('node'))} "
                       f"| {ratio(c.get('floor-wss'), c.get('floor'))} "
                       f"| {ratio(c.get('pusher-wss'), c.get('node-wss'))} "
                       f"| {ratio(c.get('pusher-wss'), c.get('floor-wss'))} |")
        out.append("")
    dfl = [t for t in ["pusher", "pusher-deflate", "node", "node-deflate", "floor", "floor-deflate"]
           if t in present]
    if any(t.endswith("-deflate") for t in dfl):
        names = [n for n in dict.fromkeys(r.get("row") for r in rows)
                 if any((n, t) in by and by[(n, t)].get("mode") == "broadcast"
                        for t in dfl if t.endswith("-deflate"))]
        out += ["## Issue #13: permessage-deflate", "",
                "The -deflate targets' clients offer `permessage-deflate; client_max_window_bits`; "
                "the others offer nothing (uncompressed, the same server). Wire B/delivery = bytes "
                "the client sockets read after the connect phase / deliveries.", "",
                "| row | target | negotiated (no context takeover) | compressed | deliveries/s "
                "| per server CPU-s | server µs/delivery | wire B/delivery | p50 ms | p99 ms | lost | dup |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for n in names:
            for t in dfl:
                r = by.get((n, t))
                if r is None:
                    continue
                d = num(r, "delivered") or 0
                comp = f"{100.0 * (num(r, 'compressed') or 0) / d:.0f}%" if d else "-"
                neg = (f"{r.get('deflate_conns', '0')} ({r.get('deflate_no_ctx_conns', '0')})"
                       if r.get("deflate_offered") == "1" else "not offered")
                out.append(f"| {n} | {t} | {neg} | {comp} | {fmt(num(r, 'deliveries_per_s'))} "
                           f"| {fmt(num(r, 'deliveries_per_cpu_s'))} | {fmt(cpu_us_per_delivery(r), 2)} "
                           f"| {fmt(wire_b(r), 1)} | {fmt(ms(r, 'p50_us'), 2)} | {fmt(ms(r, 'p99_us'), 2)} "
                           f"| {r.get('lost')} | {r.get('dup')} |")
        out += ["", "Compressed against uncompressed, per server: CPU per delivery (lower is better) "
                "and bytes per delivery saved. Issue #13's target for pusher: at most 1.3x the CPU "
                "for at least 3x fewer bytes.", "",
                "| row | server | CPU compressed / uncompressed | bytes uncompressed / compressed | target |",
                "|---|---|---|---|---|"]
        for n in names:
            for base in ["pusher", "node", "floor"]:
                a, b = by.get((n, base)), by.get((n, base + "-deflate"))
                if a is None or b is None:
                    continue
                cu, cc = cpu_us_per_delivery(a), cpu_us_per_delivery(b)
                wu, wc = wire_b(a), wire_b(b)
                cr = cc / cu if cu and cc else None
                br = wu / wc if wu and wc else None
                verdict = "-"
                if base == "pusher" and cr is not None and br is not None:
                    verdict = "met" if cr <= 1.3 and br >= 3 else "**missed**"
                out.append(f"| {n} | {base} | {fmt(cr, 2)}x | {fmt(br, 2)}x | {verdict} |")
        pn = [(n, by.get((n, "pusher-deflate")), by.get((n, "node-deflate"))) for n in names]
        pn = [(n, p, q) for n, p, q in pn if p and q]
        if pn:
            out += ["", "| row | pusher-deflate / node-deflate, deliveries per server CPU-s |", "|---|---|"]
            for n, p, q in pn:
                out.append(f"| {n} | {ratio(num(p, 'deliveries_per_cpu_s'), num(q, 'deliveries_per_cpu_s'))} |")
        out.append("")
    idle = [r for r in rows if "error" not in r and r.get("mode") == "idle"]
    if idle and any(t.endswith("-wss") or t.endswith("-deflate") for t in present):
        out += ["## Issue #13: idle memory per connection", "",
                "| row | target | connected | TLS | deflate negotiated | server RSS B/conn | PSS B/conn |",
                "|---|---|---|---|---|---|---|"]
        for t in present:
            for r in idle:
                if r.get("target") != t:
                    continue
                out.append(f"| {r.get('row')} | {t} | {r.get('connected')}/{r.get('n')} "
                           f"| {r.get('tls_proto', '-') if r.get('tls') == '1' else '-'} "
                           f"| {r.get('deflate_conns', '0') if r.get('deflate_offered') == '1' else '-'} "
                           f"| {fmt(num(r, 'rss_per_conn_b'))} | {fmt(num(r, 'pss_per_conn_b'))} |")
        out.append("")
    return out


def side_by_side(rows):
    by = {(r.get("row"), r.get("target")): r for r in rows if "error" not in r}
    names = []
    for r in rows:
        if (r.get("row") not in names and r.get("row") != "wrk" and "requests_per_s" not in r
                and r.get("mode") != "churn"):
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


def issue14_section(rows):
    """Users and groups: group push next to the broadcast, API churn, memory with identities."""
    ok = [r for r in rows if "error" not in r]
    group = [r for r in ok if r.get("mode") == "group"]
    churn = [r for r in ok if r.get("mode") == "churn"]
    ident = [r for r in ok if r.get("mode") == "idle" and r.get("identity") == "1"]
    if not (group or churn or ident):
        return []
    out = ["## Issue #14: users and groups", ""]
    if group:
        out += ["Group push against the broadcast to 1k of the same target (deliveries per server "
                "CPU-s; misdelivered: pushes that reached a client outside the group).", "",
                "| row | target | members (per worker) | deliveries/s | per server CPU-s | "
                "bcast-1k-64 per CPU-s | group/bcast | p50 ms | p99 ms | lost | dup | misdelivered |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in group:
            b = next((x for x in ok if x.get("row") == "bcast-1k-64" and x.get("target") == r.get("target")), None)
            c, cb = num(r, "deliveries_per_cpu_s"), num(b, "deliveries_per_cpu_s") if b else None
            out.append(f"| {r['row']} | {r['target']} | {r.get('group_members')} ({r.get('member_workers')}) "
                       f"| {fmt(num(r, 'deliveries_per_s'))} | {fmt(c)} | {fmt(cb)} | {ratio(c, cb)} "
                       f"| {fmt(ms(r, 'p50_us'), 2)} | {fmt(ms(r, 'p99_us'), 2)} | {r.get('lost')} "
                       f"| {r.get('dup')} | {r.get('misdelivered')} |")
        out.append("")
    if churn:
        out += ["API churn: join_group / bind_uid / leave_group / unbind_uid on fresh names (each one "
                "bus subscribe or unsubscribe); the bus share is the channel service's or the "
                "redis-servers' part of the server CPU.", "",
                "| row | target | operations/s | server CPU ms per 1k | bus share | API p50 ms | "
                "API p99 ms | errors | CPU per process (s) |",
                "|---|---|---|---|---|---|---|---|---|"]
        for r in churn:
            err = sum(int(num(r, k, 0)) for k in ("errors", "not_ok", "unanswered"))
            out.append(f"| {r['row']} | {r['target']} | {fmt(num(r, 'ops_per_s'))} "
                       f"| {fmt(num(r, 'cpu_ms_per_1k_ops'), 1)} | {fmt(num(r, 'bus_cpu_share'), 2)} "
                       f"| {fmt(ms(r, 'api_p50_us'), 2)} | {fmt(ms(r, 'api_p99_us'), 2)} | {err} "
                       f"| {r.get('cpu_by_proc', '-').replace(',', ', ')} |")
        out.append("")
    if ident:
        out += ["Server RSS per connection: anonymous, then the same clients each bound to a user "
                "and 2 groups (JSON welcomes in both).", "",
                "| row | target | anonymous B/conn | with user + 2 groups B/conn | extra B/conn | "
                "RSS growth per process (KiB) | API errors |",
                "|---|---|---|---|---|---|---|"]
        for r in ident:
            out.append(f"| {r['row']} | {r['target']} | {fmt(num(r, 'rss_per_conn_b'))} "
                       f"| {fmt(num(r, 'rss_ident_per_conn_b'))} | {fmt(num(r, 'ident_extra_per_conn_b'))} "
                       f"| {r.get('ident_rss_delta_kb_by_proc', '-').replace(',', ', ')} "
                       f"| {r.get('ident_errors')} |")
        out.append("")
    return out


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
            "# issue #13: wss:// and permessage-deflate next to plain ws:// (the certificate is made in the run dir)",
            "scripts/bench.sh --targets 'pusher pusher-wss node node-wss' --no-wrk --rows 'bcast-1k-(64|1k)|bcast-10k-(64|1k)|latency-10k|idle-10k'",
            "scripts/bench.sh --targets 'pusher pusher-deflate node node-deflate floor floor-deflate' --no-wrk --rows 'deflate-1k-4k|idle-10k'",
            "PROFILE_ROWS='bcast-1k-1k' scripts/bench.sh --targets pusher-wss --rows bcast-1k-1k --no-report   # + perf of the servers",
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
    out += issue13_sections(rows)
    out += issue14_section(rows)
    out += ["## Per target", ""]
    for t in targets_in(rows):
        out += target_table(t, rows)
    out += wrk_section(rows)
    if plotted:
        out += ["## Plot", "", f"![latency and cost against N]({os.path.basename(a.plot)})", ""]
    out += ["## Exact commands", "", "```"] + commands + ["```", ""]
    write_section(a.out, demote_headings(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
