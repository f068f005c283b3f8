#!/usr/bin/env python3
"""Turns one run of the benchmark suite into the tables of ../BENCHMARKS.md.

Usage, from the Benchmarks directory:

    swift package --allow-writing-to-package-directory benchmark --scale --time-units nanoseconds | tee run.txt
    python3 report.py run.txt [other-run.txt ...]

With one run, the table and the target checks come from it. With several, each figure is the median
of the runs' medians, and a column gives their range, to show how much the machine's noise moves them.

`--scale` makes the tool print raw values per iteration (time of all the calls of one iteration,
mallocs of the whole iteration) instead of values rounded to whole units per call; this script
divides by the calls per iteration itself, so the table keeps fractions of a nanosecond.
Only medians (p50) are used.
"""

import re
import statistics
import sys

KILO, MEGA = 1_000, 1_000_000

# id: (calls per iteration, baseline id or None, short label)
SCENARIOS = {
    "01": (KILO, None, "baseline: bare sync call"),
    "02": (KILO, "01", "ours: closed, consecutive, sync"),
    "03": (KILO, "01", "reference: double Mutex, closed, sync"),
    "26": (KILO, "01", "ours: closed, consecutive, sync, with a state-change observer"),
    "27": (KILO, "01", "ours: closed, consecutive, sync, with an every-call observer"),
    "28": (KILO, "01", "ours: closed, consecutive, sync, with BreakerLogging"),
    "29": (KILO, "01", "ours: closed, consecutive, sync, with BreakerMetrics (counters)"),
    "30": (KILO, "01", "ours: closed, consecutive, sync, with BreakerMetrics (counters and call timer)"),
    "04": (KILO, None, "baseline: bare async call"),
    "05": (KILO, "04", "ours: closed, consecutive, async"),
    "06": (KILO, "04", "reference: double Mutex, closed, async"),
    "07": (KILO, "04", "reference: actor, closed, async"),
    "08": (KILO, "01", "ours: closed, count window lastCalls(10)"),
    "09": (KILO, "01", "ours: closed, count window lastCalls(10000)"),
    "10": (KILO, "01", "ours: closed, time window, 10 buckets"),
    "11": (KILO, "01", "ours: closed, time window, 10000 buckets"),
    "25": (KILO, "01", "ours: closed, time window of 1 ms buckets (precise clock)"),
    "32": (KILO, "02", "ours: closed, consecutive, sync, Redis-backed fleet breaker"),
    "12": (KILO, "01", "ours: closed, slow-call detection with in-flight detection (ContinuousClock)"),
    "31": (KILO, "01", "ours: closed, slow-call detection without in-flight detection (ContinuousClock)"),
    "13": (KILO, None, "baseline: bare throw + catch"),
    "35": (KILO, None, "baseline: bare throw + catch of an error the size of CircuitBreakerError"),
    "14": (KILO, "35", "ours: rejection while open"),
    "15": (KILO, "01", "ours: fallback call while open"),
    "16": (MEGA, None, "baseline: bare sync call, 1 thread"),
    "17": (MEGA, "16", "baseline: bare sync call, 2 threads"),
    "18": (MEGA, "16", "ours: closed, consecutive, 1 thread"),
    "19": (MEGA, "17", "ours: closed, consecutive, 2 threads"),
    "20": (MEGA, "16", "reference: double Mutex, 1 thread"),
    "21": (MEGA, "17", "reference: double Mutex, 2 threads"),
    "22": (KILO, None, "ours: half-open, trial held, rejections, 1 thread"),
    "23": (KILO, "22", "ours: half-open, trial held, rejections, 2 threads"),
    "24": (KILO, "01", "ours: open → halfOpen → trial, one cycle"),
    "36": (KILO, "01", "ours: limiter: admitted call (fixed limit)"),
    "38": (KILO, "01", "baseline: bare sync call between two clock_gettime(CLOCK_MONOTONIC) readings"),
    "37": (KILO, "38", "ours: limiter: admitted call (gradient2; two precise clock reads)"),
    "39": (KILO, "02", "ours: closed, ramp and throttle configured, idle"),
    "40": (KILO, "01", "ours: closed, throttle deciding (healthy calls)"),
    "41": (KILO, "01", "ours: closed, ramping up at about 50 % (admitted or rejected)"),
}

