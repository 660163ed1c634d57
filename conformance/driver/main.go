// cnidriver drives CNI plugins through libcni, the library containerd, CRI-O and podman use, so
// that sixrd is exercised by a real CNI client rather than by its own test code.
//
//	cnidriver add|check|del --conflist FILE --netns PATH --id CID --ifname IF [options]
//	cnidriver validate --conflist FILE [--bin-dirs DIRS]
//	cnidriver version --type PLUGIN [--bin-dirs DIRS]
//	cnidriver bench add|del --conflist FILE --netns-dir DIR [--workers N] ID...  (bench.go)
//
// add prints the result JSON (as libcni converted it to the conflist's cniVersion) on stdout.
// Failures print "cnidriver: VERB: message" on stderr and, when the plugin returned a CNI error,
// that error as JSON on the next stderr line; the exit status is 2 for a plugin/libcni error and
// 1 for a usage error.
//
// The runtime configuration is the one kubelet-style runtimes build: CNI_ARGS carries
// IgnoreUnknown=1, K8S_POD_NAMESPACE, K8S_POD_NAME, K8S_POD_INFRA_CONTAINER_ID (= --id) and
// K8S_POD_UID; capability arguments (portMappings, bandwidth) are passed only when a plugin of
// the conflist declares the capability, exactly as libcni filters them anyway.
//
// Built offline in GOPATH mode (GO111MODULE=off) against Debian's golang-github-appc-cni-dev;
// see conformance/build-driver.sh. libcni 1.1.2 parses results up to cniVersion 1.0.0 and has no
// GC/STATUS: those are exercised by executing the plugin directly (conformance/libcni.sh).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
)

const (
	exitUsage  = 1
	exitPlugin = 2
)

const defaultPortMappings = `[{"hostPort": 18080, "containerPort": 80, "protocol": "tcp"},
  {"hostPort": 18053, "containerPort": 53, "protocol": "udp"}]`

// Rates in bit/s, bursts in bits, as kubelet passes the kubernetes.io/{ingress,egress}-bandwidth
// annotations.
const defaultBandwidth = `{"ingressRate": 10000000, "ingressBurst": 1000000,
  "egressRate": 20000000, "egressBurst": 2000000}`

