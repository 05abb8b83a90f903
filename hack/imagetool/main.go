// Command imagetool builds container image tarballs from local files, seeds a
// registry with test content and inspects references in a registry. It is a
// development tool of ARC (hack/images.sh, the e2e suite), not part of ARC.
//
//	imagetool pack    --name REF --out FILE.tar --add SRC=DST[:MODE] ... [--dir DIR[:MODE]] ...
//	imagetool seed    --registry HOST:PORT [--username U --password P] [--plain-http] --out seed.json [--file-out PATH]
//	imagetool inspect --registry HOST:PORT [--username U --password P] [--plain-http] --ref REPO:TAG|REPO@DIGEST [--referrers]
//
// pack, seed and inspect print their results as JSON on stdout (seed also
// writes it to --out); errors go to stderr with exit code 1 (2 for usage).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

var commands = map[string]func(ctx context.Context, args []string, stdout io.Writer) error{
	"pack":    runPack,
	"seed":    runSeed,
	"inspect": runInspect,
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: imagetool pack|seed|inspect [flags]   (imagetool COMMAND -h lists the flags)")
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		return 2
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "imagetool: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := cmd(ctx, args[1:], stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 2
		}
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "imagetool %s: %v\n", args[0], err)
			return 2
		}
		fmt.Fprintf(stderr, "imagetool %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

// usageError marks bad command-line arguments (exit code 2).
type usageError struct{ error }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// parseFlags parses args with fs and refuses positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(os.Stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	return nil
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// writeJSON writes v indented, with a final newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
