package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/registry/remote"
)

// Media types of the seeded artifacts.
const (
	MediaTypeSPDX            = "application/spdx+json"
	MediaTypeHelmConfig      = "application/vnd.cncf.helm.config.v1+json"
	MediaTypeHelmChartLayer  = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
	defaultSeedFileSizeBytes = 1 << 20
)

// seedPlatforms are the platforms of the seeded multi-platform image.
var seedPlatforms = []ocispec.Platform{
	{OS: "linux", Architecture: "amd64"},
	{OS: "linux", Architecture: "arm64"},
}

// SeedResult is what seed writes to --out and prints.
type SeedResult struct {
	Registry string    `json:"registry"`
	Image    SeedImage `json:"image"`
	Chart    SeedChart `json:"chart"`
	File     *SeedFile `json:"file,omitempty"`
}

// SeedImage is the multi-platform image index and what hangs off it.
type SeedImage struct {
	Repository string         `json:"repository"`
	Tag        string         `json:"tag"`
	Reference  string         `json:"reference"` // REGISTRY/REPOSITORY:TAG
	Digest     string         `json:"digest"`    // of the index
	MediaType  string         `json:"mediaType"`
	Size       int64          `json:"size"`
	Manifests  []SeedManifest `json:"manifests"`
	Referrers  []SeedReferrer `json:"referrers"`
}

// SeedManifest is one platform's image manifest.
type SeedManifest struct {
	Platform  string   `json:"platform"` // os/arch
	Digest    string   `json:"digest"`
	MediaType string   `json:"mediaType"`
	Size      int64    `json:"size"`
	Config    string   `json:"config"`
	Layers    []string `json:"layers"`
}

// SeedReferrer is an artifact whose subject is the image index.
type SeedReferrer struct {
	Digest       string   `json:"digest"`
	MediaType    string   `json:"mediaType"`
	ArtifactType string   `json:"artifactType"`
	Size         int64    `json:"size"`
	Subject      string   `json:"subject"`
	Layers       []string `json:"layers"`
}

// SeedChart is the Helm chart stored as an OCI artifact.
type SeedChart struct {
	Repository string `json:"repository"`
	Tag        string `json:"tag"`
	Reference  string `json:"reference"`
	Digest     string `json:"digest"`
	MediaType  string `json:"mediaType"`
	Size       int64  `json:"size"`
	Config     string `json:"config"`
	Layer      string `json:"layer"`
	Name       string `json:"name"`
	Version    string `json:"version"`
}

// SeedFile is the random file written for HTTP serving.
type SeedFile struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

type seedOptions struct {
	registryFlags
	Out        string
	AppRepo    string
	AppTag     string
	ChartRepo  string
	ChartName  string
	ChartTag   string
	FileOut    string
	FileSize   int64
	LayerSize  int64
	httpClient *http.Client // tests
}

