package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// epoch is the time stamped on every file, the image config and the archive
// entries, so the same inputs always give the same digests.
var epoch = time.Unix(0, 0).UTC()

// Annotations in the archive's index.json: containerd's importer names the
// image after the first, other OCI tools read the second.
const (
	annotationContainerdName = "io.containerd.image.name"
	annotationRefName        = "org.opencontainers.image.ref.name"
)

const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// packSpec describes one single-layer image.
type packSpec struct {
	Name       string // image reference with a tag
	Arch       string
	Entrypoint []string
	Cmd        []string
	Env        []string
	WorkingDir string
	Entries    []entry
}

// entry is one path of the layer.
type entry struct {
	Path   string // absolute, cleaned
	Type   byte   // tar.TypeReg, tar.TypeDir or tar.TypeSymlink
	Mode   int64
	Source string // regular files: local file to copy
	Target string // symlinks
}

// PackResult is what pack prints.
type PackResult struct {
	Name     string `json:"name"`
	File     string `json:"file"`
	Digest   string `json:"digest"`
	Config   string `json:"config"`
	Layer    string `json:"layer"`
	DiffID   string `json:"diffID"`
	Platform string `json:"platform"`
}

func runPack(_ context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("pack", flag.ContinueOnError)
	var (
		spec                          packSpec
		out                           string
		adds, dirs, links, entrypoint stringList
		cmd, env                      stringList
	)
	fs.StringVar(&spec.Name, "name", "", "image name with tag, e.g. registry.k8s.io/pause:3.10 (required)")
	fs.StringVar(&out, "out", "", "OCI archive to write (required)")
	fs.StringVar(&spec.Arch, "arch", "amd64", "architecture in the image config (os is linux)")
	fs.Var(&adds, "add", "SRC=DST[:MODE]: copy local file SRC to DST (octal MODE, default: SRC's permission bits); repeatable")
	fs.Var(&dirs, "dir", "DIR[:MODE]: an empty directory (default mode 0755), e.g. /tmp:1777; repeatable")
	fs.Var(&links, "symlink", "DST=TARGET: a symbolic link; repeatable")
	fs.Var(&entrypoint, "entrypoint", "one element of the entrypoint; repeat for more")
	fs.Var(&cmd, "cmd", "one element of the default arguments; repeat for more")
	fs.Var(&env, "env", "KEY=VALUE in the image config; repeatable (default: a standard PATH)")
	fs.StringVar(&spec.WorkingDir, "workdir", "", "working directory in the image config")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if spec.Name == "" || out == "" {
		return usagef("--name and --out are required")
	}
	spec.Entrypoint, spec.Cmd, spec.Env = entrypoint, cmd, env
	if len(spec.Env) == 0 {
		spec.Env = []string{defaultPath}
	}
	for _, a := range adds {
		e, err := parseAdd(a)
		if err != nil {
			return err
		}
		spec.Entries = append(spec.Entries, e)
	}
	for _, d := range dirs {
		p, mode, err := splitMode(d, 0o755)
		if err != nil {
			return err
		}
		spec.Entries = append(spec.Entries, entry{Path: p, Type: tar.TypeDir, Mode: mode})
	}
	for _, l := range links {
		dst, target, ok := strings.Cut(l, "=")
		if !ok || dst == "" || target == "" {
			return usagef("--symlink %q: want DST=TARGET", l)
		}
		spec.Entries = append(spec.Entries, entry{Path: dst, Type: tar.TypeSymlink, Mode: 0o777, Target: target})
	}
	res, err := pack(spec, out)
	if err != nil {
		return err
	}
	return writeJSON(stdout, res)
}

