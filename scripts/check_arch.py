#!/usr/bin/env python3
"""The architecture check: every `#include "..."` follows the layer order.

Usage: scripts/check_arch.py [--root DIR] [--quiet]

Reads the C, C++ and CUDA files of src/, cli/, bench/, python/boostrl/_ext/,
fuzz/ and tests/ under DIR (the repository by default), resolves each quoted
include the way the build does (the including file's folder, then include/,
then src/, and tests/ for the tests) and fails, naming file:line and the rule broken, when a file
includes a header it may not. The layer order is written here once;
docs/DESIGN.md ("Layers") says the same in words.

Rules:
  1. A library layer (src/) includes the public header, its own layer and
     layers of a lower rank only. Layers of equal rank are peers and do not
     include each other.
  2. The CUDA backend's internals (src/cuda/*.h) are included from src/cuda
     only.
  3. The applications (cli/, python/boostrl/_ext/) and the MPI library
     (src/mpi/) include the public headers and their own folder only: they
     are users of the API, like any program.
  4. bench/ measures the engine and may include library internals, but no
     application includes bench/ (nor any folder but its own).
  5. tests/ and fuzz/ test internal modules and may include any library
     header (rule 2 still holds); tests/ may include cli/ sources.
  6. A quoted include that resolves to no file is an error: the check cannot
     place it.
  7. src/export translates a trained model through the engine's read-only
     model view: it includes the public header, core and
     src/engine/model_view.h only (no other engine header).

Exit status: 0 when every include follows the rules (allow-listed debts
aside), 1 otherwise, 2 on bad usage.
"""
import os
import re
import sys

# The layer order, lowest first: (rank, layer, path prefixes). A file belongs
# to the first layer whose prefix matches its path (relative to the root).
# src/backend/backend.h is the seam: the table of functions the engine calls
# through, below the engine; the backends that fill it (CPU, CUDA) sit above
# the engine, as peers.
LAYERS = [
    (0, "api", ["include/"]),
    (1, "core", ["src/core/"]),
    (2, "backend-api", ["src/backend/backend.h"]),
    (3, "engine", ["src/engine/"]),
    (3, "envs", ["src/envs/"]),
    (4, "backend", ["src/backend/"]),
    (4, "cuda", ["src/cuda/"]),
    (5, "explain", ["src/explain/"]),
    (5, "export", ["src/export/"]),
    (6, "rl", ["src/rl/"]),
    # Above the library.
    (7, "bench", ["bench/"]),
    (7, "cli", ["cli/"]),
    (7, "python", ["python/boostrl/_ext/"]),
    # The MPI communicator library (boostrl_mpi): on the public API only.
    (7, "mpi", ["src/mpi/"]),
    (8, "fuzz", ["fuzz/"]),
    (8, "tests", ["tests/"]),
]
APPS = {"cli", "python", "mpi"}  # rule 3
TESTS = {"tests", "fuzz"}  # rule 5
CUDA_INTERNAL = "src/cuda/"  # rule 2: headers under it
# Rule 7: layers that may include only some of the lower library layers:
# layer -> (layers it may include, single headers it may include).
NARROW = {
    "export": ({"api", "core"}, {"src/engine/model_view.h"}),
}

SCAN_DIRS = ["src", "cli", "bench", "python/boostrl/_ext", "fuzz", "tests"]
EXTS = (".c", ".h", ".cu", ".cuh", ".cpp", ".hpp")

# Known debts of issue 15 ("clean seams"), each with the work that removes
# it: (including file, included file) -> why it is still here. An entry that
# no longer occurs is reported so that it can be deleted.
ALLOW = {}

INCLUDE_RE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')


def layer_of(rel):
    for rank, name, prefixes in LAYERS:
        for p in prefixes:
            if rel == p or (p.endswith("/") and rel.startswith(p)):
                return rank, name
    return None, None


def resolve(root, rel_file, inc):
    """The file an include names, relative to root, or None."""
    here = os.path.dirname(rel_file)
    bases = [here, "include", "src"]
    if rel_file.startswith("tests/"):
        bases.append("tests")  # the tests' include folder (tests/oom)
    for base in bases:
        cand = os.path.normpath(os.path.join(base, inc))
        if not cand.startswith("..") and os.path.isfile(os.path.join(root, cand)):
            return cand.replace(os.sep, "/")
    return None