func runSeed(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	var o seedOptions
	o.register(fs)
	fs.StringVar(&o.Out, "out", "", "write the JSON result to this file too")
	fs.StringVar(&o.AppRepo, "app-repo", "demo/app", "repository of the multi-platform image")
	fs.StringVar(&o.AppTag, "app-tag", "v1", "tag of the multi-platform image index")
	fs.StringVar(&o.ChartRepo, "chart-repo", "charts/demo", "repository of the Helm chart")
	fs.StringVar(&o.ChartName, "chart-name", "demo", "name in the chart's Chart.yaml")
	fs.StringVar(&o.ChartTag, "chart-tag", "0.1.0", "chart version, also its tag")
	fs.StringVar(&o.FileOut, "file-out", "", "also write a file of random bytes here (for HTTP serving)")
	fs.Int64Var(&o.FileSize, "file-size", defaultSeedFileSizeBytes, "size of the --file-out file in bytes")
	fs.Int64Var(&o.LayerSize, "layer-size", 64<<10, "random bytes in each platform's layer")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := o.validate(); err != nil {
		return err
	}
	res, err := seed(ctx, o)
	if err != nil {
		return err
	}
	if o.Out != "" {
		var buf bytes.Buffer
		if err := writeJSON(&buf, res); err != nil {
			return err
		}
		if err := os.WriteFile(o.Out, buf.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return writeJSON(stdout, res)
}

func seed(ctx context.Context, o seedOptions) (*SeedResult, error) {
	res := &SeedResult{Registry: o.Registry}
	app, err := o.repository(o.AppRepo, o.httpClient)
	if err != nil {
		return nil, err
	}
	if res.Image, err = seedImage(ctx, app, o); err != nil {
		return nil, fmt.Errorf("image %s:%s: %w", o.AppRepo, o.AppTag, err)
	}
	chart, err := o.repository(o.ChartRepo, o.httpClient)
	if err != nil {
		return nil, err
	}
	if res.Chart, err = seedChart(ctx, chart, o); err != nil {
		return nil, fmt.Errorf("chart %s:%s: %w", o.ChartRepo, o.ChartTag, err)
	}
	if o.FileOut != "" {
		if res.File, err = seedFile(o.FileOut, o.FileSize); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func seedImage(ctx context.Context, repo *remote.Repository, o seedOptions) (SeedImage, error) {
	now := time.Now().UTC().Truncate(time.Second)
	img := SeedImage{Repository: o.AppRepo, Tag: o.AppTag, Reference: o.Registry + "/" + o.AppRepo + ":" + o.AppTag}
	index := ocispec.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: ocispec.MediaTypeImageIndex}
	for _, p := range seedPlatforms {
		random, err := randomBytes(o.LayerSize)
		if err != nil {
			return img, err
		}
		layerTar, err := tarGz(map[string][]byte{
			"random.bin":   random,
			"platform.txt": []byte(p.OS + "/" + p.Architecture + "\n"),
		}, now)
		if err != nil {
			return img, err
		}
		layer, err := oras.PushBytes(ctx, repo, ocispec.MediaTypeImageLayerGzip, layerTar.gz)
		if err != nil {
			return img, fmt.Errorf("layer: %w", err)
		}
		cfgJSON, err := json.Marshal(ocispec.Image{
			Created:  &now,
			Platform: p,
			Config:   ocispec.ImageConfig{Cmd: []string{"/random.bin"}, Env: []string{defaultPath}},
			RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{layerTar.diffID}},
		})
		if err != nil {
			return img, err
		}
		cfg, err := oras.PushBytes(ctx, repo, ocispec.MediaTypeImageConfig, cfgJSON)
		if err != nil {
			return img, fmt.Errorf("config: %w", err)
		}
		manifestJSON, err := json.Marshal(ocispec.Manifest{
			Versioned: specs.Versioned{SchemaVersion: 2},
			MediaType: ocispec.MediaTypeImageManifest,
			Config:    cfg,
			Layers:    []ocispec.Descriptor{layer},
		})
		if err != nil {
			return img, err
		}
		m, err := oras.PushBytes(ctx, repo, ocispec.MediaTypeImageManifest, manifestJSON)
		if err != nil {
			return img, fmt.Errorf("manifest %s/%s: %w", p.OS, p.Architecture, err)
		}
		platform := p
		m.Platform = &platform
		index.Manifests = append(index.Manifests, m)
		img.Manifests = append(img.Manifests, SeedManifest{
			Platform:  p.OS + "/" + p.Architecture,
			Digest:    m.Digest.String(),
			MediaType: m.MediaType,
			Size:      m.Size,
			Config:    cfg.Digest.String(),
			Layers:    []string{layer.Digest.String()},
		})
	}
	indexJSON, err := json.Marshal(index)
	if err != nil {
		return img, err
	}
	indexDesc, err := oras.TagBytes(ctx, repo, ocispec.MediaTypeImageIndex, indexJSON, o.AppTag)
	if err != nil {
		return img, fmt.Errorf("index: %w", err)
	}
	img.Digest, img.MediaType, img.Size = indexDesc.Digest.String(), indexDesc.MediaType, indexDesc.Size

	// An SBOM attached to the index. Pushing a manifest with a subject to a
	// registry without the Referrers API makes oras-go maintain the
	// sha256-<hex> tag index of the referrers tag schema.
	sbom, err := spdxDocument(img.Reference, index.Manifests)
	if err != nil {
		return img, err
	}
	sbomDesc, err := oras.PushBytes(ctx, repo, MediaTypeSPDX, sbom)
	if err != nil {
		return img, fmt.Errorf("sbom: %w", err)
	}
	subject := ocispec.Descriptor{MediaType: indexDesc.MediaType, Digest: indexDesc.Digest, Size: indexDesc.Size}
	ref, err := oras.PackManifest(ctx, repo, oras.PackManifestVersion1_1, MediaTypeSPDX, oras.PackManifestOptions{
		Subject: &subject,
		Layers:  []ocispec.Descriptor{sbomDesc},
	})
	if err != nil {
		return img, fmt.Errorf("referrer: %w", err)
	}
	img.Referrers = []SeedReferrer{{
		Digest:       ref.Digest.String(),
		MediaType:    ref.MediaType,
		ArtifactType: MediaTypeSPDX,
		Size:         ref.Size,
		Subject:      indexDesc.Digest.String(),
		Layers:       []string{sbomDesc.Digest.String()},
	}}
	return img, nil
}

// spdxDocument is a minimal SPDX 2.3 document describing the image.
func spdxDocument(ref string, manifests []ocispec.Descriptor) ([]byte, error) {
	nonce, err := randomBytes(8)
	if err != nil {
		return nil, err
	}
	type pkg struct {
		Name             string `json:"name"`
		SPDXID           string `json:"SPDXID"`
		DownloadLocation string `json:"downloadLocation"`
	}
	var pkgs []pkg
	for i, m := range manifests {
		pkgs = append(pkgs, pkg{
			Name:             fmt.Sprintf("%s/%s@%s", m.Platform.OS, m.Platform.Architecture, m.Digest),
			SPDXID:           fmt.Sprintf("SPDXRef-Package-%d", i),
			DownloadLocation: "NOASSERTION",
		})
	}
	return json.Marshal(map[string]any{
		"spdxVersion":       "SPDX-2.3",
		"dataLicense":       "CC0-1.0",
		"SPDXID":            "SPDXRef-DOCUMENT",
		"name":              ref,
		"documentNamespace": "https://example.invalid/spdx/" + hex.EncodeToString(nonce),
		"creationInfo": map[string]any{
			"created":  time.Now().UTC().Format(time.RFC3339),
			"creators": []string{"Tool: arc-imagetool"},
		},
		"packages": pkgs,
	})
}

func seedChart(ctx context.Context, repo *remote.Repository, o seedOptions) (SeedChart, error) {
	c := SeedChart{Repository: o.ChartRepo, Tag: o.ChartTag, Reference: o.Registry + "/" + o.ChartRepo + ":" + o.ChartTag, Name: o.ChartName, Version: o.ChartTag}
	nonce, err := randomBytes(8)
	if err != nil {
		return c, err
	}
	chartYAML := fmt.Sprintf("apiVersion: v2\nname: %s\ndescription: Test chart seeded by ARC's imagetool\ntype: application\nversion: %s\nappVersion: \"1.0\"\n", o.ChartName, o.ChartTag)
	values := fmt.Sprintf("# random per seed, so every seeded chart has its own digest\nnonce: %q\n", hex.EncodeToString(nonce))
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-demo\ndata:\n  nonce: {{ .Values.nonce | quote }}\n"
	tgz, err := tarGz(map[string][]byte{
		o.ChartName + "/Chart.yaml":               []byte(chartYAML),
		o.ChartName + "/values.yaml":              []byte(values),
		o.ChartName + "/templates/configmap.yaml": []byte(cm),
	}, time.Now().UTC().Truncate(time.Second))
	if err != nil {
		return c, err
	}
	cfgJSON, err := json.Marshal(map[string]string{
		"apiVersion":  "v2",
		"name":        o.ChartName,
		"version":     o.ChartTag,
		"appVersion":  "1.0",
		"description": "Test chart seeded by ARC's imagetool",
		"type":        "application",
	})
	if err != nil {
		return c, err
	}
	cfg, err := oras.PushBytes(ctx, repo, MediaTypeHelmConfig, cfgJSON)
	if err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	layer, err := oras.PushBytes(ctx, repo, MediaTypeHelmChartLayer, tgz.gz)
	if err != nil {
		return c, fmt.Errorf("chart layer: %w", err)
	}
	// The shape `helm push` gives: an image manifest without artifactType.
	manifestJSON, err := json.Marshal(ocispec.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageManifest,
		Config:    cfg,
		Layers:    []ocispec.Descriptor{layer},
		Annotations: map[string]string{
			ocispec.AnnotationTitle:       o.ChartName,
			ocispec.AnnotationVersion:     o.ChartTag,
			ocispec.AnnotationDescription: "Test chart seeded by ARC's imagetool",
		},
	})
	if err != nil {
		return c, err
	}
	m, err := oras.TagBytes(ctx, repo, ocispec.MediaTypeImageManifest, manifestJSON, o.ChartTag)
	if err != nil {
		return c, fmt.Errorf("manifest: %w", err)
	}
	c.Digest, c.MediaType, c.Size = m.Digest.String(), m.MediaType, m.Size
	c.Config, c.Layer = cfg.Digest.String(), layer.Digest.String()
	return c, nil
}

func seedFile(path string, size int64) (*SeedFile, error) {
	data, err := randomBytes(size)
	if err != nil {
		return nil, err
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	return &SeedFile{Path: path, SHA256: hex.EncodeToString(sum[:]), Size: size}, nil
}

func randomBytes(n int64) ([]byte, error) {
	if n < 0 {
		return nil, usagef("negative size %d", n)
	}
	b := make([]byte, n)
	_, err := rand.Read(b)
	return b, err
}

// tarGzResult is a gzipped tar and the digest of the uncompressed tar.
type tarGzResult struct {
	gz     []byte
	diffID digest.Digest
}

// tarGz packs files (path -> content, parents created) into a gzipped tar.
func tarGz(files map[string][]byte, mtime time.Time) (tarGzResult, error) {
	entries := make([]entry, 0, len(files))
	for p := range files {
		entries = append(entries, entry{Path: "/" + p, Type: tar.TypeReg, Mode: 0o644})
	}
	raw, err := buildLayerFrom(entries, func(e entry) ([]byte, error) { return files[e.Path[1:]], nil }, mtime)
	if err != nil {
		return tarGzResult{}, err
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(raw); err != nil {
		return tarGzResult{}, err
	}
	if err := zw.Close(); err != nil {
		return tarGzResult{}, err
	}
	return tarGzResult{gz: gz.Bytes(), diffID: digest.FromBytes(raw)}, nil
}