# The harness's own mallocs per iteration are measured by the bare-call baselines and subtracted.
HARNESS = {KILO: "01", MEGA: "16"}
HARNESS_BY_ID = {"22": "16", "23": "16"}  # split over threads like the MEGA runs


def number(text):
    text = text.strip()
    return float(text)


def parse(path):
    """Returns {id: {"wall": p50 ns per iteration, "mallocs": p50 mallocs per iteration}}."""
    results = {}
    current = None
    header = None
    with open(path, encoding="utf-8", errors="replace") as lines:
        for line in lines:
            line = line.rstrip("\n")
            match = re.match(r"^(\d\d) \S", line)
            if match and not line.startswith("│"):
                current = match.group(1)
                results.setdefault(current, {})
                continue
            if current is None or not line.startswith("│"):
                continue
            cells = [cell.strip() for cell in line.strip("│").split("│")]
            if cells[0] == "Metric":
                header = cells
                continue
            if header is None:
                continue
            p50 = number(cells[header.index("p50")])
            unit = re.search(r"\((K|M|G)\)", cells[0])
            if unit:
                p50 *= {"K": 1e3, "M": 1e6, "G": 1e9}[unit.group(1)]
            if cells[0].startswith("Time (wall clock)"):
                results[current]["wall"] = p50
            elif cells[0].startswith("Malloc (total)"):
                results[current]["mallocs"] = p50
            elif cells[0].startswith("Time (total CPU)"):
                results[current]["cpu"] = p50
    return results


def per_op(results):
    ns = {}
    mallocs = {}
    for key, (calls, _, _) in SCENARIOS.items():
        if key not in results or "wall" not in results[key]:
            continue
        ns[key] = results[key]["wall"] / calls
        harness = results.get(HARNESS_BY_ID.get(key, HARNESS[calls]), {}).get("mallocs", 0.0)
        mallocs[key] = max(0.0, results[key].get("mallocs", 0.0) - harness) / calls
    return ns, mallocs


