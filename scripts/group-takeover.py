#!/usr/bin/env python3
"""Measures how long a consumer group takes to hand the partitions of a killed member to the
survivors, with the consumer group protocol (KIP-848, group.protocol=consumer) against the
classic protocol (cooperative-sticky), in the same run.

For each protocol and run it creates a fresh topic of P partitions and a fresh group, starts M
member processes (this script in its hidden --member mode, each one confluent_kafka.Consumer),
waits until their assignments cover the P partitions disjointly with every member owning some,
SIGKILLs one member (it does not leave the group) and times T, from the kill until the
survivors' assignments cover the P partitions again. Members report every change of their
assignment with a CLOCK_MONOTONIC timestamp (system-wide on Linux), so T is not skewed by the
reports' delivery. It prints T, T minus the session timeout (the hand-over work beyond failure
detection) and how many survivors had their assignment disturbed, per run, with the medians.

The classic members set session.timeout.ms to --session-timeout-ms; consumer-protocol members
set no session, heartbeat or assignor settings: the broker's group.consumer.session.timeout.ms
governs. With --broker-bin the script starts its own standalone broker with
--group-consumer-session-timeout-ms set to --session-timeout-ms; with --bootstrap the broker
must have been started with that value, or the figures beyond the session timeout are wrong.

Needs confluent-kafka (tests/run-all.sh installs it in target/python-venv).

Usage: scripts/group-takeover.py (--bootstrap HOST:PORT | --broker-bin PATH) [--members 10]
       [--partitions 30] [--runs 3] [--protocol both|classic|consumer]
       [--session-timeout-ms 6000] [--json] [--remote-assignor uniform|range] [--keep]
Exit status: 0 when every run recovered, 1 when one did not, 2 on bad flags or no broker.
"""

import argparse
import importlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

PROTOCOLS = ("classic", "consumer")
CONSUMER_HEARTBEAT_MS = 500  # what --broker-bin gives its broker


