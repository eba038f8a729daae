package testbed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Etcd is one real etcd member (Debian's etcd-server) on 127.0.0.1 random
// ports with its own data directory, for the pool lock's tests.
type Etcd struct {
	*Proc
	Dir, URL, peer string
	log            *syncBuffer
}

// syncBuffer is etcd's output, written by the process's copier and read by
// the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// StartEtcd starts a single-member etcd cluster in dir.
func StartEtcd(dir string) (*Etcd, error) {
	client, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	peer, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	e := &Etcd{Dir: dir, URL: "http://" + client, peer: "http://" + peer}
	return e, e.Start()
}

// Start (re)starts the member on the same ports and data directory: a
// restarted etcd keeps its keys and leases.
func (e *Etcd) Start() error {
	bin, err := Find("etcd")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(e.Dir, 0o700); err != nil {
		return err
	}
	cmd := exec.Command(bin,
		"--name", "drain-test",
		"--data-dir", filepath.Join(e.Dir, "data"),
		"--listen-client-urls", e.URL, "--advertise-client-urls", e.URL,
		"--listen-peer-urls", e.peer, "--initial-advertise-peer-urls", e.peer,
		"--initial-cluster", "drain-test="+e.peer,
		"--listen-metrics-urls", "",
	)
	e.log = &syncBuffer{}
	cmd.Stdout, cmd.Stderr = e.log, e.log
	if e.Proc, err = start(cmd); err != nil {
		return err
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if e.ready() {
			return nil
		}
		select {
		case <-e.exited:
			return fmt.Errorf("etcd exited: %s", e.Log())
		default:
		}
		if time.Now().After(deadline) {
			e.Kill()
			return errors.New("etcd not ready in 20s: " + e.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ready: a range through the v3 JSON gateway answers.
func (e *Etcd) ready() bool {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.URL+"/v3/kv/range", strings.NewReader(`{"key":"AA=="}`))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

// Log is what etcd printed, the last 2 KB.
func (e *Etcd) Log() string {
	s := e.log.String()
	if len(s) > 2048 {
		s = s[len(s)-2048:]
	}
	return s
}
