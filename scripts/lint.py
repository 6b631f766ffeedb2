#!/usr/bin/env python3
"""scripts/lint.py - the house rules a tool can check (see README.md, "Layout").

  1. layering: a quoted #include may only reach the rooms its own room may use;
  2. no prototype in a .c file for a function defined elsewhere (it belongs in a header);
  3. banned functions (STYLE: unbounded or unchecked string and number calls);
  4. no exit() in library code (only main.c ends the process);
  5. no source file over 800 lines, no C function over 150 lines;
  6. header names unique across rooms (an include names one file).

Prints one line per problem as FILE:LINE: message, then a count; exit 1 on any.
"""
import os
import re
import sys

MAX_FILE_LINES = 800
MAX_FUNC_LINES = 150

# room -> rooms it may include from (itself included)
ROOMS = {
    "include": ["include"],
    "nfq": ["include", "nfq"],
    "control/util": ["include", "control/util"],
    "control/policy": ["include", "control/util", "control/policy"],
    "control/compile": ["include", "control/util", "control/policy", "control/compile"],
    "control/k8s": ["include", "control/util", "control/k8s"],
    "control/daemon": ["include", "control/util", "control/policy", "control/compile",
                       "control/k8s", "control/daemon", "nfq"],
    "control": ["include", "control/util", "control/policy", "control/compile",
                "control/k8s", "control/daemon", "nfq", "control"],
}
LIBRARY_ROOMS = [r for r in ROOMS if r != "include"]
TOP_MAIN = {"control/main.c"}
BANNED = ["strcpy", "strcat", "sprintf", "vsprintf", "gets", "atoi", "atol", "atoll",
          "strtok", "strncpy", "tmpnam", "mktemp"]
SOURCE_EXT = (".c", ".h", ".sh", ".py")
SOURCE_DIRS = ["include", "nfq", "control", "tests", "bench", "scripts", "deploy", ".ci"]

problems = []


def report(path, line, msg):
    problems.append(f"{path}:{line}: {msg}")


def room_of(path):
    d = os.path.dirname(path)
    return d if d in ROOMS else None


def strip_comments_strings(text):
    """Blank out comments and string/char literals, keeping line structure."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + re.sub(r"[^\n]", " ", text[i + 1:j - 1]) + c if j - i >= 2 else text[i:j])
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def tracked_files():
    files = []
    for top in SOURCE_DIRS:
        for root, dirs, names in os.walk(top):
            dirs[:] = [d for d in dirs if d not in ("build", "node_modules", "corpus", "__pycache__")]
            for name in names:
                files.append(os.path.join(root, name))
    return sorted(files)


def check_headers_unique(files):
    seen = {}
    for f in files:
        if f.endswith(".h") and room_of(f):
            b = os.path.basename(f)
            if b in seen:
                report(f, 1, f"header name also used by {seen[b]}: an include must name one file")
            seen[b] = f
    return seen


def check_includes(path, raw, headers):
    room = room_of(path)
    if room is None:
        return
    allowed = ROOMS[room]
    for no, line in enumerate(raw.splitlines(), 1):
        m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
        if not m:
            continue
        name = m.group(1)
        target = headers.get(os.path.basename(name))
        if target is None:
            report(path, no, f'#include "{name}": no such header in any room')
            continue
        troom = room_of(target)
        if troom not in allowed:
            report(path, no, f'#include "{name}": {room}/ may not include {troom}/ '
                             f'(it may use {", ".join(r + "/" for r in allowed)})')


def check_prototypes(path, code):
    """Non-static function declarations at file scope in a .c file."""
    depth = 0
    stmt = []
    start = 0
    for no, line in enumerate(code.splitlines(), 1):
        if depth == 0 and line.strip() and not line.lstrip().startswith("#"):
            if not stmt:
                start = no
            stmt.append(line)
            joined = " ".join(s.strip() for s in stmt)
            if joined.endswith(";") or "{" in joined:
                if (joined.endswith(");") and "(" in joined and "=" not in joined
                        and not re.match(r"(static|typedef|extern\s+\"C\")\b", joined)
                        and not re.search(r"\b(struct|union|enum)\s+\w+\s*;$", joined)
                        and not re.match(r"[A-Z_][A-Z0-9_]*\s*\(", joined)):
                    m = re.search(r"(\w+)\s*\([^()]*(\([^()]*\)[^()]*)*\)\s*(__\w+(\([^)]*\))?\s*)*;$", joined)
                    fn = m.group(1) if m else "?"
                    report(path, start, f"prototype of {fn}() in a .c file: declare it in a header")
                stmt = []
        elif depth == 0:
            stmt = []
        depth += line.count("{") - line.count("}")
        if depth < 0:
            depth = 0


def check_functions(path, code):
    lines = code.splitlines()
    open_at = None
    sig = 0
    for i, line in enumerate(lines):
        if line.startswith("{") and open_at is None:
            # the signature starts after the previous blank line or closing brace
            sig = i
            while sig > 0 and lines[sig - 1].strip() and not lines[sig - 1].startswith("}") \
                    and not lines[sig - 1].rstrip().endswith(";") and not lines[sig - 1].startswith("#"):
                sig -= 1
            open_at = i
        elif line.startswith("}") and open_at is not None:
            n = i - sig + 1
            if n > MAX_FUNC_LINES:
                m = re.search(r"(\w+)\s*\(", " ".join(lines[sig:open_at]))
                name = m.group(1) if m else "?"
                report(path, sig + 1, f"function {name}() is {n} lines (at most {MAX_FUNC_LINES})")
            open_at = None


def check_calls(path, code):
    room = room_of(path)
    for no, line in enumerate(code.splitlines(), 1):
        for fn in BANNED:
            if re.search(r"(?<![\w.>])" + fn + r"\s*\(", line):
                report(path, no, f"{fn}() is banned: use the bounded or checked form")
        if room in LIBRARY_ROOMS and path not in TOP_MAIN and re.search(r"(?<![\w.>])exit\s*\(", line):
            report(path, no, "exit() in library code: return an error to the caller")


def main():
    os.chdir(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    files = tracked_files()
    headers = check_headers_unique(files)
    for f in files:
        if not f.endswith(SOURCE_EXT):
            continue
        try:
            raw = open(f, encoding="utf-8").read()
        except (UnicodeDecodeError, OSError) as e:
            report(f, 1, f"unreadable: {e}")
            continue
        nlines = raw.count("\n")
        if nlines > MAX_FILE_LINES:
            report(f, 1, f"{nlines} lines (at most {MAX_FILE_LINES}): split it along a seam")
        if not f.endswith((".c", ".h")):
            continue
        code = strip_comments_strings(raw)
        check_includes(f, raw, headers)
        if f.endswith(".c"):
            check_prototypes(f, code)
        check_functions(f, code)
        check_calls(f, code)
    for p in problems:
        print(p)
    print(f"lint: {len(problems)} problem(s) in {len(files)} files")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
