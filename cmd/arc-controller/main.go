// Command arc-controller runs ARC's two controllers, the Order controller and
// the ArtifactWorkflow controller, in one process.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/klog/v2"
)

func main() {
	fs := flag.NewFlagSet("arc-controller", flag.ContinueOnError)
	klog.InitFlags(fs)
	var opts options
	opts.addFlags(fs)
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "arc-controller takes no arguments, got %q\n", fs.Args())
		os.Exit(2)
	}
	opts.complete(fs)
	if err := opts.validate(); err != nil {
		fmt.Fprintf(os.Stderr, "invalid flags:\n%v\n", err)
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	logger := klog.Background().WithName("arc-controller")
	ctx = klog.NewContext(ctx, logger)
	gogc, adaptive := adaptiveGC(os.LookupEnv)
	logger.Info("Garbage collector target", "GOGC", gogc, "default", adaptive)
	if adaptive {
		startGCTuning(ctx)
	}

	if err := run(ctx, opts); err != nil {
		logger.Error(err, "arc-controller stopped")
		klog.Flush()
		os.Exit(1)
	}
	logger.Info("arc-controller stopped")
	klog.Flush()
}
