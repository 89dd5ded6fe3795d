"""The console's text markers (internal/http/console/dom.js), evaluated by Node without a browser:
what plainText (the markers as text, as in a title attribute; the page's text nodes get the
same markers as elements) makes of look-alikes, and whether the characters the console marks as
hidden (dom.js's HIDDEN, a regular expression the browser evaluates) and the ones policy
evaluation and the log treat as hidden (utf8_hidden in internal/base/utf8.c, a table of ranges)
agree on every assigned code point: they are written twice, in two languages."""
import json
import os
import re
import shutil
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


# value -> what the console shows
CASES = [
    # a letter of another script inside a word
    ("сlaude-code", "[U+0441 Cyrillic]laude-code"),
    # a word made only of look-alikes of Latin letters, among Latin text or alone
    ("curl https://аррӏе.com/x", "curl https://[U+0430 Cyrillic][U+0440 Cyrillic]"
     "[U+0440 Cyrillic][U+04CF Cyrillic][U+0435 Cyrillic].com/x"),
    ("сое", "[U+0441 Cyrillic][U+043E Cyrillic][U+0435 Cyrillic]"),
    ("git commit -m 'сера'",
     "git commit -m '[U+0441 Cyrillic][U+0435 Cyrillic][U+0440 Cyrillic][U+0430 Cyrillic]'"),
    ("ΑΒΕ test", "[U+0391 Greek][U+0392 Greek][U+0395 Greek] test"),
    ("օս", "[U+0585 Armenian][U+057D Armenian]"),
    # ... but prose in those scripts keeps its words, one-letter words included
    ("Работа с файлами", None),
    ("сухо и сера", None),
    ("git commit -m 'Исправлена ошибка с сервером'", None),
    ("Ελληνικά", None),
    # compatibility forms of ASCII
    ("/etc／shadow", "/etc[U+FF0F as \"/\"]shadow"),
    ("漢／etc", "漢[U+FF0F as \"/\"]etc"),
    ("rm -rf ／漢字", "rm -rf [U+FF0F as \"/\"]漢字"),
    ("漢字／ ls", "漢字[U+FF0F as \"/\"] ls"),
    ("ｒｍ　－ｒｆ", "[U+FF52 as \"r\"][U+FF4D as \"m\"][U+3000 as \" \"][U+FF0D as \"-\"]"
     "[U+FF52 as \"r\"][U+FF46 as \"f\"]"),
    # ... but fullwidth forms inside Japanese, Chinese or Korean text are that text
    ("（注）２０２４年の　設定／ファイル", None),
    ("「設定／ファイル」", None),
    ("설정／파일", None),
    ("codex", None),
    # a Windows line end is not hidden (as for policy evaluation); a lone carriage return is
    ("echo ok\r\nls -l\r\n", None),
    ("echo ok\rrm -rf ~", "echo ok[U+000D]rm -rf ~"),
    ("a\r\r\nb", "a[U+000D]\r\nb"),
]


def test_lookalikes_are_marked_and_prose_is_not(tmp_path):
    mod = tmp_path / "dom.mjs"  # an ES module: Node reads a .js file as CommonJS
    shutil.copyfile(os.path.join(SRC, "internal/http/console/dom.js"), mod)
    script = ("import {plainText} from %s;\n"
              "const xs = JSON.parse(process.argv[1]);\n"
              "console.log(JSON.stringify(xs.map(plainText)));" % json.dumps(str(mod)))
    values = [v for v, _ in CASES]
    out = subprocess.run(["node", "--input-type=module", "-e", script, json.dumps(values)],
                         capture_output=True, text=True, check=True).stdout
    got = json.loads(out)
    wrong = [(v, g, w if w is not None else v) for (v, w), g in zip(CASES, got)
             if g != (w if w is not None else v)]
    assert not wrong, "\n".join(f"{v!r}: shown as {g!r}, want {w!r}" for v, g, w in wrong)
