#!/usr/bin/python3
"""Where a ws worker's hand-over time goes, from a trace of scripts/bench_handover.sh
(PERF_TRACE=NAME: `perf record -a` of sched_switch / sched_wakeup / sched_process_fork,
epoll_wait returns, sendmsg and recvmsg).

    scripts/handover_trace.py RUN_DIR [NAME]     (NAME: the traced window, default reload1)

For each ws slot whose old worker O (status before the window) and new worker N (status after
it) are both in the trace, the times from the master's fork of N:
  hello      N's first sendmsg (its Hello on the hand-over link, once its bus link is up)
  o_answer   O's first sendmsg after the Hello (the first batch of connections: O froze)
  o_sent     O's last sendmsg (the last batch, "end of connections", Done)
  n_recv     N's last recvmsg in the trace (the last message it read from O)
  live       N's log line ("live after X ms", from the fork's start of its loop; log time)
and, between the Hello and O's answer (or the end of the trace), O's time on the CPU, its time
runnable but waiting for a CPU (switched out while running, or woken and not yet run), and
its longest loop turn (between two epoll_wait returns). The machine has 2 cores: every process
that wants one competes.
"""
import json
import os
import re
import subprocess
import sys

run_dir = sys.argv[1]
name = sys.argv[2] if len(sys.argv) > 2 else "reload1"
data = os.path.join(run_dir, "perf-%s.data" % name)


def ws_pids(path):
    with open(path) as f:
        st = json.load(f)
    return st["master_pid"], {w["worker_id"]: w["pid"] for w in st["workers"] if w["name"] == "pusher"}


master, old = ws_pids(os.path.join(run_dir, "status-before.json"))
prev_name = None
# The window before NAME gives the old pids (status-before for reload1, status-reloadK-1, ...).
m = re.match(r"reload(\d+)$", name)
if m and int(m.group(1)) > 1:
    prev_name = "status-reload%d.json" % (int(m.group(1)) - 1)
elif name == "upgrade":
    cands = sorted(f for f in os.listdir(run_dir) if re.match(r"status-reload\d+\.json$", f))
    prev_name = cands[-1] if cands else None
if prev_name:
    master, old = ws_pids(os.path.join(run_dir, prev_name))
_, new = ws_pids(os.path.join(run_dir, "status-%s.json" % name))
live_ms = {}
with open(os.path.join(run_dir, "pusher.log"), errors="replace") as f:
    for line in f:
        mm = re.search(r"pid:(\d+) hand-over: (\d+) connections adopted, live after (\d+) ms", line)
        if mm:
            live_ms[int(mm.group(1))] = (int(mm.group(3)), int(mm.group(2)))
        mm = re.search(r"pid:(\d+) hand-over incomplete \(([^)]*)\)", line)
        if mm:
            live_ms[int(mm.group(1))] = ("incomplete: " + mm.group(2), 0)

pids = set(old.values()) | set(new.values()) | {master}
out = subprocess.run(["perf", "script", "-i", data, "-F", "pid,time,event,trace"],
                     capture_output=True, text=True).stdout
ev = re.compile(r"^\s*(\d+)\s+([\d.]+):\s+(\S+):\s*(.*)$")
forks = {}                       # child pid -> time
send = {p: [] for p in pids}     # sendmsg times
recv = {p: [] for p in pids}     # recvmsg returns (>= 0)
turns = {p: [] for p in pids}    # epoll_wait returns
on_cpu = {p: [] for p in pids}   # (in, out, preempted)
runnable_since = {}
waits = {p: [] for p in pids}    # (from, to): runnable, not running
cur_in = {}
t_first = t_last = None
for line in out.splitlines():
    mm = ev.match(line)
    if not mm:
        continue
    pid, t, e, rest = int(mm.group(1)), float(mm.group(2)), mm.group(3), mm.group(4)
    t_first = t if t_first is None else t_first
    t_last = t
    if e == "sched:sched_process_fork":
        c = re.search(r"child_pid=(\d+)", rest)
        if pid == master and c:
            forks[int(c.group(1))] = t
    elif e == "sched:sched_switch":
        pp = int(re.search(r"prev_pid=(\d+)", rest).group(1))
        np_ = int(re.search(r"next_pid=(\d+)", rest).group(1))
        state = re.search(r"prev_state=(\S+)", rest).group(1)
        if pp in pids and pp in cur_in:
            on_cpu[pp].append((cur_in.pop(pp), t))
            if state.startswith("R"):
                runnable_since[pp] = t
        if np_ in pids:
            cur_in[np_] = t
            if np_ in runnable_since:
                waits[np_].append((runnable_since.pop(np_), t))
    elif e == "sched:sched_wakeup":
        w = int(re.search(r" pid=(\d+)", " " + rest).group(1))
        if w in pids:
            runnable_since.setdefault(w, t)
    elif pid in pids:
        if e == "syscalls:sys_enter_sendmsg":
            send[pid].append(t)
        elif e == "syscalls:sys_exit_recvmsg":
            if not rest.strip().startswith("0xffff"):
                recv[pid].append(t)
        elif e == "syscalls:sys_exit_epoll_wait":
            turns[pid].append(t)


