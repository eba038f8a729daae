//go:build linux

package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/drain-cli/drain/internal/testbed"
)

// ociDescriptor, ociIndex, ociManifest and ociConfig are the parts of the
// OCI image spec the test reads, written here from the spec rather than
// shared with scripts/image, which wrote the layout.
type ociDescriptor struct {
	MediaType   string                             `json:"mediaType"`
	Digest      string                             `json:"digest"`
	Size        int64                              `json:"size"`
	Platform    *struct{ OS, Architecture string } `json:"platform"`
	Annotations map[string]string                  `json:"annotations"`
}

type ociIndex struct {
	SchemaVersion int             `json:"schemaVersion"`
	Manifests     []ociDescriptor `json:"manifests"`
}

type ociManifest struct {
	SchemaVersion int             `json:"schemaVersion"`
	MediaType     string          `json:"mediaType"`
	Config        ociDescriptor   `json:"config"`
	Layers        []ociDescriptor `json:"layers"`
}

type ociConfig struct {
	OS           string `json:"os"`
	Architecture string `json:"architecture"`
	Config       struct {
		User       string   `json:"User"`
		Entrypoint []string `json:"Entrypoint"`
		Env        []string `json:"Env"`
	} `json:"config"`
	RootFS struct {
		Type    string   `json:"type"`
		DiffIDs []string `json:"diff_ids"`
	} `json:"rootfs"`
}

// readBlob reads a blob of the layout and checks it against its
// descriptor: the digest names its content, the size is its length.
func readBlob(t *testing.T, layout string, d ociDescriptor) []byte {
	t.Helper()
	hexsum, ok := strings.CutPrefix(d.Digest, "sha256:")
	if !ok {
		t.Fatalf("descriptor digest %q is not sha256", d.Digest)
	}
	b, err := os.ReadFile(filepath.Join(layout, "blobs", "sha256", hexsum))
	must(t, err)
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != hexsum {
		t.Fatalf("blob %s: its content hashes to %x", d.Digest, sum)
	}
	if int64(len(b)) != d.Size {
		t.Fatalf("blob %s: %d bytes, descriptor says %d", d.Digest, len(b), d.Size)
	}
	return b
}

// TestImage builds the container image with scripts/image.sh (no daemon,
// no network) as an OCI image layout, reads it by the spec (index.json, the
// image index, each platform's manifest, config and layer, every blob
// checked against its digest and size), unpacks this machine's platform
// into a directory, and runs its entrypoint from there as the image's user:
// `drain version` says the version built in. The image's cp copies drain
// into another directory as an initContainer would, and that copy runs. A
// second build of the same tree gives the same digests.
func TestImage(t *testing.T) {
	if _, err := os.Stat("/etc/ssl/certs/ca-certificates.crt"); err != nil {
		t.Skip("no /etc/ssl/certs/ca-certificates.crt (Debian: ca-certificates)")
	}
	root, err := filepath.Abs("../..")
	must(t, err)
	build := func(dir string) {
		t.Helper()
		cmd := exec.Command("bash", filepath.Join(root, "scripts", "image.sh"), dir, "9.8.7")
		cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH=1700000000")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("scripts/image.sh: %v\n%s", err, out)
		}
	}
	layout := filepath.Join(t.TempDir(), "image")
	build(layout)

	var layoutFile struct {
		Version string `json:"imageLayoutVersion"`
	}
	unmarshal(t, mustRead(t, filepath.Join(layout, "oci-layout")), &layoutFile)
	if layoutFile.Version != "1.0.0" {
		t.Errorf("oci-layout imageLayoutVersion %q", layoutFile.Version)
	}
	var top ociIndex
	unmarshal(t, mustRead(t, filepath.Join(layout, "index.json")), &top)
	if len(top.Manifests) != 1 || top.Manifests[0].MediaType != "application/vnd.oci.image.index.v1+json" ||
		top.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "9.8.7" {
		t.Fatalf("index.json: want one image index tagged 9.8.7, got %+v", top.Manifests)
	}
	var idx ociIndex
	unmarshal(t, readBlob(t, layout, top.Manifests[0]), &idx)
	var platforms []string
	var mine *ociDescriptor
	for i, m := range idx.Manifests {
		if m.MediaType != "application/vnd.oci.image.manifest.v1+json" || m.Platform == nil {
			t.Fatalf("image index entry %+v: want an image manifest with a platform", m)
		}
		p := m.Platform.OS + "/" + m.Platform.Architecture
		platforms = append(platforms, p)
		if p == "linux/"+runtime.GOARCH {
			mine = &idx.Manifests[i]
		}
	}
	slices.Sort(platforms)
	if !slices.Equal(platforms, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("platforms %v, want linux/amd64 and linux/arm64", platforms)
	}

	var unpacked string
	for _, m := range idx.Manifests {
		var man ociManifest
		unmarshal(t, readBlob(t, layout, m), &man)
		var cfg ociConfig
		unmarshal(t, readBlob(t, layout, man.Config), &cfg)
		p := m.Platform.OS + "/" + m.Platform.Architecture
		if cfg.OS+"/"+cfg.Architecture != p {
			t.Errorf("%s: config says %s/%s", p, cfg.OS, cfg.Architecture)
		}
		if cfg.Config.User != "65532:65532" || !slices.Equal(cfg.Config.Entrypoint, []string{"/usr/local/bin/drain"}) {
			t.Errorf("%s: User %q Entrypoint %q, want 65532:65532 and /usr/local/bin/drain", p, cfg.Config.User, cfg.Config.Entrypoint)
		}
		if len(man.Layers) != 1 || len(cfg.RootFS.DiffIDs) != 1 || man.Layers[0].MediaType != "application/vnd.oci.image.layer.v1.tar+gzip" {
			t.Fatalf("%s: want one gzip layer and one diff_id: %+v %+v", p, man.Layers, cfg.RootFS)
		}
		zr, err := gzip.NewReader(bytes.NewReader(readBlob(t, layout, man.Layers[0])))
		must(t, err)
		tarball, err := io.ReadAll(zr)
		must(t, err)
		if sum := sha256.Sum256(tarball); "sha256:"+hex.EncodeToString(sum[:]) != cfg.RootFS.DiffIDs[0] {
			t.Errorf("%s: diff_id %s is not the uncompressed layer's digest sha256:%x", p, cfg.RootFS.DiffIDs[0], sum)
		}
		if mine != nil && m.Digest == mine.Digest {
			unpacked = untar(t, tarball)
			checkImageFS(t, unpacked, cfg)
		}
	}
	publishImage(t, root, layout, top.Manifests[0].Digest, idx)
	if unpacked == "" {
		t.Skipf("no linux/%s image to run here", runtime.GOARCH)
	}

	again := filepath.Join(t.TempDir(), "image")
	build(again)
	if a, b := mustRead(t, filepath.Join(layout, "index.json")), mustRead(t, filepath.Join(again, "index.json")); !bytes.Equal(a, b) {
		t.Errorf("two builds of the same tree differ:\n%s\n%s", a, b)
	}
}

