#!/usr/bin/python3
"""Checks that the module graph under internal/ still runs one way.

A file in internal/<mod>/ may include its own module's headers and those of modules in a
lower layer, never one in its own layer or above (that would be a cycle waiting to happen:
the CMake link graph in internal/<mod>/CMakeLists.txt follows the same order). cmd/ sits on
top and may include anything. Prints file:line for every include that runs back up and
exits 1; exits 0 when there is none.

    scripts/check-includes.py [ROOT]      check ROOT (default: the repository)
    scripts/check-includes.py --self-test plant a bad include in a scratch tree and check
                                          that it is caught
"""
import os
import re
import sys
import tempfile

# The layers, lowest first; a module may include only modules of a lower layer.
LAYERS = [
    ["base"],
    ["json"],
    ["config", "policy", "auth"],
    ["store"],
    ["migrate"],
    ["ops", "service"],
    ["audit"],
    ["http"],
]
RANK = {mod: i for i, layer in enumerate(LAYERS) for mod in layer}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def target_module(inc, own):
    """The module an include names: "mod/x.h" names mod, a bare "x.h" the file's own."""
    if "/" not in inc:
        return own
    return inc.split("/", 1)[0]


def check_file(path, own, shown):
    bad = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            mod = target_module(m.group(1), own)
            if mod == own:
                continue
            if mod not in RANK:
                bad.append(f"{shown}:{lineno}: include \"{m.group(1)}\": unknown module '{mod}'")
            elif RANK[mod] >= RANK[own]:
                bad.append(f"{shown}:{lineno}: include \"{m.group(1)}\": {own} may not "
                           f"include {mod} (not below it in the module graph)")
    return bad


def check_tree(root):
    internal = os.path.join(root, "internal")
    bad = []
    for own in sorted(os.listdir(internal)):
        mod_dir = os.path.join(internal, own)
        if not os.path.isdir(mod_dir):
            continue
        if own not in RANK:
            bad.append(f"internal/{own}: module not in the layer list of scripts/check-includes.py")
            continue
        for dirpath, _, files in os.walk(mod_dir):
            for name in sorted(files):
                if name.endswith((".c", ".h")):
                    path = os.path.join(dirpath, name)
                    bad += check_file(path, own, os.path.relpath(path, root))
    return bad


def self_test():
    with tempfile.TemporaryDirectory() as root:
        for mod, text in [("base", '#include "base/base.h"\n'),
                          ("store", '#include "base/base.h"\n#include "store/store.h"\n'),
                          ("ops", '#include "store/store.h"\n\n#include "http/http.h"\n')]:
            os.makedirs(os.path.join(root, "internal", mod))
            with open(os.path.join(root, "internal", mod, "x.c"), "w") as f:
                f.write(text)
        bad = check_tree(root)
        want = ["internal/ops/x.c:3: include \"http/http.h\": ops may not include http "
                "(not below it in the module graph)"]
        if bad != want:
            print(f"check-includes self-test: got {bad}, want {want}", file=sys.stderr)
            return 1
    print("check-includes self-test: the planted include was caught")
    return 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    if len(sys.argv) > 2:
        print("usage: scripts/check-includes.py [--self-test | ROOT]", file=sys.stderr)
        return 2
    root = sys.argv[1] if len(sys.argv) == 2 else os.path.join(os.path.dirname(__file__), "..")
    bad = check_tree(root)
    for line in bad:
        print(line, file=sys.stderr)
    if bad:
        return 1
    print("include graph: every internal/ include runs down the module graph")
    return 0


if __name__ == "__main__":
    sys.exit(main())
