package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

const (
	testUser = "seeder"
	testPass = "s3cret"
)

// newRegistry starts an in-memory registry behind basic auth and returns its
// HOST:PORT.
func newRegistry(t *testing.T, opts ...registry.Option) string {
	t.Helper()
	reg := registry.New(append([]registry.Option{registry.Logger(log.New(io.Discard, "", 0))}, opts...)...)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != testUser || p != testPass {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// runJSON runs the CLI and decodes its stdout into out.
func runJSON(t *testing.T, out any, args ...string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("imagetool %s: exit %d: %s", strings.Join(args, " "), code, stderr.String())
	}
	if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
		t.Fatalf("imagetool %s: %v\n%s", args[0], err, stdout.String())
	}
}

func TestSeedThenInspect(t *testing.T) {
	for _, tc := range []struct {
		name         string
		referrersAPI bool
	}{
		{"tag schema fallback", false},
		{"referrers API", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := newRegistry(t, registry.WithReferrersSupport(tc.referrersAPI))
			dir := t.TempDir()
			conn := []string{"--registry", host, "--username", testUser, "--password", testPass, "--plain-http"}

			var seeded SeedResult
			runJSON(t, &seeded, append([]string{"seed", "--out", filepath.Join(dir, "seed.json"),
				"--file-out", filepath.Join(dir, "www", "file.bin"), "--file-size", "4096"}, conn...)...)
			var fromFile SeedResult
			raw, err := os.ReadFile(filepath.Join(dir, "seed.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(raw, &fromFile); err != nil {
				t.Fatal(err)
			}
			if fromFile.Image.Digest != seeded.Image.Digest || fromFile.Chart.Digest != seeded.Chart.Digest {
				t.Fatalf("seed.json differs from stdout")
			}
			if got := len(seeded.Image.Manifests); got != 2 {
				t.Fatalf("seeded %d platform manifests, want 2", got)
			}
			if seeded.File == nil || seeded.File.Size != 4096 {
				t.Fatalf("file: %+v", seeded.File)
			}

			// The index, its children and its SBOM referrer.
			var idx InspectResult
			runJSON(t, &idx, append([]string{"inspect", "--ref", "demo/app:v1", "--referrers", "--verify"}, conn...)...)
			if idx.Digest != seeded.Image.Digest {
				t.Errorf("index digest %s, seeded %s", idx.Digest, seeded.Image.Digest)
			}
			if len(idx.Manifests) != 2 {
				t.Fatalf("inspect: %d manifests", len(idx.Manifests))
			}
			for i, m := range idx.Manifests {
				want := seeded.Image.Manifests[i]
				if m.Digest != want.Digest || m.Platform != want.Platform {
					t.Errorf("manifest %d: %s %s, seeded %s %s", i, m.Digest, m.Platform, want.Digest, want.Platform)
				}
			}
			if idx.Referrers == nil || len(*idx.Referrers) != 1 {
				t.Fatalf("referrers: %+v", idx.Referrers)
			}
			r := (*idx.Referrers)[0]
			// go-containerregistry's registry answers the Referrers API with
			// the config media type as artifactType (the empty config here),
			// which also shows that the answer came from the API.
			wantType := MediaTypeSPDX
			if tc.referrersAPI {
				wantType = "application/vnd.oci.empty.v1+json"
			}
			if r.Digest != seeded.Image.Referrers[0].Digest || r.ArtifactType != wantType {
				t.Errorf("referrer %+v, seeded %+v", r, seeded.Image.Referrers[0])
			}
			// index, 2 manifests, 2 configs, 2 layers, referrer, its empty config, SBOM
			if idx.Verified == nil || *idx.Verified != 10 {
				t.Errorf("verified %v blobs, want 10", idx.Verified)
			}

			// Without the Referrers API the referrer must sit in the
			// sha256-<hex> tag index. (go-containerregistry's registry sends
			// no OCI-Subject header, so oras-go writes that index there too.)
			if !tc.referrersAPI {
				var fallback InspectResult
				runJSON(t, &fallback, append([]string{"inspect", "--ref", "demo/app:sha256-" + strings.TrimPrefix(seeded.Image.Digest, "sha256:")}, conn...)...)
				if len(fallback.Manifests) != 1 || fallback.Manifests[0].Digest != r.Digest {
					t.Errorf("tag index lists %+v", fallback.Manifests)
				}
			}

			// By digest, one platform manifest.
			var amd InspectResult
			runJSON(t, &amd, append([]string{"inspect", "--ref", "demo/app@" + seeded.Image.Manifests[0].Digest}, conn...)...)
			if amd.Config == nil || amd.Config.Digest != seeded.Image.Manifests[0].Config || len(amd.Layers) != 1 {
				t.Errorf("platform manifest: %+v", amd)
			}

			// The referrer points back at the index.
			var sbom InspectResult
			runJSON(t, &sbom, append([]string{"inspect", "--ref", "demo/app@" + r.Digest}, conn...)...)
			if sbom.Subject == nil || sbom.Subject.Digest != seeded.Image.Digest || sbom.ArtifactType != MediaTypeSPDX {
				t.Errorf("referrer manifest: %+v", sbom)
			}

			// The chart.
			var chart InspectResult
			runJSON(t, &chart, append([]string{"inspect", "--ref", "charts/demo:0.1.0", "--verify"}, conn...)...)
			if chart.Digest != seeded.Chart.Digest || chart.Config == nil || chart.Config.MediaType != MediaTypeHelmConfig ||
				len(chart.Layers) != 1 || chart.Layers[0].MediaType != MediaTypeHelmChartLayer || chart.Layers[0].Digest != seeded.Chart.Layer {
				t.Errorf("chart: %+v", chart)
			}
			if chart.ArtifactType != MediaTypeHelmConfig {
				t.Errorf("chart artifactType %q", chart.ArtifactType)
			}

			// Wrong password: refused.
			bad := []string{"inspect", "--ref", "demo/app:v1", "--registry", host, "--username", testUser, "--password", "wrong", "--plain-http"}
			if code := run(bad, io.Discard, io.Discard); code != 1 {
				t.Errorf("wrong password: exit %d, want 1", code)
			}
		})
	}
}

