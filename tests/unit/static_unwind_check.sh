#!/usr/bin/env bash
# static_unwind_check.sh SIXRD — a failing CNI call does not pay for sorting the unwind tables
# (util/static_unwind.cpp). Checks that the static binary has a PT_GNU_EH_FRAME segment (ld's
# sorted FDE table, which the unwinder uses once nothing is registered) and counts, with
# callgrind, the instructions of one ADD refused for its configuration: its error travels as an
# exception, and with crtbeginT's registration in force that first throw took 16.8 million of the
# call's 17.0 million instructions (186,000 without it). The count is deterministic for a given
# binary; the bound sits between the two with room on either side.
set -euo pipefail

sixrd=${1:?usage: static_unwind_check.sh SIXRD}
bound=2000000

for tool in readelf valgrind; do
  if ! command -v "$tool" >/dev/null; then
    echo "static_unwind_check: needs $tool (bash install/deps.sh test; readelf comes with g++)" >&2
    exit 1
  fi
done

if ! readelf -lW "$sixrd" | grep -q GNU_EH_FRAME; then
  echo "static_unwind_check: $sixrd has no PT_GNU_EH_FRAME segment (-Wl,--eh-frame-hdr gone?)" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# No prefix: refused with code 7 before anything touches the kernel or the disk.
printf '%s' '{"cniVersion":"1.0.0","name":"unwind-check","type":"sixrd"}' >"$work/conf.json"
CNI_COMMAND=ADD CNI_CONTAINERID=unwind-check CNI_NETNS=/proc/self/ns/net CNI_IFNAME=eth0 \
  CNI_PATH="$work" valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" \
  --log-file="$work/valgrind.log" "$sixrd" <"$work/conf.json" >"$work/stdout" || true

if ! grep -q '"code":7' "$work/stdout"; then
  echo "static_unwind_check: expected a code 7 error, got:" >&2
  cat "$work/stdout" >&2
  exit 1
fi
count=$(sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p' "$work/valgrind.log")
if [ -z "$count" ]; then
  echo "static_unwind_check: no instruction count in valgrind's log:" >&2
  cat "$work/valgrind.log" >&2
  exit 1
fi
echo "static_unwind_check: refused ADD: $count instructions (bound $bound)"
if [ "$count" -ge "$bound" ]; then
  echo "static_unwind_check: the first throw sorts the unwind tables again (crtbeginT's" \
    "registration?)" >&2
  exit 1
fi
