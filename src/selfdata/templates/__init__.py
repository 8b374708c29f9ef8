"""Sharing report templates with other self-trackers: check, pack, install, trust.

A template reads only the canonical tables, so one written on one person's
vault runs on anyone's; it is also code that will read someone's most
private data, so installing one is deliberate and running one is fenced in.

    selfdata templates new sleep-debt          # scaffold
    selfdata templates check sleep-debt        # every check before sharing
    selfdata templates pack sleep-debt         # one file, outputs stripped, sha256 inside
    selfdata templates install sleep-debt-0.1.0.template.zip   # shows the code, asks
    selfdata report sleep-debt                 # runs in the sandbox, if unchanged

The modules, each with one concern:

| module | what it owns |
|---|---|
| `catalog` | curated, installed and package templates; which one a name means |
| `store` | installed templates beside the vault, a template's files, sha256 pins |
| `sources` | fetching a template from a folder, a pack or a git repository |
| `pack` | the shareable zip: stripped notebook, sha256 in the manifest; safe unpacking |
| `scaffold` | `templates new`: a template that passes the checks as it is |
| `scan` | static scans of a notebook: outputs, personal data, tables, API, risky code |
| `check` | `templates check`: the scans, then renders on the demo and an empty vault |
| `sandbox` | the kernel of a non-curated template: no network, writes only in its folder |
| `cli` | the `selfdata templates ...` commands |

The author's guide: docs/templates.md.
"""
