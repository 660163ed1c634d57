#!/usr/bin/env python3
"""Checks install/kubernetes/sixrd.yaml against what sixrd's DaemonSet must be.

usage: manifest_check.py MANIFEST [SIXRD_BINARY]

With the binary it also checks the manifest against the binary itself: every subcommand and flag
the containers use exists, every SIXRD_* variable is one `sixrd install` reads, and `sixrd install`
accepts the ConfigMap's values exactly as the init container gets them (into a temporary host root
holding a stand-in for each chained plugin, without the tunnel).

The kustomization next to the manifest is checked too: it holds the manifest and sets the image of
every container in one place (its images entry); with kubectl, `kubectl kustomize` renders it, and
the uninstall mode (the component uninstall/, switched on the way an operator does) is rendered and
checked: same image, `sixrd uninstall --remove-tunnel` in the init container, an idle main
container, every node at once. Exit 0 when every check passes, 1 otherwise, naming each failed
check.
"""
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

FORBIDDEN_KINDS = {"ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"}
# sixrd talks netlink (CAP_NET_ADMIN) and writes root-owned host files it owns; nothing else.
CAPABILITIES_ADD = ["NET_ADMIN"]
# The long-running container also probes (ICMPv6 echo through the tunnel: egress relays, doctor).
DAEMON_CAPABILITIES_ADD = ["NET_ADMIN", "NET_RAW"]
HOST_ROOT = "/host"
HOST_DIRS = {"/opt/cni/bin", "/etc/cni/net.d"}
LEASE_STORE = "/run/sixrd"  # the plugin's default dataDir; the daemon reclaims leases there
# Service subnets of common cluster set-ups the example prefix must stay clear of (kind's IPv6
# defaults: services fd00:10:96::/112, pods fd00:10:244::/56; kubeadm's IPv6 examples).
COMMON_SUBNETS = ["fd00:10:96::/112", "fd00:10:244::/56", "fd00::/108", "fd00:10::/48"]


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = []

    def check(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failed.append(what)
        return ok


def argv_of(container):
    return list(container.get("command") or []) + list(container.get("args") or [])


def release_version(manifest, binary):
    """The version the image must carry: what the binary says, else CMakeLists.txt's project()."""
    if binary:
        first = run([binary, "--version"]).stdout.splitlines()[:1]
        if first and first[0].startswith("sixrd "):
            return first[0].split()[1]
    root = os.path.join(os.path.dirname(os.path.abspath(manifest)), "..", "..")
    with open(os.path.join(root, "CMakeLists.txt"), encoding="utf-8") as f:
        m = re.search(r"project\(sixrd VERSION ([0-9.]+)", f.read())
    return m.group(1) if m else "?"


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    manifest = sys.argv[1]
    binary = sys.argv[2] if len(sys.argv) == 3 else None
    with open(manifest, encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f) if d is not None]

    c = Checks()
    version = release_version(manifest, binary)
    with open(manifest, encoding="utf-8") as f:
        c.check(f.readline().startswith(f"# sixrd v{version} "),
                f"the manifest's first line names the release it runs, v{version}")
    kinds = [d.get("kind") for d in docs]
    c.check(kinds.count("ConfigMap") == 1, f"exactly one ConfigMap (kinds: {kinds})")
    c.check(kinds.count("DaemonSet") == 1, f"exactly one DaemonSet (kinds: {kinds})")
    for kind in sorted(FORBIDDEN_KINDS & set(kinds)):
        c.check(False, f"no {kind}: sixrd needs no API access")
    if c.failed:
        return report(c)

    cm = next(d for d in docs if d["kind"] == "ConfigMap")
    ds = next(d for d in docs if d["kind"] == "DaemonSet")
    data = cm.get("data") or {}
    for key in ("prefix", "underlay", "mtu", "cniVersion"):
        c.check(key in data, f"ConfigMap has {key}")
    c.check(data.get("cniVersion") == "",
            "the ConfigMap's cniVersion is empty (negotiated with the chained plugins)")
    try:
        prefix = ipaddress.ip_network(data.get("prefix", ""))
        for common in COMMON_SUBNETS:
            c.check(not prefix.overlaps(ipaddress.ip_network(common)),
                    f"the example prefix {prefix} is clear of {common}")
    except ValueError:
        c.check(False, f"the ConfigMap's prefix {data.get('prefix')!r} is an IPv6 prefix")
    c.check(ds["metadata"].get("namespace") == "kube-system", "DaemonSet in kube-system")
    c.check(cm["metadata"].get("namespace") == "kube-system", "ConfigMap in kube-system")

    pod = ds["spec"]["template"]["spec"]
    labels = ds["spec"]["template"]["metadata"].get("labels") or {}
    selector = ds["spec"]["selector"].get("matchLabels") or {}
    c.check(selector and all(labels.get(k) == v for k, v in selector.items()),
            "the selector matches the pod template's labels")
    c.check(pod.get("hostNetwork") is True, "hostNetwork: true")
    tolerations = pod.get("tolerations") or []
    c.check(any(t.get("operator") == "Exists" and "key" not in t and "effect" not in t
                for t in tolerations),
            "a toleration {operator: Exists} without key or effect (every taint)")
    c.check(pod.get("priorityClassName") == "system-node-critical",
            "priorityClassName: system-node-critical")
    c.check(pod.get("automountServiceAccountToken") is False, "automountServiceAccountToken: false")
    c.check("serviceAccountName" not in pod and "serviceAccount" not in pod,
            "no service account named")

    inits = pod.get("initContainers") or []
    mains = pod.get("containers") or []
    c.check(len(mains) == 1, "one long-running container")
    volumes = {v["name"]: v for v in pod.get("volumes") or []}
    host_paths = {v["hostPath"]["path"]: name for name, v in volumes.items() if "hostPath" in v}
    c.check(set(host_paths) == HOST_DIRS | {LEASE_STORE},
            f"hostPath volumes are exactly {sorted(HOST_DIRS | {LEASE_STORE})} "
            f"(got {sorted(host_paths)})")

    for ctr in inits + mains:
        name = ctr.get("name")
        sc = ctr.get("securityContext") or {}
        caps = sc.get("capabilities") or {}
        c.check(sc.get("privileged") is not True, f"{name}: not privileged")
        c.check(sc.get("allowPrivilegeEscalation") is False,
                f"{name}: allowPrivilegeEscalation: false")
        c.check((sc.get("seccompProfile") or {}).get("type") == "RuntimeDefault",
                f"{name}: seccompProfile RuntimeDefault")
        c.check(caps.get("drop") == ["ALL"], f"{name}: capabilities drop [ALL]")
        want_caps = DAEMON_CAPABILITIES_ADD if ctr in mains else CAPABILITIES_ADD
        c.check(sorted(caps.get("add") or []) == sorted(want_caps),
                f"{name}: capabilities add exactly {want_caps} (got {caps.get('add')})")
        c.check(ctr.get("image") == f"sixrd:v{version}",
                f"{name}: image sixrd:v{version}, the release (for kubectl apply -f; kustomize "
                f"sets it), not {ctr.get('image')}")
        c.check(ctr.get("imagePullPolicy") == "IfNotPresent", f"{name}: imagePullPolicy IfNotPresent")
        c.check(argv_of(ctr)[:1] == ["/sixrd"], f"{name}: runs /sixrd (the image has no shell)")
        for m in ctr.get("volumeMounts") or []:
            c.check(m["name"] in volumes, f"{name}: mount {m['name']} has a volume")

    installs = [ctr for ctr in inits if argv_of(ctr)[1:2] == ["install"]]
    c.check(len(installs) == 1, "an init container runs `sixrd install`")
    install_env = {}
    if installs:
        ctr = installs[0]
        argv = argv_of(ctr)
        c.check("--host-root" in argv and argv[argv.index("--host-root") + 1] == HOST_ROOT,
                f"install: --host-root {HOST_ROOT}")
        mounts = {m["mountPath"]: m for m in ctr.get("volumeMounts") or []}
        for path in HOST_DIRS:
            m = mounts.get(HOST_ROOT + path)
            c.check(m is not None and volumes[m["name"]]["hostPath"]["path"] == path
                    and not m.get("readOnly", False),
                    f"install: host {path} mounted writable at {HOST_ROOT}{path}")
        env = {e["name"]: e for e in ctr.get("env") or []}
        for var, key in (("SIXRD_PREFIX", "prefix"), ("SIXRD_UNDERLAY", "underlay"),
                         ("SIXRD_CNI_VERSION", "cniVersion")):
            ref = (env.get(var, {}).get("valueFrom") or {}).get("configMapKeyRef") or {}
            c.check(ref.get("name") == cm["metadata"]["name"] and ref.get("key") == key,
                    f"install: {var} from the ConfigMap's {key}")
        for var, e in env.items():
            ref = (e.get("valueFrom") or {}).get("configMapKeyRef")
            if ref:
                c.check(ref.get("key") in data or ref.get("optional") is True,
                        f"install: {var}'s ConfigMap key {ref.get('key')} exists")
                install_env[var] = data.get(ref.get("key"), "")
            elif "value" in e:
                install_env[var] = e["value"]
        field = ((env.get("SIXRD_NODE_IP", {}).get("valueFrom") or {}).get("fieldRef") or {})
        c.check(field.get("fieldPath") == "status.hostIP", "install: SIXRD_NODE_IP from status.hostIP")

    main_ctr = mains[0] if mains else {}
    probe = ((main_ctr.get("readinessProbe") or {}).get("exec") or {}).get("command") or []
    c.check(probe[:2] == ["/sixrd", "status"], "the readinessProbe execs `sixrd status`")
    c.check("--host-root" in probe and probe[probe.index("--host-root") + 1] == HOST_ROOT,
            f"the readinessProbe reads the conflist under {HOST_ROOT}")
    liveness = main_ctr.get("livenessProbe") or {}
    live = (liveness.get("exec") or {}).get("command") or []
    c.check(live[:3] == ["/sixrd", "status", "--liveness"],
            "the livenessProbe execs `sixrd status --liveness` (the daemon's heartbeat; the "
            "readiness check is no liveness check: restarting the daemon fixes nothing for ADD)")
    c.check("--host-root" in live and live[live.index("--host-root") + 1] == HOST_ROOT,
            f"the livenessProbe looks for the heartbeat under {HOST_ROOT}, as the daemon writes it")
    # A slow round must not get the daemon killed: the heartbeat already allows 3 rounds; the
    # probe adds its own patience on top and gives the first round time to start.
    c.check(liveness.get("failureThreshold", 3) >= 2 and liveness.get("periodSeconds", 10) >= 10,
            "the livenessProbe restarts only after several failed probes, at least 10 s apart")
    c.check(liveness.get("initialDelaySeconds", 0) >= 10,
            "the livenessProbe waits for the daemon's first round (initialDelaySeconds >= 10)")
    main_mounts = {m["mountPath"]: m for m in main_ctr.get("volumeMounts") or []}
    c.check(HOST_ROOT + "/etc/cni/net.d" in main_mounts,
            "the long-running container mounts the CNI configuration (status reads it)")
    lease = main_mounts.get(HOST_ROOT + LEASE_STORE)
    c.check(lease is not None and not lease.get("readOnly", False)
            and volumes[lease["name"]]["hostPath"]["path"] == LEASE_STORE,
            f"the daemon mounts the lease store {LEASE_STORE} writable (it reclaims leases and "
            f"writes its heartbeat there)")
    daemon_args = argv_of(main_ctr)
    c.check("daemon" in daemon_args and "--host-root" in daemon_args
            and daemon_args[daemon_args.index("--host-root") + 1] == HOST_ROOT,
            f"the daemon runs with --host-root {HOST_ROOT} (the lease store is under it)")

    check_kustomization(c, os.path.dirname(os.path.abspath(manifest)), manifest, inits + mains,
                        binary, version)
    if binary:
        check_against_binary(c, binary, inits + mains, [probe, live], install_env, data)
    return report(c)