// untar extracts a layer into a new directory; every entry must stay in it.
func untar(t *testing.T, tarball []byte) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "rootfs")
	must(t, os.Mkdir(dir, 0o755))
	tr := tar.NewReader(bytes.NewReader(tarball))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		must(t, err)
		name := filepath.Clean(h.Name)
		if filepath.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") {
			t.Fatalf("layer entry %q leaves the root", h.Name)
		}
		p := filepath.Join(dir, name)
		switch h.Typeflag {
		case tar.TypeDir:
			must(t, os.MkdirAll(p, 0o755))
			must(t, os.Chmod(p, os.FileMode(h.Mode).Perm()))
			if os.Getuid() == 0 {
				must(t, os.Lchown(p, h.Uid, h.Gid))
			}
		case tar.TypeReg:
			b, err := io.ReadAll(tr)
			must(t, err)
			must(t, os.WriteFile(p, b, os.FileMode(h.Mode).Perm()))
		default:
			t.Fatalf("layer entry %q: type %c, want only files and directories", h.Name, h.Typeflag)
		}
	}
	return dir
}

// checkImageFS checks the unpacked image and runs its entrypoint.
func checkImageFS(t *testing.T, rootfs string, cfg ociConfig) {
	t.Helper()
	if !strings.Contains(string(mustRead(t, filepath.Join(rootfs, "etc", "passwd"))), "nonroot:x:65532:65532:") {
		t.Errorf("etc/passwd has no user 65532")
	}
	if !bytes.Equal(mustRead(t, filepath.Join(rootfs, "etc", "ssl", "certs", "ca-certificates.crt")), mustRead(t, "/etc/ssl/certs/ca-certificates.crt")) {
		t.Errorf("the image's CA certificates are not the build machine's")
	}
	entry := filepath.Join(rootfs, cfg.Config.Entrypoint[0])
	cmd := exec.Command(entry, "version")
	cmd.Env = cfg.Config.Env
	if os.Getuid() == 0 {
		// As the image's user, the way a container runs it. Its parent
		// directories (the test's temporary ones) must let it in.
		for d := filepath.Dir(rootfs); d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
			_ = os.Chmod(d, 0o755)
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65532, Gid: 65532}}
	}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "9.8.7") {
		t.Fatalf("%s version: %v %q, want 9.8.7", cfg.Config.Entrypoint[0], err, out)
	}
	t.Logf("the image's drain, as uid %d: %s", map[bool]int{true: 65532, false: os.Getuid()}[os.Getuid() == 0], strings.TrimSpace(string(out)))

	// The initContainer recipe: cp copies drain into a shared volume.
	shared := t.TempDir()
	if out, err := exec.Command(filepath.Join(rootfs, "usr", "local", "bin", "cp"), entry, shared).CombinedOutput(); err != nil {
		t.Fatalf("the image's cp: %v\n%s", err, out)
	}
	if out, err := exec.Command(filepath.Join(shared, "drain"), "version").CombinedOutput(); err != nil || !strings.Contains(string(out), "9.8.7") {
		t.Errorf("drain copied by the image's cp: %v %q", err, out)
	}
}