def main():
    first, mallocs = per_op(parse(sys.argv[1]))
    others = [per_op(parse(path))[0] for path in sys.argv[2:]]
    spread = bool(others)
    # With several runs, each scenario's figure is the median of the runs' medians: a single run on a
    # shared virtual machine can be 10-50 % off in either direction.
    ns = {key: statistics.median([first[key]] + [run[key] for run in others if key in run]) for key in first}

    extra = f" range over {len(others) + 1} runs |" if spread else ""
    print("| # | scenario | median ns/op | calls/s (M) | mallocs/op | against | Δ ns | ratio |" + extra)
    print("|---|---|---:|---:|---:|---|---:|---:|" + ("---:|" if spread else ""))
    for key, (calls, base, label) in SCENARIOS.items():
        if key not in ns:
            print(f"| {key} | {label} | — | — | — | | | |" + (" |" if spread else ""))
            continue
        value = ns[key]
        rate = 1_000.0 / value
        against = delta = ratio = ""
        if base and base in ns:
            against = base
            delta = f"{value - ns[base]:+.1f}"
            ratio = f"{value / ns[base]:.2f}×"
        row = f"| {key} | {label} | {value:.2f} | {rate:.0f} | {mallocs[key]:.2f} | {against} | {delta} | {ratio} |"
        if spread:
            values = [first[key]] + [run[key] for run in others if key in run]
            row += f" {min(values):.1f}–{max(values):.1f} |"
        print(row)

    def throughput_ratio(one, two):
        return ns[one] / ns[two] if one in ns and two in ns else float("nan")

    print()
    print("Two threads against one (aggregate throughput, 2 threads ÷ 1 thread):")
    print(f"- bare call: {throughput_ratio('16', '17'):.2f}×")
    print(f"- ours, closed consecutive: {throughput_ratio('18', '19'):.2f}×")
    print(f"- double Mutex: {throughput_ratio('20', '21'):.2f}×")
    print(f"- ours, half-open rejections: {throughput_ratio('22', '23'):.2f}×")
    print(f"- ours, closed consecutive, relative to the bare call's scaling: "
          f"{throughput_ratio('18', '19') / throughput_ratio('16', '17'):.2f}")
    if spread:
        for name, one, two in (("bare call", "16", "17"), ("ours", "18", "19")):
            ratios = [first[one] / first[two]] + [run[one] / run[two] for run in others if one in run and two in run]
            print(f"- {name}, 2 threads ÷ 1 thread over all runs: " + ", ".join(f"{r:.2f}×" for r in ratios))

    print()
    print("Targets:")

    def diff(key, base):
        return ns[key] - ns[base]

    checks = [
        ("closed, consecutive, sync: ≤ 10 ns above bare call, 0 allocations", lambda: (
         diff("02", "01") <= 10 and mallocs["02"] < 0.01, f"{diff('02', '01'):+.1f} ns, {mallocs['02']:.2f} mallocs/op")),
        ("closed, consecutive, sync, state-change observer: ≤ 10 ns above bare call", lambda: (
         diff("26", "01") <= 10, f"{diff('26', '01'):+.1f} ns, {mallocs['26']:.2f} mallocs/op")),
        ("closed, consecutive, sync, every-call observer: ≤ 50 ns above bare call", lambda: (
         diff("27", "01") <= 50, f"{diff('27', '01'):+.1f} ns, {mallocs['27']:.2f} mallocs/op")),
        ("closed, with BreakerLogging (a state-change observer): ≤ 10 ns above bare call", lambda: (
         diff("28", "01") <= 10, f"{diff('28', '01'):+.1f} ns, {mallocs['28']:.2f} mallocs/op")),
        ("closed, with BreakerMetrics counters (an every-call observer): ≤ 50 ns above bare call", lambda: (
         diff("29", "01") <= 50, f"{diff('29', '01'):+.1f} ns, {mallocs['29']:.2f} mallocs/op")),
        ("(no target) closed, with BreakerMetrics and its opt-in call timer: two clock reads more", lambda: (
         True, f"{diff('30', '01'):+.1f} ns, {mallocs['30']:.2f} mallocs/op")),
        ("closed, consecutive, async: ≤ 15 ns above bare async call, 0 allocations", lambda: (
         diff("05", "04") <= 15 and mallocs["05"] < 0.01, f"{diff('05', '04'):+.1f} ns, {mallocs['05']:.2f} mallocs/op")),
        ("closed, count window lastCalls(10): ≤ 25 ns above bare call, 0 allocations", lambda: (
         diff("08", "01") <= 25 and mallocs["08"] < 0.01, f"{diff('08', '01'):+.1f} ns, {mallocs['08']:.2f} mallocs/op")),
        ("closed, count window lastCalls(10000): ≤ 25 ns above bare call, 0 allocations", lambda: (
         diff("09", "01") <= 25 and mallocs["09"] < 0.01, f"{diff('09', '01'):+.1f} ns, {mallocs['09']:.2f} mallocs/op")),
        ("closed, time window 10 buckets: ≤ 60 ns above bare call", lambda: (
         diff("10", "01") <= 60, f"{diff('10', '01'):+.1f} ns")),
        ("closed, time window 10000 buckets: ≤ 60 ns above bare call", lambda: (
         diff("11", "01") <= 60, f"{diff('11', '01'):+.1f} ns")),
        ("closed, time window of 1 ms buckets (precise clock): ≤ 60 ns above bare call", lambda: (
         diff("25", "01") <= 60, f"{diff('25', '01'):+.1f} ns")),
        ("closed, slow-call detection: ≤ 60 ns above bare call", lambda: (
         diff("12", "01") <= 60, f"{diff('12', '01'):+.1f} ns")),
        ("closed, slow-call detection with in-flight detection of hung calls (issue 11): within the slow-call target", lambda: (
         diff("12", "01") <= 60, f"{diff('12', '01'):+.1f} ns; without it (31) {diff('31', '01'):+.1f} ns")),
        ("rejection while open: ≤ 150 ns, ≤ 1 allocation", lambda: (
         ns["14"] <= 150 and mallocs["14"] < 1.01, f"{ns['14']:.1f} ns, {mallocs['14']:.3f} mallocs/op")),
        ("issue 17: closed sync ≤ 3 ns above bare call", lambda: (
         diff("02", "01") <= 3, f"{diff('02', '01'):+.1f} ns")),
        ("issue 17: closed async ≤ 5 ns above bare async call", lambda: (
         diff("05", "04") <= 5, f"{diff('05', '04'):+.1f} ns")),
        ("issue 17: rejection ≤ 1.25 × a bare throw + catch of an error of the same size", lambda: (
         ns["14"] / ns["35"] <= 1.25, f"{ns['14'] / ns['35']:.2f}× ({ns['14']:.1f} vs {ns['35']:.1f} ns)")),
        ("issue 17: two threads ≥ 0.9 × the bare calls' scaling", lambda: (
         throughput_ratio("18", "19") >= 0.9 * throughput_ratio("16", "17"),
         f"{throughput_ratio('18', '19'):.2f}× against bare {throughput_ratio('16', '17'):.2f}×")),
        ("two threads, closed consecutive: ≥ 1.6 × one thread", lambda: (
         throughput_ratio("18", "19") >= 1.6, f"{throughput_ratio('18', '19'):.2f}×")),
        ("count window 10,000 vs 10: within 1.2 ×", lambda: (
         ns["09"] / ns["08"] <= 1.2, f"{ns['09'] / ns['08']:.2f}×")),
        ("time window 10,000 vs 10 buckets: within 1.2 ×", lambda: (
         ns["11"] / ns["10"] <= 1.2, f"{ns['11'] / ns['10']:.2f}×")),
        ("issue 18: limiter, admitted call, fixed limit: ≤ 30 ns above bare call (no clock read)", lambda: (
         diff("36", "01") <= 30 and mallocs["36"] < 0.01, f"{diff('36', '01'):+.1f} ns, {mallocs['36']:.2f} mallocs/op")),
        ("issue 18: limiter, admitted call, gradient2: ≤ 30 ns above bare call plus its two clock reads (row 38)", lambda: (
         diff("37", "38") <= 30 and mallocs["37"] < 0.01,
         f"{diff('37', '38'):+.1f} ns over row 38; the two reads cost {diff('38', '01'):+.1f} ns; {mallocs['37']:.2f} mallocs/op")),
        ("issue 18: closed, ramp and throttle configured but idle: ≤ 1 ns above the closed call (row 02)", lambda: (
         diff("39", "02") <= 1, f"{diff('39', '02'):+.1f} ns")),
        ("issue 18: throttle deciding: ≤ 40 ns above bare call", lambda: (
         diff("40", "01") <= 40, f"{diff('40', '01'):+.1f} ns")),
        ("issue 18: ramping up (half admitted, half rejected): reported", lambda: (
         True, f"{ns['41']:.1f} ns per call, {diff('41', '01'):+.1f} ns above bare call")),
        ("faster than double Mutex, closed sync", lambda: (
         ns["02"] < ns["03"], f"{ns['02']:.1f} vs {ns['03']:.1f} ns")),
        ("faster than double Mutex and actor, closed async", lambda: (
         ns["05"] < ns["06"] and ns["05"] < ns["07"], f"{ns['05']:.1f} vs {ns['06']:.1f} / {ns['07']:.1f} ns")),
        ("faster than double Mutex, closed, 1 thread", lambda: (
         ns["18"] < ns["20"], f"{ns['18']:.2f} vs {ns['20']:.2f} ns")),
        ("faster than double Mutex, closed, 2 threads", lambda: (
         ns["19"] < ns["21"], f"{ns['19']:.2f} vs {ns['21']:.2f} ns")),
    ]
    # A check is evaluated only if the run has its scenarios: older result files lack the newer
    # scenarios, and a --filter run has only some.
    for label, evaluate in checks:
        try:
            met, detail = evaluate()
        except KeyError as missing:
            print(f"- not run {label}: scenario {missing} is not in the run")
            continue
        print(f"- {'met   ' if met else 'MISSED'} {label}: {detail}")


if __name__ == "__main__":
    main()
