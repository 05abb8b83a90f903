package main

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	argoclient "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	arcclient "github.com/artifact-conduit/arc/pkg/generated/clientset/versioned"
)

// options are what every verb shares: kubectl's connection flags, the
// streams, and the clients made from them (replaced by fakes in tests).
type options struct {
	config  *genericclioptions.ConfigFlags
	streams genericiooptions.IOStreams
	output  string

	// newClients builds the clients; tests replace it.
	newClients func() (*clients, error)
	// now is the time a re-run request carries; tests replace it.
	now func() time.Time
}

type clients struct {
	arc  arcclient.Interface
	argo argoclient.Interface
	kube kubernetes.Interface
}

func newOptions(streams genericiooptions.IOStreams) *options {
	o := &options{config: genericclioptions.NewConfigFlags(true), streams: streams, now: realNow}
	o.newClients = o.realClients
	return o
}

func (o *options) realClients() (*clients, error) {
	cfg, err := o.config.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	c := &clients{}
	if c.arc, err = arcclient.NewForConfig(cfg); err != nil {
		return nil, err
	}
	if c.argo, err = argoclient.NewForConfig(cfg); err != nil {
		return nil, err
	}
	if c.kube, err = kubernetes.NewForConfig(cfg); err != nil {
		return nil, err
	}
	return c, nil
}

// namespace is -n, or the kubeconfig context's namespace, or "default".
func (o *options) namespace() (string, error) {
	ns, _, err := o.config.ToRawKubeConfigLoader().Namespace()
	return ns, err
}

func addOutputFlag(cmd *cobra.Command, o *options) {
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "Output format: json or yaml. Empty prints a tree or table for people.")
}

func (o *options) validateOutput() error {
	switch o.output {
	case "", "json", "yaml":
		return nil
	}
	return fmt.Errorf("--output must be json or yaml, not %q", o.output)
}

// printStructured writes v as JSON or YAML, as -o asks.
func printStructured(w io.Writer, format string, v interface{}) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if format == "yaml" {
		if data, err = yaml.JSONToYAML(data); err != nil {
			return err
		}
	} else {
		data = append(data, '\n')
	}
	_, err = w.Write(data)
	return err
}
