#!/usr/bin/env python3
"""Prints each ndishost benchmark next to the baseline measured in the same run.

A pair is declared in PAIRS as (ndishost benchmark, baseline benchmark) by name prefix;
arguments (/64, /1514) are matched between them. The ratio is ndishost time / baseline time
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
]


def load(paths):
    results = {}
    for path in paths:
        with open(path) as f:
            for b in json.load(f)["benchmarks"]:
                if b.get("run_type", "iteration") == "iteration":
                    results[b["name"].split("/real_time")[0]] = b
    return results


def cost(b):
    """Nanoseconds per item when the benchmark counts items (items_per_second follows the
    benchmark's own clock: real time for the threaded wire, CPU time otherwise), else CPU
    nanoseconds per iteration."""
    if "items_per_second" in b:
        return 1e9 / b["items_per_second"]
    scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b["time_unit"]]
    return b["cpu_time"] * scale


def main():
    results = load(sys.argv[1:])
    print(f"{'ndishost':48} {'ns':>9} {'baseline':36} {'ns':>9} {'ratio':>7}")
    for mine, base in PAIRS:
        for name, b in sorted(results.items()):
            if not (name == mine or name.startswith(mine + "/")):
                continue
            arg = name[len(mine):]
            base_name = base if "/" in base else base + arg
            if base_name not in results:
                continue
            a, c = cost(b), cost(results[base_name])
            print(f"{name:48} {a:9.1f} {base_name:36} {c:9.1f} {a / c:7.2f}")


if __name__ == "__main__":
    main()