def overlap(spans, a, b):
    return sum(max(0.0, min(y, b) - max(x, a)) for x, y in spans)


def ms(x):
    return "%.0f" % (x * 1000) if x is not None else "-"


print("trace %s: %.1f s from %.3f; master %d" % (name, (t_last or 0) - (t_first or 0), t_first or 0, master))
print("phases of each slot's hand-over, from the master's fork of N (ms):")
print("  start: fork -> N's Hello (N's start, its bus link up and synced)")
print("  answer: Hello -> O's first batch (O reads the Hello in its next loop turn, freezes, exports)")
print("  adopt: -> N's last acknowledgement (batches sent, sockets adopted)")
print("  cut: -> O's last send (O forwards bus events to N until it sees N's marker; N publishes it")
print("       after a bus sync once its loop gets to it), Done")
print("  for each phase, the CPU time, runnable-but-waiting time and longest loop turn of the process")
print("  the phase waits on (answer: O; adopt and cut: N)")


def turn_max(p, a, b):
    ts = [t for t in turns[p] if a - 10 <= t <= b]
    longest = max((y - x for x, y in zip(ts, ts[1:]) if y >= a), default=0.0)
    if ts and b - ts[-1] > longest:
        longest = b - ts[-1]
    if not ts:
        longest = b - a
    return longest


def phase(p, a, b):
    if a is None or b is None:
        return "-"
    return "%s (cpu %s, waiting %s, turn %s)" % (ms(b - a), ms(overlap(on_cpu[p], a, b)),
                                                ms(overlap(waits[p], a, b)), ms(turn_max(p, a, b)))


for w in sorted(old):
    o, n = old[w], new.get(w)
    if n not in forks:
        continue
    t0 = forks[n]
    hello = next((t for t in send[n] if t >= t0), None)
    o_ans = next((t for t in send[o] if t >= hello), None) if hello else None
    acks = [t for t in send[n] if o_ans and t > o_ans]
    last_ack = acks[-1] if acks else None
    o_last = max((t for t in send[o] if hello and t >= hello), default=None) if hello else None
    lv = live_ms.get(n, ("-", 0))
    end = o_ans or t_last
    print("slot %d: O %d -> N %d, %d adopted, log: live after %s ms" % (w, o, n, lv[1], lv[0]))
    print("   start %s | answer %s | adopt %s | cut %s | total %s"
          % (ms(hello - t0) if hello else "-", phase(o, hello, o_ans if o_ans else t_last),
             phase(n, o_ans, last_ack), phase(n, last_ack, o_last),
             ms(o_last - t0) if o_last else "-"))
    if hello and not o_ans:  # N gives up 1 s after its Hello: what O did in that second
        before = max((t for t in turns[o] if t <= hello), default=None)
        after = next((t for t in turns[o] if t > hello), None)
        print("   no answer: in the 1 s after the Hello O ran %s ms and waited %s ms for a CPU, inside "
              "a loop turn that began %s and %s"
              % (ms(overlap(on_cpu[o], hello, hello + 1)), ms(overlap(waits[o], hello, hello + 1)),
                 (ms(hello - before) + " ms before the Hello") if before else "before the trace started",
                 ("ended %s ms after it" % ms(after - hello)) if after else "had not ended when the trace did"))
