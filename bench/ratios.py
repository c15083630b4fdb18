#!/usr/bin/env python3
"""Prints each ndishost benchmark next to the baseline measured in the same run.

A pair is declared in PAIRS as (ndishost benchmark, baseline benchmark) by name prefix;
arguments (/64, /1514) are matched between them; when the baseline has fewer arguments
(BM_Baseline_VethFrames/size:64 for BM_InProcess_Frames/size:64/dir:1) the longest
matching prefix of the arguments is used. The ratio is ndishost time / baseline time
per item (see cost())."""
import json
import sys

PAIRS = [
    ("BM_KeSpinLock_AcquireRelease", "BM_Baseline_StdMutex_LockUnlock"),
    ("BM_ExPool_AllocateFree", "BM_Baseline_Malloc_Free"),
    ("BM_NpagedLookaside_AllocateFree", "BM_Baseline_Malloc_Free/2048"),
    ("BM_Irp_AllocateFree", "BM_Baseline_Malloc_Free/2048"),
    ("BM_Ndis_AllocateNetBufferAndNetBufferList", "BM_Baseline_Malloc_NblSized"),
    ("BM_Ndis_AllocateNetBufferListWithData", "BM_Baseline_Malloc_NblSized"),
    ("BM_Wire_Frames", "BM_Baseline_Memcpy"),
    ("BM_Ntb16_Build", "BM_Baseline_CopyDatagrams"),
    ("BM_Ntb16_Parse", "BM_Baseline_CopyDatagrams"),
    ("BM_InProcess_Frames", "BM_Baseline_VethFrames"),
    ("BM_InProcess_Frames_FlushTimer", "BM_Baseline_VethFrames"),
    # Adaptive aggregation (the default) against the flush timer always (TransmitAggregation 1).
    ("BM_InProcess_Frames", "BM_InProcess_Frames_FlushTimer"),
    # 16 bulk-IN URBs (ReceiveUrbs 16) against the default 4.
    ("BM_InProcess_Frames_ReceiveUrbs16", "BM_InProcess_Frames"),
    ("BM_InProcess_EcmFrames", "BM_Baseline_VethFrames"),
    # ECM sends from the sender's MDL (the default) against copying (TransmitZeroCopy 0).
    ("BM_InProcess_EcmFrames", "BM_InProcess_EcmFrames_Copy"),
]


def strip_timing(name):
    """The benchmark's name without the /real_time or /manual_time suffix."""
    return name.split("/real_time")[0].split("/manual_time")[0]


def load(paths):
    results = {}
    for path in paths:
        with open(path) as f:
            for b in json.load(f)["benchmarks"]:
                # Single runs, or the median of repetitions (--benchmark_repetitions).
                if b.get("run_type", "iteration") == "iteration" and b.get("repetitions", 1) <= 1:
                    results[strip_timing(b["name"])] = b
                elif b.get("aggregate_name") == "median":
                    results[strip_timing(b["run_name"])] = b
    return results


def cost(b):
    """Nanoseconds per item when the benchmark counts items (items_per_second follows the
    benchmark's own clock: real time for the threaded wire, manual time for the in-process
    path, CPU time otherwise), else CPU
    nanoseconds per iteration."""
    if "items_per_second" in b:
        return 1e9 / b["items_per_second"]
    scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b["time_unit"]]
    return b["cpu_time"] * scale


def main():
    results = load(sys.argv[1:])
    print(f"{'ndishost':48} {'ns':>9} {'baseline':36} {'ns':>9} {'ratio':>7}")
    cpu_rows = []
    for mine, base in PAIRS:
        for name, b in sorted(results.items()):
            if not (name == mine or name.startswith(mine + "/")):
                continue
            arg = name[len(mine):]
            base_name = base
            if "/" not in base:
                parts = arg.split("/")
                while parts and base + "/".join(parts) not in results:
                    parts.pop()
                base_name = base + "/".join(parts)
            if base_name not in results:
                continue
            a, c = cost(b), cost(results[base_name])
            print(f"{name:48} {a:9.1f} {base_name:36} {c:9.1f} {a / c:7.2f}")
            if "cpu_ns_per_frame" in b and "cpu_ns_per_frame" in results[base_name]:
                cpu_rows.append((name, b["cpu_ns_per_frame"], base_name, results[base_name]["cpu_ns_per_frame"]))
    if cpu_rows:
        print(f"\nCPU of the whole process per frame (cpu_ns_per_frame)")
        print(f"{'ndishost':48} {'ns':>9} {'baseline':36} {'ns':>9} {'ratio':>7}")
        for name, a, base_name, c in cpu_rows:
            print(f"{name:48} {a:9.1f} {base_name:36} {c:9.1f} {a / c:7.2f}")


if __name__ == "__main__":
    main()