// parseAdd parses SRC=DST[:MODE].
func parseAdd(s string) (entry, error) {
	src, rest, ok := strings.Cut(s, "=")
	if !ok || src == "" || rest == "" {
		return entry{}, usagef("--add %q: want SRC=DST[:MODE]", s)
	}
	fi, err := os.Stat(src)
	if err != nil {
		return entry{}, err
	}
	if !fi.Mode().IsRegular() {
		return entry{}, fmt.Errorf("--add %q: %s is not a regular file", s, src)
	}
	dst, mode, err := splitMode(rest, int64(fi.Mode().Perm()))
	if err != nil {
		return entry{}, err
	}
	return entry{Path: dst, Type: tar.TypeReg, Mode: mode, Source: src}, nil
}

// splitMode splits PATH[:OCTAL] (the mode only when what follows the last
// colon is octal).
func splitMode(s string, def int64) (string, int64, error) {
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		if m, err := strconv.ParseInt(s[i+1:], 8, 64); err == nil {
			if m < 0 || m > 0o7777 {
				return "", 0, usagef("%q: mode out of range", s)
			}
			return s[:i], m, nil
		}
	}
	return s, def, nil
}

// pack builds the image of spec and writes it as an OCI archive to out.
func pack(spec packSpec, out string) (*PackResult, error) {
	fullName, tag, err := imageName(spec.Name)
	if err != nil {
		return nil, err
	}
	layerTar, err := buildLayer(spec.Entries)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
	if err != nil {
		return nil, err
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:   layer,
		History: v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "imagetool pack", Comment: fullName},
	})
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.Created = v1.Time{Time: epoch}
	cfg.OS, cfg.Architecture = "linux", spec.Arch
	cfg.Config.Entrypoint = spec.Entrypoint
	cfg.Config.Cmd = spec.Cmd
	cfg.Config.Env = spec.Env
	cfg.Config.WorkingDir = spec.WorkingDir
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return nil, err
	}
	return writeArchive(img, fullName, tag, out)
}

// imageName returns the name containerd records for ref (docker.io for
// Docker Hub, as containerd spells it) and its tag.
func imageName(ref string) (string, string, error) {
	t, err := name.NewTag(ref, name.StrictValidation)
	if err != nil {
		return "", "", usagef("--name %q: want REGISTRY/REPOSITORY:TAG: %v", ref, err)
	}
	reg := t.RegistryStr()
	if reg == name.DefaultRegistry {
		reg = "docker.io"
	}
	return reg + "/" + t.RepositoryStr() + ":" + t.TagStr(), t.TagStr(), nil
}

// buildLayer writes the entries, plus any missing parent directories (0755),
// as an uncompressed tar, sorted by path, root-owned, with fixed times.
func buildLayer(entries []entry) ([]byte, error) {
	return buildLayerFrom(entries, func(e entry) ([]byte, error) { return os.ReadFile(e.Source) }, epoch)
}

