#!/usr/bin/python3
"""A minimal CRI client (kubelet's side of runtime.v1) for the containerd e2e.

usage: cri.py SOCKET VERB [ARGS...]      one call; prints the result, exits 1 on an RPC error
       cri.py --serve                    one call per stdin line "SOCKET VERB [ARGS...]"; answers
                                         one line each: "ok RESULT" or "error MESSAGE"
verbs: version                           -> {"runtimeName", "runtimeVersion", "runtimeApiVersion", ...}
       status                            -> {"RuntimeReady": {...}, "NetworkReady": {...}}
       run NAME NAMESPACE UID [CGROUP_PARENT]   -> the new sandbox id
       inspect ID                        -> {"id", "state", "ip", "additionalIPs", "netns"}
       list                              -> the sandbox ids, space-separated
       stop ID | remove ID               -> nothing

Only python3-grpcio is needed: no generated code. Each call is a unary RPC whose request is
encoded here and whose reply is decoded here, with the field numbers of the published
k8s.io/cri-api pkg/apis/runtime/v1/api.proto (the comment above each encoder names the message).
An RPC error is reported as "METHOD: CODE: details", so the runtime's own message (for example
the CNI plugin's) reaches the test's output unchanged. --serve exists because importing grpc
takes seconds in the emulated test VM: the e2e starts one client and sends it every call.
"""
import json
import sys

import grpc

SERVICE = "/runtime.v1.RuntimeService/"
TIMEOUT = 180  # seconds: RunPodSandbox under qemu TCG starts a shim, runc and the CNI chain

# --- protobuf wire format (proto3: varint = 0, length-delimited = 2) -------------------------


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def tag(field, wire):
    return varint(field << 3 | wire)


def f_bytes(field, data):
    return tag(field, 2) + varint(len(data)) + data


def f_str(field, s):
    return f_bytes(field, s.encode()) if s else b""


def f_msg(field, body):
    return f_bytes(field, body)


def f_bool(field, v):
    return tag(field, 0) + varint(1) if v else b""


def f_map(field, d):
    # a map<string,string> is a repeated entry message {key = 1, value = 2}
    return b"".join(f_msg(field, f_str(1, k) + f_str(2, v)) for k, v in d.items())


def decode(buf):
    """field number -> list of raw values (int for varints, bytes for length-delimited)."""
    fields, i = {}, 0

    def read_varint():
        nonlocal i
        shift = n = 0
        while True:
            b = buf[i]
            i += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return n

    while i < len(buf):
        key = read_varint()
        field, wire = key >> 3, key & 7
        if wire == 0:
            val = read_varint()
        elif wire == 2:
            ln = read_varint()
            val = bytes(buf[i : i + ln])
            i += ln
        elif wire == 1:
            val = bytes(buf[i : i + 8])
            i += 8
        elif wire == 5:
            val = bytes(buf[i : i + 4])
            i += 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        fields.setdefault(field, []).append(val)
    return fields


def one(fields, n, default=None):
    return fields.get(n, [default])[0]


def s(fields, n):
    v = one(fields, n, b"")
    return v.decode() if isinstance(v, bytes) else ""


def dmap(fields, n):
    out = {}
    for entry in fields.get(n, []):
        e = decode(entry)
        out[s(e, 1)] = s(e, 2)
    return out


# --- calls --------------------------------------------------------------------------------------


class CriError(Exception):
    pass


def call(channel, method, request):
    rpc = channel.unary_unary(SERVICE + method, request_serializer=lambda b: b,
                              response_deserializer=lambda b: b)
    try:
        return decode(rpc(request, timeout=TIMEOUT))
    except grpc.RpcError as e:
        raise CriError(f"{method}: {e.code().name}: {e.details()}") from None


def version(ch):
    # VersionRequest{version=1} -> VersionResponse{version=1, runtime_name=2,
    # runtime_version=3, runtime_api_version=4}
    r = call(ch, "Version", f_str(1, "v1"))
    return {"version": s(r, 1), "runtimeName": s(r, 2), "runtimeVersion": s(r, 3),
            "runtimeApiVersion": s(r, 4)}


def status(ch):
    # StatusRequest{verbose=1} -> StatusResponse{status=1: RuntimeStatus{conditions=1:
    # RuntimeCondition{type=1, status=2, reason=3, message=4}}}
    r = call(ch, "Status", b"")
    out = {}
    for c in decode(one(r, 1, b"")).get(1, []):
        c = decode(c)
        out[s(c, 1)] = {"status": bool(one(c, 2, 0)), "reason": s(c, 3), "message": s(c, 4)}
    return out