type options struct {
	conflist     string
	netns        string
	id           string
	ifname       string
	binDirs      string
	cacheDir     string
	podNamespace string
	podName      string
	podUID       string
	portMappings string
	bandwidth    string
	pluginType   string
	timeout      time.Duration
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage:
  cnidriver add|check|del --conflist FILE --netns PATH --id CID --ifname IF [options]
  cnidriver validate --conflist FILE [--bin-dirs DIRS]
  cnidriver version --type PLUGIN [--bin-dirs DIRS]
  cnidriver bench add|del --conflist FILE --netns-dir DIR [--workers N] ID...
options:
`)
}

func fail(code int, verb string, err error) {
	fmt.Fprintf(os.Stderr, "cnidriver: %s: %v\n", verb, err)
	var cniErr *types.Error
	if errors.As(err, &cniErr) {
		if b, jerr := json.Marshal(cniErr); jerr == nil {
			fmt.Fprintln(os.Stderr, string(b))
		}
	}
	os.Exit(code)
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" {
		usage(os.Stderr)
		os.Exit(exitUsage)
	}
	verb := os.Args[1]
	if verb == "bench" {
		runBench(os.Args[2:])
		return
	}
	var o options
	fs := flag.NewFlagSet("cnidriver "+verb, flag.ContinueOnError)
	addPodFlags(fs, &o)
	fs.StringVar(&o.netns, "netns", "", "path of the container network namespace")
	fs.StringVar(&o.id, "id", "", "container id (also K8S_POD_INFRA_CONTAINER_ID)")
	fs.StringVar(&o.cacheDir, "cache-dir", "", "libcni result cache (default $CNI_CACHE_DIR, else /var/lib/cni)")
	fs.StringVar(&o.podNamespace, "pod-namespace", "conformance", "K8S_POD_NAMESPACE")
	fs.StringVar(&o.podName, "pod-name", "", "K8S_POD_NAME (default: the container id)")
	fs.StringVar(&o.podUID, "pod-uid", "", "K8S_POD_UID (default: derived from the container id)")
	fs.StringVar(&o.pluginType, "type", "", "plugin type (version verb)")
	fs.DurationVar(&o.timeout, "timeout", 2*time.Minute, "deadline for the whole operation")
	fs.Usage = func() { usage(os.Stderr); fs.PrintDefaults() }
	if err := fs.Parse(os.Args[2:]); err != nil {
		os.Exit(exitUsage)
	}
	if fs.NArg() != 0 {
		fail(exitUsage, verb, fmt.Errorf("unexpected arguments %q", fs.Args()))
	}

	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()

	if o.cacheDir == "" {
		o.cacheDir = os.Getenv("CNI_CACHE_DIR")
	}
	cni := libcni.NewCNIConfigWithCacheDir(filepath.SplitList(o.binDirs), o.cacheDir, nil)

	switch verb {
	case "version":
		if o.pluginType == "" {
			fail(exitUsage, verb, errors.New("--type is required"))
		}
		info, err := cni.GetVersionInfo(ctx, o.pluginType)
		if err != nil {
			fail(exitPlugin, verb, err)
		}
		out, _ := json.Marshal(map[string]interface{}{"supportedVersions": info.SupportedVersions()})
		fmt.Println(string(out))
		return
	case "validate":
		list := loadList(verb, o.conflist)
		out := map[string]interface{}{"name": list.Name, "cniVersion": list.CNIVersion, "plugins": pluginTypes(list)}
		// With plugin directories to look in, also ask every plugin (VERSION) whether it speaks
		// the conflist's version, and check the capabilities it declares, as runtimes do.
		if flagSet(fs, "bin-dirs") {
			caps, err := cni.ValidateNetworkList(ctx, list)
			if err != nil {
				fail(exitPlugin, verb, err)
			}
			out["capabilities"] = caps
		}
		b, _ := json.Marshal(out)
		fmt.Println(string(b))
		return
	case "add", "check", "del":
	default:
		usage(os.Stderr)
		fail(exitUsage, verb, errors.New("unknown verb"))
	}

	if o.netns == "" || o.id == "" || o.ifname == "" {
		fail(exitUsage, verb, errors.New("--netns, --id and --ifname are required"))
	}
	list := loadList(verb, o.conflist)
	rt, err := runtimeConf(&o, list)
	if err != nil {
		fail(exitUsage, verb, err)
	}

	switch verb {
	case "add":
		result, err := cni.AddNetworkList(ctx, list, rt)
		if err != nil {
			fail(exitPlugin, verb, err)
		}
		if err := result.PrintTo(os.Stdout); err != nil {
			fail(exitPlugin, verb, err)
		}
	case "check":
		if err := cni.CheckNetworkList(ctx, list, rt); err != nil {
			fail(exitPlugin, verb, err)
		}
	case "del":
		if err := cni.DelNetworkList(ctx, list, rt); err != nil {
			fail(exitPlugin, verb, err)
		}
	}
}

// The flags every verb that sets up pods shares: the conflist, where plugins are, the interface
// and the capability arguments.
func addPodFlags(fs *flag.FlagSet, o *options) {
	fs.StringVar(&o.conflist, "conflist", "", "network configuration list file (.conflist)")
	fs.StringVar(&o.ifname, "ifname", "eth0", "interface name inside the container")
	fs.StringVar(&o.binDirs, "bin-dirs", "/opt/cni/bin:/usr/lib/cni", "plugin directories, ':'-separated")
	fs.StringVar(&o.portMappings, "port-mappings", defaultPortMappings, "portMappings capability argument (JSON)")
	fs.StringVar(&o.bandwidth, "bandwidth", defaultBandwidth, "bandwidth capability argument (JSON)")
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func loadList(verb, path string) *libcni.NetworkConfigList {
	if path == "" {
		fail(exitUsage, verb, errors.New("--conflist is required"))
	}
	list, err := libcni.ConfListFromFile(path)
	if err != nil {
		fail(exitPlugin, verb, err)
	}
	return list
}

func pluginTypes(list *libcni.NetworkConfigList) []string {
	var t []string
	for _, p := range list.Plugins {
		t = append(t, p.Network.Type)
	}
	return t
}

func runtimeConf(o *options, list *libcni.NetworkConfigList) (*libcni.RuntimeConf, error) {
	podName := o.podName
	if podName == "" {
		podName = o.id
	}
	podUID := o.podUID
	if podUID == "" {
		podUID = fakeUID(o.id)
	}
	rt := &libcni.RuntimeConf{
		ContainerID: o.id,
		NetNS:       o.netns,
		IfName:      o.ifname,
		Args: [][2]string{
			{"IgnoreUnknown", "1"},
			{"K8S_POD_NAMESPACE", o.podNamespace},
			{"K8S_POD_NAME", podName},
			{"K8S_POD_INFRA_CONTAINER_ID", o.id},
			{"K8S_POD_UID", podUID},
		},
		CapabilityArgs: map[string]interface{}{},
	}
	wants := map[string]bool{}
	for _, p := range list.Plugins {
		for c, on := range p.Network.Capabilities {
			wants[c] = wants[c] || on
		}
	}
	if wants["portMappings"] {
		var pm []map[string]interface{}
		if err := json.Unmarshal([]byte(o.portMappings), &pm); err != nil {
			return nil, fmt.Errorf("--port-mappings: %w", err)
		}
		rt.CapabilityArgs["portMappings"] = pm
	}
	if wants["bandwidth"] {
		var bw map[string]interface{}
		if err := json.Unmarshal([]byte(o.bandwidth), &bw); err != nil {
			return nil, fmt.Errorf("--bandwidth: %w", err)
		}
		rt.CapabilityArgs["bandwidth"] = bw
	}
	return rt, nil
}

// A stable UID-shaped string per container id, as kubelet would pass the pod's metadata.uid.
func fakeUID(id string) string {
	var h uint64 = 14695981039346656037
	for _, c := range []byte(id) {
		h = (h ^ uint64(c)) * 1099511628211
	}
	s := fmt.Sprintf("%016x%016x", h, h*31+7)
	return strings.Join([]string{s[0:8], s[8:12], s[12:16], s[16:20], s[20:32]}, "-")
}
