//go:build !windows

package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/drain-cli/drain/internal/testbed"
)

// TestEtcdOutRecordReasonIsOneLine: an out record in etcd (written by a
// drain on another machine, or by anyone who can write there) whose reason
// and owner hold line breaks and CI commands: status --pool --lock on this
// machine shows them on one line, as text and as JSON, under GitHub's and
// Azure's runners, through a real HAProxy, a real etcd and the built
// binary.
func TestEtcdOutRecordReasonIsOneLine(t *testing.T) {
	p := startPool3(t)
	e := startEtcd(t)
	ctl, err := testbed.Find("etcdctl")
	if err != nil {
		t.Skip("etcdctl not installed (etcd-client)")
	}
	out, err := exec.Command(p.drain, "out", "--haproxy", p.server("b"), "--min-in-rotation", "1", "--lock", "etcd:"+e.URL,
		"--state-dir", filepath.Join(p.dir, "state-b"), "--reason", "placeholder").CombinedOutput()
	if err != nil {
		t.Fatalf("drain out b: %v\n%s", err, out)
	}
	// Rewrite the record as another writer could.
	var key, val string
	lines := strings.Split(strings.TrimSpace(etcdGet(t, e, "/drain/pools/")), "\n")
	for i := 0; i+1 < len(lines); i += 2 {
		if strings.Contains(lines[i], "/out/") && strings.Contains(lines[i+1], "placeholder") {
			key, val = lines[i], lines[i+1]
		}
	}
	if key == "" {
		t.Fatalf("no out record holding the reason in etcd:\n%s", strings.Join(lines, "\n"))
	}
	hostile := "deploy v2\n::warning::pwned\n##vso[task.setvariable variable=X]evil"
	val = strings.Replace(val, `"placeholder"`, strconvQuote(hostile), 1)
	val = strings.Replace(val, `"by":"`, `"by":"me\n::error::owner `, 1)
	put := exec.Command(ctl, "--endpoints", e.URL, "put", key, val)
	put.Env = append(os.Environ(), "ETCDCTL_API=3")
	if out, err := put.CombinedOutput(); err != nil {
		t.Fatalf("etcdctl put: %v\n%s", err, out)
	}

	var all []byte
	for _, env := range [][]string{nil, {"GITHUB_ACTIONS=true"}, {"TF_BUILD=True"}} {
		for _, extra := range [][]string{nil, {"--output", "json"}} {
			cmd := exec.Command(p.drain, append([]string{"status", "--pool", "haproxy:" + p.lb.Sock + "#web", "--lock", "etcd:" + e.URL}, extra...)...)
			cmd.Env = append(cleanCIEnv(), env...)
			o, _ := cmd.CombinedOutput()
			all = append(all, o...)
		}
	}
	checkNoCICommand(t, "status --pool", all, false)
	if !bytes.Contains(all, []byte(`deploy v2 ::warning::pwned #\\#vso[task.setvariable`)) || !bytes.Contains(all, []byte(`me ::error::owner`)) {
		t.Errorf("the reason and owner are not shown on one line each")
	}
	if t.Failed() {
		t.Logf("output:\n%s", all)
	}
}
