#!/usr/bin/env python3
"""Checks that the repository stands on its own (Python 3 standard library only).

Fails, with one line per problem, when
  (a) a tracked file outside tests/ names the folder that sits beside the repository on the
      development machine (the string SHARED below; binary files are skipped), or
  (b) a relative link or image in a tracked Markdown file does not resolve to a tracked file
      (or to a folder holding tracked files) inside the repository. `path#anchor` checks the
      path; a pure `#anchor` checks that the same file has that heading (GitHub slug rules) or an
      HTML id/name; a link that leaves the repository root is an error even if its target exists
      on this machine; links with a scheme (https:, mailto:, ...) are not checked.

Usage:
  python3 scripts/check_repo.py [--root DIR]    check the git checkout holding DIR (default: this script's)
  python3 scripts/check_repo.py --self-test     check the checker on a temporary repository

Run by scripts/test.d/repo.sh (so by scripts/test.sh and CI).
"""
import argparse
import os
import posixpath
import re
import subprocess
import sys
import tempfile
import unicodedata
import urllib.parse

# Built from two parts so that this file does not contain the string it looks for.
SHARED = ".." + "/shared"
ALLOWED_PREFIXES = ("tests/",)  # the tests may use the folder as an optional extra


def tracked_files(root):
    out = subprocess.run(["git", "-C", root, "ls-files", "-z"], check=True, stdout=subprocess.PIPE).stdout
    return [p for p in out.decode("utf-8", "surrogateescape").split("\0") if p]


def is_binary(data):
    return b"\0" in data[:8000]


def read_bytes(root, rel):
    path = os.path.join(root, rel)
    if os.path.islink(path):
        return os.readlink(path).encode("utf-8", "surrogateescape")
    if not os.path.isfile(path):
        return None  # tracked but deleted in the working tree
    with open(path, "rb") as f:
        return f.read()


# --- (a) the folder beside the repository ---


def check_shared(root, files):
    problems = []
    needle = SHARED.encode()
    for rel in files:
        if rel.startswith(ALLOWED_PREFIXES):
            continue
        data = read_bytes(root, rel)
        if data is None or is_binary(data) or needle not in data:
            continue
        for no, line in enumerate(data.split(b"\n"), 1):
            if needle in line:
                problems.append((rel, no, "shared", "mentions %s (a folder outside the repository; only tests/ may)" % SHARED))
    return problems


# --- (b) Markdown links ---

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
REF_DEF = re.compile(r"^ {0,3}\[([^\]]+)\]:[ \t]*(<[^>]*>|\S+)")
HTML_LINK = re.compile(r"""<(?:a|img|source)\b[^>]*?\b(?:href|src)\s*=\s*["']([^"']*)["']""", re.I)
HTML_ID = re.compile(r"""<[a-z][^>]*?\b(?:id|name)\s*=\s*["']([^"']+)["']""", re.I)
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def strip_code_spans(line):
    """Removes inline code spans (`x`, ``x``), which hold no links."""
    out, i = [], 0
    while i < len(line):
        if line[i] == "`":
            j = i
            while j < len(line) and line[j] == "`":
                j += 1
            ticks = line[i:j]
            end = line.find(ticks, j)
            if end < 0:
                out.append(line[i:j])
                i = j
                continue
            out.append(" " * (end + len(ticks) - i))  # keep the columns
            i = end + len(ticks)
        else:
            out.append(line[i])
            i += 1
    return "".join(out)


def inline_targets(line):
    """Targets of inline links and images: the text after every '](' up to its ')'."""
    for m in re.finditer(r"\]\(", line):
        i = m.end()
        while i < len(line) and line[i] in " \t":
            i += 1
        if i < len(line) and line[i] == "<":
            end = line.find(">", i)
            if end < 0:
                continue
            yield line[i + 1:end]
            continue
        depth, j = 0, i
        while j < len(line):
            c = line[j]
            if c == "\\" and j + 1 < len(line):
                j += 2
                continue
            if c == "(":
                depth += 1
            elif c == ")":
                if depth == 0:
                    break
                depth -= 1
            elif c in " \t":
                break
            j += 1
        if j > i:
            yield line[i:j]


