#!/usr/bin/env python3
"""hot_sections.py MAP BINARY CALLGRIND_OUT... > hot-sections.ld
hot_sections.py --check BINARY


Writes the linker script that gathers the code a CNI call runs at the start of the sixrd binary
(see README.md "Performance"). A call touches code all over the 3 MB of text, and the kernel maps
text 64 KiB around each page fault: an ADD took 36 text faults, nearly one per 64 KiB window.
Gathered, the same code sits in about eight windows.

MAP is the linker map (-Wl,-Map) of a link of BINARY, which must keep its symbols; the callgrind
outputs (--demangle=no) name the functions the calls ran. Each function is looked up by address
in BINARY (every copy of it: a local clone such as .isra.0 has one per translation unit) and the
input section holding it is taken from MAP: a function section of sixrd's own code or libstdc++
(.text.<mangled name>, named in any file), or the whole .text of an archive member (libc,
libnl), named archive:member. Code callgrind does not see is added: glibc's IFUNC resolvers (a
static binary applies its IRELATIVE relocations itself), the few functions before main, the
look-up of the vDSO's functions (valgrind runs a program without a vDSO), and the sleep of the
wait for the veths' operational state.

The script is read with INSERT: the default linker script stays, and the hot section goes in
front of .text in the same segment. A section that a later build no longer has matches nothing.

--check (ctest binary_hot_sections): BINARY has the hot section, in front of .text, and it holds
at least MIN_HOT_BYTES (a script whose patterns stopped matching, e.g. after a toolchain change,
would leave it nearly empty).
"""
import bisect
import re
import subprocess
import sys

MIN_HOT_BYTES = 256 * 1024

# Run before main, unseen by callgrind.
START_UP = {
    "_start", "_dl_relocate_static_pie", "__libc_setup_tls", "_dl_non_dynamic_init",
    "_dl_new_object", "frame_dummy", "register_tm_clones", "deregister_tm_clones",
    "__wrap__dl_get_origin",
}
# glibc's start-up looks the vDSO's functions up (setup_vdso, in _dl_non_dynamic_init), and
# valgrind gives the program it runs no vDSO: callgrind never sees these, every real call runs
# them (two text faults outside the hot section, counted with perf in the VM).
VDSO_SET_UP = {"_dl_lookup_symbol_x", "_dl_setup_hash"}
# Run by some calls only, and not by the ones profiled: the wait for the veths' operational state
# sleeps when the kernel's link watcher has not run yet, which it always has under callgrind's
# slowness (two text faults outside the hot section in the calls that sleep, perf in the VM).
SOMETIMES = {"__nanosleep", "__clock_nanosleep"}


def called_functions(paths):
    names = set()
    for path in paths:
        with open(path, errors="replace") as f:
            for line in f:
                m = re.match(r"^c?fn=\(\d+\) (.+)$", line.rstrip("\n"))
                if m:
                    # callgrind marks a recursion level with 'N
                    names.add(m.group(1).split("'")[0])
    return names


def function_addresses(binary):
    out = subprocess.run(["nm", "--defined-only", binary], capture_output=True, text=True,
                         check=True).stdout
    addresses = {}
    for line in out.splitlines():
        w = line.split()
        if len(w) == 3 and w[1] in "tTwW":
            addresses.setdefault(w[2], []).append(int(w[0], 16))
    return addresses


def text_input_sections(map_path):
    """(start, size, section name, file) of every input section in the text output sections."""
    sections = []
    inside = False
    pending = None
    with open(map_path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if re.match(r"^\.text(\.sixrd\.hot)?(\s|$)", line):
                inside = True
                continue
            if re.match(r"^\.\S", line):
                inside = False
                continue
            if not inside:
                continue
            m = re.match(r"^ (\.text\S*)$", line)
            if m:  # a long section name: its address, size and file are on the next line
                pending = m.group(1)
                continue
            m = re.match(r"^ (\.text\S*)?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$", line)
            if m and (m.group(1) or pending):
                sections.append((int(m.group(2), 16), int(m.group(3), 16),
                                 m.group(1) or pending, m.group(4).strip()))
            pending = None
    sections.sort()
    return sections


def pattern(section, path):
    """An input section description naming that section of that file alone, or, for a function
    section, that section in any file: a function defined in a header (an inline or implicit
    member, a template) has a copy in every translation unit that uses it, and which copy the
    linker keeps can change with any edit to the others. Named with its file, the copy kept at
    generation could stop matching (LeaseStore's destructor did, a text fault per call)."""
    if section.startswith(".text."):
        return "*(%s)" % section
    m = re.match(r"^(.*\.a)\((.*)\)$", path)
    if m:
        return "*%s:%s(%s)" % (m.group(1).split("/")[-1], m.group(2), section)
    return "*%s(%s)" % (path.split("/")[-1], section)


def check(binary):
    out = subprocess.run(["readelf", "-SW", binary], capture_output=True, text=True,
                         check=True).stdout
    found = {}
    for line in out.splitlines():
        m = re.match(r"^\s*\[\s*\d+\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)", line)
        if m:
            found[m.group(1)] = (int(m.group(2), 16), int(m.group(3), 16))
    hot, text = found.get(".text.sixrd.hot"), found.get(".text")
    if hot is None or text is None:
        sys.exit("%s: no .text.sixrd.hot section (is hot-sections.ld linked in?)" % binary)
    if hot[0] >= text[0]:
        sys.exit("%s: .text.sixrd.hot is not in front of .text" % binary)
    if hot[1] < MIN_HOT_BYTES:
        sys.exit("%s: .text.sixrd.hot holds %d bytes, under %d: regenerate hot-sections.ld with "
                 "tests/bench/hot-sections.sh" % (binary, hot[1], MIN_HOT_BYTES))
    print("%s: .text.sixrd.hot holds %d bytes in front of .text" % (binary, hot[1]))


def main(argv):
    if len(argv) == 3 and argv[1] == "--check":
        check(argv[2])
        return
    if len(argv) < 4:
        sys.exit(__doc__)
    map_path, binary, outputs = argv[1], argv[2], argv[3:]
    addresses = function_addresses(binary)
    wanted = called_functions(outputs) | START_UP | VDSO_SET_UP | SOMETIMES
    wanted |= {name for name in addresses if name.endswith("_ifunc")}
    sections = text_input_sections(map_path)
    starts = [s[0] for s in sections]
    hot = {}
    for name in wanted:
        for address in addresses.get(name, []):
            i = bisect.bisect_right(starts, address) - 1
            if i >= 0 and sections[i][0] <= address < sections[i][0] + sections[i][1]:
                hot[(sections[i][2], sections[i][3])] = sections[i][1]
    if not hot:
        sys.exit("hot_sections.py: no called function found in the map; is BINARY the mapped link?")
    print("/* Generated by tests/bench/hot-sections.sh from callgrind runs of ADD, DEL and VERSION:")
    print("   the code a CNI call runs, gathered in front of .text (README.md, Performance). */")
    print("SECTIONS\n{\n  .text.sixrd.hot :\n  {")
    printed = set()
    for section, path in sorted(hot, key=lambda k: (k[1].split("/")[-1], k[0])):
        line = pattern(section, path)
        if line not in printed:
            printed.add(line)
            print("    " + line)
    print("  }\n}\nINSERT BEFORE .text;")
    print("hot_sections.py: %d input sections, %d bytes" % (len(hot), sum(hot.values())),
          file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv)
