"""A small SVG line plot (learning curves), deterministic text output."""

from __future__ import annotations

from xml.sax.saxutils import escape

COLORS = {"boostrl": "#1f77b4", "SB3-MLP": "#d62728", "random": "#7f7f7f", "best": "#2ca02c"}
W, H, L, R, T, B = 560, 320, 64, 120, 32, 44


def _ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if hi <= lo:
        return [lo]
    step = (hi - lo) / n
    mag = 10 ** len(str(int(abs(step)))) / 10 if step >= 1 else 1.0
    while mag > step:
        mag /= 10
    for m in (1, 2, 5, 10):
        if m * mag >= step:
            step = m * mag
            break
    first = (lo // step) * step
    out, v = [], first
    while v <= hi + 1e-9 * abs(step):
        if v >= lo - 1e-9 * abs(step):
            out.append(round(v, 10))
        v += step
    return out


def _fmt(v: float) -> str:
    if abs(v) >= 1e6:
        return f"{v / 1e6:g}M"
    if abs(v) >= 1e3:
        return f"{v / 1e3:g}k"
    return f"{v:g}"


def line_plot(title: str, series: dict[str, list[tuple[float, float]]], hlines: dict[str, float],
              xlabel: str, ylabel: str) -> str:  # fmt: skip
    """series: name -> [(x, y)], drawn as lines; hlines: name -> y, dashed."""
    xs = [x for pts in series.values() for x, _ in pts] or [0.0, 1.0]
    ys = [y for pts in series.values() for _, y in pts] + list(hlines.values()) or [0.0, 1.0]
    x0, x1 = 0.0, max(xs) or 1.0
    y0, y1 = min(ys), max(ys)
    if y1 - y0 < 1e-9:
        y0, y1 = y0 - 1, y1 + 1
    pad = 0.05 * (y1 - y0)
    y0, y1 = y0 - pad, y1 + pad
    pw, ph = W - L - R, H - T - B

    def px(x):
        return L + (x - x0) / (x1 - x0) * pw

    def py(y):
        return T + (1 - (y - y0) / (y1 - y0)) * ph

    o = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
        'font-family="sans-serif" font-size="11">',
        f'<rect width="{W}" height="{H}" fill="white"/>',
        f'<text x="{L + pw / 2:.1f}" y="18" text-anchor="middle" font-size="13">{escape(title)}</text>',
        f'<rect x="{L}" y="{T}" width="{pw}" height="{ph}" fill="none" stroke="#333"/>',
    ]
    for t in _ticks(x0, x1):
        o.append(f'<line x1="{px(t):.1f}" y1="{T + ph}" x2="{px(t):.1f}" y2="{T + ph + 4}" stroke="#333"/>')
        o.append(f'<text x="{px(t):.1f}" y="{T + ph + 16}" text-anchor="middle">{_fmt(t)}</text>')
    for t in _ticks(y0, y1):
        o.append(f'<line x1="{L}" y1="{py(t):.1f}" x2="{L + pw}" y2="{py(t):.1f}" stroke="#ddd"/>')
        o.append(f'<text x="{L - 6}" y="{py(t) + 4:.1f}" text-anchor="end">{_fmt(t)}</text>')
    o.append(f'<text x="{L + pw / 2:.1f}" y="{H - 8}" text-anchor="middle">{escape(xlabel)}</text>')
    o.append(f'<text x="14" y="{T + ph / 2:.1f}" text-anchor="middle" '
             f'transform="rotate(-90 14 {T + ph / 2:.1f})">{escape(ylabel)}</text>')  # fmt: skip
    legend = []
    for name, y in sorted(hlines.items()):
        c = COLORS.get(name, "#999")
        o.append(f'<line x1="{L}" y1="{py(y):.1f}" x2="{L + pw}" y2="{py(y):.1f}" stroke="{c}" '
                 'stroke-dasharray="5,4"/>')  # fmt: skip
        legend.append((name, c, True))
    for name, pts in sorted(series.items()):
        c = COLORS.get(name, "#000")
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pts)
        o.append(f'<polyline points="{path}" fill="none" stroke="{c}" stroke-width="2"/>')
        legend.append((name, c, False))
    for i, (name, c, dashed) in enumerate(legend):
        y = T + 12 + 16 * i
        dash = ' stroke-dasharray="5,4"' if dashed else ""
        o.append(f'<line x1="{L + pw + 10}" y1="{y}" x2="{L + pw + 30}" y2="{y}" stroke="{c}" stroke-width="2"{dash}/>')
        o.append(f'<text x="{L + pw + 34}" y="{y + 4}">{escape(name)}</text>')
    o.append("</svg>")
    return "\n".join(o) + "\n"