def heading_text(raw):
    """The rendered text of a heading: links reduced to their text, code and emphasis marks dropped."""
    t = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", raw)
    t = re.sub(r"<[^>]+>", "", t)
    t = t.replace("`", "")
    t = re.sub(r"(\*\*|__|\*)", "", t)
    return t.strip()


def github_slug(text):
    """GitHub's heading anchor: lower case, punctuation and symbols dropped, spaces to '-'."""
    out = []
    for c in text.lower():
        if c == " ":
            out.append("-")
        elif c in "-_" or unicodedata.category(c)[0] in "LNM":
            out.append(c)
    return "".join(out)


def markdown_lines(text):
    """(line number, line) outside fenced code blocks."""
    fence = None
    for no, line in enumerate(text.split("\n"), 1):
        m = FENCE.match(line)
        if fence is None and m:
            fence = m.group(1)
            continue
        if fence is not None:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) and not line.strip()[len(m.group(1)):].strip():
                fence = None
            continue
        yield no, line


def anchors(text):
    slugs, seen = set(), {}
    prev = None
    for no, line in markdown_lines(text):
        raw = None
        m = ATX.match(line)
        if m:
            raw = m.group(2) or ""
        elif prev is not None and prev.strip() and SETEXT.match(line) and not ATX.match(prev):
            raw = prev.strip()
        if raw is not None:
            slug = github_slug(heading_text(raw))
            n = seen.get(slug, 0)
            seen[slug] = n + 1
            slugs.add(slug if n == 0 else "%s-%d" % (slug, n))
        for m in HTML_ID.finditer(line):
            slugs.add(m.group(1))
        prev = line
    return slugs


def link_targets(text):
    for no, line in markdown_lines(text):
        code_free = strip_code_spans(line)
        for t in inline_targets(code_free):
            yield no, t
        m = REF_DEF.match(code_free)
        if m:
            t = m.group(2)
            yield no, t[1:-1] if t.startswith("<") else t
        for m in HTML_LINK.finditer(code_free):
            yield no, m.group(1)


def check_links(root, files):
    tracked = set(files)
    folders = set()
    for f in files:
        d = posixpath.dirname(f)
        while d:
            folders.add(d)
            d = posixpath.dirname(d)
    problems = []
    for rel in files:
        if not rel.lower().endswith(".md"):
            continue
        data = read_bytes(root, rel)
        if data is None or is_binary(data):
            continue
        text = data.decode("utf-8", "replace")
        own_anchors = None
        for no, target in link_targets(text):
            target = target.strip()
            if not target or SCHEME.match(target) or target.startswith("//"):
                continue
            path, _, anchor = target.partition("#")
            path = path.split("?", 1)[0]
            if not path:
                if own_anchors is None:
                    own_anchors = anchors(text)
                if urllib.parse.unquote(anchor).lower() not in own_anchors and anchor not in own_anchors:
                    problems.append((rel, no, "anchor", "link #%s: no such heading in %s" % (anchor, rel)))
                continue
            path = urllib.parse.unquote(path)
            if path.startswith("/"):
                resolved = posixpath.normpath(path.lstrip("/"))
            else:
                resolved = posixpath.normpath(posixpath.join(posixpath.dirname(rel), path))
            if resolved == ".." or resolved.startswith("../"):
                problems.append((rel, no, "escapes", "link %s leaves the repository" % target))
            elif resolved not in tracked and resolved not in folders and resolved != ".":
                if os.path.exists(os.path.join(root, resolved)):
                    problems.append((rel, no, "untracked", "link %s: %s exists but is not tracked" % (target, resolved)))
                else:
                    problems.append((rel, no, "missing", "link %s: %s does not exist" % (target, resolved)))
    return problems


def check(root):
    files = tracked_files(root)
    return check_shared(root, files) + check_links(root, files)


def report(problems, out=sys.stderr):
    for rel, no, _, what in problems:
        print("  %s:%d: %s" % (rel, no, what), file=out)


