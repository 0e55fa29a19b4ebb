#!/usr/bin/env python3
"""Project hygiene, checked on every test run (scripts/test.sh):

- LICENSE-MIT and LICENSE-APACHE at the root, and the same bytes in every package;
- CHANGELOG.md in Keep a Changelog form (an [Unreleased] section, dated releases, only the
  standard change types);
- the README states the versioning and ABI policy and the one build cache;
- no Markdown file points outside the repository (a relative link or a `../` path that
  escapes the root, or an absolute path on the developer's machine);
- no script or package default names a build cache other than ~/.cache/dtls-target.

Exits non-zero with one line per problem.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["dtls-ffi", "python", "node", "bindings/python", "bindings/node"]
LICENSES = ["LICENSE-MIT", "LICENSE-APACHE"]
CHANGE_TYPES = {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}

problems: list[str] = []


def tracked(pattern: str) -> list[Path]:
    """Files git knows about (committed or added), plus untracked ones not ignored."""
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", pattern],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [ROOT / line for line in out.splitlines() if (ROOT / line).is_file()]


def check_licenses() -> None:
    for name in LICENSES:
        top = ROOT / name
        if not top.is_file():
            problems.append(f"{name} missing at the root")
            continue
        for pkg in PACKAGES:
            copy = ROOT / pkg / name
            if not copy.is_file():
                problems.append(f"{pkg}/{name} missing")
            elif copy.read_bytes() != top.read_bytes():
                problems.append(f"{pkg}/{name} differs from the root's {name}")
    mit = (ROOT / "LICENSE-MIT").read_text() if (ROOT / "LICENSE-MIT").is_file() else ""
    if "Permission is hereby granted, free of charge" not in mit:
        problems.append("LICENSE-MIT does not hold the MIT license text")
    apache = (ROOT / "LICENSE-APACHE").read_text() if (ROOT / "LICENSE-APACHE").is_file() else ""
    if "Version 2.0, January 2004" not in apache or "END OF TERMS AND CONDITIONS" not in apache:
        problems.append("LICENSE-APACHE does not hold the whole Apache-2.0 text")


def check_changelog() -> None:
    path = ROOT / "CHANGELOG.md"
    if not path.is_file():
        problems.append("CHANGELOG.md missing")
        return
    text = path.read_text()
    if not text.startswith("# Changelog\n"):
        problems.append("CHANGELOG.md: must start with '# Changelog'")
    releases = re.findall(r"^## (.*)$", text, re.M)
    if not releases or releases[0] != "[Unreleased]":
        problems.append("CHANGELOG.md: the first section must be '## [Unreleased]'")
    for r in releases[1:]:
        if not re.fullmatch(r"\[\d+\.\d+\.\d+[^\]]*\] - \d{4}-\d{2}-\d{2}", r):
            problems.append(f"CHANGELOG.md: release heading '{r}' is not '[X.Y.Z] - YYYY-MM-DD'")
    for t in re.findall(r"^### (.*)$", text, re.M):
        if t not in CHANGE_TYPES:
            problems.append(f"CHANGELOG.md: '### {t}' is not a Keep a Changelog change type")


def check_readme() -> None:
    text = (ROOT / "README.md").read_text()
    for heading in ("## Versioning and ABI policy", "## Build cache", "## License"):
        if heading not in text:
            problems.append(f"README.md: no '{heading}' section")
    if "SONAME" not in text:
        problems.append("README.md: the ABI policy does not say what the SONAME carries")


LINK = re.compile(r"\]\(([^)\s]+)\)")
PATHLIKE = re.compile(r"(?<![\w./-])((?:\.\./)+[\w./-]+)")
ABSOLUTE = re.compile(r"(?<![\w.:/-])(/(?:work|home|root|tmp|Users)/[\w./-]+)")


def check_links() -> None:
    for md in tracked("*.md"):
        if "node_modules" in md.parts:
            continue
        rel = md.relative_to(ROOT)
        for n, line in enumerate(md.read_text().splitlines(), 1):
            for target in LINK.findall(line):
                if target.startswith(("#", "mailto:")):
                    continue
                if re.match(r"[a-z]+://", target):
                    problems.append(f"{rel}:{n}: link outside the repository: {target}")
                    continue
                dest = (md.parent / target.split("#", 1)[0]).resolve()
                if ROOT not in dest.parents and dest != ROOT:
                    problems.append(f"{rel}:{n}: link leaves the repository: {target}")
                elif not dest.exists():
                    problems.append(f"{rel}:{n}: link to a missing file: {target}")
            for target in PATHLIKE.findall(line):
                dest = (md.parent / target).resolve()
                if ROOT not in dest.parents:
                    problems.append(f"{rel}:{n}: path leaves the repository: {target}")
            for target in ABSOLUTE.findall(line):
                problems.append(f"{rel}:{n}: absolute path on a developer machine: {target}")


def check_build_cache() -> None:
    files = [
        *tracked("scripts/*"),
        *tracked("dtls-ffi/*.sh"),
        *tracked("node/scripts/*"),
        *tracked("python/*.toml"),
        *tracked("python/_build/*"),
    ]
    for f in files:
        if f.suffix not in {".sh", ".js", ".mjs", ".py", ".toml"} or f.name == "check-hygiene.py":
            continue
        for n, line in enumerate(f.read_text().splitlines(), 1):
            for m in re.findall(r"dtls-target[\w-]*", line):
                if m != "dtls-target":
                    problems.append(f"{f.relative_to(ROOT)}:{n}: a second build cache: {m}")


def main() -> int:
    check_licenses()
    check_changelog()
    check_readme()
    check_links()
    check_build_cache()
    for p in problems:
        print(f"hygiene: {p}", file=sys.stderr)
    if problems:
        return 1
    print("hygiene: licenses, changelog, policy, links and build cache OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
