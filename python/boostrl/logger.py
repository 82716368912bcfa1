"""Training logs as stable-baselines3 writes them: a table on stdout, a CSV
file (``progress.csv``), TensorBoard events (when ``torch.utils.tensorboard``
or ``tensorboardX`` is installed), and the progress bar."""

from __future__ import annotations

import csv
import os
import sys
import time
from typing import Any


class _Stdout:
    name = "stdout"

    def write(self, kv: dict) -> None:
        if not kv:
            return
        groups: dict = {}
        for k in sorted(kv):
            g, _, name = k.partition("/")
            groups.setdefault(g, []).append((name or g, kv[k]))
        rows = []
        for g in sorted(groups):
            rows.append((f"{g}/", ""))
            for name, v in groups[g]:
                if isinstance(v, float):
                    s = f"{v:<8.3g}"
                else:
                    s = str(v)
                rows.append((f"    {name}", s))
        w1 = max(len(a) for a, _ in rows)
        w2 = max(len(b) for _, b in rows)
        line = "-" * (w1 + w2 + 7)
        out = [line] + [f"| {a:<{w1}} | {b:<{w2}} |" for a, b in rows] + [line]
        print("\n".join(out), file=sys.stdout, flush=True)

    def close(self) -> None:
        pass


class _CSV:
    name = "csv"

    def __init__(self, path: str) -> None:
        self.path = path
        self.keys: list = []
        self.f = open(path, "w", newline="")

    def write(self, kv: dict) -> None:
        new = [k for k in kv if k not in self.keys]
        if new:
            self.keys.extend(new)
            # Rewrite with the extended header (as SB3 does).
            self.f.close()
            rows = []
            if os.path.getsize(self.path) > 0:
                with open(self.path, newline="") as f:
                    rows = list(csv.DictReader(f))
            self.f = open(self.path, "w", newline="")
            w = csv.DictWriter(self.f, fieldnames=self.keys)
            w.writeheader()
            for r in rows:
                w.writerow(r)
        w = csv.DictWriter(self.f, fieldnames=self.keys)
        w.writerow({k: kv.get(k, "") for k in self.keys})
        self.f.flush()

    def close(self) -> None:
        self.f.close()


class _TensorBoard:
    name = "tensorboard"

    def __init__(self, folder: str) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            from tensorboardX import SummaryWriter  # type: ignore
        self.w = SummaryWriter(log_dir=folder)

    def write(self, kv: dict, step: int) -> None:
        for k, v in kv.items():
            if isinstance(v, (int, float)):
                self.w.add_scalar(k, v, step)
        self.w.flush()

    def close(self) -> None:
        self.w.close()


def tensorboard_available() -> bool:
    for mod in ("torch.utils.tensorboard", "tensorboardX"):
        try:
            __import__(mod)
            return True
        except ImportError:
            continue
    return False


class Logger:
    """Records key/value pairs and dumps them to its outputs."""

    def __init__(self, folder: str | None = None, formats=("stdout",)) -> None:
        self.folder = folder
        self.kv: dict = {}
        self.excluded: dict = {}
        self._means: dict = {}
        self.outputs: list = []
        self.tb = None
        for f in formats:
            if f == "stdout":
                self.outputs.append(_Stdout())
            elif f == "csv":
                os.makedirs(folder, exist_ok=True)
                self.outputs.append(_CSV(os.path.join(folder, "progress.csv")))
            elif f == "tensorboard":
                if tensorboard_available():
                    os.makedirs(folder, exist_ok=True)
                    self.tb = _TensorBoard(folder)
            else:
                raise ValueError(f"unknown log format {f!r}: stdout, csv, tensorboard")

    def record(self, key: str, value: Any, exclude: str | tuple | None = None) -> None:
        """Records key = value for the next dump; ``exclude`` names formats
        ("stdout", "csv", "tensorboard") that leave it out, as SB3's."""
        self.kv[key] = value
        self.excluded[key] = (exclude,) if isinstance(exclude, str) else tuple(exclude or ())

    def record_mean(self, key: str, value: Any, exclude: str | tuple | None = None) -> None:
        """Records the mean of the values given for key until the dump."""
        n, mean = self._means.get(key, (0, 0.0))
        n += 1
        mean += (float(value) - mean) / n
        self._means[key] = (n, mean)
        self.record(key, mean, exclude)

    def _for(self, name: str) -> dict:
        return {k: v for k, v in self.kv.items() if name not in self.excluded.get(k, ())}

    def dump(self, step: int = 0) -> None:
        for o in self.outputs:
            o.write(self._for(o.name))
        if self.tb is not None:
            self.tb.write(self._for("tensorboard"), step)
        self.kv = {}
        self.excluded = {}
        self._means = {}

    def close(self) -> None:
        for o in self.outputs:
            o.close()
        if self.tb is not None:
            self.tb.close()


def configure(folder: str | None = None, format_strings=None) -> Logger:
    """A logger writing to folder in the formats ("stdout", "csv",
    "tensorboard"; tensorboard is skipped when not installed)."""
    if format_strings is None:
        format_strings = ["stdout", "csv"] if folder else ["stdout"]
    return Logger(folder, tuple(format_strings))


class ProgressBar:
    """tqdm, else rich, else a plain text bar on stderr."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.n = 0
        self.kind = None
        try:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total)
            self.kind = "tqdm"
            return
        except ImportError:
            pass
        try:
            from rich.progress import Progress

            self.bar = Progress()
            self.task = self.bar.add_task("learn", total=total)
            self.bar.start()
            self.kind = "rich"
            return
        except ImportError:
            pass
        self.kind = "plain"
        self._last = 0.0

    def update(self, n: int) -> None:
        self.n += n
        if self.kind == "tqdm":
            self.bar.update(n)
        elif self.kind == "rich":
            self.bar.update(self.task, advance=n)
        else:
            now = time.monotonic()
            if now - self._last > 0.5 or self.n >= self.total:
                self._last = now
                frac = min(1.0, self.n / max(1, self.total))
                k = int(frac * 40)
                sys.stderr.write(f"\r[{'#' * k}{'.' * (40 - k)}] {self.n}/{self.total}")
                sys.stderr.flush()

    def close(self) -> None:
        if self.kind == "tqdm":
            self.bar.close()
        elif self.kind == "rich":
            self.bar.stop()
        else:
            sys.stderr.write("\n")