def check_include(rel, target):
    """The rule broken by rel including target, or None."""
    rank, name = layer_of(rel)
    trank, tname = layer_of(target)
    if target.startswith(CUDA_INTERNAL) and name != "cuda":
        return ("rule 2: the CUDA backend's internals (%s) are included from "
                "src/cuda only; go through src/backend/backend.h" % target)
    if name is None or tname is None:
        return None  # outside the checked tree (e.g. tests/cuda_emu headers)
    if name == tname or tname == "api":
        return None
    if name in APPS:
        return ("rule 3: %s is an application of the public API and includes "
                "include/boostrl.h and its own folder only, not %s (layer %s)"
                % (name, target, tname))
    if name in TESTS:
        return None
    if name in NARROW and trank < rank:
        layers, files = NARROW[name]
        if tname not in layers and tname != name and target not in files:
            return ("rule 7: %s translates a model through the engine's "
                    "read-only view: it includes the public header, core and "
                    "%s only, not %s (layer %s)"
                    % (name, ", ".join(sorted(files)), target, tname))
    if tname in TESTS or tname in APPS or tname == "bench":
        return ("rule 4: %s (layer %s) includes %s of layer %s, which is not "
                "part of the library" % (rel, name, target, tname))
    if trank == rank:
        return ("rule 1: layers %s and %s are peers (rank %d) and do not "
                "include each other (%s)" % (name, tname, rank, target))
    if trank > rank:
        return ("rule 1: layer %s (rank %d) includes %s of the higher layer "
                "%s (rank %d)" % (name, rank, target, tname, trank))
    return None


def scan(root):
    """(errors, allowed, stale allow-list entries)."""
    errors, seen = [], set()
    for d in SCAN_DIRS:
        top = os.path.join(root, d)
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames.sort()
            for fn in sorted(filenames):
                if not fn.endswith(EXTS):
                    continue
                path = os.path.join(dirpath, fn)
                rel = os.path.relpath(path, root).replace(os.sep, "/")
                with open(path, encoding="utf-8", errors="replace") as f:
                    for lineno, line in enumerate(f, 1):
                        m = INCLUDE_RE.match(line)
                        if not m:
                            continue
                        inc = m.group(1)
                        target = resolve(root, rel, inc)
                        where = "%s:%d" % (rel, lineno)
                        if target is None:
                            errors.append("%s: rule 6: #include \"%s\" names "
                                          "no file (looked in %s/, include/, "
                                          "src/, and tests/ for tests)"
                                          % (where, inc, os.path.dirname(rel)))
                            continue
                        why = check_include(rel, target)
                        if why is None:
                            continue
                        if (rel, target) in ALLOW:
                            seen.add((rel, target))
                            continue
                        errors.append("%s: %s" % (where, why))
    stale = sorted(set(ALLOW) - seen)
    return errors, sorted(seen), stale


def main(argv):
    root = os.path.normpath(os.path.join(os.path.dirname(
        os.path.abspath(__file__)), ".."))
    quiet = False
    args = list(argv)
    while args:
        a = args.pop(0)
        if a == "--root" and args:
            root = args.pop(0)
        elif a == "--quiet":
            quiet = True
        else:
            print(__doc__.strip().splitlines()[2], file=sys.stderr)
            return 2
    if not os.path.isdir(os.path.join(root, "src")):
        print("check_arch: %s has no src/ folder: pass the repository with "
              "--root" % root, file=sys.stderr)
        return 2
    errors, allowed, stale = scan(root)
    for e in errors:
        print(e)
    if not quiet:
        for key in allowed:
            print("allowed (debt): %s includes %s: %s" % (key[0], key[1],
                                                          ALLOW[key]))
    for key in stale:
        print("note: the allow-list entry %s -> %s no longer occurs; delete "
              "it from scripts/check_arch.py" % key)
    if errors:
        print("check_arch: %d include(s) break the layer order (see the "
              "rules at the top of scripts/check_arch.py and docs/DESIGN.md)"
              % len(errors))
        return 1
    if not quiet:
        print("check_arch: every include follows the layer order "
              "(%d allow-listed debt(s))" % len(allowed))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
