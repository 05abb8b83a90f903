package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"sort"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote"
)

// InspectResult is what inspect prints.
type InspectResult struct {
	Reference    string       `json:"reference"` // REGISTRY/REPOSITORY:TAG or @DIGEST, as asked
	Digest       string       `json:"digest"`
	MediaType    string       `json:"mediaType"`
	Size         int64        `json:"size"`
	ArtifactType string       `json:"artifactType,omitempty"`
	Config       *Descriptor  `json:"config,omitempty"`    // image manifests
	Layers       []Descriptor `json:"layers,omitempty"`    // image manifests
	Manifests    []Descriptor `json:"manifests,omitempty"` // indexes
	Subject      *Descriptor  `json:"subject,omitempty"`
	// Referrers is set with --referrers: found through the Referrers API or,
	// where the registry has none, the sha256-<hex> tag of the tag schema.
	Referrers *[]Descriptor `json:"referrers,omitempty"`
	// Verified is set with --verify: every manifest and blob reachable from
	// the reference (children, configs, layers; with --referrers also the
	// referrers and theirs) was fetched and matched its digest and size.
	Verified *int `json:"verifiedBlobs,omitempty"`
}

// Descriptor is the part of an OCI descriptor inspect reports.
type Descriptor struct {
	Digest       string            `json:"digest"`
	MediaType    string            `json:"mediaType"`
	Size         int64             `json:"size"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Platform     string            `json:"platform,omitempty"` // os/arch[/variant]
	Annotations  map[string]string `json:"annotations,omitempty"`
}

type inspectOptions struct {
	registryFlags
	Ref        string
	Referrers  bool
	Verify     bool
	httpClient *http.Client // tests
}

func runInspect(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("inspect", flag.ContinueOnError)
	var o inspectOptions
	o.register(fs)
	fs.StringVar(&o.Ref, "ref", "", "REPOSITORY:TAG or REPOSITORY@DIGEST on --registry (required)")
	fs.BoolVar(&o.Referrers, "referrers", false, "list the referrers of the reference")
	fs.BoolVar(&o.Verify, "verify", false, "fetch every manifest and blob reachable from the reference and check its digest")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := o.validate(); err != nil {
		return err
	}
	if o.Ref == "" {
		return usagef("--ref is required")
	}
	res, err := inspect(ctx, o)
	if err != nil {
		return err
	}
	return writeJSON(stdout, res)
}

// manifestFields covers image manifests, indexes and their Docker
// counterparts.
type manifestFields struct {
	MediaType    string               `json:"mediaType"`
	ArtifactType string               `json:"artifactType"`
	Config       *ocispec.Descriptor  `json:"config"`
	Layers       []ocispec.Descriptor `json:"layers"`
	Manifests    []ocispec.Descriptor `json:"manifests"`
	Subject      *ocispec.Descriptor  `json:"subject"`
}

func inspect(ctx context.Context, o inspectOptions) (*InspectResult, error) {
	ref, err := registry.ParseReference(o.Registry + "/" + o.Ref)
	if err != nil {
		return nil, usagef("--ref %q: %v", o.Ref, err)
	}
	if ref.Reference == "" {
		return nil, usagef("--ref %q: want REPOSITORY:TAG or REPOSITORY@DIGEST", o.Ref)
	}
	repo, err := o.repository(ref.Repository, o.httpClient)
	if err != nil {
		return nil, err
	}
	desc, rc, err := repo.FetchReference(ctx, ref.Reference)
	if err != nil {
		return nil, err
	}
	raw, err := content.ReadAll(rc, desc)
	rc.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Ref, err)
	}
	var m manifestFields
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%s: not a manifest: %w", o.Ref, err)
	}
	res := &InspectResult{
		Reference:    o.Registry + "/" + o.Ref,
		Digest:       desc.Digest.String(),
		MediaType:    desc.MediaType,
		Size:         desc.Size,
		ArtifactType: m.ArtifactType,
	}
	if m.Config != nil {
		d := toDescriptor(*m.Config)
		res.Config = &d
		if res.ArtifactType == "" && m.Config.MediaType != ocispec.MediaTypeImageConfig {
			// What OCI 1.1 clients show for artifacts packed the older way
			// (a Helm chart's config media type, say).
			res.ArtifactType = m.Config.MediaType
		}
	}
	for _, l := range m.Layers {
		res.Layers = append(res.Layers, toDescriptor(l))
	}
	for _, c := range m.Manifests {
		res.Manifests = append(res.Manifests, toDescriptor(c))
	}
	if m.Subject != nil {
		d := toDescriptor(*m.Subject)
		res.Subject = &d
	}
	roots := []ocispec.Descriptor{desc}
	if o.Referrers {
		refs, err := referrers(ctx, repo, desc)
		if err != nil {
			return nil, fmt.Errorf("referrers of %s: %w", desc.Digest, err)
		}
		list := make([]Descriptor, 0, len(refs))
		for _, r := range refs {
			list = append(list, toDescriptor(r))
		}
		res.Referrers = &list
		roots = append(roots, refs...)
	}
	if o.Verify {
		n, err := verifyGraph(ctx, repo, roots)
		if err != nil {
			return nil, err
		}
		res.Verified = &n
	}
	return res, nil
}

// referrers lists the referrers of desc sorted by digest. oras-go asks the
// Referrers API first and falls back to the tag schema when the registry
// answers 404 there.
func referrers(ctx context.Context, repo *remote.Repository, desc ocispec.Descriptor) ([]ocispec.Descriptor, error) {
	var all []ocispec.Descriptor
	err := repo.Referrers(ctx, desc, "", func(page []ocispec.Descriptor) error {
		all = append(all, page...)
		return nil
	})
	sort.Slice(all, func(i, j int) bool { return all[i].Digest < all[j].Digest })
	return all, err
}

// verifyGraph fetches every node reachable from roots (following children,
// configs and layers, not subjects) and checks digest and size. It returns
// the number of distinct nodes checked.
func verifyGraph(ctx context.Context, repo *remote.Repository, roots []ocispec.Descriptor) (int, error) {
	seen := map[string]bool{}
	queue := append([]ocispec.Descriptor(nil), roots...)
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		if seen[d.Digest.String()] {
			continue
		}
		seen[d.Digest.String()] = true
		rc, err := repo.Fetch(ctx, d)
		if err != nil {
			return 0, fmt.Errorf("fetch %s: %w", d.Digest, err)
		}
		var raw []byte
		if isManifest(d.MediaType) {
			raw, err = content.ReadAll(rc, d)
		} else {
			vr := content.NewVerifyReader(rc, d)
			if _, err = io.Copy(io.Discard, vr); err == nil {
				err = vr.Verify()
			}
		}
		rc.Close()
		if err != nil {
			return 0, fmt.Errorf("verify %s: %w", d.Digest, err)
		}
		if raw == nil {
			continue
		}
		var m manifestFields
		if err := json.Unmarshal(raw, &m); err != nil {
			return 0, fmt.Errorf("%s: %w", d.Digest, err)
		}
		if m.Config != nil {
			queue = append(queue, *m.Config)
		}
		queue = append(queue, m.Layers...)
		queue = append(queue, m.Manifests...)
	}
	return len(seen), nil
}

func isManifest(mediaType string) bool {
	switch mediaType {
	case ocispec.MediaTypeImageManifest, ocispec.MediaTypeImageIndex,
		"application/vnd.docker.distribution.manifest.v2+json",
		"application/vnd.docker.distribution.manifest.list.v2+json":
		return true
	}
	return false
}

func toDescriptor(d ocispec.Descriptor) Descriptor {
	out := Descriptor{
		Digest:       d.Digest.String(),
		MediaType:    d.MediaType,
		Size:         d.Size,
		ArtifactType: d.ArtifactType,
		Annotations:  d.Annotations,
	}
	if p := d.Platform; p != nil {
		out.Platform = p.OS + "/" + p.Architecture
		if p.Variant != "" {
			out.Platform += "/" + p.Variant
		}
	}
	return out
}