// buildLayerFrom is buildLayer with the content of regular files from read
// and all times set to mtime.
func buildLayerFrom(entries []entry, read func(entry) ([]byte, error), mtime time.Time) ([]byte, error) {
	byPath := map[string]entry{}
	for _, e := range entries {
		if !path.IsAbs(e.Path) {
			return nil, usagef("%q: destination paths must be absolute", e.Path)
		}
		e.Path = path.Clean(e.Path)
		if e.Path == "/" {
			return nil, usagef("cannot add /")
		}
		if prev, dup := byPath[e.Path]; dup && prev != e {
			return nil, usagef("%s given twice", e.Path)
		}
		byPath[e.Path] = e
	}
	for p := range byPath {
		for d := path.Dir(p); d != "/"; d = path.Dir(d) {
			if e, ok := byPath[d]; ok {
				if e.Type != tar.TypeDir {
					return nil, usagef("%s is not a directory but %s is under it", d, p)
				}
				continue
			}
			byPath[d] = entry{Path: d, Type: tar.TypeDir, Mode: 0o755}
		}
	}
	paths := make([]string, 0, len(byPath))
	for p := range byPath {
		paths = append(paths, p)
	}
	sort.Strings(paths)

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range paths {
		e := byPath[p]
		hdr := &tar.Header{
			Typeflag: e.Type,
			Name:     strings.TrimPrefix(p, "/"),
			Mode:     e.Mode,
			ModTime:  mtime,
			Uname:    "root",
			Gname:    "root",
			Format:   tar.FormatPAX,
		}
		var data []byte
		switch e.Type {
		case tar.TypeDir:
			hdr.Name += "/"
		case tar.TypeSymlink:
			hdr.Linkname = e.Target
		case tar.TypeReg:
			var err error
			if data, err = read(e); err != nil {
				return nil, err
			}
			hdr.Size = int64(len(data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeArchive writes img as an OCI image layout in a tar file (what
// `ctr images import` and `skopeo copy oci-archive:` read), its index naming
// the image fullName; atomically via a temporary file next to out.
func writeArchive(img v1.Image, fullName, tag, out string) (*PackResult, error) {
	manifest, err := img.RawManifest()
	if err != nil {
		return nil, err
	}
	digest, err := img.Digest()
	if err != nil {
		return nil, err
	}
	rawCfg, err := img.RawConfigFile()
	if err != nil {
		return nil, err
	}
	cfgName, err := img.ConfigName()
	if err != nil {
		return nil, err
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	layer := layers[0]
	layerDigest, err := layer.Digest()
	if err != nil {
		return nil, err
	}
	diffID, err := layer.DiffID()
	if err != nil {
		return nil, err
	}
	compressed, err := layer.Compressed()
	if err != nil {
		return nil, err
	}
	defer compressed.Close()
	layerSize, err := layer.Size()
	if err != nil {
		return nil, err
	}
	cfgFile, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	platform := &v1.Platform{OS: cfgFile.OS, Architecture: cfgFile.Architecture}
	index := v1.IndexManifest{
		SchemaVersion: 2,
		MediaType:     types.OCIImageIndex,
		Manifests: []v1.Descriptor{{
			MediaType:   types.OCIManifestSchema1,
			Size:        int64(len(manifest)),
			Digest:      digest,
			Platform:    platform,
			Annotations: map[string]string{annotationContainerdName: fullName, annotationRefName: tag},
		}},
	}
	indexJSON, err := json.Marshal(index)
	if err != nil {
		return nil, err
	}

	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	tw := tar.NewWriter(f)
	add := func(name string, size int64, r io.Reader) error {
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o644, ModTime: epoch, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err := io.Copy(tw, r)
		return err
	}
	const ociLayout = `{"imageLayoutVersion":"1.0.0"}`
	blob := func(h v1.Hash) string { return "blobs/" + h.Algorithm + "/" + h.Hex }
	files := []struct {
		name string
		size int64
		r    io.Reader
	}{
		{"oci-layout", int64(len(ociLayout)), strings.NewReader(ociLayout)},
		{"index.json", int64(len(indexJSON)), bytes.NewReader(indexJSON)},
		{blob(digest), int64(len(manifest)), bytes.NewReader(manifest)},
		{blob(cfgName), int64(len(rawCfg)), bytes.NewReader(rawCfg)},
		{blob(layerDigest), layerSize, compressed},
	}
	for _, dir := range []string{"blobs/", "blobs/sha256/"} {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755, ModTime: epoch, Format: tar.FormatPAX}); err != nil {
			return nil, err
		}
	}
	for _, fl := range files {
		if err := add(fl.name, fl.size, fl.r); err != nil {
			return nil, fmt.Errorf("writing %s: %w", fl.name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := f.Chmod(0o644); err != nil {
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	if err := os.Rename(f.Name(), out); err != nil {
		return nil, err
	}
	return &PackResult{
		Name:     fullName,
		File:     out,
		Digest:   digest.String(),
		Config:   cfgName.String(),
		Layer:    layerDigest.String(),
		DiffID:   diffID.String(),
		Platform: platform.OS + "/" + platform.Architecture,
	}, nil
}
