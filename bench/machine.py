"""The machine line every peer script in bench/ prints under its table.

Figures from different CPUs are not comparable (AVX-512 vs AVX2-only x86, arm64), so each table
says where it was measured: CPU model, cores, the widest vector ISA the CPU offers, the governor
when readable, the load at the start of the run and the date.
"""
import datetime
import os
import platform


def _cpu_model_and_flags():
    model, flags = None, ""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                key, _, value = line.partition(":")
                key, value = key.strip(), value.strip()
                if model is None and key in ("model name", "Model"):
                    model = value
                if not flags and key in ("flags", "Features"):
                    flags = value
    except OSError:
        pass
    return model or platform.processor() or "unknown CPU", flags.split()


def _widest_isa(flags):
    if "avx512f" in flags:
        return "AVX-512"
    if "avx2" in flags:
        return "AVX2"
    if "asimd" in flags:
        return "NEON"
    return "baseline"


def _governor():
    try:
        with open("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor") as f:
            return f.read().strip()
    except OSError:
        return None


def describe():
    """One line: '<CPU model> (<arch>, N cores, AVX-512), governor G, load L, YYYY-MM-DD'."""
    model, flags = _cpu_model_and_flags()
    parts = [f"{model} ({platform.machine()}, {os.cpu_count()} cores, {_widest_isa(flags)})"]
    governor = _governor()
    if governor:
        parts.append(f"governor {governor}")
    parts.append(f"load {os.getloadavg()[0]:.1f} at start")
    parts.append(datetime.date.today().isoformat())
    return ", ".join(parts)
