"""The stylesheet inlined into every report and index page (no web font, no CDN)."""

from __future__ import annotations

__all__ = ["CSS"]

CSS = """
:root {
  --ink: #1f2933; --muted: #52606d; --faint: #9aa5b1; --line: #e4e7eb;
  --paper: #ffffff; --wash: #f5f7fa; --accent: #2f6f9f; --warn: #fff8e6; --warn-line: #e8c468;
}
* { box-sizing: border-box; }
html { background: var(--wash); }
body {
  margin: 0 auto; max-width: 820px; padding: 0 24px 48px; background: var(--paper);
  color: var(--ink); font: 16px/1.6 system-ui, -apple-system, "Segoe UI", Roboto,
  "Helvetica Neue", Arial, sans-serif; min-height: 100vh;
}
a { color: var(--accent); }
.sd-header { padding: 32px 0 16px; border-bottom: 1px solid var(--line); margin-bottom: 8px; }
.sd-kicker { color: var(--muted); font-size: 13px; letter-spacing: .04em;
  text-transform: uppercase; }
.sd-header h1 { font-size: 32px; line-height: 1.2; margin: 4px 0 4px; }
.sd-period { font-size: 18px; color: var(--ink); margin: 0 0 12px; }
.sd-meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0;
  font-size: 13px; color: var(--muted); }
.sd-meta dt { font-weight: 600; }
.sd-meta dd { margin: 0; }
h1, h2, h3 { line-height: 1.25; }
h2 { font-size: 22px; margin: 36px 0 8px; padding-top: 12px; border-top: 1px solid var(--line); }
h3 { font-size: 17px; margin: 24px 0 6px; }
.anchor-link { display: none; }
p { margin: 8px 0; }
.sd-say { font-size: 17px; }
.sd-note { font-size: 14px; color: var(--muted); }
.sd-missing { margin: 12px 0; padding: 12px 16px; background: var(--warn);
  border: 1px dashed var(--warn-line); border-radius: 6px; font-size: 15px; }
.sd-kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(160px, 1fr)); gap: 12px;
  margin: 16px 0; }
.sd-kpi { background: var(--wash); border-radius: 8px; padding: 12px 14px; }
.sd-kpi-value { font-size: 24px; font-weight: 650; line-height: 1.2; }
.sd-kpi-label { font-size: 13px; color: var(--muted); }
.sd-kpi-note { font-size: 12px; color: var(--faint); }
.sd-chart { margin: 16px 0; }
.sd-chart svg { max-width: 100%; height: auto; display: block; }
.sd-chart figcaption { font-size: 13px; color: var(--muted); margin-top: 4px; }
.sd-table { border-collapse: collapse; margin: 12px 0; font-size: 14px; min-width: 60%; }
.sd-table th, .sd-table td { padding: 5px 12px 5px 0; border-bottom: 1px solid var(--line);
  text-align: left; }
.sd-table th { color: var(--muted); font-weight: 600; }
.sd-table .num { text-align: right; font-variant-numeric: tabular-nums; }
code { font-size: 90%; background: var(--wash); padding: 1px 4px; border-radius: 3px; }
.output_stdout pre, .output_text pre { font-size: 13px; color: var(--muted);
  white-space: pre-wrap; }
.input_area { background: var(--wash); border-radius: 6px; padding: 8px 12px; margin: 12px 0 4px;
  font-size: 13px; overflow-x: auto; }
.input_area pre { margin: 0; }
.output_svg img, .output_png img { max-width: 100%; }
.sd-footer { margin-top: 48px; padding-top: 12px; border-top: 1px solid var(--line);
  font-size: 12px; color: var(--faint); }
.sd-index td, .sd-index th { padding: 6px 16px 6px 0; }
@media print { html { background: white; } body { max-width: none; } }
"""
