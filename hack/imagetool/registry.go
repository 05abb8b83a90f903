package main

import (
	"flag"
	"net/http"
	"strings"

	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/retry"
)

// registryFlags are the connection flags of seed and inspect.
type registryFlags struct {
	Registry  string
	Username  string
	Password  string
	PlainHTTP bool
}

func (r *registryFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&r.Registry, "registry", "", "registry HOST:PORT (required)")
	fs.StringVar(&r.Username, "username", "", "basic-auth user (default: anonymous)")
	fs.StringVar(&r.Password, "password", "", "basic-auth password")
	fs.BoolVar(&r.PlainHTTP, "plain-http", false, "talk plain HTTP instead of HTTPS")
}

func (r *registryFlags) validate() error {
	if r.Registry == "" {
		return usagef("--registry is required")
	}
	if strings.Contains(r.Registry, "/") {
		return usagef("--registry %q: want HOST[:PORT] without scheme or path", r.Registry)
	}
	return nil
}

// repository returns a client for repo (a path such as demo/app) on the
// registry. httpClient nil means a retrying default client.
func (r *registryFlags) repository(repo string, httpClient *http.Client) (*remote.Repository, error) {
	rr, err := remote.NewRepository(r.Registry + "/" + repo)
	if err != nil {
		return nil, err
	}
	if httpClient == nil {
		httpClient = retry.DefaultClient
	}
	client := &auth.Client{Client: httpClient, Cache: auth.NewCache()}
	client.SetUserAgent("arc-imagetool")
	if r.Username != "" || r.Password != "" {
		client.Credential = auth.StaticCredential(r.Registry, auth.Credential{Username: r.Username, Password: r.Password})
	}
	rr.Client = client
	rr.PlainHTTP = r.PlainHTTP
	// Registries without the Referrers API (distribution 2.8) cannot delete
	// manifests by default: leave superseded referrers tag indexes in place.
	rr.SkipReferrersGC = true
	return rr, nil
}
