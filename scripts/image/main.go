// Command image writes drain's container image as an OCI image layout
// (https://github.com/opencontainers/image-spec/blob/main/image-layout.md),
// without a container daemon and without network: FROM scratch, one layer
// per platform holding the static drain binary, a small static copier (cp,
// for an initContainer that copies drain into a shared volume: scratch has
// no shell), the CA certificates of the build machine and a non-root user.
//
//	go run ./scripts/image -out DIR -version 1.2.3 -certs /etc/ssl/certs/ca-certificates.crt \
//	    -bin linux/amd64=drain-amd64,cp-amd64 -bin linux/arm64=drain-arm64,cp-arm64
//
// scripts/image.sh builds the binaries and calls it. DIR gets oci-layout,
// index.json (one image index, tagged VERSION) and blobs/sha256/: the index
// lists one manifest per platform, each with its config and its layer. The
// output is reproducible: every time stamp is -date (default: the Unix
// epoch), the layer's gzip has no name or time.
//
// It uses only the standard library: the layout is four kinds of JSON and
// a tar, and the test (internal/e2e/image_test.go) reads it back by the
// spec, not with the code that wrote it.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// OCI media types.
const (
	mtIndex    = "application/vnd.oci.image.index.v1+json"
	mtManifest = "application/vnd.oci.image.manifest.v1+json"
	mtConfig   = "application/vnd.oci.image.config.v1+json"
	mtLayer    = "application/vnd.oci.image.layer.v1.tar+gzip"
)

// The image's user: not root, the uid distroless and ko use.
const (
	uid      = 65532
	user     = "nonroot"
	drainBin = "/usr/local/bin/drain"
	cpBin    = "/usr/local/bin/cp"
	certPath = "/etc/ssl/certs/ca-certificates.crt"
)

type platform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
}

type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Platform    *platform         `json:"platform,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type index struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	Manifests     []descriptor      `json:"manifests"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

type manifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	Config        descriptor        `json:"config"`
	Layers        []descriptor      `json:"layers"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

type imageConfig struct {
	Created      string `json:"created"`
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
	Config       struct {
		User       string            `json:"User"`
		Env        []string          `json:"Env"`
		Entrypoint []string          `json:"Entrypoint"`
		Cmd        []string          `json:"Cmd"`
		WorkingDir string            `json:"WorkingDir"`
		Labels     map[string]string `json:"Labels"`
	} `json:"config"`
	RootFS struct {
		Type    string   `json:"type"`
		DiffIDs []string `json:"diff_ids"`
	} `json:"rootfs"`
	History []struct {
		Created   string `json:"created"`
		CreatedBy string `json:"created_by"`
	} `json:"history"`
}

// bins is the -bin flag: OS/ARCH=DRAIN,CP, repeated.
type bins map[string][2]string

func (b bins) String() string { return fmt.Sprint(map[string][2]string(b)) }

func (b bins) Set(v string) error {
	plat, files, ok := strings.Cut(v, "=")
	drain, cp, ok2 := strings.Cut(files, ",")
	if !ok || !ok2 || !strings.Contains(plat, "/") || drain == "" || cp == "" {
		return errors.New("want OS/ARCH=DRAIN_BINARY,CP_BINARY")
	}
	b[plat] = [2]string{drain, cp}
	return nil
}

func main() {
	platforms := bins{}
	out := flag.String("out", "", "write the OCI image layout into `DIR` (created; must be empty or absent)")
	version := flag.String("version", "dev", "the image's `VERSION` (its tag in index.json, and a label)")
	certs := flag.String("certs", "/etc/ssl/certs/ca-certificates.crt", "the CA certificates `FILE` (PEM) to put in the image")
	date := flag.Int64("date", 0, "every time stamp, in Unix `SECONDS` (e.g. the commit's date; default the epoch)")
	source := flag.String("source", "https://github.com/drain-cli/drain", "the org.opencontainers.image.source label")
	flag.Var(platforms, "bin", "`OS/ARCH=DRAIN,CP`: the platform's static binaries (repeat per platform)")
	flag.Parse()
	if *out == "" || len(platforms) == 0 {
		fmt.Fprintln(os.Stderr, "image: -out DIR and at least one -bin OS/ARCH=DRAIN,CP are required")
		os.Exit(2)
	}
	if err := write(*out, *version, *certs, *source, time.Unix(*date, 0).UTC(), platforms); err != nil {
		fmt.Fprintln(os.Stderr, "image:", err)
		os.Exit(1)
	}
}

func write(dir, version, certs, source string, date time.Time, platforms bins) error {
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s is not empty", dir)
	}
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		return err
	}
	ca, err := os.ReadFile(certs)
	if err != nil {
		return fmt.Errorf("CA certificates: %w", err)
	}
	labels := map[string]string{
		"org.opencontainers.image.title":   "drain",
		"org.opencontainers.image.version": version,
		"org.opencontainers.image.source":  source,
	}
	var manifests []descriptor
	for _, plat := range sortedKeys(platforms) {
		goos, goarch, _ := strings.Cut(plat, "/")
		d, err := writeImage(dir, goos, goarch, platforms[plat], ca, date, labels)
		if err != nil {
			return fmt.Errorf("%s: %w", plat, err)
		}
		manifests = append(manifests, d)
	}
	idx, err := writeJSON(dir, mtIndex, index{SchemaVersion: 2, MediaType: mtIndex, Manifests: manifests, Annotations: labels})
	if err != nil {
		return err
	}
	idx.Annotations = map[string]string{"org.opencontainers.image.ref.name": version}
	top, err := json.MarshalIndent(index{SchemaVersion: 2, MediaType: mtIndex, Manifests: []descriptor{idx}}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "index.json"), top, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
}

// writeImage writes one platform's layer, config and manifest and returns
// the manifest's descriptor.
func writeImage(dir, goos, goarch string, files [2]string, ca []byte, date time.Time, labels map[string]string) (descriptor, error) {
	drain, err := os.ReadFile(files[0])
	if err != nil {
		return descriptor{}, err
	}
	cp, err := os.ReadFile(files[1])
	if err != nil {
		return descriptor{}, err
	}
	tarball, err := layerTar(drain, cp, ca, date)
	if err != nil {
		return descriptor{}, err
	}
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if err != nil {
		return descriptor{}, err
	}
	// No name and the zero time in the gzip header: the same input gives
	// the same blob.
	if _, err := zw.Write(tarball); err != nil {
		return descriptor{}, err
	}
	if err := zw.Close(); err != nil {
		return descriptor{}, err
	}
	layer, err := writeBlob(dir, mtLayer, gz.Bytes())
	if err != nil {
		return descriptor{}, err
	}

	var cfg imageConfig
	created := date.Format(time.RFC3339)
	cfg.Created, cfg.Architecture, cfg.OS = created, goarch, goos
	cfg.Config.User = fmt.Sprintf("%d:%d", uid, uid)
	cfg.Config.Env = []string{"PATH=/usr/local/bin", "SSL_CERT_FILE=" + certPath, "HOME=/home/" + user}
	cfg.Config.Entrypoint = []string{drainBin}
	cfg.Config.Cmd = []string{"--help"}
	cfg.Config.WorkingDir = "/home/" + user
	cfg.Config.Labels = labels
	cfg.RootFS.Type = "layers"
	cfg.RootFS.DiffIDs = []string{digest(tarball)}
	cfg.History = append(cfg.History, struct {
		Created   string `json:"created"`
		CreatedBy string `json:"created_by"`
	}{created, "scripts/image: drain, cp, CA certificates, user " + user})
	config, err := writeJSON(dir, mtConfig, cfg)
	if err != nil {
		return descriptor{}, err
	}
	m, err := writeJSON(dir, mtManifest, manifest{SchemaVersion: 2, MediaType: mtManifest, Config: config, Layers: []descriptor{layer}, Annotations: labels})
	if err != nil {
		return descriptor{}, err
	}
	m.Platform = &platform{Architecture: goarch, OS: goos}
	return m, nil
}

// layerTar is the image's whole file system.
func layerTar(drain, cp, ca []byte, date time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := func(name string, mode int64, owner int) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, Uid: owner, Gid: owner, ModTime: date, Format: tar.FormatPAX})
	}
	file := func(name string, mode int64, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), ModTime: date, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	steps := []func() error{
		func() error { return dir("etc", 0o755, 0) },
		func() error {
			return file("etc/passwd", 0o644, fmt.Appendf(nil, "root:x:0:0:root:/root:/sbin/nologin\n%s:x:%d:%d:%s:/home/%s:/sbin/nologin\n", user, uid, uid, user, user))
		},
		func() error { return file("etc/group", 0o644, fmt.Appendf(nil, "root:x:0:\n%s:x:%d:\n", user, uid)) },
		func() error { return dir("etc/ssl", 0o755, 0) },
		func() error { return dir("etc/ssl/certs", 0o755, 0) },
		func() error { return file(certPath[1:], 0o644, ca) },
		func() error { return dir("home", 0o755, 0) },
		func() error { return dir("home/"+user, 0o700, uid) },
		func() error { return dir("tmp", 0o1777, 0) },
		func() error { return dir("usr", 0o755, 0) },
		func() error { return dir("usr/local", 0o755, 0) },
		func() error { return dir("usr/local/bin", 0o755, 0) },
		func() error { return file(cpBin[1:], 0o755, cp) },
		func() error { return file(drainBin[1:], 0o755, drain) },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func writeBlob(dir, mediaType string, b []byte) (descriptor, error) {
	d := digest(b)
	p := filepath.Join(dir, "blobs", "sha256", strings.TrimPrefix(d, "sha256:"))
	if err := os.WriteFile(p, b, 0o644); err != nil {
		return descriptor{}, err
	}
	return descriptor{MediaType: mediaType, Digest: d, Size: int64(len(b))}, nil
}

func writeJSON(dir, mediaType string, v any) (descriptor, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return descriptor{}, err
	}
	return writeBlob(dir, mediaType, b)
}

func sortedKeys(m bins) []string { return slices.Sorted(maps.Keys(m)) }