# --- self-test ---


def self_test():
    with tempfile.TemporaryDirectory(prefix="check_repo_") as tmp:
        root = os.path.join(tmp, "repo")

        def write(rel, content):
            path = os.path.join(root, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(content.encode() if isinstance(content, str) else content)

        subprocess.run(["git", "init", "-q", root], check=True)
        write("docs/guide.md", "# Guide\n\n[back](../README.md) and [the top](../README.md#setting-up)\n")
        write("docs/figures/a.png", b"\x89PNG\0\0")
        write("README.md", "\n".join([
            "# Title",
            "## Setting up (step 1)",
            "[good](docs/guide.md) ![image](docs/figures/a.png) [folder](docs/)",
            "[anchor](#setting-up-step-1) [web](https://example.com/x) <https://example.com>",
            "[bad](docs/missing.md)",
            "[bad anchor](#no-such-heading)",
            "[outside](../outside.md)",
            "[untracked](notes.md)",
            "`[in code](docs/missing.md)`",
            "```sh",
            "[in a block](docs/missing.md)",
            "```",
            "Setext heading",
            "--------------",
            "## Title",
            "## Pure ε-NE *and* café",
            "[setext](#setext-heading) [second title](#title-1) [letters](#pure-ε-ne-and-café)",
            "[no third title](#title-2)",
            "",
        ]))
        write("notes.md", "not tracked\n")
        write("scripts/run.sh", "ls %s/data\n" % SHARED)
        write("tests/test.sh", "ls %s/data\n" % SHARED)  # allowed under tests/
        write("data.bin", b"\0" + SHARED.encode())  # binary: skipped
        subprocess.run(["git", "-C", root, "add", "README.md", "docs", "scripts", "tests", "data.bin"], check=True)
        with open(os.path.join(tmp, "outside.md"), "w") as f:  # exists, beside the checkout
            f.write("x\n")
        got = sorted((rel, no, kind) for rel, no, kind, _ in check(root))
        want = sorted([("scripts/run.sh", 1, "shared"), ("README.md", 5, "missing"), ("README.md", 6, "anchor"),
                       ("README.md", 7, "escapes"), ("README.md", 8, "untracked"),
                       ("README.md", 18, "anchor")])
        if got != want:
            print("check_repo.py --self-test: FAILED", file=sys.stderr)
            print("  expected problems at %s" % want, file=sys.stderr)
            print("  found:", file=sys.stderr)
            report(check(root))
            return 1
    # The slug rules on a few headings, as GitHub renders them.
    for heading, slug in [("Grid scan (MATH.md §7.1)", "grid-scan-mathmd-71"),
                          ("Example D: 3×3 common payoff, for IC and CC", "example-d-33-common-payoff-for-ic-and-cc"),
                          ("`dgeval infer`", "dgeval-infer"),
                          ("5.2 (R2) Main bound: regret [C + D]", "52-r2-main-bound-regret-c--d")]:
        if github_slug(heading_text(heading)) != slug:
            print("check_repo.py --self-test: FAILED: slug of %r is %r, expected %r"
                  % (heading, github_slug(heading_text(heading)), slug), file=sys.stderr)
            return 1
    print("check_repo.py --self-test: ok")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args()
    if args.self_test:
        return self_test()
    try:
        root = subprocess.run(["git", "-C", args.root, "rev-parse", "--show-toplevel"], check=True,
                              stdout=subprocess.PIPE, universal_newlines=True).stdout.strip()
    except (subprocess.CalledProcessError, OSError) as e:
        print("check_repo.py: %s is not in a git checkout (%s)" % (args.root, e), file=sys.stderr)
        return 2
    problems = check(root)
    if problems:
        print("check_repo.py: %d problem(s) in %s:" % (len(problems), root), file=sys.stderr)
        report(problems)
        return 1
    print("check_repo.py: ok (no file outside tests/ names %s; every relative Markdown link resolves)" % SHARED)
    return 0


if __name__ == "__main__":
    sys.exit(main())
