#!/usr/bin/python3
"""The include order of sixrd's top-level folders (README "Layout"), checked.

    util <- ipam <- tunnel <- cni <- install <- main.cpp

A file may include its own folder and the folders below it, never one above: that keeps every
dependency pointing one way, so there is no cycle between folders (and no pair of libraries that
need each other). Every `#include "<folder>/..."` in the C++ files of those folders (and main.cpp
at the root) is read; each include pointing up the order, or into a top-level folder the order does
not know, is printed as file:line and fails the check.

The same files never include <iostream> or <CLI/...> themselves: util/streams.hpp and
util/cli11.hpp stand for them, so that no static std::ios_base::Init builds the standard streams
and the locale before main on every CNI call (util/streams.hpp says why).

usage: layers.py SOURCE_DIR     check the tree
       layers.py --self-test    check that the checker finds an upward include and a cycle
"""

import pathlib
import re
import subprocess
import sys
import tempfile

ORDER = ["util", "ipam", "tunnel", "cni", "install"]
ROOT_RANK = len(ORDER)  # main.cpp: the program's entry, above everything
SUFFIXES = {".cpp", ".hpp", ".h", ".cc"}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"/]+)/[^"]*"')
STREAMS = re.compile(r'^\s*#\s*include\s+[<"](iostream|CLI/[^>"]*)[>"]')
# The only files that may include what STREAMS matches, and what the others include instead.
STREAMS_WRAPPERS = {"util/streams.hpp", "util/cli11.hpp"}


def sources(root):
    for name in ORDER:
        folder = root / name
        if folder.is_dir():
            for path in sorted(folder.rglob("*")):
                if path.suffix in SUFFIXES and path.is_file():
                    yield path, ORDER.index(name)
    for path in sorted(root.glob("*")):
        if path.suffix in SUFFIXES and path.is_file():
            yield path, ROOT_RANK


def problems(root):
    found = []
    for path, rank in sources(root):
        text = path.read_text(encoding="utf-8", errors="replace")
        relative = path.relative_to(root).as_posix()
        for number, line in enumerate(text.splitlines(), 1):
            streams = STREAMS.match(line)
            if streams and relative not in STREAMS_WRAPPERS:
                instead = "util/streams.hpp" if streams.group(1) == "iostream" else "util/cli11.hpp"
                found.append(f"{relative}:{number}: includes <{streams.group(1)}>: include "
                             f"\"{instead}\" instead (its static initialiser would build the "
                             f"standard streams before main on every CNI call)")
                continue
            match = INCLUDE.match(line)
            if not match:
                continue
            target = match.group(1)
            where = f"{path.relative_to(root)}:{number}"
            if target not in ORDER:
                if (root / target).is_dir():
                    found.append(f"{where}: includes {target}/, a folder the layer order does not "
                                 f"know: add it to ORDER in tests/style/layers.py and to README "
                                 f"Layout")
                continue  # a system or third-party header spelled with quotes
            if ORDER.index(target) > rank:
                owner = "main.cpp" if rank == ROOT_RANK else ORDER[rank] + "/"
                found.append(f"{where}: {owner} includes {target}/, which is above it in "
                             f"{' <- '.join(ORDER)}: {line.strip()}")
    return found


def self_test():
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        for name in ORDER:
            (root / name).mkdir()
        (root / "ipam" / "a.hpp").write_text('#include "util/owner.hpp"\n')
        (root / "install" / "b.cpp").write_text('#include "cni/plugin.hpp"\n')
        (root / "main.cpp").write_text('#include "install/b.hpp"\n#include "cni/c.hpp"\n')
        (root / "util" / "streams.hpp").write_text("#include <iostream>\n")
        (root / "util" / "cli11.hpp").write_text("#include <CLI/CLI.hpp>\n")
        ok = problems(root)
        assert ok == [], ok
        (root / "tunnel" / "s.cpp").write_text("#include <iostream>\n#include <CLI/CLI.hpp>\n")
        bad = problems(root)
        assert [p.split(": ")[0] for p in bad] == ["tunnel/s.cpp:1", "tunnel/s.cpp:2"], bad
        (root / "tunnel" / "s.cpp").unlink()
        # A cycle between two folders needs one include pointing up: cni -> install.
        (root / "cni" / "cli.cpp").write_text('#include <string>\n\n#include "install/commands.hpp"\n')
        bad = problems(root)
        assert len(bad) == 1 and bad[0].startswith("cni/cli.cpp:3: cni/ includes install/"), bad
        (root / "util" / "x.hpp").write_text('#include "ipam/sixrd_math.hpp"\n')
        (root / "extra").mkdir()
        (root / "tunnel" / "y.cpp").write_text('#include "extra/z.hpp"\n')
        bad = problems(root)
        assert len(bad) == 3, bad
        assert any(p.startswith("util/x.hpp:1: util/ includes ipam/") for p in bad), bad
        assert any(p.startswith("tunnel/y.cpp:1: includes extra/") for p in bad), bad
        # The command line fails with the offending lines on stdout.
        run = subprocess.run([sys.executable, __file__, str(root)], capture_output=True, text=True)
        assert run.returncode == 1 and "cni/cli.cpp:3" in run.stdout, run
    print("layers.py self-test: an upward include, an unknown folder, a cycle and <iostream> "
          "are all found")


def main(argv):
    if argv[1:] == ["--self-test"]:
        self_test()
        return 0
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    root = pathlib.Path(argv[1]).resolve()
    found = problems(root)
    for line in found:
        print(line)
    checked = sum(1 for _ in sources(root))
    if found:
        print(f"layers: {len(found)} include(s) against {' <- '.join(ORDER)} <- main.cpp "
              f"in {checked} files")
        return 1
    print(f"layers: {checked} files follow {' <- '.join(ORDER)} <- main.cpp")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
