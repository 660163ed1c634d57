package main

// cnidriver bench add|del --conflist FILE --netns-dir DIR [--workers N] [options] ID...
//
// What a runtime does when it sets up many pods: containerd and CRI-O call libcni in-process, so
// the only process started per pod is the plugin itself. bench does the same for every ID
// (netns DIR/ID), from N concurrent workers, and prints one line per pod: "ID MICROSECONDS",
// the wall time of that pod's AddNetworkList or DelNetworkList call. Unlike timing a cnidriver
// exec per pod, the figure holds no Go runtime start-up of the client, only what the runtime
// would wait for. A failed pod prints "ID FAIL message" and makes the exit status 2.

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/containernetworking/cni/libcni"
)

func runBench(args []string) {
	if len(args) < 1 || (args[0] != "add" && args[0] != "del") {
		fail(exitUsage, "bench", fmt.Errorf("usage: cnidriver bench add|del --conflist FILE --netns-dir DIR [--workers N] ID..."))
	}
	verb := args[0]
	var o options
	var netnsDir string
	var workers int
	fs := flag.NewFlagSet("cnidriver bench "+verb, flag.ContinueOnError)
	addPodFlags(fs, &o)
	fs.StringVar(&netnsDir, "netns-dir", "/run/netns", "directory holding one network namespace per ID")
	fs.IntVar(&workers, "workers", 1, "concurrent libcni calls")
	fs.StringVar(&o.cacheDir, "cache-dir", "", "libcni result cache")
	fs.StringVar(&o.podNamespace, "pod-namespace", "bench", "K8S_POD_NAMESPACE")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Minute, "deadline for the whole run")
	if err := fs.Parse(args[1:]); err != nil {
		os.Exit(exitUsage)
	}
	if workers < 1 {
		fail(exitUsage, "bench", fmt.Errorf("--workers must be at least 1, got %d", workers))
	}
	ids := fs.Args()
	list := loadList("bench", o.conflist)
	cni := libcni.NewCNIConfigWithCacheDir(filepath.SplitList(o.binDirs), o.cacheDir, nil)
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()

	lines := make([]string, len(ids))
	failed := make([]bool, len(ids))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				po := o
				po.id, po.netns, po.podName = ids[i], filepath.Join(netnsDir, ids[i]), ids[i]
				rt, err := runtimeConf(&po, list)
				if err == nil {
					start := time.Now()
					if verb == "add" {
						_, err = cni.AddNetworkList(ctx, list, rt)
					} else {
						err = cni.DelNetworkList(ctx, list, rt)
					}
					if err == nil {
						lines[i] = fmt.Sprintf("%s %d", ids[i], time.Since(start).Microseconds())
						continue
					}
				}
				lines[i], failed[i] = fmt.Sprintf("%s FAIL %v", ids[i], err), true
			}
		}()
	}
	for i := range ids {
		next <- i
	}
	close(next)
	wg.Wait()
	status := 0
	for i, l := range lines {
		fmt.Println(l)
		if failed[i] {
			status = exitPlugin
		}
	}
	os.Exit(status)
}
