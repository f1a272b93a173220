"""The report an auditor keeps: audit.json and a self-contained audit.html, summary first."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from .core import AuditResult

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1100px;color:#1b1f24}
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.15rem;margin:1.75rem 0 .5rem;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #d0d7de;padding:.3rem .5rem;
text-align:left;vertical-align:top}th{background:#f6f8fa}code,.mono{font-family:ui-monospace,Menlo,monospace;
font-size:12px;word-break:break-all}.PASS{color:#1a7f37;font-weight:600}.FAIL{color:#cf222e;font-weight:600}
.SKIPPED{color:#6e7781}.verdict{font-size:1.3rem;padding:.5rem 1rem;display:inline-block;border-radius:6px;
margin:.5rem 0}.verdict.PASS{background:#dafbe1}.verdict.FAIL{background:#ffebe9}td.num{text-align:right}
"""


def write_report(result: AuditResult, out: Path) -> tuple[Path, Path]:
    """Write audit.json and audit.html into `out` (created if missing); return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    data = result.to_json()
    json_path = out / "audit.json"
    json_path.write_text(json.dumps(data, indent=2) + "\n")
    html_path = out / "audit.html"
    html_path.write_text(render_html(data))
    return json_path, html_path


def _cell(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return f"<code>{escape(json.dumps(value, separators=(', ', ': ')))}</code>"
    return f"<code>{escape(str(value))}</code>" if value is not None else ""


def render_html(data: dict[str, Any]) -> str:
    """The report as one HTML file (inline CSS, no scripts, nothing fetched)."""
    verdict = data["result"]
    block = data["block"]
    counts = data["counts"]
    out = [
        "<!doctype html><html lang=en><head><meta charset=utf-8>",
        f"<title>Audit {verdict}: chain {data['chain_id']} block {block['number']}</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>Receivables ledger audit</h1>",
        f"<div class='verdict {verdict}'>{verdict}: {len(data['discrepancies'])} discrepancies</div>",
        "<h2>Summary</h2><table>",
        f"<tr><th>Block audited</th><td class=mono>{block['number']} ({escape(block['hash'])}), "
        f"timestamp {block['timestamp']}</td></tr>",
        f"<tr><th>Chain</th><td>{data['chain_id']} via <code>{escape(data['rpc_url'])}</code></td></tr>",
        "<tr><th>Contracts</th><td class=mono>" + "<br>".join(
            f"{escape(k)}: {escape(str(v))}" for k, v in data["deployment"].items()) + "</td></tr>",
    ]
    for key, value in data["sources"].items():
        out.append(f"<tr><th>{escape(key)}</th><td><code>{escape(str(value))}</code></td></tr>")
    out.append(f"<tr><th>Generated</th><td>{escape(data['generated_at'])}</td></tr></table>")
    out.append("<h2>Counts</h2><table><tr>" + "".join(
        f"<th>{escape(k)}</th>" for k, v in counts.items() if not isinstance(v, dict)) + "</tr><tr>" + "".join(
        f"<td class=num>{escape(str(v))}</td>" for v in counts.values() if not isinstance(v, dict)) + "</tr></table>")
    out.append("<h2>Checks</h2><table><tr><th>check</th><th>status</th><th>discrepancies</th><th>what it "
               "verifies</th></tr>")
    for name, c in data["checks"].items():
        out.append(f"<tr><td><code>{escape(name)}</code></td><td class={c['status']}>{c['status']}</td>"
                   f"<td class=num>{c['discrepancies']}</td><td>{escape(c['description'])}</td></tr>")
    out.append("</table>")
    out.append(f"<h2>Discrepancies ({len(data['discrepancies'])})</h2>")
    if not data["discrepancies"]:
        out.append("<p class=PASS>None.</p>")
    else:
        out.append("<table><tr><th>#</th><th>check</th><th>what</th><th>where</th><th>expected</th>"
                   "<th>actual</th></tr>")
        for n, d in enumerate(data["discrepancies"], 1):
            where = "<br>".join(f"{escape(k)}: {_cell(v)}" for k, v in d["location"].items())
            out.append(f"<tr><td class=num>{n}</td><td><code>{escape(d['check'])}</code></td>"
                       f"<td>{escape(d['message'])}</td><td>{where}</td><td>{_cell(d['expected'])}</td>"
                       f"<td>{_cell(d['actual'])}</td></tr>")
        out.append("</table>")
    nested = {k: v for k, v in counts.items() if isinstance(v, dict)}
    if nested:
        out.append("<h2>Details</h2>")
        for key, value in nested.items():
            out.append(f"<h3>{escape(key)}</h3><table>" + "".join(
                f"<tr><th>{escape(str(k))}</th><td class=num>{escape(str(v))}</td></tr>" for k, v in value.items())
                + "</table>")
    out.append("<h2>Timings (seconds)</h2><table>" + "".join(
        f"<tr><th>{escape(k)}</th><td class=num>{v}</td></tr>" for k, v in data["timings_seconds"].items())
        + "</table></body></html>\n")
    return "\n".join(out)