func TestPackReadBack(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "hello")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho hi\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	args := []string{"pack", "--name", "registry.k8s.io/pause:3.10",
		"--add", bin + "=/bin/hello:0755", "--add", bin + "=/etc/hello.conf",
		"--dir", "/tmp:1777", "--dir", "/var/run", "--symlink", "/bin/sh=hello",
		"--entrypoint", "/bin/hello", "--entrypoint", "arg"}
	var a, b PackResult
	runJSON(t, &a, append(args, "--out", filepath.Join(dir, "a.tar"))...)
	runJSON(t, &b, append(args, "--out", filepath.Join(dir, "b.tar"))...)
	if a.Digest != b.Digest {
		t.Errorf("not deterministic: %s vs %s", a.Digest, b.Digest)
	}
	ra, _ := os.ReadFile(filepath.Join(dir, "a.tar"))
	rb, _ := os.ReadFile(filepath.Join(dir, "b.tar"))
	if !bytes.Equal(ra, rb) {
		t.Errorf("archives differ")
	}
	if a.Name != "registry.k8s.io/pause:3.10" || a.Platform != "linux/amd64" {
		t.Errorf("result %+v", a)
	}

	// Unpack the archive and read it as an OCI layout.
	lay := filepath.Join(dir, "layout")
	untar(t, bytes.NewReader(ra), lay)
	p, err := layout.FromPath(lay)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Annotations[annotationContainerdName] != "registry.k8s.io/pause:3.10" ||
		im.Manifests[0].Annotations[annotationRefName] != "3.10" {
		t.Fatalf("index.json: %+v", im.Manifests)
	}
	img, err := p.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := img.Digest(); d.String() != a.Digest {
		t.Errorf("manifest digest %s, pack said %s", d, a.Digest)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OS != "linux" || cfg.Architecture != "amd64" || strings.Join(cfg.Config.Entrypoint, " ") != "/bin/hello arg" ||
		len(cfg.Config.Env) != 1 || !strings.HasPrefix(cfg.Config.Env[0], "PATH=") || !cfg.Created.Time.Equal(epoch) {
		t.Errorf("config %+v", cfg)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers %v %v", layers, err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got := map[string]*tar.Header{}
	var order []string
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got[h.Name] = h
		order = append(order, h.Name)
	}
	want := map[string]struct {
		typ  byte
		mode int64
	}{
		"bin/":           {tar.TypeDir, 0o755},
		"bin/hello":      {tar.TypeReg, 0o755},
		"bin/sh":         {tar.TypeSymlink, 0o777},
		"etc/":           {tar.TypeDir, 0o755},
		"etc/hello.conf": {tar.TypeReg, 0o700},
		"tmp/":           {tar.TypeDir, 0o1777},
		"var/":           {tar.TypeDir, 0o755},
		"var/run/":       {tar.TypeDir, 0o755},
	}
	if len(got) != len(want) {
		t.Errorf("layer holds %v", order)
	}
	for n, w := range want {
		h := got[n]
		if h == nil {
			t.Errorf("%s missing", n)
			continue
		}
		if h.Typeflag != w.typ || h.Mode != w.mode || h.Uid != 0 || h.Gid != 0 || !h.ModTime.Equal(epoch) {
			t.Errorf("%s: type %c mode %o uid %d gid %d mtime %v", n, h.Typeflag, h.Mode, h.Uid, h.Gid, h.ModTime)
		}
	}
	if got["bin/sh"] != nil && got["bin/sh"].Linkname != "hello" {
		t.Errorf("bin/sh -> %s", got["bin/sh"].Linkname)
	}
	for i := 1; i < len(order); i++ {
		if order[i-1] >= order[i] {
			t.Errorf("entries not sorted: %v", order)
		}
	}
}

func TestPackRejects(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "f")
	if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "o.tar")
	for _, args := range [][]string{
		{"pack", "--out", out},                                                                 // no name
		{"pack", "--name", "foo/bar", "--out", out},                                            // no tag
		{"pack", "--name", "x.io/a:1", "--out", out, "--add", f + "=rel"},                      // relative
		{"pack", "--name", "x.io/a:1", "--out", out, "--add", f + "=/a", "--add", f + "=/a/b"}, // file as dir
	} {
		if code := run(args, io.Discard, io.Discard); code == 0 {
			t.Errorf("%v: exit 0", args)
		}
	}
}

func untar(t *testing.T, r io.Reader, dst string) {
	t.Helper()
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dst, h.Name)
		if h.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
