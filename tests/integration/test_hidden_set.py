"""The characters the console marks as hidden (dom.js's HIDDEN, a regular expression the browser
evaluates) and the ones policy evaluation and the log treat as hidden (utf8_hidden in
internal/base/utf8.c, a table of ranges) are written twice, in two languages: they must agree on
every assigned code point. Node evaluates the console's expression as a browser would."""
import json
import os
import re
import subprocess

SRC = os.environ.get("CAVRA_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))

# Every code point the expression matches, and every unassigned one (\p{Cn}), as hex ranges.
NODE = r"""
const src = require('fs').readFileSync(process.argv[1], 'utf8');
const m = src.match(/^const HIDDEN = \/(.*)\/u;$/m);
const hidden = new RegExp(m[1], 'u'), unassigned = /\p{Cn}/u;
function ranges(re) {
  const out = [];
  let start = -1;
  for (let c = 0; c <= 0x110000; c++) {
    const hit = c < 0x110000 && !(c >= 0xd800 && c < 0xe000) && re.test(String.fromCodePoint(c));
    if (hit && start < 0) start = c;
    if (!hit && start >= 0) { out.push([start, c - 1]); start = -1; }
  }
  return out;
}
console.log(JSON.stringify({ hidden: ranges(hidden), unassigned: ranges(unassigned) }));
"""


def expand(ranges):
    return {c for lo, hi in ranges for c in range(lo, hi + 1)}


def c_table():
    text = open(os.path.join(SRC, "internal/base/utf8.c")).read()
    body = re.search(r"bool utf8_hidden\(unsigned int cp\)\n\{(.*?)\n\}", text, re.S).group(1)
    pairs = re.findall(r"\{(0x[0-9a-f]+), (0x[0-9a-f]+)\}", body)
    assert len(pairs) > 20, body
    return expand((int(a, 16), int(b, 16)) for a, b in pairs)


def test_console_and_policy_hide_the_same_characters():
    out = subprocess.run(["node", "-e", NODE, os.path.join(SRC, "internal/http/console/dom.js")],
                         capture_output=True, text=True, check=True).stdout
    sets = json.loads(out)
    console = expand(sets["hidden"])
    unassigned = expand(sets["unassigned"])
    # C0 controls other than tab and newline, and DEL, are utf8_find_hidden's own test
    c0 = set(range(0x20)) - {0x09, 0x0A} | {0x7F}
    assert c0 <= console
    policy = c_table()
    only_console = sorted(console - c0 - policy)
    only_policy = sorted(policy - console - unassigned)
    assert not only_console, "dom.js marks, utf8.c does not: " + " ".join(
        "U+%04X" % c for c in only_console)
    assert not only_policy, "utf8.c treats as hidden, dom.js does not mark: " + " ".join(
        "U+%04X" % c for c in only_policy)