def image_name(image):
    """The repository part of an image reference (what a kustomize images entry matches)."""
    name = image.split("@")[0]
    last = name.rsplit("/", 1)[-1]
    return name[: len(name) - len(last)] + last.split(":")[0]


def pod_spec(docs):
    ds = next((d for d in docs if d and d.get("kind") == "DaemonSet"), None)
    return ds, (ds or {}).get("spec", {}).get("template", {}).get("spec", {})


def check_kustomization(c, directory, manifest, containers, binary, version):
    path = os.path.join(directory, "kustomization.yaml")
    if not c.check(os.path.exists(path), f"{path} exists (the image is set there, once)"):
        return
    with open(path, encoding="utf-8") as f:
        kz = yaml.safe_load(f) or {}
    c.check(kz.get("resources") == [os.path.basename(manifest)],
            f"the kustomization's resources are exactly [{os.path.basename(manifest)}]")
    images = kz.get("images") or []
    c.check(len(images) == 1, "the kustomization has one images entry")
    entry = images[0] if images else {}
    want = f"{entry.get('newName', entry.get('name'))}:{entry.get('newTag', 'latest')}"
    c.check(entry.get("newTag") == f"v{version}",
            f"the kustomization pins the image to the release v{version} "
            f"(newTag {entry.get('newTag')})")
    for ctr in containers:
        c.check(image_name(ctr.get("image", "")) == entry.get("name"),
                f"{ctr.get('name')}: its image {ctr.get('image')} is the one the images entry "
                f"{entry.get('name')!r} sets")
    component = os.path.join(directory, "uninstall", "kustomization.yaml")
    c.check(os.path.exists(component), "the uninstall component exists")
    c.check("# components:" in open(path, encoding="utf-8").read(),
            "the kustomization documents the uninstall component, switched off")

    kubectl = shutil.which("kubectl")
    if not kubectl:
        print("manifest_check: no kubectl: kustomize renders not checked")
        return
    r = run([kubectl, "kustomize", directory])
    if not c.check(r.returncode == 0, f"kubectl kustomize {directory}: {r.stderr.strip()}"):
        return
    _, pod = pod_spec(list(yaml.safe_load_all(r.stdout)))
    for ctr in (pod.get("initContainers") or []) + (pod.get("containers") or []):
        c.check(ctr.get("image") == want, f"rendered {ctr.get('name')}: image {want}")

    # Uninstall mode, switched on as an operator does: the two commented lines uncommented.
    with tempfile.TemporaryDirectory() as tmp:
        copy = os.path.join(tmp, "kubernetes")
        shutil.copytree(directory, copy)
        kz_text = open(os.path.join(copy, "kustomization.yaml"), encoding="utf-8").read()
        kz_text = kz_text.replace("# components:", "components:").replace("#   - uninstall",
                                                                          "  - uninstall")
        with open(os.path.join(copy, "kustomization.yaml"), "w", encoding="utf-8") as f:
            f.write(kz_text)
        r = run([kubectl, "kustomize", copy])
    if not c.check(r.returncode == 0, f"kubectl kustomize (uninstall mode): {r.stderr.strip()}"):
        return
    ds, pod = pod_spec(list(yaml.safe_load_all(r.stdout)))
    inits = pod.get("initContainers") or []
    mains = pod.get("containers") or []
    c.check(ds["metadata"]["name"] == "sixrd", "uninstall mode: the same DaemonSet (it replaces)")
    c.check(str(ds["spec"]["updateStrategy"]["rollingUpdate"]["maxUnavailable"]) == "100%",
            "uninstall mode: every node at once (maxUnavailable 100%)")
    c.check(len(inits) == 1 and argv_of(inits[0]) ==
            ["/sixrd", "uninstall", "--remove-tunnel", "--host-root", HOST_ROOT],
            f"uninstall mode: the init container runs `sixrd uninstall --remove-tunnel` "
            f"({[argv_of(i) for i in inits]})")
    c.check(len(mains) == 1 and argv_of(mains[0])[:2] == ["/sixrd", "uninstall"]
            and "--wait" in argv_of(mains[0]) and "--remove-tunnel" not in argv_of(mains[0]),
            "uninstall mode: the main container idles (`sixrd uninstall --wait`)")
    c.check(all("livenessProbe" not in m and "readinessProbe" not in m for m in mains),
            "uninstall mode: no probes (there is nothing left to probe)")
    volumes = {v["name"]: v for v in pod.get("volumes") or []}
    mounts = {m["mountPath"]: m for m in (inits[0].get("volumeMounts") or [])} if inits else {}
    lease = mounts.get(HOST_ROOT + LEASE_STORE)
    c.check(lease is not None and lease.get("readOnly") is True
            and volumes.get(lease["name"], {}).get("hostPath", {}).get("path") == LEASE_STORE,
            "uninstall mode: the lease store /run/sixrd is mounted read-only (leases hold the "
            "tunnel)")
    for ctr in inits + mains:
        sc = ctr.get("securityContext") or {}
        c.check(ctr.get("image") == want, f"uninstall mode: {ctr.get('name')} image {want}")
        c.check((sc.get("capabilities") or {}).get("add") == CAPABILITIES_ADD
                and sc.get("privileged") is not True,
                f"uninstall mode: {ctr.get('name')} keeps NET_ADMIN only")
    if binary:
        for ctr in inits + mains:
            argv = argv_of(ctr)
            help_text = run([binary, argv[1], "--help"]).stdout
            for a in argv[2:]:
                if a.startswith("--"):
                    c.check(a in help_text, f"uninstall mode: `sixrd {argv[1]}` knows {a}")