def run(ch, name, namespace, uid, cgroup_parent=""):
    # PodSandboxMetadata{name=1, uid=2, namespace=3, attempt=4}
    metadata = f_str(1, name) + f_str(2, uid) + f_str(3, namespace)
    # NamespaceOption{network=1, pid=2, ipc=3}: POD = 0 for all, as for an ordinary pod;
    # LinuxSandboxSecurityContext{namespace_options=1};
    # LinuxPodSandboxConfig{cgroup_parent=1, security_context=2}
    linux = f_str(1, cgroup_parent) + f_msg(2, f_msg(1, b""))
    # PodSandboxConfig{metadata=1, hostname=2, log_directory=3, labels=6, annotations=7, linux=8}
    config = (f_msg(1, metadata) + f_str(2, name) +
              f_map(6, {"io.kubernetes.pod.name": name, "io.kubernetes.pod.namespace": namespace,
                        "io.kubernetes.pod.uid": uid}) +
              f_msg(8, linux))
    # RunPodSandboxRequest{config=1, runtime_handler=2} -> RunPodSandboxResponse{pod_sandbox_id=1}
    return s(call(ch, "RunPodSandbox", f_msg(1, config)), 1)


def inspect(ch, sandbox):
    # PodSandboxStatusRequest{pod_sandbox_id=1, verbose=2} ->
    # PodSandboxStatusResponse{status=1, info=2 (map)}; PodSandboxStatus{id=1, state=3,
    # network=5: PodSandboxNetworkStatus{ip=1, additional_ips=2: PodIP{ip=1}}}
    r = call(ch, "PodSandboxStatus", f_str(1, sandbox) + f_bool(2, True))
    st = decode(one(r, 1, b""))
    net = decode(one(st, 5, b""))
    netns = ""
    info = dmap(r, 2).get("info")
    if info:
        # containerd's verbose info: the OCI runtime spec of the sandbox, whose network
        # namespace entry names the path the CNI plugins were given.
        spec = json.loads(info).get("runtimeSpec", {})
        for ns in spec.get("linux", {}).get("namespaces", []):
            if ns.get("type") == "network":
                netns = ns.get("path", "")
    return {"id": s(st, 1), "state": ["SANDBOX_READY", "SANDBOX_NOTREADY"][one(st, 3, 0)],
            "ip": s(net, 1), "additionalIPs": [s(decode(p), 1) for p in net.get(2, [])],
            "netns": netns}


def list_sandboxes(ch):
    # ListPodSandboxRequest{} -> ListPodSandboxResponse{items=1: PodSandbox{id=1}}
    return [s(decode(p), 1) for p in call(ch, "ListPodSandbox", b"").get(1, [])]


def dispatch(ch, verb, args):
    """The result of one call as one line of text; None for a bad verb or argument count."""
    if verb == "version" and not args:
        return json.dumps(version(ch))
    if verb == "status" and not args:
        return json.dumps(status(ch))
    if verb == "run" and len(args) in (3, 4):
        return run(ch, *args)
    if verb == "inspect" and len(args) == 1:
        return json.dumps(inspect(ch, args[0]))
    if verb == "list" and not args:
        return " ".join(list_sandboxes(ch))
    if verb == "stop" and len(args) == 1:
        # StopPodSandboxRequest{pod_sandbox_id=1}
        call(ch, "StopPodSandbox", f_str(1, args[0]))
        return ""
    if verb == "remove" and len(args) == 1:
        # RemovePodSandboxRequest{pod_sandbox_id=1}
        call(ch, "RemovePodSandbox", f_str(1, args[0]))
        return ""
    return None


def serve():
    channels = {}
    for line in sys.stdin:
        words = line.split()
        if len(words) < 2:
            print("error usage: SOCKET VERB [ARGS...]", flush=True)
            continue
        sock, verb, args = words[0], words[1], words[2:]
        if sock not in channels:
            channels[sock] = grpc.insecure_channel("unix://" + sock)
        try:
            out = dispatch(channels[sock], verb, args)
            reply = f"error unknown call {verb} {args}" if out is None else f"ok {out}".rstrip()
        except CriError as e:
            reply = f"error {e}"
        except Exception as e:  # a reply the decoder cannot read: report it, keep serving
            reply = f"error {verb}: {type(e).__name__}: {e}"
        print(" ".join(reply.split("\n")), flush=True)
    return 0


def main(argv):
    if argv[1:] == ["--serve"]:
        return serve()
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    with grpc.insecure_channel("unix://" + argv[1]) as ch:
        try:
            out = dispatch(ch, argv[2], argv[3:])
        except CriError as e:
            print(e, file=sys.stderr)
            return 1
    if out is None:
        print(__doc__, file=sys.stderr)
        return 2
    if out:
        print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