def now():
    """Seconds on CLOCK_MONOTONIC, one clock for every process of the machine."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def log(msg):
    print(f"[group-takeover] {msg}", file=sys.stderr, flush=True)


def fail_usage(msg):
    print(f"group-takeover: error: {msg}", file=sys.stderr, flush=True)
    sys.exit(2)


def import_kafka():
    try:
        importlib.import_module("confluent_kafka")
    except ImportError:
        fail_usage(f"confluent-kafka is not installed for {sys.executable} "
                   "(try /tmp/devvenv/bin/python or target/python-venv/bin/python)")


def classic_heartbeat_ms(args):
    return max(100, args.session_timeout_ms // 10)


# ---- Member mode: one consumer that reports its assignment on every change, a JSON line each.

def member_conf(args, emit):
    conf = {"bootstrap.servers": args.bootstrap, "group.id": args.group,
            "enable.auto.commit": False, "auto.offset.reset": "earliest",
            "client.id": f"takeover-m{args.member_index}",
            "error_cb": lambda err: emit("error", error=str(err), name=err.name(),
                                         fatal=err.fatal())}
    if args.protocol == "classic":
        conf.update({"group.protocol": "classic", "session.timeout.ms": args.session_timeout_ms,
                     "heartbeat.interval.ms": classic_heartbeat_ms(args),
                     "partition.assignment.strategy": "cooperative-sticky"})
    else:
        conf["group.protocol"] = "consumer"
        if args.remote_assignor:
            conf["group.remote.assignor"] = args.remote_assignor
    return conf


def member_main(args):
    from confluent_kafka import Consumer, KafkaException

    out_lock = threading.Lock()

    def emit(kind, **fields):
        with out_lock:
            try:
                print(json.dumps({"ev": kind, "ts": now(), **fields}), flush=True)
            except (BrokenPipeError, ValueError):  # the parent is gone
                pass

    stop = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.append(True))
    c = Consumer(member_conf(args, emit))
    last = [None]

    def report(kind):
        parts = sorted(tp.partition for tp in c.assignment() if tp.topic == args.topic)
        if parts != last[0] or kind != "poll":
            last[0] = parts
            emit(kind, parts=parts)

    # Each callback applies the change itself, so the assignment is reported at once. The
    # classic members rebalance incrementally (cooperative-sticky). librdkafka up to at least
    # 2.6 gives consumer-protocol members the callbacks of their partition.assignment.strategy,
    # eager for the default range,roundrobin: a full new assignment to assign(); a later
    # librdkafka may make them incremental. The first method librdkafka accepts is kept.
    # (Setting group.remote.assignor makes them incremental in 2.6.)
    methods = (["incremental"] if args.protocol == "classic" or args.remote_assignor
               else ["eager", "incremental"])

    def apply(consumer, tps, assign, kind):
        errors = []
        for method in list(methods):
            try:
                if method == "incremental":
                    (consumer.incremental_assign if assign else consumer.incremental_unassign)(tps)
                else:
                    consumer.assign(tps) if assign else consumer.unassign()
                methods[:] = [method]
                break
            except KafkaException as e:
                errors.append(f"{method}: {e}")
        else:
            emit("error", error="; ".join(errors), name="APP", fatal=False)
        report(kind)

    c.subscribe([args.topic], on_assign=lambda co, tps: apply(co, tps, True, "assign"),
                on_revoke=lambda co, tps: apply(co, tps, False, "revoke"),
                on_lost=lambda co, tps: apply(co, tps, False, "lost"))
    try:
        while not stop:
            msg = c.poll(0.05)
            if msg is not None and msg.error() is not None:
                emit("error", error=str(msg.error()), name=msg.error().name(),
                     fatal=msg.error().fatal())
            report("poll")
    finally:
        c.close()


# ---- Parent side.

def set_pdeathsig(sig):
    """A preexec_fn that makes the child get `sig` when this process dies (Linux only)."""
    def fn():
        try:
            import ctypes
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, int(sig))  # PR_SET_PDEATHSIG
        except Exception:
            pass
    return fn


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc, grace):
    """SIGTERM, then SIGKILL if it still runs after `grace` seconds (at once if 0)."""
    if proc.poll() is None and grace:
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=30)


def quiet_admin(bootstrap):
    from confluent_kafka.admin import AdminClient
    return AdminClient({"bootstrap.servers": bootstrap, "log_level": 0,
                        "error_cb": lambda err: None})


class Broker:
    """A standalone broker this script started, in a temp dir."""

    def __init__(self, binary, session_timeout_ms):
        if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
            fail_usage(f"--broker-bin {binary}: not an executable file")
        self.dir = tempfile.mkdtemp(prefix="chronik-takeover-")
        self.port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.log_path = os.path.join(self.dir, "broker.log")
        self.log_file = open(self.log_path, "wb")
        cmd = [binary, "run", "--listen", self.bootstrap, "--data-dir", os.path.join(self.dir, "data"),
               "--fsync", "never", "--auto-create-topics", "false",
               "--group-consumer-session-timeout-ms", str(session_timeout_ms),
               "--group-consumer-heartbeat-interval-ms", str(CONSUMER_HEARTBEAT_MS)]
        log(f"starting broker: {' '.join(cmd)} (log {self.log_path})")
        try:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log_file,
                                         stderr=subprocess.STDOUT,
                                         preexec_fn=set_pdeathsig(signal.SIGTERM))
        except OSError as e:
            self.log_file.close()
            shutil.rmtree(self.dir, ignore_errors=True)
            fail_usage(f"cannot run --broker-bin {binary}: {e}")

    def wait_ready(self, timeout=120):
        deadline = time.monotonic() + timeout
        err = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                fail_usage(f"the broker exited with status {self.proc.returncode}; "
                           f"see {self.log_path}")
            try:
                md = quiet_admin(self.bootstrap).list_topics(timeout=2)
                ports = sorted(b.port for b in md.brokers.values())
                if ports == [self.port]:
                    log(f"broker pid {self.proc.pid} answers Metadata on {self.bootstrap}")
                    return
                err = f"Metadata names brokers on ports {ports}, not {self.port}"
            except Exception as e:  # KafkaException until it listens
                err = str(e)
            time.sleep(0.2)
        fail_usage(f"the broker did not answer Metadata within {timeout}s: {err}; "
                   f"see {self.log_path}")

    def stop(self):
        stop_process(self.proc, 30)
        self.log_file.close()


class Member:
    """One member process and what it has reported."""

    def __init__(self, index, argv, log_path):
        self.index = index
        self.log_path = log_path
        self.stderr = open(log_path, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self.stderr, preexec_fn=set_pdeathsig(signal.SIGKILL))
        self.lock = threading.Lock()
        self.parts = frozenset()
        self.events = []  # (ts, ev, parts)
        self.errors = []  # (ts, error event)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            try:
                e = json.loads(raw)
            except ValueError:
                continue
            with self.lock:
                if "parts" in e:
                    self.parts = frozenset(e["parts"])
                    self.events.append((e["ts"], e["ev"], self.parts))
                elif e["ev"] == "error":
                    self.errors.append((e["ts"], e))

    def snapshot(self):
        with self.lock:
            return self.parts, list(self.events), list(self.errors)

    def alive(self):
        return self.proc.poll() is None

    def stop(self, graceful=True):
        stop_process(self.proc, 20 if graceful else 0)
        self.reader.join(timeout=5)
        self.stderr.close()


def covered(assignments, partitions, need_all_owning=False):
    """Whether the sets in `assignments` are disjoint and cover range(partitions)."""
    assignments = list(assignments)
    if need_all_owning and not all(assignments):
        return False
    return (sum(map(len, assignments)) == partitions
            and set().union(*assignments) == set(range(partitions)))


def broker_detection(log_path, group, wall_kill):
    """Seconds from the kill to the broker's log line removing a member of `group` for its
    session (the consumer-protocol coordinator logs one; the classic one does not), or None."""
    from datetime import datetime
    try:
        with open(log_path, errors="replace") as f:
            for line in f:
                if f"group={group} " not in line or "member removed" not in line:
                    continue
                try:
                    stamp = datetime.fromisoformat(line.split()[0].replace("Z", "+00:00"))
                except ValueError:
                    continue
                if stamp.timestamp() >= wall_kill - 1:
                    return stamp.timestamp() - wall_kill
    except OSError:
        pass
    return None


def client_warnings(members, wall_from, wall_to):
    """librdkafka's own warnings and errors (fenced members, failed heartbeats...) logged by
    `members` between two wall-clock times: {"FAC: message": [member indexes]}."""
    warnings = {}
    for m in members:
        try:
            with open(m.log_path, errors="replace") as f:
                for line in f:
                    # %LEVEL|SECONDS|FAC|NAME| MESSAGE, levels 0 (emerg) to 4 (warning)
                    parts = line.split("|", 4)
                    if len(parts) < 5 or parts[0] not in ("%0", "%1", "%2", "%3", "%4"):
                        continue
                    try:
                        ts = float(parts[1])
                    except ValueError:
                        continue
                    if wall_from <= ts <= wall_to:
                        key = f"{parts[2]}: {parts[4].split(': ', 1)[-1].strip()[:160]}"
                        warnings.setdefault(key, set()).add(m.index)
        except OSError:
            pass
    return {k: sorted(v) for k, v in warnings.items()}


def create_topic(bootstrap, topic, partitions):
    from confluent_kafka.admin import NewTopic
    admin = quiet_admin(bootstrap)
    admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])[
        topic].result(timeout=60)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        t = admin.list_topics(topic=topic, timeout=5).topics.get(topic)
        if t is not None and t.error is None and len(t.partitions) == partitions and all(
                p.leader >= 0 and p.error is None for p in t.partitions.values()):
            return
        time.sleep(0.1)
    raise RuntimeError(f"topic {topic} has no leaders for all {partitions} partitions after 60s")


def delete_topics(bootstrap, topics):
    if topics:
        admin = quiet_admin(bootstrap)  # held: a destroyed client fails its futures
        for topic, f in admin.delete_topics(list(topics), operation_timeout=30).items():
            try:
                f.result(timeout=30)
            except Exception as e:
                log(f"could not delete topic {topic}: {e}")


def start_members(args, protocol, tag, topic, group, work_dir, members_out):
    for i in range(args.members):
        argv = [sys.executable, os.path.abspath(__file__), "--member", "--bootstrap", args.bootstrap,
                "--topic", topic, "--group", group, "--protocol", protocol,
                "--session-timeout-ms", str(args.session_timeout_ms), "--member-index", str(i)]
        if args.remote_assignor and protocol == "consumer":
            argv += ["--remote-assignor", args.remote_assignor]
        members_out.append(Member(i, argv, os.path.join(work_dir, f"{tag}-member{i}.log")))
    return list(members_out)


def wait_stable(args, members, logs_hint):
    """Waits for full disjoint coverage, every member owning something, nothing changing for
    --quiet seconds; returns ({member index: parts}, [error events], when it last changed)."""
    deadline = now() + args.stable_timeout
    while True:
        snaps = [m.snapshot() for m in members]
        dead = [m.index for m in members if not m.alive()]
        if dead:
            raise RuntimeError(f"member(s) {dead} exited before the group was stable; see {logs_hint}")
        last_change = max((ev[-1][0] for _, ev, _ in snaps if ev), default=now())
        if covered([p for p, _, _ in snaps], args.partitions, need_all_owning=True) \
                and now() - last_change >= args.quiet:
            parts = {m.index: p for m, (p, _, _) in zip(members, snaps)}
            return parts, [e for _, _, errs in snaps for _, e in errs], last_change
        if now() > deadline:
            owned = {m.index: sorted(p) for m, (p, _, _) in zip(members, snaps)}
            raise RuntimeError(f"group not stable after {args.stable_timeout}s: {owned}")
        time.sleep(0.05)


def wait_recovery(args, survivors, t_kill, notes):
    """Waits until the survivors cover every partition, then --settle seconds more to catch
    further churn (or until the deadline); returns {member index: snapshot}."""
    deadline = t_kill + args.session_timeout_ms / 1000 + args.recovery_timeout
    seen_at = None
    while True:
        snaps = {m.index: m.snapshot() for m in survivors}
        if seen_at is None and covered([s[0] for s in snaps.values()], args.partitions):
            seen_at = now()
        if (seen_at is not None and now() - seen_at >= args.settle) or now() > deadline:
            return snaps
        dead = [str(m.index) for m in survivors if not m.alive()]
        if dead:
            notes.append("a survivor exited: " + ",".join(dead))
            return snaps
        time.sleep(0.05)


def disruption(snaps, before, t_kill):
    """How the kill disturbed the survivors: who changed at all, who gave up any partition
    (even one given back later), how many partitions moved between survivors."""
    changed = revoked = assigns = revokes = 0
    for idx, (_, evs, _) in snaps.items():
        prev, gave_up = before[idx], False
        after_kill = [e for e in evs if e[0] > t_kill]
        changed += any(parts != before[idx] for _, _, parts in after_kill)
        for _, ev, parts in after_kill:
            gave_up |= bool(prev - parts)
            assigns += ev == "assign"
            revokes += ev in ("revoke", "lost")
            prev = parts
        revoked += gave_up
    moved = sum(len(before[idx] - s[0]) for idx, s in snaps.items())
    return {"survivors_changed": changed, "survivors_revoked": revoked,
            "survivor_partitions_moved": moved, "assign_callbacks": assigns,
            "revoke_callbacks": revokes}


def measure_takeover(args, result, before, victim, snaps, t_kill):
    """Replays the survivors' reports in timestamp order from the kill: T is the first moment
    at which they cover every partition."""
    timeline = sorted((ts, idx, parts) for idx, (_, evs, _) in snaps.items()
                      for ts, _, parts in evs if ts > t_kill)
    state = {idx: p for idx, p in before.items() if idx != victim.index}
    recovered_at = None
    for ts, idx, parts in timeline:
        state[idx] = parts
        if covered(state.values(), args.partitions):
            recovered_at = ts
            break
    final = {idx: s[0] for idx, s in snaps.items()}
    if recovered_at is not None:
        t = recovered_at - t_kill
        result.update(recovered=True, takeover_s=round(t, 3),
                      beyond_session_s=round(t - args.session_timeout_ms / 1000, 3))
        if not covered(final.values(), args.partitions):
            result["notes"].append(f"coverage lost again within {args.settle}s after recovery")
    else:
        missing = sorted(set(range(args.partitions)) - set().union(*final.values()))
        result["notes"].append(f"no recovery within {round(now() - t_kill, 1)}s; "
                               f"unowned partitions {missing}")
    result["assignment_before"] = {str(k): sorted(v) for k, v in sorted(before.items())}
    result["assignment_after"] = {str(k): sorted(v) for k, v in sorted(final.items())}
    result["timeline"] = [[round(ts - t_kill, 3), idx, sorted(parts)] for ts, idx, parts in timeline]


def error_note(errors, when):
    kinds = sorted({e.get("name", "?") for e in errors})
    return f"{len(errors)} client error(s) {when} the kill: {', '.join(kinds)}"


def one_run(args, protocol, run, work_dir, members_out):
    """One kill-and-take-over measurement; returns a result dict."""
    tag = f"{protocol}-{run}-{uuid.uuid4().hex[:8]}"
    topic = group = f"takeover-{tag}"
    create_topic(args.bootstrap, topic, args.partitions)
    args.created_topics.append(topic)
    result = {"protocol": protocol, "run": run, "topic": topic, "group": group,
              "recovered": False, "notes": []}
    logs_hint = f"{work_dir}/{tag}-member*.log"
    members = start_members(args, protocol, tag, topic, group, work_dir, members_out)
    t0 = now()
    before, errors, last_change = wait_stable(args, members, logs_hint)
    result["stable_after_s"] = round(last_change - t0, 3)
    if errors:
        result["notes"].append(error_note(errors, "before"))

    # SIGKILL, so the victim sends nothing more, in particular no leave.
    victim = members[run % len(members)]
    victim.proc.send_signal(signal.SIGKILL)
    t_kill, wall_kill = now(), time.time()
    victim.proc.wait(timeout=30)
    survivors = [m for m in members if m is not victim]
    result.update(victim=victim.index, victim_partitions=len(before[victim.index]))

    snaps = wait_recovery(args, survivors, t_kill, result["notes"])
    measure_takeover(args, result, before, victim, snaps, t_kill)
    result.update(disruption(snaps, before, t_kill))
    if args.broker_log:
        detected = broker_detection(args.broker_log, group, wall_kill)
        if detected is not None:
            result["broker_removed_member_s"] = round(detected, 3)
            if result.get("takeover_s") is not None:
                result["after_removal_s"] = round(result["takeover_s"] - detected, 3)
    late = [(m.index, e) for m in survivors for ts, e in m.snapshot()[2] if ts > t_kill]
    if late:
        result["notes"].append(error_note([e for _, e in late], "after"))
        result["errors"] = [{"member": i, "error": e.get("error")} for i, e in late[:20]]
    if not result["recovered"]:
        log(f"{protocol} run {run}: did not recover; members' logs: {logs_hint}")
    warnings = client_warnings(survivors, wall_kill, time.time())
    if warnings:
        result["client_warnings"] = warnings
        result["notes"].append(f"{len(warnings)} distinct librdkafka warning(s) after the kill")

    # Stop the survivors gracefully (they leave the group), all at once, so nothing of this
    # group is left rebalancing while the next run is measured.
    for m in survivors:
        if m.alive():
            m.proc.send_signal(signal.SIGTERM)
    for m in members:
        m.stop(graceful=True)
    return result


def median(values):
    return round(statistics.median(values), 3) if values else None


def fmt(v):
    return "-" if v is None else f"{v:.3f}"


def print_protocol_table(args, proto, rows, sm):
    if proto == "classic":
        print(f"classic protocol (cooperative-sticky, session.timeout.ms={args.session_timeout_ms}, "
              f"heartbeat.interval.ms={classic_heartbeat_ms(args)})")
    else:
        assignor = (f"group.remote.assignor={args.remote_assignor}" if args.remote_assignor
                    else "no client settings")
        print(f"consumer protocol (KIP-848, group.protocol=consumer, {assignor}; broker "
              f"session timeout {args.session_timeout_ms} ms)")
    head = (f"{'run':>4} {'T (s)':>8} {'T-session':>10} {'removed':>8} {'T-removed':>10} "
            f"{'victim':>7} {'changed':>8} {'revoked':>8} {'moved':>6}  notes")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['run']:>4} {fmt(r.get('takeover_s')):>8} {fmt(r.get('beyond_session_s')):>10} "
              f"{fmt(r.get('broker_removed_member_s')):>8} {fmt(r.get('after_removal_s')):>10} "
              f"{r.get('victim_partitions', '-'):>7} {r.get('survivors_changed', '-'):>8} "
              f"{r.get('survivors_revoked', '-'):>8} {r.get('survivor_partitions_moved', '-'):>6}  "
              f"{'; '.join(r['notes'])}")
    print(f"{'med':>4} {fmt(sm['median_takeover_s']):>8} {fmt(sm['median_beyond_session_s']):>10}"
          f"   ({sm['recovered']}/{sm['runs']} recovered)")


def print_tables(args, results, summary):
    print(f"Group take-over after SIGKILL of 1 of {args.members} members, {args.partitions} "
          f"partitions, session timeout {args.session_timeout_ms / 1000:g}s ({args.runs} run(s) "
          "per protocol)")
    for proto in args.protocols:
        print()
        print_protocol_table(args, proto, results[proto], summary[proto])
    print()
    print("columns: T = kill to full coverage by the survivors (seconds); T-session = T minus the "
          "session timeout, the hand-over beyond failure detection (a session runs from the last "
          "heartbeat, so it can be below 0 by up to one heartbeat interval); removed = kill to the "
          "broker's log line removing the member (consumer protocol, own broker only); T-removed "
          "= T minus that; victim = the killed member's partitions; changed = survivors whose "
          "assignment changed; revoked = survivors that gave up a partition, even for a moment; "
          "moved = partitions that moved between survivors")
    if "comparison" in summary:
        print(summary["comparison"]["line"])


def summarize(args, results):
    summary = {}
    for proto in args.protocols:
        ok = [r for r in results[proto] if r.get("recovered")]
        summary[proto] = {"runs": len(results[proto]), "recovered": len(ok),
                          "median_takeover_s": median([r["takeover_s"] for r in ok]),
                          "median_beyond_session_s": median([r["beyond_session_s"] for r in ok])}
    if len(args.protocols) < 2:
        return summary
    c, k = summary["consumer"], summary["classic"]
    ct, kt = c["median_takeover_s"], k["median_takeover_s"]
    if ct is None or kt is None:
        summary["comparison"] = {"line": "median take-over: no comparison, a protocol never "
                                         "recovered (see notes)"}
        return summary
    d = kt - ct
    ratio = round(ct / kt, 3) if kt else None
    line = (f"median take-over: consumer {ct:.3f}s vs classic {kt:.3f}s "
            f"({'consumer' if d >= 0 else 'classic'} faster by {abs(d):.3f}s, ratio "
            f"{'-' if ratio is None else f'{ratio:.2f}'}); beyond the session timeout: consumer "
            f"{c['median_beyond_session_s']:.3f}s vs classic {k['median_beyond_session_s']:.3f}s")
    summary["comparison"] = {"consumer_minus_classic_s": round(-d, 3),
                             "consumer_over_classic": ratio, "line": line}
    return summary


def run_all(args, work_dir):
    """Every run of every protocol; returns {protocol: [result]}."""
    results = {p: [] for p in args.protocols}
    # Interleave the protocols run by run, so a drift of the machine's load affects both.
    for run in range(args.runs):
        for proto in args.protocols:
            log(f"{proto} run {run + 1}/{args.runs}: {args.members} members, "
                f"{args.partitions} partitions")
            members = []
            try:
                r = one_run(args, proto, run, work_dir, members)
            except Exception as e:  # a failed run is reported; the others still run
                r = {"protocol": proto, "recovered": False, "notes": [str(e)]}
                log(f"{proto} run {run + 1}: {e}")
            finally:
                for m in members:
                    m.stop(graceful=False)
            r["run"] = run + 1
            results[proto].append(r)
            log(f"{proto} run {run + 1}: T={r.get('takeover_s')}s "
                f"beyond session={r.get('beyond_session_s')}s notes={r['notes']}")
            time.sleep(1)
    return results


def check_bootstrap(args):
    try:
        md = quiet_admin(args.bootstrap).list_topics(timeout=10)
    except Exception as e:
        fail_usage(f"broker {args.bootstrap} unreachable: {e}")
    if not md.brokers:
        fail_usage(f"broker {args.bootstrap} answered Metadata with no brokers")
    log(f"using {args.bootstrap}; its group.consumer.session.timeout.ms must be "
        f"{args.session_timeout_ms} for the consumer-protocol figures")


def run_main(args):
    import_kafka()
    broker = work_dir = None
    args.created_topics = []
    args.broker_log = None
    ok = False
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))  # so `finally` cleans up
    try:
        if args.broker_bin:
            broker = Broker(args.broker_bin, args.session_timeout_ms)
            broker.wait_ready()
            args.bootstrap, args.broker_log = broker.bootstrap, broker.log_path
            work_dir = os.path.join(broker.dir, "members")
            os.mkdir(work_dir)
        else:
            check_bootstrap(args)
            work_dir = tempfile.mkdtemp(prefix="chronik-takeover-members-")
        results = run_all(args, work_dir)
        summary = summarize(args, results)
        config = {"bootstrap": args.bootstrap, "members": args.members, "partitions": args.partitions,
                  "runs": args.runs, "session_timeout_ms": args.session_timeout_ms,
                  "classic_heartbeat_interval_ms": classic_heartbeat_ms(args),
                  "consumer_heartbeat_interval_ms": CONSUMER_HEARTBEAT_MS if broker else None,
                  "broker_bin": args.broker_bin, "remote_assignor": args.remote_assignor}
        if args.json:
            print(json.dumps({"config": config, "results": results, "summary": summary}, indent=2))
        else:
            print_tables(args, results, summary)
        ok = all(summary[p]["recovered"] == summary[p]["runs"] for p in args.protocols)
        return 0 if ok else 1
    finally:
        cleanup(args, broker, work_dir, ok)


def cleanup(args, broker, work_dir, ok):
    """Stops our broker; removes what this script made unless --keep or a run failed, when
    the logs are worth reading."""
    if broker is not None:  # its dir holds the member logs and the topics
        broker.stop()
        if ok and not args.keep:
            shutil.rmtree(broker.dir, ignore_errors=True)
        else:
            log(f"broker dir kept: {broker.dir} (log {broker.log_path})")
        return
    if not args.keep:
        delete_topics(args.bootstrap, args.created_topics)
    if work_dir:
        if (ok and not args.keep) or not os.listdir(work_dir):
            shutil.rmtree(work_dir, ignore_errors=True)
        else:
            log(f"member logs kept in {work_dir}")


def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="group-takeover.py", description=__doc__.split("\n\n")[0],
        epilog="Exit status: 0 all runs recovered, 1 a run did not, 2 bad flags or no broker.")
    where = ap.add_mutually_exclusive_group()
    where.add_argument("--bootstrap", metavar="HOST:PORT", help="a running broker")
    where.add_argument("--broker-bin", metavar="PATH",
                       help="start this chronik-broker standalone on an ephemeral 127.0.0.1 port")
    ap.add_argument("--members", type=int, default=10, help="group size (default 10)")
    ap.add_argument("--partitions", type=int, default=30, help="topic partitions (default 30)")
    ap.add_argument("--runs", type=int, default=3, help="runs per protocol (default 3)")
    ap.add_argument("--protocol", choices=("both",) + PROTOCOLS, default="both")
    ap.add_argument("--session-timeout-ms", type=int, default=6000,
                    help="classic session.timeout.ms, and the broker's "
                         "--group-consumer-session-timeout-ms with --broker-bin (default 6000)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    ap.add_argument("--remote-assignor", metavar="NAME",
                    help="group.remote.assignor of the consumer-protocol members (default: unset, "
                         "so librdkafka picks one from its partition.assignment.strategy: 'range' "
                         "for the default range,roundrobin in librdkafka 2.6)")
    ap.add_argument("--keep", action="store_true",
                    help="keep the temp dirs (and topics with --bootstrap) even on success")
    ap.add_argument("--stable-timeout", type=float, default=120,
                    help="seconds to wait for the group to first settle (default 120)")
    ap.add_argument("--recovery-timeout", type=float, default=120,
                    help="seconds beyond the session timeout to wait for the take-over (default 120)")
    ap.add_argument("--quiet", type=float, default=2.0,
                    help="seconds without assignment changes that make the group stable (default 2)")
    ap.add_argument("--settle", type=float, default=3.0,
                    help="seconds watched after recovery for further churn (default 3)")
    # The member mode, run by the script itself.
    ap.add_argument("--member", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--topic", help=argparse.SUPPRESS)
    ap.add_argument("--group", help=argparse.SUPPRESS)
    ap.add_argument("--member-index", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.member:
        if not (args.bootstrap and args.topic and args.group and args.protocol in PROTOCOLS):
            ap.error("--member needs --bootstrap, --topic, --group and --protocol classic|consumer")
        return args
    check_args(ap, args)
    args.protocols = list(PROTOCOLS) if args.protocol == "both" else [args.protocol]
    return args


def check_args(ap, args):
    if not args.bootstrap and not args.broker_bin:
        ap.error("one of --bootstrap HOST:PORT or --broker-bin PATH is required")
    if args.bootstrap:
        host, sep, port = args.bootstrap.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            ap.error(f"--bootstrap {args.bootstrap!r} is not HOST:PORT")
    if args.members < 2:
        ap.error("--members must be at least 2 (one is killed, the others take over)")
    if args.partitions < args.members:
        ap.error("--partitions must be at least --members, so every member owns a partition")
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    if args.session_timeout_ms < 6000 and args.protocol != "consumer":
        print("group-takeover: warning: brokers (Chronik, and Kafka by default) refuse classic "
              "session timeouts below 6000 ms", file=sys.stderr)
    if not 1000 <= args.session_timeout_ms <= 1_800_000:
        ap.error("--session-timeout-ms must be within 1000..1800000 (the broker accepts classic "
                 "session timeouts from 6000)")
    if args.session_timeout_ms <= CONSUMER_HEARTBEAT_MS and args.broker_bin:
        ap.error(f"--session-timeout-ms must exceed the {CONSUMER_HEARTBEAT_MS} ms consumer "
                 "heartbeat interval")
    for name in ("stable_timeout", "recovery_timeout", "quiet", "settle"):
        if getattr(args, name) < 0:
            ap.error(f"--{name.replace('_', '-')} must not be negative")


def main():
    args = parse_args(sys.argv[1:])
    if args.member:
        member_main(args)
        return 0
    return run_main(args)


if __name__ == "__main__":
    sys.exit(main())
