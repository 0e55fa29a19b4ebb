#!/usr/bin/env python3
"""Runs the code blocks of the documentation, so a broken snippet fails the tests.

Files: README.md, python/README.md, node/README.md, docs/*.md. Every block must say its
language, and every language has a runner:

  python  run, per file in order, in one namespace (like a REPL session; top-level `await`
          allowed), with the installed `dtls` package       check-snippets.py python --python PY
  js      each block on its own, twice: as an ES module (.mjs) and converted to CommonJS
          (.cjs: imports become requires, the body an async function), with `dtls-rs`
          resolving to node/ (built by npm install)       check-snippets.py js
  sh      `bash -n`, and every repository path it names must exist (these blocks install,
          build or run whole test suites: they are not run here)   check-snippets.py sh
  rust    README.md only: doc tests (dtls-ffi/src/lib.rs includes the README under
          cfg(doctest); `cargo test` runs them)
  c       docs/migrating-from-openssl.md only: compiled, linked and run by
          dtls-ffi/tests/migration_guide.rs

`check-snippets.py self-test --python PY` proves each runner fails on a broken block.
Each run also checks that no block uses a language without a runner.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120


@dataclass
class Block:
    path: Path
    line: int  # 1-based line of the first code line
    lang: str
    code: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def doc_files() -> list[Path]:
    files = [ROOT / "README.md", ROOT / "python" / "README.md", ROOT / "node" / "README.md"]
    files += sorted((ROOT / "docs").glob("*.md"))
    return [f for f in files if f.is_file()]


FENCE = re.compile(r"^(\s*)```(.*)$")


def blocks(path: Path) -> list[Block]:
    out: list[Block] = []
    lang: str | None = None
    start = 0
    indent = ""
    code: list[str] = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        m = FENCE.match(line)
        if lang is None:
            if m:
                indent, lang, start, code = m.group(1), m.group(2).strip(), n + 1, []
        elif m and m.group(2).strip() == "":
            out.append(Block(path, start, lang, "\n".join(code) + "\n"))
            lang = None
        else:
            code.append(line[len(indent) :] if line.startswith(indent) else line)
    if lang is not None:
        raise SystemExit(f"{path}: unterminated code block from line {start - 1}")
    return out


RUNNERS_ELSEWHERE = {
    "rust": ["README.md"],
    "c": ["docs/migrating-from-openssl.md"],
}
LANGS = {"python", "js", "sh", *RUNNERS_ELSEWHERE}


def check_languages(files: list[Path]) -> list[str]:
    problems = []
    for f in files:
        rel = str(f.relative_to(ROOT))
        for b in blocks(f):
            if b.lang not in LANGS:
                problems.append(f"{b.where}: a ```{b.lang or ''} block: say python, js, sh, rust or c")
            elif b.lang in RUNNERS_ELSEWHERE and rel not in RUNNERS_ELSEWHERE[b.lang]:
                problems.append(f"{b.where}: ```{b.lang} blocks only run in {RUNNERS_ELSEWHERE[b.lang]}")
    lib = (ROOT / "dtls-ffi" / "src" / "lib.rs").read_text()
    if 'include_str!("../../README.md")' not in lib:
        problems.append("dtls-ffi/src/lib.rs no longer runs the README's Rust blocks as doc tests")
    return problems


# ------------------------------------------------------------------------------------------
# python

PY_SESSION = r'''
import ast, asyncio, sys, traceback
blocks = {blocks!r}
namespace = {{"__name__": "__snippets__"}}
loop = asyncio.new_event_loop()
for where, label, code in blocks:
    try:
        compiled = compile(code, where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        result = eval(compiled, namespace)
        if asyncio.iscoroutine(result):
            loop.run_until_complete(asyncio.wait_for(result, 60))
    except BaseException:
        print(f"snippet {{label}} failed:", file=sys.stderr)
        traceback.print_exc()
        sys.exit(1)
    print(f"ok {{label}}")
loop.close()
'''


def run_python(files: list[Path], python: str) -> list[str]:
    problems = []
    for f in files:
        bs = [b for b in blocks(f) if b.lang == "python"]
        if not bs:
            continue
        # Line numbers in tracebacks point into the Markdown file.
        session = [(str(b.path.relative_to(ROOT)), b.where, "\n" * (b.line - 1) + b.code) for b in bs]
        with tempfile.TemporaryDirectory() as tmp:
            script = Path(tmp) / "session.py"
            script.write_text(PY_SESSION.format(blocks=session))
            # Not from the clone: `dtls` must be the installed package, not python/dtls.
            r = subprocess.run([python, str(script)], cwd=tmp, timeout=TIMEOUT, capture_output=True, text=True)
        sys.stdout.write("".join(f"ok python {l[3:]}\n" for l in r.stdout.splitlines() if l.startswith("ok ")))
        if r.returncode != 0:
            problems.append(f"{f.relative_to(ROOT)}: a python block failed:\n{r.stderr}")
    return problems


# ------------------------------------------------------------------------------------------
# js

IMPORT = re.compile(
    r"^import\s+(?:(\w+)|\*\s+as\s+(\w+)|(\{[^}]*\})|(\w+)\s*,\s*(\{[^}]*\}))\s+from\s+('[^']+'|\"[^\"]+\");?\s*$",
    re.M,
)


def to_commonjs(code: str) -> str:
    """An ES module snippet as CommonJS: import lines become require calls, and the rest runs
    in an async function (for top-level await), failing the process on a rejection."""
    requires = []

    def repl(m: re.Match[str]) -> str:
        default, star, named, default2, named2, spec = m.groups()
        if default or star:
            requires.append(f"const {default or star} = require({spec});")
        elif named:
            requires.append(f"const {named.replace(' as ', ': ')} = require({spec});")
        else:
            requires.append(f"const {default2} = require({spec});")
            requires.append(f"const {named2.replace(' as ', ': ')} = require({spec});")
        return ""

    body = IMPORT.sub(repl, code)
    if re.search(r"^\s*(import|export)\s", body, re.M):
        raise ValueError("an import or export the CommonJS conversion does not understand")
    return (
        "'use strict';\n"
        + "\n".join(requires)
        + "\n(async () => {\n"
        + body
        + "\n})().catch((e) => {\n  console.error(e);\n  process.exit(1);\n});\n"
    )


def run_js(files: list[Path]) -> list[str]:
    problems = []
    node = shutil.which("node")
    if node is None:
        return ["node is not installed"]
    if not (ROOT / "node" / "dtls-rs.node").exists():
        return ["node/dtls-rs.node is missing: run npm install in node/ first"]
    with tempfile.TemporaryDirectory() as tmp:
        modules = Path(tmp) / "node_modules"
        modules.mkdir()
        (modules / "dtls-rs").symlink_to(ROOT / "node")
        for f in files:
            for b in (b for b in blocks(f) if b.lang == "js"):
                try:
                    variants = {"mjs": b.code, "cjs": to_commonjs(b.code)}
                except ValueError as e:
                    problems.append(f"{b.where}: {e}")
                    continue
                for ext, src in variants.items():
                    script = Path(tmp) / f"snippet.{ext}"
                    script.write_text(f"// {b.where}\n{src}")
                    try:
                        r = subprocess.run(
                            [node, str(script)], cwd=tmp, timeout=TIMEOUT, capture_output=True, text=True
                        )
                        ok, err = r.returncode == 0, r.stderr
                    except subprocess.TimeoutExpired:
                        ok, err = False, f"did not exit within {TIMEOUT} s (a socket or timer left open?)"
                    if ok:
                        print(f"ok js ({'ESM' if ext == 'mjs' else 'CommonJS'}) {b.where}")
                    else:
                        problems.append(f"{b.where} ({ext}) failed:\n{err}")
    return problems


# ------------------------------------------------------------------------------------------
# sh

REPO_PATH = re.compile(r"(?<![\w/.$-])(?:\./)?((?:scripts|dtls-ffi|examples-c|docs|bindings|include|python|node)/[\w./-]*\w)")


def run_sh(files: list[Path]) -> list[str]:
    problems = []
    for f in files:
        for b in (b for b in blocks(f) if b.lang == "sh"):
            r = subprocess.run(["bash", "-n"], input=b.code, capture_output=True, text=True)
            if r.returncode != 0:
                problems.append(f"{b.where}: bash -n: {r.stderr.strip()}")
            for line in b.code.splitlines():
                code = line.split(" #", 1)[0]
                for p in REPO_PATH.findall(code):
                    if not (ROOT / p).exists() and not (ROOT / "node" / p).exists():
                        problems.append(f"{b.where}: names {p}, which does not exist")
            print(f"ok sh {b.where}")
    return problems


# ------------------------------------------------------------------------------------------


def self_test(python: str | None) -> list[str]:
    """Each runner must fail on a broken block (and pass on a good one)."""
    global TIMEOUT
    TIMEOUT = 10  # the hanging block must not cost two minutes
    problems = []
    with tempfile.TemporaryDirectory(dir=ROOT / "docs") as tmp:
        for lang, good, bad in [
            ("sh", "bash scripts/test.sh\n", "bash scripts/no-such-script.sh\n"),
            ("sh", "echo ok\n", "if then fi\n"),
            (
                "js",
                "import { Config } from 'dtls-rs';\nconsole.log(new Config().mtu);\n",
                "import { Config } from 'dtls-rs';\nnew Config({ mtuu: 1 });\n",
            ),
            ("js", "await Promise.resolve(1);\n", "setInterval(() => {}, 1000);\n"),
            (
                "python",
                "import dtls\nassert dtls.is_dtls(b'\\x16')\n",
                "import dtls\ndtls.no_such_function()\n",
            ),
            ("python", "import asyncio\nawait asyncio.sleep(0)\n", "raise SystemExit(3)\n"),
        ]:
            if lang == "python" and python is None:
                continue
            if lang == "js" and shutil.which("node") is None:
                continue
            for expect_ok, code in [(True, good), (False, bad)]:
                md = Path(tmp) / "snippet.md"
                md.write_text(f"# t\n\n```{lang}\n{code}```\n")
                runner = {"sh": run_sh, "js": run_js, "python": lambda fs: run_python(fs, python)}[lang]
                with open(os.devnull, "w") as quiet:
                    saved, sys.stdout = sys.stdout, quiet
                    try:
                        got = runner([md])
                    finally:
                        sys.stdout = saved
                if (not got) != expect_ok:
                    problems.append(
                        f"self-test: the {lang} runner {'failed' if expect_ok else 'passed'} "
                        f"on {code!r}: {got}"
                    )
        md = Path(tmp) / "snippet.md"
        md.write_text("```\nno language\n```\n")
        if not check_languages([md]):
            problems.append("self-test: a block without a language was accepted")
    print("self-test: every runner fails on a broken block" if not problems else "")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["python", "js", "sh", "self-test"])
    ap.add_argument("--python", help="the interpreter with dtls installed (python, self-test)")
    args = ap.parse_args()
    files = doc_files()
    problems = check_languages(files)
    if args.what == "python":
        if not args.python:
            ap.error("python needs --python")
        problems += run_python(files, args.python)
    elif args.what == "js":
        problems += run_js(files)
    elif args.what == "sh":
        problems += run_sh(files)
    else:
        problems += self_test(args.python)
    for p in problems:
        print(f"snippets: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
