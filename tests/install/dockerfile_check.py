#!/usr/bin/env python3
"""Checks install/Dockerfile against install/deps.sh and the rules of the node image.

usage: dockerfile_check.py DOCKERFILE DEPS_SH

- the build stage installs exactly the packages of deps.sh's build group;
- the final stage is FROM scratch with only the sixrd binary at /sixrd as the entrypoint;
- the build refuses a dynamically linked binary (ldd).
Exit 0 when every check passes, 1 otherwise.
"""
import re
import sys


def deps_build_packages(text):
    """Packages of deps.sh's build group: [build]="..." inside its group=( ... ) table."""
    m = re.search(r'^\s*\[build\]="([^"]*)"', text, re.M)
    return m.group(1).split() if m else []


def dockerfile_packages(text):
    joined = text.replace("\\\n", " ")
    m = re.search(r"apt-get install ([^&]*)", joined)
    return [w for w in m.group(1).split() if not w.startswith("-")] if m else []


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    docker = open(sys.argv[1], encoding="utf-8").read()
    deps = open(sys.argv[2], encoding="utf-8").read()
    failed, passed = [], 0

    def check(ok, what):
        nonlocal passed
        if ok:
            passed += 1
        else:
            failed.append(what)

    want = deps_build_packages(deps)
    got = dockerfile_packages(docker)
    check(bool(want), "deps.sh has a build section")
    check(sorted(want) == sorted(got),
          f"the image installs deps.sh's build packages: missing {sorted(set(want) - set(got))}, "
          f"extra {sorted(set(got) - set(want))}")
    stages = re.findall(r"^FROM\s+(\S+)", docker, re.M)
    check(len(stages) == 2 and stages[0].startswith("debian:"), "stage 1 builds FROM debian")
    check(stages[-1:] == ["scratch"], "the final stage is FROM scratch")
    final = docker[docker.rindex("FROM scratch"):]
    copies = re.findall(r"^COPY\s+(.*)$", final, re.M)
    check(copies == ["--from=build /build/sixrd /sixrd"], f"the final stage copies only /sixrd ({copies})")
    check(re.search(r'^ENTRYPOINT \["/sixrd"\]\s*$', final, re.M) is not None,
          'ENTRYPOINT ["/sixrd"]')
    check("if ldd /build/sixrd; then" in docker, "the build fails on a dynamically linked binary")

    for what in failed:
        print(f"FAILED: {what}")
    print(f"dockerfile_check: {passed} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