def run(cmd, env=None):
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60, check=False)


def check_against_binary(c, binary, containers, probes, install_env, data):
    top = run([binary, "--help"]).stdout
    argvs = [argv_of(ctr) for ctr in containers] + probes
    for argv in argvs:
        args = argv[1:]
        sub = next((a for i, a in enumerate(args)
                    if not a.startswith("-") and (i == 0 or args[i - 1] not in ("--log-level",))),
                   None)
        if not c.check(sub is not None and sub in top, f"`sixrd {sub}` exists"):
            continue
        help_text = run([binary, sub, "--help"]).stdout + top
        for a in args:
            if a.startswith("--"):
                c.check(a in help_text, f"`sixrd {sub}` knows {a}")
    install_help = run([binary, "install", "--help"]).stdout
    for var in install_env:
        c.check(var in install_help, f"`sixrd install` reads {var}")

    # The ConfigMap's values, as the init container sees them, must pass the plugin's own checks.
    try:
        underlay = ipaddress.ip_network(data.get("underlay", ""))
        node_ip = str(next(underlay.hosts()))
    except (ValueError, StopIteration):
        c.check(False, f"the ConfigMap's underlay {data.get('underlay')!r} is an IPv4 subnet")
        return
    chain = data.get("chain", "portmap")
    chain = [] if chain.strip() == "none" else [p.strip() for p in chain.split(",") if p.strip()]
    with tempfile.TemporaryDirectory() as root:
        # A node's /opt/cni/bin with the chained plugins: stand-ins that answer VERSION as the
        # reference plugins of Debian bookworm do (up to 1.0.0).
        bindir = os.path.join(root, "opt/cni/bin")
        os.makedirs(bindir)
        answer = json.dumps({"cniVersion": "1.0.0", "supportedVersions":
                             ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0"]})
        for plugin in chain:
            with open(os.path.join(bindir, plugin), "w", encoding="utf-8") as f:
                f.write(f"#!/bin/sh\ncat >/dev/null\necho '{answer}'\n")
            os.chmod(os.path.join(bindir, plugin), 0o755)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **install_env,
               "SIXRD_NODE_IP": node_ip, "SIXRD_NO_TUNNEL": "true"}
        r = run([binary, "install", "--host-root", root], env=env)
        c.check(r.returncode == 0,
                f"`sixrd install` accepts the ConfigMap's values: {r.stdout}{r.stderr}".strip())
        conflist = os.path.join(root, "etc/cni/net.d/10-sixrd.conflist")
        if c.check(os.path.exists(conflist), "the ConfigMap's values give a conflist"):
            with open(conflist, encoding="utf-8") as f:
                written = json.load(f)
            c.check(written.get("cniVersion") == "1.0.0"
                    and written.get("cniVersions") == ["0.3.0", "0.3.1", "0.4.0", "1.0.0"],
                    f"the conflist's versions are negotiated with the chained plugins "
                    f"({written.get('cniVersion')}, {written.get('cniVersions')})")
        c.check("warning" not in r.stdout, f"no warning for the ConfigMap's values: {r.stdout}")


def report(c):
    for what in c.failed:
        print(f"FAILED: {what}")
    print(f"manifest_check: {c.passed} passed, {len(c.failed)} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