// startRegistry starts a real container registry (Debian's docker-registry,
// the CNCF distribution) on 127.0.0.1 with its storage in a temporary
// directory, and returns its address.
func startRegistry(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		if os.Getenv("DRAIN_E2E") == "require" {
			t.Fatal("docker-registry not found and DRAIN_E2E=require: apt-get install docker-registry")
		}
		t.Skip("docker-registry not installed (scripts/test.sh installs it)")
	}
	addr, err := testbed.FreeAddr()
	must(t, err)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yml")
	must(t, os.WriteFile(cfg, []byte(fmt.Sprintf(`version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: %s
http:
  addr: %s
`, filepath.Join(dir, "data"), addr)), 0o644))
	cmd := exec.Command(bin, "serve", cfg)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	must(t, cmd.Start())
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
	c := &http.Client{Timeout: 2 * time.Second}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if resp, err := c.Get("http://" + addr + "/v2/"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr
			}
		}
		select {
		case <-exited:
			t.Fatalf("docker-registry exited at start:\n%s", logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("docker-registry not answering on %s after 30s:\n%s", addr, logs.String())
		}
	}
}

// publishImage runs scripts/publish-image.sh, the release workflow's publish
// step, against a real registry: the image index and both platforms'
// manifests are then served, read over the registry API (not by skopeo), by
// the digests the layout gave them, under the version and latest; bad
// input is refused with exit 2 and nothing published.
func publishImage(t *testing.T, root, layout, indexDigest string, idx ociIndex) {
	t.Helper()
	if _, err := exec.LookPath("skopeo"); err != nil {
		if os.Getenv("DRAIN_E2E") == "require" {
			t.Fatal("skopeo not found and DRAIN_E2E=require: apt-get install skopeo")
		}
		t.Skip("skopeo not installed (scripts/test.sh installs it)")
	}
	addr := startRegistry(t)
	image := addr + "/drain-cli/drain"
	publish := func(args ...string) (int, string) {
		cmd := exec.Command("bash", append([]string{filepath.Join(root, "scripts", "publish-image.sh")}, args...)...)
		// skopeo keeps its auth file under XDG_RUNTIME_DIR or HOME: a temporary one.
		cmd.Env = append(os.Environ(), "DRAIN_REGISTRY_TLS_VERIFY=false", "HOME="+t.TempDir(), "XDG_RUNTIME_DIR="+t.TempDir())
		out, _ := cmd.CombinedOutput()
		return cmd.ProcessState.ExitCode(), string(out)
	}
	for _, bad := range [][]string{
		{layout, "9.8.7", addr + "/Drain-CLI/drain"}, // upper case: not an image name
		{layout, "9.8.7; rm -rf /", image},
		{layout, "1.0.0", image}, // the layout has no image tagged 1.0.0
		{t.TempDir(), "9.8.7", image},
	} {
		if code, out := publish(bad...); code != 2 || strings.Count(strings.TrimSpace(out), "\n") != 0 || !strings.Contains(out, "publish-image: ") {
			t.Errorf("publish-image.sh %q: exit %d, want 2 and one line\n%s", bad, code, out)
		}
	}
	c := &http.Client{Timeout: 10 * time.Second}
	get := func(ref, accept string) (int, []byte) {
		req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/v2/drain-cli/drain/manifests/"+ref, nil)
		must(t, err)
		req.Header.Set("Accept", accept)
		resp, err := c.Do(req)
		must(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		must(t, err)
		return resp.StatusCode, b
	}
	if code, _ := get("9.8.7", "application/vnd.oci.image.index.v1+json"); code != http.StatusNotFound {
		t.Fatalf("the refused publishes left 9.8.7 in the registry (HTTP %d)", code)
	}

	if code, out := publish(layout, "9.8.7", image, "latest"); code != 0 {
		t.Fatalf("publish-image.sh: exit %d\n%s", code, out)
	}
	for _, tag := range []string{"9.8.7", "latest", indexDigest} {
		code, b := get(tag, "application/vnd.oci.image.index.v1+json")
		if sum := sha256.Sum256(b); code != http.StatusOK || "sha256:"+hex.EncodeToString(sum[:]) != indexDigest {
			t.Errorf("the registry serves %s as HTTP %d, digest sha256:%x; want the layout's index %s", tag, code, sum, indexDigest)
		}
	}
	for _, m := range idx.Manifests {
		code, b := get(m.Digest, m.MediaType)
		if code != http.StatusOK || !bytes.Equal(b, readBlob(t, layout, m)) {
			t.Errorf("the registry's %s/%s manifest %s: HTTP %d, not the layout's bytes", m.Platform.OS, m.Platform.Architecture, m.Digest, code)
		}
	}
}
